package report

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
)

// bom makes Excel open the file as UTF-8 (Chinese labels stay readable).
const bom = "\uFEFF"

// ReceiptCSV writes one line per app, each carrying the phone's columns, so
// receipts from many phones can be concatenated and filtered.
func ReceiptCSV(w io.Writer, r Receipt, lang Lang) error {
	if _, err := io.WriteString(w, bom); err != nil {
		return err
	}
	cw := csv.NewWriter(w)
	head := []string{"station", "slot", "operator", "serial", "phone", "android", "list", "started", "ended",
		"app", "package", "version", "result", "note", "time"}
	for i, k := range head {
		head[i] = T(lang, k)
	}
	head[4] = T(lang, "phone")
	head[13] = T(lang, "note")
	head[14] = T(lang, "time") + " (ms)"
	_ = cw.Write(head)
	ended := ""
	if r.EndedAt != nil {
		ended = formatTime(*r.EndedAt)
	}
	for _, a := range r.Apps {
		_ = cw.Write([]string{r.Station, r.Slot, r.Operator, r.Serial, r.PhoneName(), r.Release, r.ListName,
			formatTime(r.StartedAt), ended, a.Label, a.Package, a.Version(), ResultText(lang, a.Result),
			note(a), strconv.FormatInt(a.Millis, 10)})
	}
	cw.Flush()
	return cw.Error()
}

// note is the code and message of a skipped or failed app.
func note(a ReceiptApp) string {
	switch {
	case a.Code != "" && a.Message != "" && a.Message != a.Code:
		return a.Code + ": " + a.Message
	case a.Code != "":
		return a.Code
	}
	return a.Message
}

// SummaryCSV writes a summary with its totals line last.
func SummaryCSV(w io.Writer, s Summary, lang Lang) error {
	if _, err := io.WriteString(w, bom); err != nil {
		return err
	}
	cw := csv.NewWriter(w)
	cols := summaryColumns(s.Group, lang)
	_ = cw.Write(cols)
	line := func(r Row, key string) []string {
		out := []string{key}
		if s.Group == ByApp {
			out = append(out, r.Label)
		}
		out = append(out, strconv.Itoa(r.Total), strconv.Itoa(r.Done), strconv.Itoa(r.Failed), strconv.Itoa(r.Other))
		if s.Group != ByApp {
			out = append(out, strconv.Itoa(r.Apps))
		}
		return append(out, fmt.Sprintf("%.1f%%", r.SuccessRate*100), strconv.FormatInt(r.AvgMillis, 10))
	}
	for _, r := range s.Rows {
		_ = cw.Write(line(r, r.Key))
	}
	_ = cw.Write(line(s.Total, T(lang, "totals.label")))
	cw.Flush()
	return cw.Error()
}

// summaryColumns are a summary's column titles in lang.
func summaryColumns(g Group, lang Lang) []string {
	if g == ByApp {
		return []string{T(lang, "package"), T(lang, "app"), T(lang, "attempts"), T(lang, "installed"),
			T(lang, "failed"), T(lang, "skipped"), T(lang, "success"), T(lang, "avg") + " (ms)"}
	}
	return []string{T(lang, "by."+string(g)), T(lang, "sessions"), T(lang, "done"), T(lang, "failed"),
		T(lang, "interrupted"), T(lang, "apps.installed"), T(lang, "success"), T(lang, "avg") + " (ms)"}
}
