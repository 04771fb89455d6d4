package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The table and JSON printing are tested on real APKs in backend/apk; this
// checks the command's arguments and exit errors.
func TestAPKCommandArgs(t *testing.T) {
	var out, errOut bytes.Buffer
	for _, args := range [][]string{nil, {"inspect"}, {"unpack", "x.apk"}, {"inspect", "--json"}} {
		if err := apkCommand(&out, &errOut, args); !errors.Is(err, errUsage) {
			t.Errorf("%q: %v, want usage", args, err)
		}
	}
	notAPK := filepath.Join(t.TempDir(), "notes.apk.1")
	os.WriteFile(notAPK, []byte("not an apk"), 0o644)
	out.Reset()
	err := apkCommand(&out, &errOut, []string{"inspect", "--json", notAPK})
	if err == nil || !strings.Contains(err.Error(), "不是 APK") || !strings.Contains(err.Error(), "not a zip") {
		t.Errorf("refusal error %v lacks the English or Chinese message", err)
	}
	var refusal struct{ Error struct{ Code string } }
	if json.Unmarshal(out.Bytes(), &refusal); refusal.Error.Code != "not_zip" {
		t.Errorf("json refusal %s", out.String())
	}
}
