package report

import (
	_ "embed"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/go-pdf/fpdf"
)

// cjkFont renders Chinese (and any non-Latin text); fonts/NOTICE.txt has its
// licence. It has almost no Latin glyphs, so Latin runs use the PDF core
// font Helvetica instead and text is split into runs by script.
//
//go:embed fonts/DroidSansFallbackFull.ttf
var cjkFont []byte

const (
	latinFamily = "Helvetica"
	cjkFamily   = "droid"
	margin      = 15.0
)

// Colours (RGB) shared with the app's palette.
var (
	colInk     = [3]int{15, 23, 42}
	colMuted   = [3]int{100, 116, 139}
	colBrand   = [3]int{13, 92, 99}
	colLine    = [3]int{203, 213, 225}
	colHead    = [3]int{241, 245, 249}
	colOK      = [3]int{21, 128, 61}
	colFail    = [3]int{185, 28, 28}
	colSkip    = [3]int{71, 85, 105}
	colOnBrand = [3]int{255, 255, 255}
)

// doc wraps fpdf with mixed-script text.
type doc struct {
	f    *fpdf.Fpdf
	tr   func(string) string
	size float64
	bold bool
}

func newDoc() *doc {
	f := fpdf.New("P", "mm", "A4", "")
	f.SetMargins(margin, margin, margin)
	f.SetAutoPageBreak(true, margin+8)
	f.AddUTF8FontFromBytes(cjkFamily, "", cjkFont)
	d := &doc{f: f, tr: f.UnicodeTranslatorFromDescriptor("cp1252"), size: 10}
	f.SetCreator("Preload Station", true)
	f.SetFont(latinFamily, "", 10)
	return d
}

type run struct {
	latin bool
	text  string
}

// cp1252Extra are the non-Latin-1 characters cp1252 (and so Helvetica) has.
const cp1252Extra = "€‚ƒ„…†‡ˆ‰Š‹ŒŽ‘’“”•–—˜™š›œžŸ"

func isLatin(r rune) bool {
	return r < 0x100 || strings.ContainsRune(cp1252Extra, r)
}

func splitRuns(s string) []run {
	var out []run
	for _, r := range s {
		l := isLatin(r)
		if n := len(out); n > 0 && out[n-1].latin == l {
			out[n-1].text += string(r)
			continue
		}
		out = append(out, run{latin: l, text: string(r)})
	}
	return out
}

func (d *doc) font(size float64, bold bool) {
	d.size, d.bold = size, bold
}

func (d *doc) use(latin bool) {
	if latin {
		style := ""
		if d.bold {
			style = "B"
		}
		d.f.SetFont(latinFamily, style, d.size)
		return
	}
	d.f.SetFont(cjkFamily, "", d.size)
}

func (d *doc) width(s string) float64 {
	w := 0.0
	for _, r := range splitRuns(s) {
		d.use(r.latin)
		if r.latin {
			w += d.f.GetStringWidth(d.tr(r.text))
		} else {
			w += d.f.GetStringWidth(r.text)
		}
	}
	return w
}

func (d *doc) color(c [3]int) { d.f.SetTextColor(c[0], c[1], c[2]) }

// fit shortens s with an ellipsis until it fits w.
func (d *doc) fit(s string, w float64) string {
	if d.width(s) <= w {
		return s
	}
	rs := []rune(s)
	for len(rs) > 1 {
		rs = rs[:len(rs)-1]
		if t := string(rs) + "…"; d.width(t) <= w {
			return t
		}
	}
	return string(rs)
}

// cell draws text in a box of w×h at the current position and moves right.
// align is "L", "C" or "R"; border and fill are fpdf's.
func (d *doc) cell(w, h float64, s, align, border string, fill bool) {
	x, y := d.f.GetXY()
	d.f.CellFormat(w, h, "", border, 0, "", fill, 0, "")
	const pad = 1.6
	s = d.fit(s, w-2*pad)
	tw := d.width(s)
	tx := x + pad
	switch align {
	case "R":
		tx = x + w - pad - tw
	case "C":
		tx = x + (w-tw)/2
	}
	d.f.SetXY(tx, y)
	for _, r := range splitRuns(s) {
		d.use(r.latin)
		t := r.text
		if r.latin {
			t = d.tr(t)
		}
		rw := d.f.GetStringWidth(t)
		d.f.CellFormat(rw, h, t, "", 0, "L", false, 0, "")
	}
	d.f.SetXY(x+w, y)
}

func (d *doc) fill(c [3]int) { d.f.SetFillColor(c[0], c[1], c[2]) }
func (d *doc) draw(c [3]int) { d.f.SetDrawColor(c[0], c[1], c[2]) }

// header draws the brand band with a title and a right-hand subtitle.
func (d *doc) header(title, right string) {
	pw, _ := d.f.GetPageSize()
	d.fill(colBrand)
	d.f.Rect(0, 0, pw, 28, "F")
	d.f.SetXY(margin, 6)
	d.color(colOnBrand)
	d.font(9, false)
	d.cell(100, 5, "PRELOAD STATION", "L", "", false)
	d.f.SetXY(margin, 12)
	d.font(18, true)
	d.cell(pw/2, 10, title, "L", "", false)
	d.f.SetXY(pw/2, 12)
	d.font(11, false)
	d.cell(pw/2-margin, 10, right, "R", "", false)
	d.f.SetY(36)
	d.color(colInk)
}

func (d *doc) footer(lang Lang, extra string) {
	d.f.SetFooterFunc(func() {
		pw, ph := d.f.GetPageSize()
		d.f.SetXY(margin, ph-margin+2)
		d.font(7.5, false)
		d.color(colMuted)
		d.cell(pw-2*margin-20, 4, fmt.Sprintf(T(lang, "generated"), time.Now().Local().Format("2006-01-02 15:04"))+extra, "L", "", false)
		d.cell(20, 4, fmt.Sprintf(T(lang, "page"), d.f.PageNo()), "R", "", false)
	})
}

func resultColour(result string) [3]int {
	switch result {
	case "installed", "done":
		return colOK
	case "failed":
		return colFail
	}
	return colSkip
}

// ReceiptPDF renders r as an A4 receipt.
func ReceiptPDF(w io.Writer, r Receipt, lang Lang) error {
	d := newDoc()
	d.footer(lang, "  ·  "+r.SessionUUID)
	d.f.AddPage()
	d.header(T(lang, "receipt.title"), r.Station)
	pw, _ := d.f.GetPageSize()
	content := pw - 2*margin

	// Facts: two columns of label / value.
	ended := ""
	if r.EndedAt != nil {
		ended = formatTime(*r.EndedAt)
	}
	facts := [][2]string{
		{T(lang, "station"), r.Station}, {T(lang, "slot"), r.Slot},
		{T(lang, "operator"), r.Operator}, {T(lang, "list"), r.ListName},
		{T(lang, "phone"), r.PhoneName()}, {T(lang, "serial"), r.Serial},
		{T(lang, "android"), r.Release}, {T(lang, "outcome"), ResultText(lang, r.Outcome)},
		{T(lang, "started"), formatTime(r.StartedAt)}, {T(lang, "ended"), ended},
	}
	colW := content / 2
	for i, kv := range facts {
		if i%2 == 0 {
			d.f.SetX(margin)
		}
		d.font(8, false)
		d.color(colMuted)
		d.cell(28, 7, kv[0], "L", "", false)
		d.font(10.5, i == 5) // the serial stands out
		d.color(colInk)
		if kv[0] == T(lang, "outcome") {
			d.color(resultColour(r.Outcome))
			d.font(10.5, true)
		}
		d.cell(colW-28, 7, kv[1], "L", "", false)
		if i%2 == 1 {
			d.f.Ln(7)
		}
	}
	d.f.Ln(4)

	// Apps table.
	cols := []struct {
		title string
		w     float64
		align string
	}{
		{"#", 8, "R"}, {T(lang, "app"), 46, "L"}, {T(lang, "package"), 50, "L"},
		{T(lang, "version"), 28, "L"}, {T(lang, "result"), 22, "L"}, {T(lang, "time"), 0, "R"},
	}
	used := 0.0
	for _, c := range cols[:len(cols)-1] {
		used += c.w
	}
	cols[len(cols)-1].w = content - used
	tableHead := func() {
		d.fill(colHead)
		d.draw(colLine)
		d.font(8.5, true)
		d.color(colMuted)
		d.f.SetX(margin)
		for _, c := range cols {
			d.cell(c.w, 7, c.title, c.align, "B", true)
		}
		d.f.Ln(7)
	}
	tableHead()
	_, ph := d.f.GetPageSize()
	for i, a := range r.Apps {
		h := 7.0
		n := note(a)
		if n != "" && a.Result != "installed" {
			h = 11
		}
		if d.f.GetY()+h > ph-margin-10 {
			d.f.AddPage()
			tableHead()
		}
		y := d.f.GetY()
		d.f.SetX(margin)
		d.font(9.5, false)
		d.color(colMuted)
		d.cell(cols[0].w, 7, fmt.Sprint(i+1), "R", "", false)
		d.color(colInk)
		d.font(9.5, true)
		d.cell(cols[1].w, 7, appName(a), "L", "", false)
		d.font(8.5, false)
		d.cell(cols[2].w, 7, a.Package, "L", "", false)
		d.cell(cols[3].w, 7, a.Version(), "L", "", false)
		d.color(resultColour(a.Result))
		d.font(9.5, true)
		d.cell(cols[4].w, 7, ResultText(lang, a.Result), "L", "", false)
		d.color(colMuted)
		d.font(8.5, false)
		d.cell(cols[5].w, 7, FormatMillis(a.Millis), "R", "", false)
		if h > 7 {
			d.f.SetXY(margin+cols[0].w, y+6)
			d.font(7.5, false)
			d.cell(content-cols[0].w, 4.5, n, "L", "", false)
		}
		d.draw(colLine)
		d.f.Line(margin, y+h, margin+content, y+h)
		d.f.SetXY(margin, y+h)
	}
	d.f.Ln(4)
	d.font(10.5, true)
	d.color(colInk)
	d.f.SetX(margin)
	d.cell(content, 7, fmt.Sprintf(T(lang, "totals"), r.Installed, r.Skipped, r.Failed), "L", "", false)
	d.f.Ln(7)
	if dur := r.Duration(); dur > 0 {
		d.font(9, false)
		d.color(colMuted)
		d.f.SetX(margin)
		d.cell(content, 6, T(lang, "duration")+": "+FormatMillis(dur.Milliseconds()), "L", "", false)
		d.f.Ln(6)
	}

	// Signature lines, kept together at the bottom of the last page.
	if d.f.GetY() > ph-margin-40 {
		d.f.AddPage()
	}
	d.f.SetY(ph - margin - 30)
	sig := []struct {
		key string
		w   float64
	}{{"sign.operator", 70}, {"sign.customer", 70}, {"sign.date", content - 150}}
	x := margin
	d.draw(colInk)
	for _, s := range sig {
		d.f.Line(x, ph-margin-18, x+s.w, ph-margin-18)
		d.f.SetXY(x, ph-margin-17)
		d.font(8.5, false)
		d.color(colMuted)
		d.cell(s.w, 5, T(lang, s.key), "L", "", false)
		x += s.w + 5
	}
	return output(d, w)
}

func output(d *doc, w io.Writer) error {
	if err := d.f.Output(w); err != nil {
		return fmt.Errorf("report: render PDF: %w", err)
	}
	return nil
}

// SummaryPDF renders a summary table.
func SummaryPDF(w io.Writer, s Summary, station string, lang Lang) error {
	d := newDoc()
	d.footer(lang, "")
	d.f.AddPage()
	d.header(T(lang, "summary.title")+" · "+T(lang, "by."+string(s.Group)), station)
	pw, ph := d.f.GetPageSize()
	content := pw - 2*margin
	d.font(9, false)
	d.color(colMuted)
	d.f.SetX(margin)
	d.cell(content, 6, T(lang, "period")+": "+period(s, lang), "L", "", false)
	d.f.Ln(9)

	titles := summaryColumns(s.Group, lang)
	widths := make([]float64, len(titles))
	first := content - float64(len(titles)-1)*22
	if s.Group == ByApp {
		widths[0], widths[1] = 48, first-48+22
		first = -1
	}
	for i := range widths {
		if widths[i] == 0 {
			widths[i] = 22
		}
	}
	if first > 0 {
		widths[0] = first
	}
	if s.Group == ByApp {
		sum := 0.0
		for _, x := range widths {
			sum += x
		}
		widths[1] += content - sum
	}
	head := func() {
		d.fill(colHead)
		d.draw(colLine)
		d.font(8.5, true)
		d.color(colMuted)
		d.f.SetX(margin)
		for i, t := range titles {
			align := "R"
			if i == 0 || (s.Group == ByApp && i == 1) {
				align = "L"
			}
			d.cell(widths[i], 7, t, align, "B", true)
		}
		d.f.Ln(7)
	}
	head()
	line := func(r Row, key string, bold bool) {
		if d.f.GetY()+7 > ph-margin-10 {
			d.f.AddPage()
			head()
		}
		vals := []string{key}
		if s.Group == ByApp {
			vals = append(vals, r.Label)
		}
		vals = append(vals, fmt.Sprint(r.Total), fmt.Sprint(r.Done), fmt.Sprint(r.Failed), fmt.Sprint(r.Other))
		if s.Group != ByApp {
			vals = append(vals, fmt.Sprint(r.Apps))
		}
		vals = append(vals, fmt.Sprintf("%.1f%%", r.SuccessRate*100), FormatMillis(r.AvgMillis))
		d.f.SetX(margin)
		y := d.f.GetY()
		for i, v := range vals {
			align := "R"
			if i == 0 || (s.Group == ByApp && i == 1) {
				align = "L"
			}
			d.font(9, bold)
			d.color(colInk)
			if i == len(vals)-2 {
				d.color(rateColour(r))
				d.font(9, true)
			}
			d.cell(widths[i], 7, v, align, "", false)
		}
		d.draw(colLine)
		d.f.Line(margin, y+7, margin+content, y+7)
		d.f.SetXY(margin, y+7)
	}
	if len(s.Rows) == 0 {
		d.f.SetX(margin)
		d.font(10, false)
		d.color(colMuted)
		d.cell(content, 10, T(lang, "none"), "L", "", false)
		d.f.Ln(10)
	}
	for _, r := range s.Rows {
		line(r, r.Key, false)
	}
	line(s.Total, T(lang, "totals.label"), true)
	return output(d, w)
}

func rateColour(r Row) [3]int {
	switch {
	case r.Done+r.Failed == 0:
		return colSkip
	case r.SuccessRate >= 0.95:
		return colOK
	case r.SuccessRate < 0.8:
		return colFail
	}
	return colInk
}

func period(s Summary, lang Lang) string {
	if s.From.IsZero() && s.To.IsZero() {
		return T(lang, "all")
	}
	from, to := "…", "…"
	if !s.From.IsZero() {
		from = s.From.Local().Format("2006-01-02")
	}
	if !s.To.IsZero() {
		to = s.To.Add(-time.Second).Local().Format("2006-01-02")
	}
	return from + " – " + to
}
