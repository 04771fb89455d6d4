package report

import "strings"

// Lang is a report language: "en" or "zh-CN".
type Lang string

const (
	EN Lang = "en"
	ZH Lang = "zh-CN"
)

// ParseLang maps any zh* tag to ZH and everything else to EN.
func ParseLang(s string) Lang {
	if strings.HasPrefix(strings.ToLower(s), "zh") {
		return ZH
	}
	return EN
}

// labels are every string a report prints, in both languages.
var labels = map[string][2]string{
	"receipt.title":  {"Installation receipt", "安装回执"},
	"summary.title":  {"Installation summary", "安装汇总"},
	"station":        {"Station", "工作站"},
	"slot":           {"Slot", "端口"},
	"operator":       {"Operator", "操作员"},
	"phone":          {"Phone", "手机"},
	"serial":         {"Serial", "序列号"},
	"android":        {"Android", "安卓版本"},
	"list":           {"App list", "应用清单"},
	"started":        {"Started", "开始时间"},
	"ended":          {"Ended", "结束时间"},
	"duration":       {"Duration", "用时"},
	"outcome":        {"Outcome", "结果"},
	"app":            {"App", "应用"},
	"package":        {"Package", "包名"},
	"version":        {"Version", "版本"},
	"result":         {"Result", "结果"},
	"time":           {"Time", "用时"},
	"note":           {"Note", "说明"},
	"installed":      {"Installed", "已安装"},
	"skipped":        {"Skipped", "已跳过"},
	"failed":         {"Failed", "失败"},
	"cancelled":      {"Cancelled", "已取消"},
	"done":           {"Done", "完成"},
	"running":        {"Running", "进行中"},
	"interrupted":    {"Interrupted", "已中断"},
	"totals":         {"Installed %d · Skipped %d · Failed %d", "已安装 %d · 已跳过 %d · 失败 %d"},
	"sign.operator":  {"Operator signature", "操作员签字"},
	"sign.customer":  {"Customer signature", "顾客签字"},
	"sign.date":      {"Date", "日期"},
	"generated":      {"Generated %s by Preload Station", "由 Preload Station 于 %s 生成"},
	"by.day":         {"Day", "日期"},
	"by.operator":    {"Operator", "操作员"},
	"by.app":         {"App", "应用"},
	"sessions":       {"Phones", "手机数"},
	"success":        {"Success rate", "成功率"},
	"avg":            {"Average time", "平均用时"},
	"attempts":       {"Installs", "安装次数"},
	"period":         {"Period", "时间范围"},
	"all":            {"All time", "全部"},
	"none":           {"Nothing in this period.", "此时间范围内没有记录。"},
	"page":           {"Page %d", "第 %d 页"},
	"totals.label":   {"Total", "合计"},
	"apps.installed": {"Apps installed", "安装应用数"},
}

// T returns the label for key in lang (the key itself when unknown).
func T(lang Lang, key string) string {
	l, ok := labels[key]
	if !ok {
		return key
	}
	if lang == ZH {
		return l[1]
	}
	return l[0]
}
