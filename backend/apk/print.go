package apk

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
)

// WriteJSON prints one object per file: the Info, or the refusal with
// its code so scripts can tell the reasons apart.
func WriteJSON(w io.Writer, file string, info *Info, err error) {
	var v any = info
	if err != nil {
		e := map[string]string{"code": CodeIO, "message": err.Error()}
		var ae *Error
		if errors.As(err, &ae) {
			e["code"], e["messageZh"] = ae.Code, ae.MessageZH()
		}
		v = map[string]any{"file": file, "error": e}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

// WriteTable prints info as an aligned two-column table with English and
// Chinese field names.
func WriteTable(w io.Writer, file string, in *Info) {
	var rows [][2]string
	row := func(k, v string) { rows = append(rows, [2]string{k, v}) }
	or := func(s, def string) string {
		if s == "" {
			return def
		}
		return s
	}
	row("File 文件", file)
	row("Package 包名", in.Package)
	row("Version 版本", fmt.Sprintf("%s (versionCode %d)", or(in.VersionName, "-"), in.VersionCode))
	row("Label 名称", or(in.Label, "-"))
	locales := make([]string, 0, len(in.Labels))
	for l := range in.Labels {
		if l != "" {
			locales = append(locales, l)
		}
	}
	sort.Strings(locales)
	for _, l := range locales {
		row("Label 名称 "+l, in.Labels[l])
	}
	row("SDK", fmt.Sprintf("min %d, target %d", in.MinSDK, in.TargetSDK))
	row("ABIs 架构", or(strings.Join(in.ABIs, " "), "none, runs on any 无原生库，任意架构"))
	if in.Split != "" {
		row("Split 拆分包", in.Split+" (a split APK, install with its base 需与基础包一起安装)")
	}
	row("Icon 图标", or(in.Icon, "-"))
	row("Signer 签名证书 SHA-256", or(in.SignerSHA256, "unsigned 未签名"))
	row("Schemes 签名方案", or(strings.Join(in.Schemes, " "), "-"))
	row("SHA-256", in.SHA256)
	row("Size 大小", fmt.Sprintf("%s (%d bytes 字节)", humanBytes(in.Size), in.Size))
	// Aligned by display width: tabwriter counts a Chinese character as
	// one column where terminals draw two.
	wide := 0
	for _, r := range rows {
		wide = max(wide, displayWidth(r[0]))
	}
	for _, r := range rows {
		fmt.Fprintf(w, "%s%s  %s\n", r[0], strings.Repeat(" ", wide-displayWidth(r[0])), r[1])
	}
}

// displayWidth counts East Asian wide characters (CJK, full-width forms,
// emoji) as two terminal columns.
func displayWidth(s string) int {
	n := 0
	for _, r := range s {
		switch {
		case r >= 0x1100 && r <= 0x115f, r >= 0x2e80 && r <= 0xa4cf, r >= 0xac00 && r <= 0xd7a3,
			r >= 0xf900 && r <= 0xfaff, r >= 0xfe30 && r <= 0xfe4f, r >= 0xff00 && r <= 0xff60,
			r >= 0xffe0 && r <= 0xffe6, r >= 0x1f300 && r <= 0x1faff, r >= 0x20000 && r <= 0x3fffd:
			n += 2
		default:
			n++
		}
	}
	return n
}

func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
