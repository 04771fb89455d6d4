// Package report turns install history into what a shop hands out and files:
// a per-phone receipt and summaries per day, operator and app, as HTML (for
// the browser's print), PDF (github.com/go-pdf/fpdf, Chinese through the
// bundled Droid Sans Fallback font) and CSV (UTF-8 with a BOM, so Excel reads
// Chinese). Aggregation is pure (Summarize*); the only I/O is the store
// query in query.go, which takes the caller's context and blocks only on the
// database. Nothing here runs in the background.
package report
