package report

import (
	"fmt"
	"html/template"
	"io"
	"time"
)

// receiptTmpl is a standalone page: it prints on A4 from any browser
// (window.print()) and is what `serve` hands out for a receipt link.
var receiptTmpl = template.Must(template.New("receipt").Funcs(template.FuncMap{
	"t":    func(lang Lang, k string) string { return T(lang, k) },
	"res":  func(lang Lang, k string) string { return ResultText(lang, k) },
	"time": formatTime,
	"ms":   FormatMillis,
	"note": note,
	"inc":  func(i int) int { return i + 1 },
	"ptime": func(t *time.Time) string {
		if t == nil {
			return ""
		}
		return formatTime(*t)
	},
	"totals": func(lang Lang, r Receipt) string {
		return fmt.Sprintf(T(lang, "totals"), r.Installed, r.Skipped, r.Failed)
	},
}).Parse(`<!doctype html>
<html lang="{{.Lang}}"><head><meta charset="utf-8"><title>{{t .Lang "receipt.title"}} · {{.R.Serial}}</title>
<style>
@page { size: A4; margin: 14mm; }
body { font: 11pt/1.45 system-ui, "Noto Sans CJK SC", "Droid Sans Fallback", sans-serif; color: #0f172a; margin: 0; }
header { background: #0d5c63; color: #fff; padding: 14px 18px; display: flex; justify-content: space-between; align-items: end;
  -webkit-print-color-adjust: exact; print-color-adjust: exact; }
header small { letter-spacing: .12em; font-size: 8pt; opacity: .85; display: block; }
header h1 { margin: 0; font-size: 18pt; }
dl { display: grid; grid-template-columns: 7em 1fr 7em 1fr; gap: 4px 12px; margin: 16px 0; }
dt { color: #64748b; font-size: 9pt; } dd { margin: 0; font-weight: 500; }
table { width: 100%; border-collapse: collapse; font-size: 10pt; }
th { text-align: left; background: #f1f5f9; color: #64748b; font-size: 8.5pt; padding: 5px; }
td { border-bottom: 1px solid #cbd5e1; padding: 5px; vertical-align: top; }
.installed { color: #15803d; font-weight: 700; } .failed { color: #b91c1c; font-weight: 700; } .skipped { color: #475569; font-weight: 700; }
.note { color: #64748b; font-size: 8.5pt; } .num { text-align: right; }
.sign { display: grid; grid-template-columns: 1fr 1fr .6fr; gap: 24px; margin-top: 48px; break-inside: avoid; }
.sign div { border-top: 1px solid #0f172a; padding-top: 4px; color: #64748b; font-size: 9pt; }
tr { break-inside: avoid; }
</style></head><body>
<header><div><small>PRELOAD STATION</small><h1>{{t .Lang "receipt.title"}}</h1></div><div>{{.R.Station}}</div></header>
<dl>
<dt>{{t .Lang "station"}}</dt><dd>{{.R.Station}}</dd><dt>{{t .Lang "slot"}}</dt><dd>{{.R.Slot}}</dd>
<dt>{{t .Lang "operator"}}</dt><dd>{{.R.Operator}}</dd><dt>{{t .Lang "list"}}</dt><dd>{{.R.ListName}}</dd>
<dt>{{t .Lang "phone"}}</dt><dd>{{.R.PhoneName}}</dd><dt>{{t .Lang "serial"}}</dt><dd><b>{{.R.Serial}}</b></dd>
<dt>{{t .Lang "android"}}</dt><dd>{{.R.Release}}</dd><dt>{{t .Lang "outcome"}}</dt><dd class="{{.R.Outcome}}">{{res .Lang .R.Outcome}}</dd>
<dt>{{t .Lang "started"}}</dt><dd>{{time .R.StartedAt}}</dd><dt>{{t .Lang "ended"}}</dt><dd>{{ptime .R.EndedAt}}</dd>
</dl>
<table><thead><tr><th>#</th><th>{{t .Lang "app"}}</th><th>{{t .Lang "package"}}</th><th>{{t .Lang "version"}}</th><th>{{t .Lang "result"}}</th><th class="num">{{t .Lang "time"}}</th></tr></thead>
<tbody>{{range $i, $a := .R.Apps}}<tr><td>{{inc $i}}</td><td><b>{{if $a.Label}}{{$a.Label}}{{else}}{{$a.Package}}{{end}}</b>{{with note $a}}{{if ne $a.Result "installed"}}<div class="note">{{.}}</div>{{end}}{{end}}</td>
<td>{{$a.Package}}</td><td>{{$a.Version}}</td><td class="{{$a.Result}}">{{res $.Lang $a.Result}}</td><td class="num">{{ms $a.Millis}}</td></tr>{{end}}</tbody></table>
<p><b>{{totals .Lang .R}}</b></p>
<div class="sign"><div>{{t .Lang "sign.operator"}}</div><div>{{t .Lang "sign.customer"}}</div><div>{{t .Lang "sign.date"}}</div></div>
</body></html>`))

// ReceiptHTML writes r as a standalone printable HTML page.
func ReceiptHTML(w io.Writer, r Receipt, lang Lang) error {
	if err := receiptTmpl.Execute(w, struct {
		R    Receipt
		Lang Lang
	}{r, lang}); err != nil {
		return fmt.Errorf("report: render HTML: %w", err)
	}
	return nil
}
