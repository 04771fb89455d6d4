package install

import "testing"

func TestParsePMListVersion(t *testing.T) {
	out := "package:com.a.b.c versionCode:7\npackage:com.a.b versionCode:12\n"
	if vc, ok := parsePMListVersion(out, "com.a.b"); !ok || vc != 12 {
		t.Errorf("got %d %v, want 12 true", vc, ok)
	}
	if _, ok := parsePMListVersion(out, "com.a"); ok {
		t.Error("substring match accepted")
	}
	if _, ok := parsePMListVersion("", "com.a"); ok {
		t.Error("empty output reports installed")
	}
}

func TestParseDumpsysVersion(t *testing.T) {
	out := "Packages:\n  Package [com.x] (1a2b):\n    userId=10123\n    versionCode=42 minSdk=21 targetSdk=33\n    versionName=1.2\n"
	if vc, ok := parseDumpsysVersion(out, "com.x"); !ok || vc != 42 {
		t.Errorf("got %d %v, want 42 true", vc, ok)
	}
	if _, ok := parseDumpsysVersion(out, "com.y"); ok {
		t.Error("absent package reported installed")
	}
}
