package report

import (
	"fmt"
	"sort"
	"time"

	"preloadstation/backend/store"
)

// Receipt is what one phone's stay produced, ready to print.
type Receipt struct {
	SessionUUID string       `json:"sessionUuid"`
	Station     string       `json:"station"`
	Slot        string       `json:"slot"`
	Operator    string       `json:"operator"`
	Serial      string       `json:"serial"`
	Brand       string       `json:"brand"`
	Model       string       `json:"model"`
	Release     string       `json:"release"`
	ListName    string       `json:"listName"`
	Outcome     string       `json:"outcome"`
	StartedAt   time.Time    `json:"startedAt"`
	EndedAt     *time.Time   `json:"endedAt"`
	Apps        []ReceiptApp `json:"apps"`
	Installed   int          `json:"installed"`
	Skipped     int          `json:"skipped"`
	Failed      int          `json:"failed"`
}

// ReceiptApp is one app line of a receipt.
type ReceiptApp struct {
	Label       string `json:"label"`
	Package     string `json:"package"`
	VersionName string `json:"versionName"`
	VersionCode int64  `json:"versionCode"`
	Result      string `json:"result"`
	Code        string `json:"code"`
	Message     string `json:"message"`
	Millis      int64  `json:"millis"`
}

// FromSession builds a receipt from a session loaded with its records.
// Records are listed installed first, then skipped, then failed, each by label,
// so the customer reads the good news first and the order is stable.
func FromSession(s store.InstallSession) Receipt {
	r := Receipt{
		SessionUUID: s.UUID, Station: s.Station, Slot: s.SlotLabel, Operator: s.Operator,
		Serial: s.Serial, Brand: s.Brand, Model: s.Model, Release: s.Release, ListName: s.ListName,
		Outcome: s.Outcome, StartedAt: s.StartedAt, EndedAt: s.EndedAt,
	}
	for _, rec := range s.Records {
		r.Apps = append(r.Apps, ReceiptApp{
			Label: rec.Label, Package: rec.Package, VersionName: rec.VersionName, VersionCode: rec.VersionCode,
			Result: rec.Result, Code: rec.Code, Message: rec.Message, Millis: rec.TransferMS + rec.CommitMS,
		})
		switch rec.Result {
		case store.ResultInstalled:
			r.Installed++
		case store.ResultSkipped:
			r.Skipped++
		case store.ResultFailed:
			r.Failed++
		}
	}
	rank := map[string]int{store.ResultInstalled: 0, store.ResultSkipped: 1, store.ResultFailed: 2, store.ResultCancelled: 3}
	sort.SliceStable(r.Apps, func(i, j int) bool {
		a, b := r.Apps[i], r.Apps[j]
		if rank[a.Result] != rank[b.Result] {
			return rank[a.Result] < rank[b.Result]
		}
		return appName(a) < appName(b)
	})
	return r
}

func appName(a ReceiptApp) string {
	if a.Label != "" {
		return a.Label
	}
	return a.Package
}

// Version is "1.2.3 (45)", or what there is of it.
func (a ReceiptApp) Version() string {
	switch {
	case a.VersionName != "" && a.VersionCode != 0:
		return fmt.Sprintf("%s (%d)", a.VersionName, a.VersionCode)
	case a.VersionName != "":
		return a.VersionName
	case a.VersionCode != 0:
		return fmt.Sprint(a.VersionCode)
	}
	return ""
}

// PhoneName is "Brand Model".
func (r Receipt) PhoneName() string {
	switch {
	case r.Brand != "" && r.Model != "":
		return r.Brand + " " + r.Model
	case r.Model != "":
		return r.Model
	}
	return r.Brand
}

// Duration is how long the session took (0 while running).
func (r Receipt) Duration() time.Duration {
	if r.EndedAt == nil {
		return 0
	}
	return r.EndedAt.Sub(r.StartedAt)
}

// ResultText translates a record result or session outcome.
func ResultText(lang Lang, result string) string {
	if _, ok := labels[result]; ok {
		return T(lang, result)
	}
	return result
}

// FormatMillis prints 850 ms, 12.4 s or 3 min 05 s.
func FormatMillis(ms int64) string {
	switch {
	case ms <= 0:
		return ""
	case ms < 1000:
		return fmt.Sprintf("%d ms", ms)
	case ms < 60_000:
		return fmt.Sprintf("%.1f s", float64(ms)/1000)
	}
	return fmt.Sprintf("%d min %02d s", ms/60_000, (ms%60_000)/1000)
}

// formatTime prints a time in the station's local zone.
func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Local().Format("2006-01-02 15:04:05")
}
