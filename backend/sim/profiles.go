package sim

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Profile is one phone model as the station sees it over adb.
type Profile struct {
	Key          string // flag name: "pixel7", "redmi-note12", …
	Brand        string
	Manufacturer string
	Model        string
	Name         string // ro.product.name
	Device       string // ro.product.device
	Release      string // ro.build.version.release
	SDK          int
	ABIs         []string // ro.product.cpu.abilist, preferred first
	StorageBytes int64    // /data size
	FreeBytes    int64    // free on /data when the phone arrives
	Battery      int      // percent
	Screen       string   // wm size
	Density      int      // wm density
	MIUI         string   // ro.miui.ui.version.name, empty off Xiaomi
	System       []string // preinstalled system packages
	ThirdParty   []Package
}

// features is what this phone's adbd announces: shell_v2 and cmd arrived in
// Android 7 (N), stat_v2 in 8 (O), abb_exec in 11 (R).
func (p Profile) features() []string {
	var f []string
	if p.SDK >= 24 {
		f = append(f, "shell_v2", "cmd")
	}
	if p.SDK >= 26 {
		f = append(f, "stat_v2")
	}
	if p.SDK >= 30 {
		f = append(f, "abb_exec")
	}
	return f
}

const gb = 1_000_000_000

var commonSystem = []string{
	"android", "com.android.settings", "com.android.systemui", "com.android.shell",
	"com.android.providers.downloads", "com.android.packageinstaller", "com.android.phone",
	"com.android.vending", "com.google.android.gms", "com.google.android.webview", "com.android.chrome",
}

// Profiles are the built-in models. "mixed" cycles through them in this order.
var Profiles = []Profile{
	{Key: "redmi-note12", Brand: "Redmi", Manufacturer: "Xiaomi", Model: "23021RAAEG", Name: "tapas_global",
		Device: "tapas", Release: "13", SDK: 33, ABIs: []string{"arm64-v8a", "armeabi-v7a", "armeabi"},
		StorageBytes: 128 * gb, FreeBytes: 96 * gb, Battery: 64, Screen: "1080x2400", Density: 440, MIUI: "V140",
		System: append([]string{"com.miui.home", "com.miui.securitycenter", "com.xiaomi.market", "com.miui.analytics"}, commonSystem...)},
	{Key: "galaxy-a54", Brand: "samsung", Manufacturer: "samsung", Model: "SM-A546B", Name: "a54xnseea",
		Device: "a54x", Release: "14", SDK: 34, ABIs: []string{"arm64-v8a", "armeabi-v7a", "armeabi"},
		StorageBytes: 128 * gb, FreeBytes: 101 * gb, Battery: 81, Screen: "1080x2340", Density: 450,
		System: append([]string{"com.sec.android.app.launcher", "com.samsung.android.app.spage", "com.sec.android.app.samsungapps", "com.facebook.katana"}, commonSystem...)},
	{Key: "pixel7", Brand: "google", Manufacturer: "Google", Model: "Pixel 7", Name: "panther",
		Device: "panther", Release: "14", SDK: 34, ABIs: []string{"arm64-v8a"},
		StorageBytes: 128 * gb, FreeBytes: 110 * gb, Battery: 92, Screen: "1080x2400", Density: 420,
		System: append([]string{"com.google.android.apps.nexuslauncher", "com.google.android.apps.photos"}, commonSystem...)},
	{Key: "galaxy-j5", Brand: "samsung", Manufacturer: "samsung", Model: "SM-J530F", Name: "j5y17ltexx",
		Device: "j5y17lte", Release: "7.0", SDK: 24, ABIs: []string{"armeabi-v7a", "armeabi"},
		StorageBytes: 16 * gb, FreeBytes: 5 * gb, Battery: 43, Screen: "720x1280", Density: 320,
		System: append([]string{"com.sec.android.app.launcher", "com.sec.android.app.samsungapps"}, commonSystem...)},
	{Key: "redmi-9a", Brand: "Redmi", Manufacturer: "Xiaomi", Model: "M2006C3LG", Name: "dandelion_global",
		Device: "dandelion", Release: "10", SDK: 29, ABIs: []string{"armeabi-v7a", "armeabi"},
		StorageBytes: 32 * gb, FreeBytes: 18 * gb, Battery: 57, Screen: "720x1600", Density: 320, MIUI: "V12",
		System: append([]string{"com.miui.home", "com.miui.securitycenter", "com.xiaomi.market"}, commonSystem...)},
	{Key: "x86-emulator", Brand: "google", Manufacturer: "Google", Model: "sdk_gphone64_x86_64", Name: "sdk_gphone64_x86_64",
		Device: "emu64x", Release: "14", SDK: 34, ABIs: []string{"x86_64", "arm64-v8a"},
		StorageBytes: 8 * gb, FreeBytes: 6 * gb, Battery: 100, Screen: "1080x2400", Density: 420,
		System: commonSystem},
}

// mixedKeys is the "mixed" set: the shop's real mix, old and new, Xiaomi to Pixel.
var mixedKeys = []string{"redmi-note12", "galaxy-a54", "pixel7", "galaxy-j5", "redmi-9a"}

// ProfileFor picks the i-th phone's profile of a set: "mixed", one key, or a
// comma-separated list of keys (cycled).
func ProfileFor(set string, i int) (Profile, error) {
	keys := mixedKeys
	if set != "" && set != "mixed" {
		keys = strings.Split(set, ",")
	}
	key := strings.TrimSpace(keys[i%len(keys)])
	for _, p := range Profiles {
		if p.Key == key {
			return p, nil
		}
	}
	var all []string
	for _, p := range Profiles {
		all = append(all, p.Key)
	}
	return Profile{}, fmt.Errorf("unknown phone profile %q (known: mixed, %s)", key, strings.Join(all, ", "))
}

// props is the phone's getprop table.
func (ph *Phone) defaultProps() map[string]string {
	p := ph.prof
	var abi32, abi64 []string
	for _, a := range p.ABIs {
		if strings.Contains(a, "64") {
			abi64 = append(abi64, a)
		} else {
			abi32 = append(abi32, a)
		}
	}
	fp := fmt.Sprintf("%s/%s/%s:%s/SIM.%d/%d:user/release-keys", p.Brand, p.Name, p.Device, p.Release, p.SDK, 1000+p.SDK)
	m := map[string]string{
		"ro.product.brand":                p.Brand,
		"ro.product.manufacturer":         p.Manufacturer,
		"ro.product.model":                p.Model,
		"ro.product.name":                 p.Name,
		"ro.product.device":               p.Device,
		"ro.product.board":                p.Device,
		"ro.product.cpu.abi":              p.ABIs[0],
		"ro.product.cpu.abilist":          strings.Join(p.ABIs, ","),
		"ro.product.cpu.abilist32":        strings.Join(abi32, ","),
		"ro.product.cpu.abilist64":        strings.Join(abi64, ","),
		"ro.build.version.release":        p.Release,
		"ro.build.version.sdk":            strconv.Itoa(p.SDK),
		"ro.build.version.security_patch": "2026-10-01",
		"ro.build.fingerprint":            fp,
		"ro.build.display.id":             fmt.Sprintf("SIM.%d", p.SDK),
		"ro.build.type":                   "user",
		"ro.build.tags":                   "release-keys",
		"ro.serialno":                     ph.serialNo,
		"ro.boot.serialno":                ph.serialNo,
		"ro.debuggable":                   "0",
		"ro.secure":                       "1",
		"ro.adb.secure":                   "1",
		"sys.boot_completed":              "1",
		"dev.bootcomplete":                "1",
		"persist.sys.locale":              "zh-CN",
		"persist.sys.timezone":            "Asia/Shanghai",
		"ro.product.locale":               "zh-CN",
		"service.adb.root":                "0",
		"init.svc.adbd":                   "running",
	}
	if p.MIUI != "" {
		m["ro.miui.ui.version.name"] = p.MIUI
		m["ro.miui.ui.version.code"] = "14"
		m["persist.security.adbinstall"] = "1"
	}
	if len(abi64) == 0 {
		m["ro.product.cpu.abilist64"] = ""
	}
	return m
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
