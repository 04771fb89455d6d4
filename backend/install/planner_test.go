package install

import (
	"reflect"
	"testing"
)

func TestABIsCompatible(t *testing.T) {
	tests := []struct {
		app, phone []string
		want       bool
	}{
		{nil, []string{"arm64-v8a"}, true},
		{[]string{"armeabi-v7a"}, []string{"arm64-v8a", "armeabi-v7a", "armeabi"}, true},
		{[]string{"armeabi-v7a"}, []string{"arm64-v8a"}, true}, // 64-bit ARM runs 32-bit ARM code
		{[]string{"armeabi"}, []string{"armeabi-v7a"}, true},
		{[]string{"arm64-v8a"}, []string{"armeabi-v7a", "armeabi"}, false},
		{[]string{"x86"}, []string{"x86_64"}, true},
		{[]string{"x86_64"}, []string{"x86"}, false},
		{[]string{"x86", "x86_64"}, []string{"arm64-v8a"}, false},
		{[]string{"arm64-v8a", "x86_64"}, []string{"x86_64", "x86"}, true},
		{[]string{"mips"}, []string{"mips"}, true}, // unknown ABIs match themselves
	}
	for _, tt := range tests {
		if got := ABIsCompatible(tt.app, tt.phone); got != tt.want {
			t.Errorf("ABIsCompatible(%v, %v) = %v, want %v", tt.app, tt.phone, got, tt.want)
		}
	}
}

func TestMakePlan(t *testing.T) {
	const MB = 1 << 20
	phone := Facts{Serial: "S1", SDK: 34, ABIs: []string{"arm64-v8a", "armeabi-v7a", "armeabi"}, FreeBytes: -1}
	app := func(pkg string, mod func(*App)) App {
		a := App{Package: pkg, VersionCode: 10, MinSDK: 21, TargetSDK: 33, Size: 10 * MB}
		if mod != nil {
			mod(&a)
		}
		return a
	}
	type want struct {
		install []string
		skip    map[string]string // package -> code
	}
	tests := []struct {
		name  string
		list  []App
		facts func(*Facts)
		opt   PlanOptions
		want  want
	}{
		{
			name: "priority first then list order",
			list: []App{
				app("a", func(a *App) { a.Position = 0 }),
				app("b", func(a *App) { a.Position = 1; a.Priority = 5 }),
				app("c", func(a *App) { a.Position = 2 }),
				app("d", func(a *App) { a.Position = 3; a.Priority = 5 }),
			},
			want: want{install: []string{"b", "d", "a", "c"}},
		},
		{
			name: "pipeline order within a priority: smallest, then largest first",
			list: []App{
				app("big", func(a *App) { a.Position = 0; a.Size = 80 * MB }),
				app("small", func(a *App) { a.Position = 1; a.Size = 5 * MB }),
				app("vip", func(a *App) { a.Position = 2; a.Size = 90 * MB; a.Priority = 1 }),
				app("mid", func(a *App) { a.Position = 3; a.Size = 20 * MB }),
				app("tiny2", func(a *App) { a.Position = 4; a.Size = 5 * MB }),
				app("vip2", func(a *App) { a.Position = 5; a.Size = 1 * MB; a.Priority = 1 }),
			},
			opt:  PlanOptions{PipelineOrder: true},
			want: want{install: []string{"vip2", "vip", "small", "big", "mid", "tiny2"}},
		},
		{
			name: "abi, minSdk, targetSdk on Android 14",
			list: []App{
				app("x86only", func(a *App) { a.ABIs = []string{"x86"} }),
				app("arm32", func(a *App) { a.ABIs = []string{"armeabi-v7a"} }),
				app("new", func(a *App) { a.MinSDK = 35 }),
				app("old", func(a *App) { a.TargetSDK = 22 }),
				app("plain", nil),
			},
			want: want{install: []string{"arm32", "plain"},
				skip: map[string]string{"x86only": SkipABI, "new": SkipMinSDK, "old": SkipTargetSDK}},
		},
		{
			name:  "targetSdk 22 is fine below Android 14",
			list:  []App{app("old", func(a *App) { a.TargetSDK = 22 })},
			facts: func(f *Facts) { f.SDK = 33 },
			want:  want{install: []string{"old"}},
		},
		{
			name: "installed same, newer, older, other signer",
			list: []App{
				app("same", nil), app("newer", nil), app("older", nil),
				app("resigned", func(a *App) { a.Signer = "aa" }),
				app("unknownsigner", func(a *App) { a.Signer = "aa" }),
			},
			facts: func(f *Facts) {
				f.Installed = map[string]Installed{
					"same": {VersionCode: 10}, "newer": {VersionCode: 11}, "older": {VersionCode: 9},
					"resigned": {VersionCode: 9, Signer: "bb"}, "unknownsigner": {VersionCode: 9},
				}
			},
			want: want{install: []string{"older", "unknownsigner"},
				skip: map[string]string{"same": SkipAlreadyInstalled, "newer": SkipNewerInstalled, "resigned": SkipSignatureConflict}},
		},
		{
			name: "storage reserve stops the plan in priority order",
			list: []App{
				app("big", func(a *App) { a.Size = 100 * MB; a.Position = 0 }),
				app("mid", func(a *App) { a.Size = 40 * MB; a.Position = 1 }),
				app("small", func(a *App) { a.Size = 1 * MB; a.Position = 2 }),
			},
			// 100 MB needs 250 MB while installing and leaves 100 MB used:
			// 300 - 250 >= 50 ok; then 200 free, mid needs 100 -> 100 >= 50 ok... make it tighter.
			facts: func(f *Facts) { f.FreeBytes = 300 * MB },
			opt:   PlanOptions{ReserveBytes: 120 * MB},
			// big: 300-250=50 < 120 -> stop; everything after is skipped too.
			want: want{skip: map[string]string{"big": SkipStorage, "mid": SkipStorage, "small": SkipStorage}},
		},
		{
			name: "storage accounts installed size between apps",
			list: []App{
				app("a", func(a *App) { a.Size = 40 * MB; a.Position = 0 }),
				app("b", func(a *App) { a.Size = 40 * MB; a.Position = 1 }),
				app("c", func(a *App) { a.Size = 40 * MB; a.Position = 2 }),
			},
			// a: 250-100=150>=100 ok, free 210; b: 210-100=110 ok, free 170; c: 170-100=70 < 100 stop.
			facts: func(f *Facts) { f.FreeBytes = 250 * MB },
			opt:   PlanOptions{ReserveBytes: 100 * MB},
			want:  want{install: []string{"a", "b"}, skip: map[string]string{"c": SkipStorage}},
		},
		{
			name: "duplicate package keeps the first by priority",
			list: []App{app("a", func(a *App) { a.Position = 0 }), app("a", func(a *App) { a.Position = 1; a.Priority = 1; a.VersionCode = 12 })},
			want: want{install: []string{"a"}, skip: map[string]string{"a": SkipDuplicate}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := phone
			if tt.facts != nil {
				tt.facts(&f)
			}
			p := MakePlan(tt.list, f, tt.opt)
			var got []string
			var bytes int64
			for _, s := range p.Install {
				got = append(got, s.App.Package)
				bytes += s.App.Size
			}
			if !reflect.DeepEqual(got, tt.want.install) {
				t.Errorf("install = %v, want %v", got, tt.want.install)
			}
			if bytes != p.Bytes {
				t.Errorf("Bytes = %d, want %d", p.Bytes, bytes)
			}
			gotSkip := map[string]string{}
			for _, s := range p.Skip {
				gotSkip[s.App.Package] = s.Reason.Code
				if en, zh := s.Reason.Message(); en == "" || zh == "" || en == s.Reason.Code {
					t.Errorf("skip %s: reason %s has no message", s.App.Package, s.Reason.Code)
				}
			}
			if len(gotSkip) == 0 {
				gotSkip = nil
			}
			if !reflect.DeepEqual(gotSkip, tt.want.skip) {
				t.Errorf("skip = %v, want %v", gotSkip, tt.want.skip)
			}
			if len(p.Install)+len(p.Skip) != len(tt.list) {
				t.Errorf("%d planned + %d skipped != %d on the list", len(p.Install), len(p.Skip), len(tt.list))
			}
		})
	}
}

func TestMakePlanDuplicateKeepsHigherPriority(t *testing.T) {
	p := MakePlan([]App{{Package: "a", VersionCode: 1, Position: 0}, {Package: "a", VersionCode: 2, Position: 1, Priority: 1}},
		Facts{SDK: 30, FreeBytes: -1}, PlanOptions{})
	if len(p.Install) != 1 || p.Install[0].App.VersionCode != 2 {
		t.Fatalf("plan = %+v, want versionCode 2 kept", p.Install)
	}
}
