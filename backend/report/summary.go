package report

import (
	"sort"
	"time"

	"github.com/samber/lo"

	"preloadstation/backend/store"
)

// Group is what a summary groups by.
type Group string

const (
	ByDay      Group = "day"
	ByOperator Group = "operator"
	ByApp      Group = "app"
)

// ParseGroup returns the group named s, or ByDay.
func ParseGroup(s string) Group {
	switch Group(s) {
	case ByOperator, ByApp:
		return Group(s)
	}
	return ByDay
}

// Row is one line of a summary. For day and operator a "total" is a phone
// session; for app it is one install attempt of that app.
type Row struct {
	Key         string  `json:"key"`
	Label       string  `json:"label"` // app label for ByApp; = Key otherwise
	Total       int     `json:"total"`
	Done        int     `json:"done"`   // sessions done / apps installed
	Failed      int     `json:"failed"` // sessions failed / app attempts failed
	Other       int     `json:"other"`  // interrupted, cancelled, skipped
	Apps        int     `json:"apps"`   // apps installed (day/operator)
	SuccessRate float64 `json:"successRate"`
	AvgMillis   int64   `json:"avgMillis"`
}

// Summary is a grouped report over a period.
type Summary struct {
	Group Group     `json:"group"`
	From  time.Time `json:"from"`
	To    time.Time `json:"to"`
	Rows  []Row     `json:"rows"`
	Total Row       `json:"total"`
}

// SessionFact is what day and operator summaries need of a session.
type SessionFact struct {
	StartedAt time.Time
	EndedAt   *time.Time
	Operator  string
	Outcome   string
	Installed int
}

// RecordFact is what an app summary needs of an install record.
type RecordFact struct {
	Package string
	Label   string
	Result  string
	Millis  int64
}

type acc struct {
	row    Row
	sumMS  int64
	timedN int64
}

func (a *acc) finish() Row {
	r := a.row
	if decided := r.Done + r.Failed; decided > 0 {
		r.SuccessRate = float64(r.Done) / float64(decided)
	}
	if a.timedN > 0 {
		r.AvgMillis = a.sumMS / a.timedN
	}
	return r
}

// SummarizeSessions groups sessions by day (in loc) or operator. Success rate
// is done ÷ (done + failed): an unplugged phone is not the station's failure.
// Average time counts finished sessions only.
func SummarizeSessions(facts []SessionFact, g Group, loc *time.Location) (rows []Row, total Row) {
	if loc == nil {
		loc = time.Local
	}
	m := map[string]*acc{}
	var tot acc
	for _, f := range facts {
		key := f.Operator
		if g == ByDay {
			key = f.StartedAt.In(loc).Format("2006-01-02")
		}
		a := m[key]
		if a == nil {
			a = &acc{row: Row{Key: key, Label: key}}
			m[key] = a
		}
		for _, x := range []*acc{a, &tot} {
			x.row.Total++
			x.row.Apps += f.Installed
			switch f.Outcome {
			case store.OutcomeDone:
				x.row.Done++
			case store.OutcomeFailed:
				x.row.Failed++
			default:
				x.row.Other++
			}
			if f.EndedAt != nil && f.Outcome != store.OutcomeRunning {
				x.sumMS += f.EndedAt.Sub(f.StartedAt).Milliseconds()
				x.timedN++
			}
		}
	}
	tot.row.Key = "total"
	return sorted(m, g), tot.finish()
}

// SummarizeRecords groups install records by app package. Success rate is
// installed ÷ (installed + failed); skipped apps were never attempted.
func SummarizeRecords(facts []RecordFact) (rows []Row, total Row) {
	m := map[string]*acc{}
	tot := acc{row: Row{Key: "total"}}
	for _, f := range facts {
		a := m[f.Package]
		if a == nil {
			a = &acc{row: Row{Key: f.Package, Label: f.Label}}
			m[f.Package] = a
		}
		if a.row.Label == "" {
			a.row.Label = f.Label
		}
		for _, x := range []*acc{a, &tot} {
			x.row.Total++
			switch f.Result {
			case store.ResultInstalled:
				x.row.Done++
				x.sumMS += f.Millis
				x.timedN++
			case store.ResultFailed:
				x.row.Failed++
			default:
				x.row.Other++
			}
		}
	}
	return sorted(m, ByApp), tot.finish()
}

// sorted lists days newest first, operators and apps by name.
func sorted(m map[string]*acc, g Group) []Row {
	rows := lo.MapToSlice(m, func(_ string, a *acc) Row { return a.finish() })
	sort.Slice(rows, func(i, j int) bool {
		if g == ByDay {
			return rows[i].Key > rows[j].Key
		}
		return rows[i].Key < rows[j].Key
	})
	return rows
}
