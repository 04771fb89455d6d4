package apk

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"preloadstation/backend/internal/apktest"
)

func TestWriteTableAndJSON(t *testing.T) {
	if err := apktest.Available(); err != nil {
		t.Skip(err)
	}
	p := apktest.Build(t, t.TempDir(), apktest.Spec{Package: "com.example.cli", VersionCode: 12, VersionName: "1.2",
		Label: "CLI", LabelZH: "命令行", ABIs: []string{"arm64-v8a"}})
	info, err := Inspect(p)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	WriteTable(&out, p, info)
	for _, want := range []string{"com.example.cli", "1.2 (versionCode 12)", "命令行", "arm64-v8a", apktest.SignerCertSHA256("a"), "v1 v2 v3"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, out.String())
		}
	}
	// Values start in one column whatever the width of the Chinese names.
	col := -1
	re := regexp.MustCompile(`^(.*?\S)( {2,})(\S.*)$`)
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		m := re.FindStringSubmatch(line)
		if m == nil {
			t.Fatalf("line %q has no value column", line)
		}
		c := displayWidth(m[1] + m[2])
		if col >= 0 && c != col {
			t.Errorf("value of %q starts at column %d, others at %d", m[1], c, col)
		}
		col = c
	}

	out.Reset()
	WriteJSON(&out, p, info, nil)
	var back Info
	if err := json.Unmarshal(out.Bytes(), &back); err != nil {
		t.Fatalf("json: %v\n%s", err, out.String())
	}
	back.IconPNG = info.IconPNG
	if back.Package != info.Package || back.VersionCode != 12 || back.Labels["zh-CN"] != "命令行" || back.SHA256 != info.SHA256 {
		t.Errorf("json round trip: %+v", back)
	}

	notAPK := filepath.Join(t.TempDir(), "notes.txt")
	os.WriteFile(notAPK, []byte("not an apk"), 0o644)
	_, err = Inspect(notAPK)
	out.Reset()
	WriteJSON(&out, notAPK, nil, err)
	var refusal struct {
		Error struct{ Code, Message, MessageZh string }
	}
	if json.Unmarshal(out.Bytes(), &refusal); refusal.Error.Code != CodeNotZip || refusal.Error.MessageZh == "" {
		t.Errorf("json refusal %s", out.String())
	}
}
