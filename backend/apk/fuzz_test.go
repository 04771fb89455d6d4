package apk

import (
	"bytes"
	"errors"
	"os"
	"testing"

	"preloadstation/backend/internal/apktest"
)

// seedAPK returns a small real APK, or nil where aapt is missing (the fuzz
// targets then start from crafted seeds only).
func seedAPK(f *testing.F) []byte {
	if apktest.Available() != nil {
		return nil
	}
	p := apktest.Build(f, f.TempDir(), apktest.Spec{Package: "com.example.fuzz", VersionCode: 3, VersionName: "3.0",
		LabelZH: "模糊", ABIs: []string{"arm64-v8a"}, Icon: true})
	b, err := os.ReadFile(p)
	if err != nil {
		f.Fatal(err)
	}
	return b
}

// FuzzInspect feeds arbitrary archives to the whole reader: it must never
// panic, and must either refuse with a known code or return a package.
func FuzzInspect(f *testing.F) {
	good := seedAPK(f)
	if good != nil {
		f.Add(good)
		m := entryBytes(f, good, "AndroidManifest.xml")
		f.Add(zipOf(f, file{name: "AndroidManifest.xml", data: m}))
		f.Add(overlapping(f, m))
		f.Add(good[:len(good)-30])
	}
	f.Add([]byte("PK\x05\x06" + string(make([]byte, 18))))
	f.Add(zipOf(f, file{name: "toc.pb", data: []byte{1}}, file{name: "a.apk", data: []byte("x")}))
	f.Fuzz(func(t *testing.T, b []byte) {
		info, err := InspectReader(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error without a code: %v", err)
			}
			if _, ok := Messages[e.Code]; !ok {
				t.Fatalf("unknown code %q", e.Code)
			}
			return
		}
		if info.Package == "" || info.Size != int64(len(b)) || len(info.SHA256) != 64 {
			t.Fatalf("accepted with incomplete info: %+v", info)
		}
	})
}

// FuzzManifest reaches the binary XML and resource table parsers directly
// (inside a zip the fuzzer rarely gets past deflate and the CRC).
func FuzzManifest(f *testing.F) {
	var arsc []byte
	if good := seedAPK(f); good != nil {
		f.Add(entryBytes(f, good, "AndroidManifest.xml"), false)
		arsc = entryBytes(f, good, "resources.arsc")
		f.Add(arsc, true)
	}
	f.Add([]byte{3, 0, 8, 0, 8, 0, 0, 0}, false)
	f.Add([]byte{2, 0, 12, 0, 12, 0, 0, 0, 1, 0, 0, 0}, true)
	table, _ := parseTable(arsc)
	f.Fuzz(func(t *testing.T, b []byte, isTable bool) {
		if isTable {
			tb, err := parseTable(b)
			if err != nil {
				return
			}
			for _, id := range []uint32{0x7f010000, 0x7f020000, 0x7f030000, 0x7f040000} {
				tb.resolveStrings(id)
				pickIcon(tb, id)
			}
			return
		}
		elems, err := parseAXML(b)
		if err != nil {
			return
		}
		var info Info
		_ = readManifest(&info, elems, table)
	})
}
