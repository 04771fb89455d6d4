package install

import (
	"sort"
	"strconv"
	"strings"
)

// App is one APK the list asks for, as the planner needs it.
type App struct {
	AppID       uint
	Package     string
	Label       string
	VersionCode int64
	VersionName string
	MinSDK      int
	TargetSDK   int
	ABIs        []string // native ABIs in the APK; empty = no native code
	Signer      string   // SHA-256 of the signing certificate; "" = unknown
	Size        int64
	SHA256      string
	Priority    int // higher first
	Position    int // list order, breaks priority ties
}

// Installed is what the phone's package manager says about one package.
type Installed struct {
	VersionCode int64
	Signer      string // "" = not known (facts from pm list do not carry it)
}

// Facts are the phone facts the planner needs.
type Facts struct {
	Serial    string
	Brand     string
	Model     string
	Release   string
	SDK       int
	ABIs      []string // supported ABIs, preferred first
	FreeBytes int64    // free space on /data; < 0 = unknown
	Installed map[string]Installed
}

// PlanOptions are the settings the planner honours.
type PlanOptions struct {
	// ReserveBytes is the free space on /data a plan never eats into.
	ReserveBytes int64
	// InstallFactor is how many times an APK's size the install needs while it
	// runs (staged copy + extracted code); 2.5 when zero.
	InstallFactor float64
	// PipelineOrder orders apps of equal priority for the two-stage
	// pipeline instead of list order: the smallest APK first, then the rest
	// largest first. The smallest first starts the commit stage soonest (the
	// "min t" of the phone floor); the small ones last keep the commit tail
	// after the last byte short when a shared hub makes transfers the slow
	// stage. This is Johnson's rule for a two-stage flow shop when all but
	// the smallest app transfer slower than they commit, and costs at most
	// one short commit-stage gap when commits are the slow stage.
	PipelineOrder bool
}

// Skip reason codes. Codes are stable: the UI and reports translate them.
const (
	SkipABI               = "SKIP_ABI"
	SkipMinSDK            = "SKIP_MIN_SDK"
	SkipTargetSDK         = "SKIP_TARGET_SDK_BLOCKED"
	SkipAlreadyInstalled  = "SKIP_ALREADY_INSTALLED"
	SkipNewerInstalled    = "SKIP_NEWER_INSTALLED"
	SkipSignatureConflict = "SKIP_SIGNATURE_CONFLICT"
	SkipStorage           = "SKIP_STORAGE_RESERVE"
	SkipDuplicate         = "SKIP_DUPLICATE"
)

// Reason says why an app is not in a plan, with the numbers behind it.
type Reason struct {
	Code   string            `json:"code"`
	Params map[string]string `json:"params,omitempty"`
	// NeedsOperator marks reasons a person must decide (signature conflicts).
	NeedsOperator bool `json:"needsOperator,omitempty"`
}

// Message is the reason in English and Simplified Chinese.
func (r Reason) Message() (en, zh string) {
	p := r.Params
	switch r.Code {
	case SkipABI:
		return "needs native code for " + p["appAbis"] + ", the phone runs " + p["phoneAbis"],
			"需要 " + p["appAbis"] + " 原生库，手机支持 " + p["phoneAbis"]
	case SkipMinSDK:
		return "needs Android SDK " + p["minSdk"] + ", the phone has " + p["sdk"],
			"需要 Android SDK " + p["minSdk"] + "，手机为 " + p["sdk"]
	case SkipTargetSDK:
		return "targets SDK " + p["targetSdk"] + "; Android 14 and later refuse apps targeting below 23",
			"目标 SDK 为 " + p["targetSdk"] + "；Android 14 及以上拒绝安装目标 SDK 低于 23 的应用"
	case SkipAlreadyInstalled:
		return "already installed (versionCode " + p["installed"] + ")",
			"已安装（versionCode " + p["installed"] + "）"
	case SkipNewerInstalled:
		return "a newer version is installed (" + p["installed"] + " > " + p["versionCode"] + ")",
			"已安装更新的版本（" + p["installed"] + " > " + p["versionCode"] + "）"
	case SkipSignatureConflict:
		return "installed copy is signed by someone else: uninstall it by hand if its data may be lost",
			"已安装的版本签名不同：如可放弃其数据，请手动卸载后再装"
	case SkipStorage:
		return "not enough free storage: needs " + p["needBytes"] + " bytes, " + p["freeBytes"] + " free, reserve " + p["reserveBytes"],
			"存储空间不足：需要 " + p["needBytes"] + " 字节，可用 " + p["freeBytes"] + "，保留 " + p["reserveBytes"]
	case SkipDuplicate:
		return "already on the list earlier", "列表中前面已有此应用"
	}
	return r.Code, r.Code
}

// Skipped is an app left out of a plan, with its reason.
type Skipped struct {
	App    App    `json:"app"`
	Reason Reason `json:"reason"`
}

// Step is one app to install.
type Step struct {
	App App `json:"app"`
	// Update is true when an older version is installed (data is kept).
	Update bool `json:"update"`
}

// Plan is one phone's share of a list, in install order.
type Plan struct {
	Serial  string    `json:"serial"`
	Install []Step    `json:"install"`
	Skip    []Skipped `json:"skip"`
	Bytes   int64     `json:"bytes"` // sum of Install sizes
}

// MakePlan filters and orders list for one phone. It is pure: same inputs,
// same plan. Priority comes first (then PipelineOrder or list order) so a phone unplugged early has the most
// important apps; the storage reserve is applied in that order, and once an
// app would cross it, it and everything after it are skipped, so a later
// small app never jumps ahead of a more important big one.
func MakePlan(list []App, f Facts, opt PlanOptions) Plan {
	factor := opt.InstallFactor
	if factor <= 0 {
		factor = 2.5
	}
	ordered := append([]App(nil), list...)
	sort.SliceStable(ordered, func(i, j int) bool {
		if ordered[i].Priority != ordered[j].Priority {
			return ordered[i].Priority > ordered[j].Priority
		}
		return ordered[i].Position < ordered[j].Position
	})
	if opt.PipelineOrder {
		pipelineOrder(ordered)
	}
	plan := Plan{Serial: f.Serial}
	seen := map[string]bool{}
	free := f.FreeBytes
	storageStop := false
	for _, a := range ordered {
		skip := func(code string, params map[string]string) {
			plan.Skip = append(plan.Skip, Skipped{App: a, Reason: Reason{Code: code, Params: params,
				NeedsOperator: code == SkipSignatureConflict}})
		}
		if seen[a.Package] {
			skip(SkipDuplicate, nil)
			continue
		}
		seen[a.Package] = true
		if !ABIsCompatible(a.ABIs, f.ABIs) {
			skip(SkipABI, map[string]string{"appAbis": strings.Join(a.ABIs, ","), "phoneAbis": strings.Join(f.ABIs, ",")})
			continue
		}
		if f.SDK > 0 && a.MinSDK > f.SDK {
			skip(SkipMinSDK, map[string]string{"minSdk": itoa(int64(a.MinSDK)), "sdk": itoa(int64(f.SDK))})
			continue
		}
		if f.SDK >= 34 && a.TargetSDK > 0 && a.TargetSDK < 23 {
			skip(SkipTargetSDK, map[string]string{"targetSdk": itoa(int64(a.TargetSDK)), "sdk": itoa(int64(f.SDK))})
			continue
		}
		inst, has := f.Installed[a.Package]
		if has && inst.VersionCode == a.VersionCode {
			skip(SkipAlreadyInstalled, map[string]string{"installed": itoa(inst.VersionCode), "versionCode": itoa(a.VersionCode)})
			continue
		}
		if has && inst.VersionCode > a.VersionCode {
			skip(SkipNewerInstalled, map[string]string{"installed": itoa(inst.VersionCode), "versionCode": itoa(a.VersionCode)})
			continue
		}
		if has && inst.Signer != "" && a.Signer != "" && !strings.EqualFold(inst.Signer, a.Signer) {
			skip(SkipSignatureConflict, map[string]string{"installedSigner": inst.Signer, "signer": a.Signer})
			continue
		}
		if f.FreeBytes >= 0 {
			need := int64(float64(a.Size) * factor)
			if storageStop || free-need < opt.ReserveBytes {
				storageStop = true
				skip(SkipStorage, map[string]string{"needBytes": itoa(need), "freeBytes": itoa(free), "reserveBytes": itoa(opt.ReserveBytes)})
				continue
			}
			// The staged copy goes away after the commit; the installed app keeps
			// roughly its APK's size.
			free -= a.Size
		}
		plan.Install = append(plan.Install, Step{App: a, Update: has})
		plan.Bytes += a.Size
	}
	return plan
}

// abiRuns lists, for each phone ABI, the APK ABIs it can run.
var abiRuns = map[string][]string{
	"arm64-v8a":   {"arm64-v8a", "armeabi-v7a", "armeabi"},
	"armeabi-v7a": {"armeabi-v7a", "armeabi"},
	"armeabi":     {"armeabi"},
	"x86_64":      {"x86_64", "x86"},
	"x86":         {"x86"},
	"riscv64":     {"riscv64"},
}

// ABIsCompatible reports whether a phone with phoneABIs can run an APK with
// native code for appABIs. Android picks one ABI for the whole APK, so one
// match is enough; an APK without native code runs everywhere.
func ABIsCompatible(appABIs, phoneABIs []string) bool {
	if len(appABIs) == 0 {
		return true
	}
	for _, p := range phoneABIs {
		runs, ok := abiRuns[p]
		if !ok {
			runs = []string{p}
		}
		for _, r := range runs {
			for _, a := range appABIs {
				if a == r {
					return true
				}
			}
		}
	}
	return false
}

// SplitList turns a comma-separated list (as the store keeps ABIs) into a slice.
func SplitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// pipelineOrder reorders each run of equal priority: smallest first, then
// largest first (ties keep list order).
func pipelineOrder(apps []App) {
	for start := 0; start < len(apps); {
		end := start
		for end < len(apps) && apps[end].Priority == apps[start].Priority {
			end++
		}
		tier := apps[start:end]
		small := 0
		for i := range tier {
			if tier[i].Size < tier[small].Size {
				small = i
			}
		}
		tier[0], tier[small] = tier[small], tier[0]
		rest := tier[1:]
		sort.SliceStable(rest, func(i, j int) bool {
			if rest[i].Size != rest[j].Size {
				return rest[i].Size > rest[j].Size
			}
			return rest[i].Position < rest[j].Position
		})
		start = end
	}
}
