package services

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"gorm.io/gorm"

	"preloadstation/backend/report"
)

// ReportService is history, receipts and summaries as the UI sees them; the
// rendering lives in backend/report.
type ReportService struct {
	deps    Deps
	session *Session
}

// NewReportService builds the service; app.go/registry.go adds it to the Set and Bindings.
func NewReportService(deps Deps, sess *Session) *ReportService {
	if deps.CallTimeout == 0 {
		deps.CallTimeout = 30 * time.Second
	}
	return &ReportService{deps: deps, session: sess}
}

func reportWrap(err error) error {
	if errors.Is(err, report.ErrNotFound) {
		return newError(CodeNotFound, err)
	}
	return wrap(err)
}

// reportRead runs one read of the history for a signed-in user, within the
// call's deadline, mapping "not found" to its code.
func reportRead[T any](s *ReportService, read func(ctx context.Context, db *gorm.DB) (T, error)) (*T, error) {
	if _, err := requireUser(s.session); err != nil {
		return nil, err
	}
	ctx, cancel := s.deps.callCtx()
	defer cancel()
	v, err := read(ctx, s.deps.Store.DB)
	if err != nil {
		return nil, reportWrap(err)
	}
	return &v, nil
}

// Sessions is one page of install sessions matching the filter, newest first
// (filters: date range, operator, outcome, model, package, serial).
func (s *ReportService) Sessions(f report.Filter) (*report.Page, error) {
	return reportRead(s, func(ctx context.Context, db *gorm.DB) (report.Page, error) {
		return report.Sessions(ctx, db, f)
	})
}

// Receipt is one session's receipt.
func (s *ReportService) Receipt(sessionUUID string) (*report.Receipt, error) {
	return reportRead(s, func(ctx context.Context, db *gorm.DB) (report.Receipt, error) {
		return report.LoadReceipt(ctx, db, sessionUUID)
	})
}

// LatestReceipt is the receipt of a phone's newest session.
func (s *ReportService) LatestReceipt(serial string) (*report.Receipt, error) {
	return reportRead(s, func(ctx context.Context, db *gorm.DB) (report.Receipt, error) {
		return report.LatestReceipt(ctx, db, serial)
	})
}

// Summary groups the filtered sessions by "day", "operator" or "app".
func (s *ReportService) Summary(group string, f report.Filter) (*report.Summary, error) {
	return reportRead(s, func(ctx context.Context, db *gorm.DB) (report.Summary, error) {
		return report.Summarize(ctx, db, report.ParseGroup(group), f, time.Local)
	})
}

// Export is a rendered file: the browser downloads Data (base64 in JSON);
// the window shows Path, where a copy was saved under the data directory.
type Export struct {
	FileName string `json:"fileName"`
	Path     string `json:"path"`
	MIME     string `json:"mime"`
	Data     []byte `json:"data"`
}

// ExportReceipt renders a session's receipt as "pdf", "csv" or "html" in lang ("en", "zh-CN").
func (s *ReportService) ExportReceipt(sessionUUID, format, lang string) (*Export, error) {
	r, err := s.Receipt(sessionUUID)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	l := report.ParseLang(lang)
	switch format {
	case "pdf":
		err = report.ReceiptPDF(&buf, *r, l)
	case "csv":
		err = report.ReceiptCSV(&buf, *r, l)
	case "html":
		err = report.ReceiptHTML(&buf, *r, l)
	default:
		return nil, &Error{Code: CodeInvalid, Message: fmt.Sprintf("unknown export format %q", format)}
	}
	if err != nil {
		return nil, wrap(err)
	}
	name := fmt.Sprintf("receipt-%s-%s.%s", safeName(r.Serial), r.StartedAt.Local().Format("20060102-150405"), format)
	return s.save(name, format, buf.Bytes())
}

// ExportSummary renders a summary as "pdf" or "csv" in lang.
func (s *ReportService) ExportSummary(group string, f report.Filter, format, lang string) (*Export, error) {
	sum, err := s.Summary(group, f)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	l := report.ParseLang(lang)
	switch format {
	case "pdf":
		ctx, cancel := s.deps.callCtx()
		st, serr := s.deps.Store.Station(ctx)
		cancel()
		name := ""
		if serr == nil {
			name = st.Name
		}
		err = report.SummaryPDF(&buf, *sum, name, l)
	case "csv":
		err = report.SummaryCSV(&buf, *sum, l)
	default:
		return nil, &Error{Code: CodeInvalid, Message: fmt.Sprintf("unknown export format %q", format)}
	}
	if err != nil {
		return nil, wrap(err)
	}
	return s.save(fmt.Sprintf("summary-%s-%s.%s", sum.Group, time.Now().Format("20060102-150405"), format), format, buf.Bytes())
}

var mimes = map[string]string{"pdf": "application/pdf", "csv": "text/csv;charset=utf-8", "html": "text/html;charset=utf-8"}

// save keeps a copy under <data>/exports: the desktop window has no
// download folder of its own, so the operator is told where the file is.
func (s *ReportService) save(name, format string, data []byte) (*Export, error) {
	e := &Export{FileName: name, MIME: mimes[format], Data: data}
	if s.deps.DataDir != "" {
		dir := filepath.Join(s.deps.DataDir, "exports")
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, wrap(fmt.Errorf("report: create exports dir: %w", err))
		}
		e.Path = filepath.Join(dir, name)
		if err := os.WriteFile(e.Path, data, 0o600); err != nil {
			return nil, wrap(fmt.Errorf("report: save %s: %w", name, err))
		}
	}
	return e, nil
}

func safeName(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '-' || r == '_' || r == '.' || ('0' <= r && r <= '9') || ('a' <= r && r <= 'z') || ('A' <= r && r <= 'Z') {
			return r
		}
		return '_'
	}, s)
}

// AppIcon is an app's launcher icon (PNG/WebP bytes; base64 in JSON), for
// the library table and receipts; empty when the APK has none.
func (s *ReportService) AppIcon(id uint) ([]byte, error) {
	ctx, cancel := s.deps.callCtx()
	defer cancel()
	var icons [][]byte
	if err := s.deps.Store.DB.WithContext(ctx).Table("apps").Where("id = ?", id).Limit(1).Pluck("icon", &icons).Error; err != nil {
		return nil, wrap(err)
	}
	if len(icons) == 0 {
		return nil, &Error{Code: CodeNotFound, Message: fmt.Sprintf("no app %d", id)}
	}
	return icons[0], nil
}
