package report

import (
	"bytes"
	"context"
	"encoding/csv"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"preloadstation/backend/store"
)

var t0 = time.Date(2026, 11, 24, 9, 30, 0, 0, time.UTC)

func tp(t time.Time) *time.Time { return &t }

// sampleSession is a phone with Chinese and Latin app labels, one skip and one failure.
func sampleSession() store.InstallSession {
	return store.InstallSession{
		UUID: "5f0c2a1e-1111-4222-8333-944455556666", Serial: "R58N12ABCDE", SlotLabel: "A7", Operator: "lihua",
		Station: "华强北 3号店", Brand: "Xiaomi", Model: "Redmi Note 12", Release: "13", ListName: "新机标准包",
		Outcome: store.OutcomeFailed, StartedAt: t0, EndedAt: tp(t0.Add(95 * time.Second)),
		Records: []store.InstallRecord{
			{Package: "com.tencent.mm", Label: "微信", VersionName: "8.0.49", VersionCode: 2580, Result: store.ResultInstalled, TransferMS: 5200, CommitMS: 3100},
			{Package: "com.eg.android.AlipayGphone", Label: "支付宝", VersionName: "10.5.86", VersionCode: 1086, Result: store.ResultFailed, Code: "INSTALL_FAILED_INSUFFICIENT_STORAGE", Message: "not enough space"},
			{Package: "org.example.notes", Label: "Notes", VersionName: "2.1", VersionCode: 21, Result: store.ResultSkipped, Code: "already_installed"},
			{Package: "com.ss.android.ugc.aweme", Label: "抖音", VersionName: "29.1.0", VersionCode: 290100, Result: store.ResultInstalled, TransferMS: 9100, CommitMS: 4000},
		},
	}
}

func TestFromSessionOrdersAndCounts(t *testing.T) {
	r := FromSession(sampleSession())
	if r.Installed != 2 || r.Skipped != 1 || r.Failed != 1 {
		t.Fatalf("counts %d/%d/%d", r.Installed, r.Skipped, r.Failed)
	}
	var got []string
	for _, a := range r.Apps {
		got = append(got, a.Label)
	}
	if want := "微信,抖音,Notes,支付宝"; strings.Join(got, ",") != want && strings.Join(got, ",") != "抖音,微信,Notes,支付宝" {
		t.Fatalf("order %v", got)
	}
	if r.Apps[len(r.Apps)-1].Result != store.ResultFailed {
		t.Fatalf("failed app not last: %+v", r.Apps)
	}
	if v := r.Apps[0].Version(); !strings.Contains(v, "(") {
		t.Fatalf("version %q", v)
	}
}

func TestSplitRuns(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []run
	}{
		{"abc", []run{{true, "abc"}}},
		{"微信 8.0", []run{{false, "微信"}, {true, " 8.0"}}},
		{"Ü—é安装", []run{{true, "Ü—é"}, {false, "安装"}}},
		{"", nil},
	} {
		got := splitRuns(tc.in)
		if len(got) != len(tc.want) {
			t.Fatalf("%q: %v", tc.in, got)
		}
		for i := range got {
			if got[i] != tc.want[i] {
				t.Fatalf("%q: %v, want %v", tc.in, got, tc.want)
			}
		}
	}
}

func TestSummarizeSessions(t *testing.T) {
	day2 := t0.Add(24 * time.Hour)
	facts := []SessionFact{
		{StartedAt: t0, EndedAt: tp(t0.Add(60 * time.Second)), Operator: "a", Outcome: store.OutcomeDone, Installed: 5},
		{StartedAt: t0, EndedAt: tp(t0.Add(120 * time.Second)), Operator: "b", Outcome: store.OutcomeFailed, Installed: 3},
		{StartedAt: t0, EndedAt: tp(t0.Add(10 * time.Second)), Operator: "a", Outcome: store.OutcomeInterrupted},
		{StartedAt: day2, EndedAt: tp(day2.Add(30 * time.Second)), Operator: "a", Outcome: store.OutcomeDone, Installed: 5},
		{StartedAt: day2, Operator: "a", Outcome: store.OutcomeRunning},
	}
	rows, total := SummarizeSessions(facts, ByDay, time.UTC)
	if len(rows) != 2 || rows[0].Key != "2026-11-25" || rows[1].Key != "2026-11-24" {
		t.Fatalf("days %+v", rows)
	}
	d1 := rows[1]
	if d1.Total != 3 || d1.Done != 1 || d1.Failed != 1 || d1.Other != 1 || d1.Apps != 8 {
		t.Fatalf("day 1 %+v", d1)
	}
	if d1.SuccessRate != 0.5 || d1.AvgMillis != (60_000+120_000+10_000)/3 {
		t.Fatalf("day 1 rate/avg %+v", d1)
	}
	if total.Total != 5 || total.Done != 2 || total.SuccessRate != 2.0/3.0 || total.AvgMillis != (60_000+120_000+10_000+30_000)/4 {
		t.Fatalf("total %+v", total)
	}
	rows, _ = SummarizeSessions(facts, ByOperator, time.UTC)
	if len(rows) != 2 || rows[0].Key != "a" || rows[0].Total != 4 || rows[1].Key != "b" || rows[1].SuccessRate != 0 {
		t.Fatalf("operators %+v", rows)
	}
}

func TestSummarizeRecords(t *testing.T) {
	rows, total := SummarizeRecords([]RecordFact{
		{Package: "p.a", Label: "甲", Result: store.ResultInstalled, Millis: 1000},
		{Package: "p.a", Label: "甲", Result: store.ResultInstalled, Millis: 3000},
		{Package: "p.a", Label: "甲", Result: store.ResultFailed},
		{Package: "p.a", Label: "甲", Result: store.ResultSkipped},
		{Package: "p.b", Label: "", Result: store.ResultSkipped},
	})
	if len(rows) != 2 || rows[0].Key != "p.a" || rows[0].Label != "甲" {
		t.Fatalf("rows %+v", rows)
	}
	a := rows[0]
	if a.Total != 4 || a.Done != 2 || a.Failed != 1 || a.Other != 1 || a.AvgMillis != 2000 || a.SuccessRate != 2.0/3.0 {
		t.Fatalf("p.a %+v", a)
	}
	if rows[1].SuccessRate != 0 || rows[1].AvgMillis != 0 {
		t.Fatalf("p.b %+v", rows[1])
	}
	if total.Total != 5 || total.Done != 2 {
		t.Fatalf("total %+v", total)
	}
}

func TestReceiptCSV(t *testing.T) {
	for _, lang := range []Lang{EN, ZH} {
		var buf bytes.Buffer
		if err := ReceiptCSV(&buf, FromSession(sampleSession()), lang); err != nil {
			t.Fatal(err)
		}
		if !bytes.HasPrefix(buf.Bytes(), []byte(bom)) {
			t.Fatal("no BOM")
		}
		recs, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(buf.String(), bom))).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) != 5 {
			t.Fatalf("%s: %d lines", lang, len(recs))
		}
		if lang == ZH && recs[0][3] != "序列号" {
			t.Fatalf("zh header %v", recs[0])
		}
		last := recs[4]
		if last[3] != "R58N12ABCDE" || last[9] != "支付宝" || !strings.Contains(last[13], "INSTALL_FAILED_INSUFFICIENT_STORAGE") {
			t.Fatalf("%s: last line %v", lang, last)
		}
	}
}

func TestReceiptHTML(t *testing.T) {
	var buf bytes.Buffer
	if err := ReceiptHTML(&buf, FromSession(sampleSession()), ZH); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"安装回执", "R58N12ABCDE", "微信", "支付宝", "抖音", "com.tencent.mm", "操作员签字", "INSTALL_FAILED_INSUFFICIENT_STORAGE"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("HTML lacks %q", want)
		}
	}
}

// renderPNG rasterises page 1 of pdf with pdftoppm and returns the image.
func renderPNG(t *testing.T, pdf []byte, name string) image.Image {
	t.Helper()
	bin, err := exec.LookPath("pdftoppm")
	if err != nil {
		t.Skip("pdftoppm (poppler-utils) not installed")
	}
	dir := t.TempDir()
	in := filepath.Join(dir, name+".pdf")
	if err := os.WriteFile(in, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, name)
	if b, err := exec.Command(bin, "-png", "-r", "60", "-f", "1", "-l", "1", "-singlefile", in, out).CombinedOutput(); err != nil {
		t.Fatalf("pdftoppm: %v: %s", err, b)
	}
	if keep := os.Getenv("REPORT_PNG_DIR"); keep != "" { // to look at them: REPORT_PNG_DIR=artifacts go test
		_ = os.MkdirAll(keep, 0o755)
		_ = os.WriteFile(filepath.Join(keep, name+".pdf"), pdf, 0o644)
		b, _ := os.ReadFile(out + ".png")
		_ = os.WriteFile(filepath.Join(keep, name+".png"), b, 0o644)
	}
	f, err := os.Open(out + ".png")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// inkIn counts dark pixels in a region (fractions of the page).
func inkIn(img image.Image, x0, y0, x1, y1 float64) int {
	b := img.Bounds()
	n := 0
	for y := b.Min.Y + int(y0*float64(b.Dy())); y < b.Min.Y+int(y1*float64(b.Dy())); y++ {
		for x := b.Min.X + int(x0*float64(b.Dx())); x < b.Min.X+int(x1*float64(b.Dx())); x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			if (r+g+bl)/3 < 0x8000 {
				n++
			}
		}
	}
	return n
}

func TestReceiptPDFRendersChinese(t *testing.T) {
	r := FromSession(sampleSession())
	for _, lang := range []Lang{EN, ZH} {
		var buf bytes.Buffer
		if err := ReceiptPDF(&buf, r, lang); err != nil {
			t.Fatal(err)
		}
		if !bytes.HasPrefix(buf.Bytes(), []byte("%PDF-")) {
			t.Fatal("not a PDF")
		}
		// The CJK font is embedded as a subset: the file stays small.
		if buf.Len() > 400_000 {
			t.Errorf("%s receipt is %d bytes; font subsetting broken?", lang, buf.Len())
		}
		img := renderPNG(t, buf.Bytes(), "receipt-"+string(lang))
		// The table area (app labels are Chinese in both languages) must hold ink,
		// and the page must not be blank below the brand band.
		if n := inkIn(img, 0.05, 0.28, 0.35, 0.50); n < 150 {
			t.Errorf("%s: app column nearly blank (%d dark pixels)", lang, n)
		}
		if n := inkIn(img, 0, 0.12, 1, 1); n < 1500 {
			t.Errorf("%s: page nearly blank (%d dark pixels)", lang, n)
		}
	}
}

// TestChineseGlyphsDrawn proves Chinese is drawn, not dropped: a label of
// Chinese only must put ink on the page where an empty label does not.
func TestChineseGlyphsDrawn(t *testing.T) {
	base := store.InstallSession{UUID: "u", Serial: "S", Outcome: store.OutcomeDone, StartedAt: t0}
	render := func(label string) int {
		s := base
		s.Records = []store.InstallRecord{{Package: "", Label: label, Result: ""}}
		var buf bytes.Buffer
		r := FromSession(s)
		r.Station, r.Apps[0].Package = "", ""
		if err := ReceiptPDF(&buf, r, EN); err != nil {
			t.Fatal(err)
		}
		return inkIn(renderPNG(t, buf.Bytes(), "glyph"), 0.08, 0.25, 0.35, 0.45)
	}
	empty, chinese := render(""), render("微信支付宝抖音")
	if chinese < empty+40 {
		t.Fatalf("Chinese label drew %d dark pixels vs %d for none", chinese, empty)
	}
}

func TestSummaryPDFAndCSV(t *testing.T) {
	rows, total := SummarizeRecords([]RecordFact{
		{Package: "com.tencent.mm", Label: "微信", Result: store.ResultInstalled, Millis: 8300},
		{Package: "com.eg.android.AlipayGphone", Label: "支付宝", Result: store.ResultFailed},
	})
	s := Summary{Group: ByApp, Rows: rows, Total: total, From: t0, To: t0.Add(24 * time.Hour)}
	var buf bytes.Buffer
	if err := SummaryPDF(&buf, s, "华强北 3号店", ZH); err != nil {
		t.Fatal(err)
	}
	img := renderPNG(t, buf.Bytes(), "summary-zh-CN")
	if n := inkIn(img, 0.05, 0.12, 0.95, 0.30); n < 300 {
		t.Fatalf("summary table nearly blank (%d)", n)
	}
	buf.Reset()
	if err := SummaryCSV(&buf, s, ZH); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 4 || !strings.Contains(lines[2], "微信") || !strings.HasPrefix(lines[3], "合计") {
		t.Fatalf("csv %q", lines)
	}
}

func TestQueriesOnStore(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "station.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for i := 0; i < 30; i++ {
		s := sampleSession()
		s.UUID = "uuid-" + string(rune('a'+i%26)) + string(rune('a'+i/26))
		s.Serial = "SER" + string(rune('A'+i))
		s.StartedAt = t0.Add(time.Duration(i) * time.Hour)
		s.EndedAt = tp(s.StartedAt.Add(time.Minute))
		if i%3 == 0 {
			s.Operator = "wang"
			s.Outcome = store.OutcomeDone
			s.Records = s.Records[:1]
		}
		for j := range s.Records {
			s.Records[j].UUID = s.UUID + "-" + string(rune('0'+j))
		}
		if err := st.DB.Create(&s).Error; err != nil {
			t.Fatal(err)
		}
	}
	p, err := Sessions(ctx, st.DB, Filter{Operator: "wang", PageSize: 4, Page: 2})
	if err != nil {
		t.Fatal(err)
	}
	if p.Total != 10 || len(p.Items) != 4 || !p.Items[0].StartedAt.After(p.Items[1].StartedAt) {
		t.Fatalf("page %+v", p)
	}
	p, _ = Sessions(ctx, st.DB, Filter{Package: "com.eg.android.AlipayGphone"})
	if p.Total != 20 {
		t.Fatalf("by package: %d", p.Total)
	}
	p, _ = Sessions(ctx, st.DB, Filter{Serial: "serc"})
	if p.Total != 1 || p.Items[0].Serial != "SERC" {
		t.Fatalf("serial search %+v", p.Items)
	}
	p, _ = Sessions(ctx, st.DB, Filter{From: t0.Add(10 * time.Hour), To: t0.Add(12 * time.Hour)})
	if p.Total != 2 {
		t.Fatalf("date range: %d", p.Total)
	}
	r, err := LatestReceipt(ctx, st.DB, "SERA")
	if err != nil || len(r.Apps) != 1 || r.Operator != "wang" {
		t.Fatalf("receipt %+v %v", r, err)
	}
	if _, err := LoadReceipt(ctx, st.DB, "nope"); err == nil {
		t.Fatal("unknown session loaded")
	}
	sum, err := Summarize(ctx, st.DB, ByOperator, Filter{}, time.UTC)
	if err != nil || len(sum.Rows) != 2 || sum.Total.Total != 30 {
		t.Fatalf("by operator %+v %v", sum, err)
	}
	sum, err = Summarize(ctx, st.DB, ByApp, Filter{Operator: "lihua"}, time.UTC)
	if err != nil || len(sum.Rows) != 4 || sum.Total.Total != 80 {
		t.Fatalf("by app %+v %v", sum, err)
	}
}
