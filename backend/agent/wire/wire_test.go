package wire

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"testing"
	"time"
)

func TestFrameRoundTrip(t *testing.T) {
	cases := []struct {
		name    string
		kind    Kind
		payload []byte
	}{
		{"empty payload", KindPing, nil},
		{"json", KindMsg, []byte(`{"type":"facts"}`)},
		{"binary", KindData, bytes.Repeat([]byte{0, 1, 2, 0xff}, 1000)},
		{"max", KindData, make([]byte, MaxPayload)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := NewWriter(&buf).WriteFrame(c.kind, c.payload); err != nil {
				t.Fatal(err)
			}
			f, err := ReadFrame(&buf)
			if err != nil {
				t.Fatal(err)
			}
			if f.Kind != c.kind || !bytes.Equal(f.Payload, c.payload) {
				t.Fatalf("got %s/%d bytes, want %s/%d", f.Kind, len(f.Payload), c.kind, len(c.payload))
			}
			if _, err := ReadFrame(&buf); err != io.EOF {
				t.Fatalf("after last frame: %v, want io.EOF", err)
			}
		})
	}
}

func TestFrameErrors(t *testing.T) {
	hdr := func(n uint32, k Kind) []byte { return append(binary.BigEndian.AppendUint32(nil, n), byte(k)) }
	cases := []struct {
		name string
		in   []byte
		want error
	}{
		{"oversized", hdr(MaxPayload+2, KindMsg), ErrFrameTooLarge},
		{"huge length", hdr(0xffffffff, KindData), ErrFrameTooLarge},
		{"zero length", hdr(0, KindMsg), ErrEmptyFrame},
		{"header cut", []byte{0, 0, 0}, ErrTruncated},
		{"payload cut", append(hdr(11, KindMsg), "abc"...), ErrTruncated},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ReadFrame(bytes.NewReader(c.in))
			if !errors.Is(err, c.want) {
				t.Fatalf("got %v, want %v", err, c.want)
			}
		})
	}
	if _, err := AppendFrame(nil, KindData, make([]byte, MaxPayload+1)); !errors.Is(err, ErrFrameTooLarge) {
		t.Fatalf("encoding an oversized frame: %v", err)
	}
}

func FuzzFrame(f *testing.F) {
	good, _ := AppendFrame(nil, KindMsg, []byte(`{"type":"ping"}`))
	f.Add(good)
	f.Add([]byte{0, 0, 0, 0})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 8})
	f.Add([]byte{0, 0, 0, 5, 9, 1})
	f.Fuzz(func(t *testing.T, in []byte) {
		r := bytes.NewReader(in)
		for i := 0; i < 64; i++ {
			fr, err := ReadFrame(r)
			if err != nil {
				return
			}
			if len(fr.Payload) > MaxPayload {
				t.Fatalf("decoder returned %d bytes, over the limit", len(fr.Payload))
			}
			re, err := AppendFrame(nil, fr.Kind, fr.Payload)
			if err != nil {
				t.Fatal(err)
			}
			back, err := ReadFrame(bytes.NewReader(re))
			if err != nil || back.Kind != fr.Kind || !bytes.Equal(back.Payload, fr.Payload) {
				t.Fatalf("re-encoded frame does not decode the same: %v", err)
			}
		}
	})
}

func TestDeriveSecret(t *testing.T) {
	a := DeriveSecret([]byte("station-key"), "SERIAL1")
	b := DeriveSecret([]byte("station-key"), "SERIAL2")
	c := DeriveSecret([]byte("other-key"), "SERIAL1")
	if len(a) != 32 || bytes.Equal(a, b) || bytes.Equal(a, c) {
		t.Fatal("secrets must be 32 bytes and differ per serial and per station key")
	}
	if !bytes.Equal(a, DeriveSecret([]byte("station-key"), "SERIAL1")) {
		t.Fatal("derivation must be deterministic")
	}
}

func TestNonceSet(t *testing.T) {
	s := NewNonceSet(2)
	n1, n2, n3 := freshNonce(), freshNonce(), freshNonce()
	if !s.Add(n1) || s.Add(n1) {
		t.Fatal("second add of the same nonce must fail")
	}
	s.Add(n2)
	s.Add(n3) // evicts n1
	if s.Add(n2) {
		t.Fatal("n2 is still remembered")
	}
}

// pair runs both handshake sides over an in-memory pipe.
func pair(t *testing.T, stationKey, agentKey []byte, seen *NonceSet, nonce func() []byte) (clientErr, serverErr error) {
	t.Helper()
	c, s := net.Pipe()
	defer c.Close()
	errc := make(chan error, 1)
	go func() {
		defer s.Close()
		errc <- ServerHandshake(s, "test", func() ([]byte, error) { return agentKey, nil }, seen, 2*time.Second)
	}()
	_, clientErr = ClientHandshake(c, stationKey, 2*time.Second, nonce)
	c.Close()
	return clientErr, <-errc
}

func TestHandshake(t *testing.T) {
	key := DeriveSecret([]byte("k"), "S")
	seen := NewNonceSet(16)
	if ce, se := pair(t, key, key, seen, nil); ce != nil || se != nil {
		t.Fatalf("good handshake: client %v, server %v", ce, se)
	}
	ce, se := pair(t, key, DeriveSecret([]byte("other"), "S"), seen, nil)
	if !errors.Is(ce, ErrAuth) {
		t.Fatalf("wrong key: client got %v", ce)
	}
	if se == nil {
		t.Fatal("wrong key: server accepted")
	}
	fixed := freshNonce()
	if ce, se := pair(t, key, key, seen, func() []byte { return fixed }); ce != nil || se != nil {
		t.Fatalf("first use of nonce: %v %v", ce, se)
	}
	ce, se = pair(t, key, key, seen, func() []byte { return fixed })
	if !errors.Is(se, ErrReplay) || !errors.Is(ce, ErrRejected) {
		t.Fatalf("replay: client %v, server %v", ce, se)
	}
}

// echoHandler replies to "stream" only after want Data bytes arrived, as the
// agent does for installs, and to anything else at once.
type echoHandler struct {
	data bytes.Buffer
	want int
	req  *Envelope
}

func (h *echoHandler) HandleMsg(s *Session, e Envelope) {
	if e.Type == "stream" {
		h.req = &e
		return
	}
	s.Reply(e, map[string]string{"echo": e.Type}, nil)
}

func (h *echoHandler) HandleData(s *Session, p []byte) error {
	h.data.Write(p)
	if h.req != nil && h.data.Len() == h.want {
		s.Reply(*h.req, map[string]int{"got": h.data.Len()}, nil)
	}
	return nil
}

func TestSessionCallAndHeartbeat(t *testing.T) {
	c, s := net.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	payload := bytes.Repeat([]byte("apk"), DataChunk)
	srvH := &echoHandler{want: len(payload)}
	srv := NewSession(s, srvH, 20*time.Millisecond, 200*time.Millisecond)
	cli := NewSession(c, &echoHandler{}, 20*time.Millisecond, 200*time.Millisecond)
	go srv.Serve(ctx)
	go cli.Serve(ctx)
	var out map[string]string
	if err := cli.Call(ctx, "hello", nil, &out, nil); err != nil || out["echo"] != "hello" {
		t.Fatalf("call: %v %v", out, err)
	}
	var got map[string]int
	if err := cli.Call(ctx, "stream", nil, &got, func() error { return cli.WriteData(payload) }); err != nil {
		t.Fatal(err)
	}
	if got["got"] != len(payload) || !bytes.Equal(srvH.data.Bytes(), payload) {
		t.Fatalf("reply %v, %d data bytes", got, srvH.data.Len())
	}
	time.Sleep(300 * time.Millisecond) // heartbeats keep an idle channel alive
	select {
	case <-srv.Done():
		t.Fatalf("idle channel died: %v", srv.Err())
	default:
	}
	cancel()
	<-cli.Done()
	<-srv.Done()
}

func TestSessionMissedHeartbeat(t *testing.T) {
	c, s := net.Pipe()
	defer c.Close()
	srv := NewSession(s, &echoHandler{}, time.Hour, 100*time.Millisecond)
	go io.Copy(io.Discard, c) // a peer that reads but never speaks
	err := srv.Serve(context.Background())
	if !errors.Is(err, ErrHeartbeat) {
		t.Fatalf("got %v, want ErrHeartbeat", err)
	}
}
