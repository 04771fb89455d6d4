package apktest

import (
	"archive/zip"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

func TestBuildVerifies(t *testing.T) {
	if err := Available(); err != nil {
		t.Skip(err)
	}
	t.Setenv("PRELOAD_APKTEST_CACHE", t.TempDir()) // measure real builds, not the shared cache
	dir := t.TempDir()
	cases := []struct {
		name    string
		spec    Spec
		schemes []string // "Verified using vN scheme (…): true" lines expected
	}{
		{"default", Spec{Package: "com.example.one", VersionCode: 3, VersionName: "1.0", LabelZH: "一号", ABIs: []string{"arm64-v8a", "armeabi-v7a"}, Icon: true}, []string{"v1", "v2", "v3"}},
		{"v1 only key b", Spec{Package: "com.example.two", VersionCode: 1, Signer: "b", V1Only: true, TargetSDK: 29, PayloadBytes: 1 << 20}, []string{"v1"}},
		{"aapt2 with adaptive icon", Spec{Package: "com.example.four", VersionCode: 4, VersionName: "4", LabelZH: "四", Icon: true, Aapt2: true, ABIs: []string{"x86_64"}}, []string{"v1", "v2", "v3"}},
		{"v2 only", Spec{Package: "com.example.three", VersionCode: 7, V2Only: true, MinSDK: 24, Label: `It's "quoted" & @odd`}, []string{"v2"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			start := time.Now()
			p := Build(t, dir, c.spec)
			t.Logf("built in %v", time.Since(start))
			out, err := exec.Command(ApksignerPath, "verify", "--print-certs", "-v", p).CombinedOutput()
			if err != nil {
				t.Fatalf("apksigner verify: %v\n%s", err, out)
			}
			for _, v := range []string{"v1", "v2", "v3"} {
				want := false
				for _, s := range c.schemes {
					want = want || s == v
				}
				line := "Verified using " + v + " scheme"
				got := false
				for _, l := range strings.Split(string(out), "\n") {
					if strings.HasPrefix(l, line) {
						got = strings.HasSuffix(l, ": true")
					}
				}
				if got != want {
					t.Errorf("%s: verified=%v, want %v\n%s", v, got, want, out)
				}
			}
			signer := c.spec.Signer
			if !strings.Contains(string(out), "certificate SHA-256 digest: "+SignerCertSHA256(signer)) {
				t.Errorf("certificate digest %s not in\n%s", SignerCertSHA256(signer), out)
			}
			zr, err := zip.OpenReader(p)
			if err != nil {
				t.Fatal(err)
			}
			defer zr.Close()
			for _, f := range zr.File {
				if f.Method != zip.Store {
					continue
				}
				off, err := f.DataOffset()
				if err != nil {
					t.Fatal(err)
				}
				if off%4 != 0 {
					t.Errorf("stored entry %s at offset %d is not 4-byte aligned", f.Name, off)
				}
				if f.Name == "assets/payload.bin" && int(f.UncompressedSize64) != c.spec.PayloadBytes {
					t.Errorf("payload %d bytes, want %d", f.UncompressedSize64, c.spec.PayloadBytes)
				}
			}
			// A second build of the same spec is a cache hit and a fresh copy.
			start = time.Now()
			again := Build(t, t.TempDir(), c.spec)
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("cached build took %v", d)
			}
			a, _ := os.ReadFile(p)
			b, _ := os.ReadFile(again)
			if string(a) != string(b) {
				t.Error("cached build differs from first build")
			}
		})
	}
}

func TestSignersDiffer(t *testing.T) {
	if SignerCertSHA256("a") == SignerCertSHA256("b") || SignerCertSHA256("") != SignerCertSHA256("a") {
		t.Fatal("test keys a and b must have different certificates, and \"\" must be a")
	}
}
