package apk

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"preloadstation/backend/internal/apktest"
)

// badging is what `aapt dump badging` prints for the fields we compare.
type badging struct {
	pkg, versionCode, versionName, split string
	sdk, targetSdk                       string
	label                                string
	labels                               map[string]string // "" and locales
	icon                                 string
	iconByDensity                        map[int]string
	nativeCode                           []string
}

var (
	// A value ends at a quote followed by a space or the end of the line:
	// aapt does not escape single quotes inside values.
	reQuoted   = regexp.MustCompile(`(\w[\w-]*)='(.*?)'(?: |$)`)
	reLabelLoc = regexp.MustCompile(`^application-label(?:-([\w-]+))?:'(.*)'$`)
	// aapt's ResTable::normalizeForOutput escapes \, newline and ".
	aaptUnescape = strings.NewReplacer(`\\`, `\`, `\n`, "\n", `\"`, `"`)
)

func aaptBadging(t *testing.T, path string) badging {
	t.Helper()
	out, err := exec.Command(apktest.AaptPath, "dump", "badging", path).CombinedOutput()
	if err != nil {
		t.Fatalf("aapt dump badging: %v\n%s", err, out)
	}
	b := badging{labels: map[string]string{}, iconByDensity: map[int]string{}}
	for _, line := range strings.Split(string(out), "\n") {
		switch {
		case strings.HasPrefix(line, "package:"):
			for _, m := range reQuoted.FindAllStringSubmatch(line, -1) {
				m[2] = aaptUnescape.Replace(m[2])
				switch m[1] {
				case "name":
					b.pkg = m[2]
				case "versionCode":
					b.versionCode = m[2]
				case "versionName":
					b.versionName = m[2]
				case "split":
					b.split = m[2]
				}
			}
		case strings.HasPrefix(line, "sdkVersion:"):
			b.sdk = strings.Trim(strings.TrimPrefix(line, "sdkVersion:"), "'")
		case strings.HasPrefix(line, "targetSdkVersion:"):
			b.targetSdk = strings.Trim(strings.TrimPrefix(line, "targetSdkVersion:"), "'")
		case strings.HasPrefix(line, "application-icon-"):
			if m := regexp.MustCompile(`^application-icon-(\d+):'(.*)'$`).FindStringSubmatch(line); m != nil {
				d, _ := strconv.Atoi(m[1])
				b.iconByDensity[d] = m[2]
			}
		case strings.HasPrefix(line, "application-label"):
			if m := reLabelLoc.FindStringSubmatch(line); m != nil {
				b.labels[m[1]] = aaptUnescape.Replace(m[2])
				if m[1] == "" {
					b.label = b.labels[""]
				}
			}
		case strings.HasPrefix(line, "application:"):
			for _, m := range reQuoted.FindAllStringSubmatch(line, -1) {
				if m[1] == "icon" {
					b.icon = m[2]
				}
			}
		case strings.HasPrefix(line, "native-code:"):
			for _, m := range regexp.MustCompile(`'([^']*)'`).FindAllStringSubmatch(line, -1) {
				b.nativeCode = append(b.nativeCode, m[1])
			}
		}
	}
	return b
}

func TestInspectMatchesAapt(t *testing.T) {
	if err := apktest.Available(); err != nil {
		t.Skip(err)
	}
	dir := t.TempDir()
	cases := []struct {
		name    string
		spec    apktest.Spec
		schemes []string
	}{
		{"plain", apktest.Spec{Package: "com.example.plain", VersionCode: 1, VersionName: "1.0", Label: "Plain"}, []string{"v1", "v2", "v3"}},
		{"native and chinese", apktest.Spec{Package: "com.example.native", VersionCode: 120, VersionName: "1.2.0", MinSDK: 23, TargetSDK: 33,
			Label: "Native Tool", LabelZH: "原生工具", ABIs: []string{"x86_64", "arm64-v8a", "armeabi-v7a", "x86"}, Icon: true}, []string{"v1", "v2", "v3"}},
		{"v1 only key b", apktest.Spec{Package: "com.example.old", VersionCode: 5, VersionName: "0.5", MinSDK: 16, TargetSDK: 29,
			Label: "Old", LabelZH: "旧版", Signer: "b", V1Only: true, ABIs: []string{"armeabi-v7a"}}, []string{"v1"}},
		{"v2 only key b", apktest.Spec{Package: "com.example.v2", VersionCode: 2147483647, VersionName: "2.0-beta (中文) 'q'",
			MinSDK: 24, TargetSDK: 34, Label: `Quotes "and" @ & <b>`, Signer: "b", V2Only: true}, []string{"v2"}},
		{"aapt2 adaptive icon", apktest.Spec{Package: "com.example.modern", VersionCode: 31, VersionName: "3.1", MinSDK: 26, TargetSDK: 34,
			Label: "Modern", LabelZH: "现代", Icon: true, Aapt2: true, ABIs: []string{"arm64-v8a", "x86_64"}}, []string{"v1", "v2", "v3"}},
		{"split", apktest.Spec{Package: "com.example.split", VersionCode: 9, VersionName: "9", Split: "config.arm64_v8a", ABIs: []string{"arm64-v8a"}}, []string{"v1", "v2", "v3"}},
		{"payload and emoji", apktest.Spec{Package: "com.example.big", VersionCode: 77, VersionName: "7.7", Label: "Big 🚀", LabelZH: "大应用 🚀",
			PayloadBytes: 3 << 20, ABIs: []string{"arm64-v8a"}}, []string{"v1", "v2", "v3"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := apktest.Build(t, dir, c.spec)
			info, err := Inspect(p)
			if err != nil {
				t.Fatalf("Inspect: %v", err)
			}
			want := aaptBadging(t, p)
			check := func(field string, got, want any) {
				t.Helper()
				if !reflect.DeepEqual(got, want) {
					t.Errorf("%s = %#v, aapt says %#v", field, got, want)
				}
			}
			check("package", info.Package, want.pkg)
			check("versionCode", itoa(info.VersionCode), want.versionCode)
			check("versionName", info.VersionName, want.versionName)
			check("minSdk", itoa(int64(info.MinSDK)), want.sdk)
			check("targetSdk", itoa(int64(info.TargetSDK)), want.targetSdk)
			check("label", info.Label, want.label)
			check("labels", info.Labels, want.labels)
			check("split", info.Split, want.split)
			// aapt names the icon for each screen density; we keep the
			// sharpest, the one for the highest density it lists.
			wantIcon, best := want.icon, 0
			for d, p := range want.iconByDensity {
				if d > best {
					wantIcon, best = p, d
				}
			}
			if strings.HasSuffix(wantIcon, ".xml") {
				// An adaptive (XML) icon needs a drawable renderer to show; we
				// keep the best bitmap of the same resource instead.
				if !strings.HasSuffix(info.Icon, ".png") {
					t.Errorf("icon = %q, want a bitmap of the same resource as aapt's %q", info.Icon, wantIcon)
				}
				// apktest's aapt2 icon has 48 px (mdpi) and 72 px (hdpi) bitmaps.
				if img, err := png.Decode(bytes.NewReader(info.IconPNG)); err != nil || img.Bounds().Dx() != 72 {
					t.Errorf("icon %s is not the 72 px hdpi bitmap (err %v)", info.Icon, err)
				}
			} else {
				check("icon", info.Icon, wantIcon)
			}
			if len(want.nativeCode) == 0 {
				want.nativeCode = []string{}
			}
			check("abis", info.ABIs, want.nativeCode)

			// Beyond aapt: the signer, schemes, hash and size.
			check("signer", info.SignerSHA256, apktest.SignerCertSHA256(c.spec.Signer))
			for s, d := range info.SchemeSigners {
				check("signer "+s, d, apktest.SignerCertSHA256(c.spec.Signer))
			}
			check("schemes", info.Schemes, c.schemes)
			raw, _ := os.ReadFile(p)
			sum := sha256.Sum256(raw)
			check("sha256", info.SHA256, hex.EncodeToString(sum[:]))
			check("size", info.Size, int64(len(raw)))
			if c.spec.Icon {
				if _, err := png.Decode(bytes.NewReader(info.IconPNG)); err != nil {
					t.Errorf("IconPNG does not decode: %v", err)
				}
			} else if info.IconPNG != nil {
				t.Error("IconPNG set without an icon")
			}
			// The streamed path (virtual phones) reads the same.
			fromBytes, err := InspectReader(bytes.NewReader(raw), int64(len(raw)))
			if err != nil {
				t.Fatalf("InspectReader: %v", err)
			}
			check("InspectReader", fromBytes, info)
		})
	}
}

func itoa(v int64) string { return strconv.FormatInt(v, 10) }

func TestSignersDiffer(t *testing.T) {
	if err := apktest.Available(); err != nil {
		t.Skip(err)
	}
	dir := t.TempDir()
	a, err := Inspect(apktest.Build(t, dir, apktest.Spec{Package: "com.example.same", VersionCode: 1, Signer: "a"}))
	if err != nil {
		t.Fatal(err)
	}
	b, err := Inspect(apktest.Build(t, dir, apktest.Spec{Package: "com.example.same", VersionCode: 1, Signer: "b"}))
	if err != nil {
		t.Fatal(err)
	}
	if a.SignerSHA256 == b.SignerSHA256 || a.SHA256 == b.SHA256 {
		t.Fatalf("different signers read the same: %s", a.SignerSHA256)
	}
}

// Chat apps rename downloads; the content decides.
func TestRenamedFiles(t *testing.T) {
	if err := apktest.Available(); err != nil {
		t.Skip(err)
	}
	dir := t.TempDir()
	p := apktest.Build(t, dir, apktest.Spec{Package: "com.example.renamed", VersionCode: 3, LabelZH: "改名"})
	want, err := Inspect(p)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"x.apk.1", "x.apk(1)", "微信文件", "x.zip", "noext"} {
		q := filepath.Join(dir, name)
		if err := os.Link(p, q); err != nil {
			t.Fatal(err)
		}
		got, err := Inspect(q)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s read differently", name)
		}
	}
}

func TestRefusals(t *testing.T) {
	if err := apktest.Available(); err != nil {
		t.Skip(err)
	}
	dir := t.TempDir()
	good, err := os.ReadFile(apktest.Build(t, dir, apktest.Spec{Package: "com.example.victim", VersionCode: 1, ABIs: []string{"arm64-v8a"}}))
	if err != nil {
		t.Fatal(err)
	}
	manifest := entryBytes(t, good, "AndroidManifest.xml")

	cases := []struct {
		name string
		data []byte
		code string
	}{
		{"empty", nil, CodeNotZip},
		{"text", []byte("hello, this is not an apk at all\n"), CodeNotZip},
		{"png", mustPNG(), CodeNotZip},
		{"cut in half", good[:len(good)/2], CodeTruncated},
		{"cut end record", good[:len(good)-5], CodeTruncated},
		{"no manifest", zipOf(t, file{name: "classes.dex", data: []byte("dex\n035")}), CodeNoManifest},
		{"apks bundle", zipOf(t, file{name: "toc.pb", data: []byte{1}}, file{name: "splits/base-master.apk", data: good}, file{name: "splits/base-arm64_v8a.apk", data: good}), CodeBundle},
		{"xapk bundle", zipOf(t, file{name: "manifest.json", data: []byte("{}")}, file{name: "com.example.apk", data: good}, file{name: "config.arm64_v8a.apk", data: good}), CodeBundle},
		{"aab bundle", zipOf(t, file{name: "BundleConfig.pb", data: []byte{1}}, file{name: "base/manifest/AndroidManifest.xml", data: []byte{1}}), CodeBundle},
		{"dot dot", zipOf(t, file{name: "AndroidManifest.xml", data: manifest}, file{name: "../../evil.so", data: []byte("x")}), CodeBadPath},
		{"dot dot inside", zipOf(t, file{name: "AndroidManifest.xml", data: manifest}, file{name: "lib/../../evil.so", data: []byte("x")}), CodeBadPath},
		{"backslash dot dot", zipOf(t, file{name: "AndroidManifest.xml", data: manifest}, file{name: `assets\..\..\evil`, data: []byte("x")}), CodeBadPath},
		{"absolute", zipOf(t, file{name: "AndroidManifest.xml", data: manifest}, file{name: "/etc/passwd", data: []byte("x")}), CodeBadPath},
		{"drive letter", zipOf(t, file{name: "AndroidManifest.xml", data: manifest}, file{name: "C:/Windows/x.dll", data: []byte("x")}), CodeBadPath},
		{"manifest too large", zipOf(t, file{name: "AndroidManifest.xml", data: make([]byte, 3<<20)}), CodeManifestTooLarge},
		{"manifest garbage", zipOf(t, file{name: "AndroidManifest.xml", data: []byte("<manifest package='x'/>")}), CodeBadManifest},
		{"manifest cut", zipOf(t, file{name: "AndroidManifest.xml", data: manifest[:len(manifest)/2]}), CodeBadManifest},
		{"declared 16 GiB", zipOf(t, file{name: "AndroidManifest.xml", data: manifest}, file{name: "assets/huge", raw: []byte{3, 0}, declared: 16 << 30}), CodeZipBomb},
		{"ratio", zipOf(t, file{name: "AndroidManifest.xml", data: manifest}, file{name: "assets/dense", raw: []byte{3, 0}, declared: 50 << 20}), CodeZipBomb},
		{"expands beyond declared", zipOf(t, file{name: "AndroidManifest.xml", data: make([]byte, 1<<20), declared: 100}), CodeZipBomb},
		{"overlapping entries", overlapping(t, manifest), CodeZipBomb},
		{"duplicate manifest", zipOf(t, file{name: "AndroidManifest.xml", data: manifest}, file{name: "AndroidManifest.xml", data: manifest}), CodeBadZip},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			info, err := InspectReader(bytes.NewReader(c.data), int64(len(c.data)))
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("got %v, %v; want *Error %s", info, err, c.code)
			}
			if e.Code != c.code {
				t.Fatalf("code %s (%v), want %s", e.Code, err, c.code)
			}
			if e.MessageZH() == "" || !strings.Contains(e.Error(), Messages[c.code].EN) {
				t.Errorf("message %q lacks the English or Chinese text", e.Error())
			}
			if c.code == CodeBundle && c.name != "aab bundle" && len(e.Splits) != 2 {
				t.Errorf("splits %v, want the 2 APKs inside", e.Splits)
			}
		})
	}
	// A missing file is an I/O error, not a crash.
	if _, err := Inspect(filepath.Join(dir, "missing.apk")); err == nil || !strings.Contains(err.Error(), Messages[CodeIO].EN) {
		t.Errorf("missing file: %v", err)
	}
}

// framework-res.apk is a real platform APK built by Google's tools: big
// UTF-16 string pools, hundreds of configurations, labels in ~80 locales.
func TestInspectFrameworkRes(t *testing.T) {
	if err := apktest.Available(); err != nil {
		t.Skip(err)
	}
	p := apktest.FrameworkRes
	info, err := Inspect(p)
	if err != nil {
		t.Fatal(err)
	}
	want := aaptBadging(t, p)
	if info.Package != want.pkg || itoa(info.VersionCode) != want.versionCode || info.VersionName != want.versionName ||
		itoa(int64(info.MinSDK)) != want.sdk || itoa(int64(info.TargetSDK)) != want.targetSdk || info.Label != want.label {
		t.Errorf("read %+v, aapt says %+v", info, want)
	}
	// aapt prints a label for every locale the APK has anything for, falling
	// back (af-ZA → af); ours are the locales the label itself has. Every one
	// of ours must agree with aapt.
	if len(info.Labels) < 50 {
		t.Errorf("only %d labels", len(info.Labels))
	}
	for loc, l := range info.Labels {
		if w, ok := want.labels[loc]; !ok || w != l {
			t.Errorf("label %q = %q, aapt says %q (present %v)", loc, l, w, ok)
		}
	}
	if info.Labels["zh-CN"] == "" {
		t.Error("no zh-CN label")
	}
}
