package install

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"

	"preloadstation/backend/agent/wire"
)

type fakeAgent struct {
	err    error
	output string
	got    int64
}

func (f *fakeAgent) Install(ctx context.Context, serial string, req wire.InstallRequest, r io.Reader, _ func(int64)) (wire.InstallResult, error) {
	if f.err != nil {
		return wire.InstallResult{}, f.err
	}
	n, _ := io.Copy(io.Discard, r)
	f.got = n
	return wire.InstallResult{Method: "cmd", Output: f.output}, nil
}

type recTransport struct{ got int64 }

func (r *recTransport) Name() string { return "exec" }
func (r *recTransport) Install(ctx context.Context, apk io.Reader, size int64) (string, error) {
	n, _ := io.Copy(io.Discard, apk)
	r.got = n
	return "Success\n", nil
}

func TestAgentTransport(t *testing.T) {
	errNoChannel := errors.New("no channel")
	apk := bytes.Repeat([]byte{1}, 1000)
	tests := []struct {
		name     string
		agent    *fakeAgent
		wantOut  string
		wantErr  bool
		fellBack bool
	}{
		{"success", &fakeAgent{output: "Success\n"}, "Success\n", false, false},
		{"package manager refuses", &fakeAgent{err: &wire.RemoteError{Msg: "Failure [INSTALL_FAILED_USER_RESTRICTED: Install canceled by user]"}},
			"Failure [INSTALL_FAILED_USER_RESTRICTED: Install canceled by user]", false, false},
		{"channel down: exec fallback", &fakeAgent{err: errNoChannel}, "Success\n", false, true},
		{"broken channel", &fakeAgent{err: errors.New("heartbeat missed")}, "", true, false},
	}
	for _, tt := range tests {
		fb := &recTransport{}
		tr := AgentTransport{Agent: tt.agent, Serial: "S", Fallback: fb, NoChannel: errNoChannel}
		out, err := tr.Install(context.Background(), bytes.NewReader(apk), int64(len(apk)))
		if out != tt.wantOut || (err != nil) != tt.wantErr || (fb.got == int64(len(apk))) != tt.fellBack {
			t.Errorf("%s: out %q err %v fallback got %d", tt.name, out, err, fb.got)
		}
		if ok, f := ParseResult(out); tt.name == "package manager refuses" && (ok || f.Class != ClassOperator) {
			t.Errorf("%s: parsed %v %+v", tt.name, ok, f)
		}
	}
}
