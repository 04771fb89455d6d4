package wire

import (
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"
)

// ProtoVersion is the channel protocol version. The station checks it before
// anything else; a mismatch means the agent on the phone is stale and must be
// pushed again.
const ProtoVersion uint16 = 1

// ReadyByte is written by the agent as soon as it accepts a connection. adb
// accepts a forwarded connection even when nothing listens on the phone, so
// the station trusts a forward only after reading this byte.
const ReadyByte = 0xA5

// BuildMarker is embedded in every agent build; the virtual phones check for it.
const BuildMarker = "PRELOAD-AGENT-BUILD"

var helloMagic = [4]byte{'P', 'R', 'L', 'D'}

const nonceLen = 32

// Handshake errors, for errors.Is.
var (
	ErrNotReady        = errors.New("agent not listening behind the forward (no readiness byte)")
	ErrVersionMismatch = errors.New("protocol version mismatch")
	ErrAuth            = errors.New("authentication failed")
	ErrReplay          = errors.New("replayed nonce")
	ErrUnexpected      = errors.New("unexpected frame")
	ErrRejected        = errors.New("rejected by peer")
)

// DeriveSecret is the per-phone channel secret: HKDF-SHA256 of the station
// key with the phone's serial as info. A leaked phone secret reveals neither
// the station key nor another phone's secret.
func DeriveSecret(stationKey []byte, serial string) []byte {
	k, err := hkdf.Key(sha256.New, stationKey, []byte("preload-channel-v1"), serial, 32)
	if err != nil { // only for absurd lengths
		panic(err)
	}
	return k
}

func agentMAC(secret, nS, nA []byte) []byte   { return mac(secret, "preload-agent", nS, nA) }
func stationMAC(secret, nA, nS []byte) []byte { return mac(secret, "preload-station", nA, nS) }

func mac(secret []byte, label string, a, b []byte) []byte {
	h := hmac.New(sha256.New, secret)
	h.Write([]byte(label))
	h.Write(a)
	h.Write(b)
	return h.Sum(nil)
}

// NonceSet remembers the most recent nonces seen so a replayed one is refused.
// Nonces are 32 random bytes, so a repeat is never an accident.
type NonceSet struct {
	mu   sync.Mutex
	seen map[[nonceLen]byte]struct{}
	ring [][nonceLen]byte
	next int
}

// NewNonceSet keeps the last n nonces.
func NewNonceSet(n int) *NonceSet {
	return &NonceSet{seen: make(map[[nonceLen]byte]struct{}, n), ring: make([][nonceLen]byte, n)}
}

// Add records a nonce and reports false if it was already seen.
func (s *NonceSet) Add(n []byte) bool {
	var k [nonceLen]byte
	copy(k[:], n)
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.seen[k]; ok {
		return false
	}
	old := s.ring[s.next]
	if old != ([nonceLen]byte{}) {
		delete(s.seen, old)
	}
	s.ring[s.next] = k
	s.next = (s.next + 1) % len(s.ring)
	s.seen[k] = struct{}{}
	return true
}

func freshNonce() []byte {
	n := make([]byte, nonceLen)
	if _, err := rand.Read(n); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return n
}

// AgentInfo is what the agent tells the station in its hello reply.
type AgentInfo struct {
	Proto uint16
	Build string
}

// ClientHandshake runs the station side on a fresh forwarded connection:
// readiness byte, version, then mutual challenge–response. The conn's
// deadline is set to now+timeout for the whole exchange. nonceFn is only for
// tests that replay a nonce; nil means fresh random nonces.
func ClientHandshake(conn net.Conn, secret []byte, timeout time.Duration, nonceFn func() []byte) (AgentInfo, error) {
	if nonceFn == nil {
		nonceFn = freshNonce
	}
	conn.SetDeadline(time.Now().Add(timeout))
	defer conn.SetDeadline(time.Time{})

	var rb [1]byte
	if _, err := io.ReadFull(conn, rb[:]); err != nil {
		return AgentInfo{}, fmt.Errorf("%w: %v", ErrNotReady, err)
	}
	if rb[0] != ReadyByte {
		return AgentInfo{}, fmt.Errorf("%w: got byte 0x%02x", ErrNotReady, rb[0])
	}
	w := NewWriter(conn)
	hello := append(helloMagic[:], 0, 0)
	binary.BigEndian.PutUint16(hello[4:], ProtoVersion)
	if err := w.WriteFrame(KindHello, hello); err != nil {
		return AgentInfo{}, fmt.Errorf("send hello: %w", err)
	}
	f, err := expect(conn, KindHelloOK)
	if err != nil {
		return AgentInfo{}, err
	}
	if len(f.Payload) < 2 {
		return AgentInfo{}, fmt.Errorf("%w: short hello reply", ErrUnexpected)
	}
	info := AgentInfo{Proto: binary.BigEndian.Uint16(f.Payload), Build: string(f.Payload[2:])}
	if info.Proto != ProtoVersion {
		return info, fmt.Errorf("%w: agent speaks %d, station %d", ErrVersionMismatch, info.Proto, ProtoVersion)
	}

	nS := nonceFn()
	if err := w.WriteFrame(KindChallenge, nS); err != nil {
		return info, fmt.Errorf("send challenge: %w", err)
	}
	f, err = expect(conn, KindProof)
	if err != nil {
		return info, err
	}
	if len(f.Payload) != nonceLen+sha256.Size {
		return info, fmt.Errorf("%w: proof of %d bytes", ErrUnexpected, len(f.Payload))
	}
	nA, got := f.Payload[:nonceLen], f.Payload[nonceLen:]
	if hmac.Equal(nA, nS) {
		return info, fmt.Errorf("%w: agent echoed the station's nonce", ErrReplay)
	}
	if !hmac.Equal(got, agentMAC(secret, nS, nA)) {
		w.WriteFrame(KindReject, []byte("agent proof does not match this station's key"))
		return info, fmt.Errorf("%w: agent proof does not match this station's key for the phone", ErrAuth)
	}
	if err := w.WriteFrame(KindConfirm, stationMAC(secret, nA, nS)); err != nil {
		return info, fmt.Errorf("send confirm: %w", err)
	}
	if _, err := expect(conn, KindReady); err != nil {
		return info, err
	}
	return info, nil
}

// ServerHandshake runs the agent side. secret is read per call so the station
// can rotate the key file without restarting the agent. seen refuses replayed
// station nonces. On failure a Reject frame with the reason is sent and the
// caller closes the conn.
func ServerHandshake(conn net.Conn, build string, secret func() ([]byte, error), seen *NonceSet, timeout time.Duration) (err error) {
	conn.SetDeadline(time.Now().Add(timeout))
	defer conn.SetDeadline(time.Time{})
	w := NewWriter(conn)
	defer func() {
		if err != nil && !errors.Is(err, ErrRejected) {
			w.WriteFrame(KindReject, []byte(err.Error()))
		}
	}()
	if _, err := conn.Write([]byte{ReadyByte}); err != nil {
		return fmt.Errorf("send readiness: %w", err)
	}
	f, err := expect(conn, KindHello)
	if err != nil {
		return err
	}
	if len(f.Payload) != 6 || [4]byte(f.Payload[:4]) != helloMagic {
		return fmt.Errorf("%w: bad hello", ErrUnexpected)
	}
	if v := binary.BigEndian.Uint16(f.Payload[4:]); v != ProtoVersion {
		reply := binary.BigEndian.AppendUint16(nil, ProtoVersion)
		w.WriteFrame(KindHelloOK, append(reply, build...)) // tell the station what we speak so it re-pushes
		return fmt.Errorf("%w: station speaks %d, agent %d", ErrVersionMismatch, v, ProtoVersion)
	}
	reply := binary.BigEndian.AppendUint16(nil, ProtoVersion)
	if err := w.WriteFrame(KindHelloOK, append(reply, build...)); err != nil {
		return fmt.Errorf("send hello reply: %w", err)
	}
	f, err = expect(conn, KindChallenge)
	if err != nil {
		return err
	}
	if len(f.Payload) != nonceLen {
		return fmt.Errorf("%w: challenge of %d bytes", ErrUnexpected, len(f.Payload))
	}
	nS := f.Payload
	if !seen.Add(nS) {
		return fmt.Errorf("%w: station nonce %x… was used before", ErrReplay, nS[:4])
	}
	key, err := secret()
	if err != nil {
		return fmt.Errorf("read channel key: %w", err)
	}
	nA := freshNonce()
	seen.Add(nA) // a station echoing our own nonce back is a replay too
	if err := w.WriteFrame(KindProof, append(append([]byte{}, nA...), agentMAC(key, nS, nA)...)); err != nil {
		return fmt.Errorf("send proof: %w", err)
	}
	f, err = expect(conn, KindConfirm)
	if err != nil {
		return err
	}
	if !hmac.Equal(f.Payload, stationMAC(key, nA, nS)) {
		return fmt.Errorf("%w: station proof does not match the key file", ErrAuth)
	}
	return w.WriteFrame(KindReady, nil)
}

// expect reads one frame and insists on its kind; a Reject becomes ErrRejected
// with the peer's reason.
func expect(r io.Reader, want Kind) (Frame, error) {
	f, err := ReadFrame(r)
	if err != nil {
		return f, fmt.Errorf("waiting for %s: %w", want, err)
	}
	if f.Kind == KindReject {
		return f, fmt.Errorf("%w: %s", ErrRejected, truncate(string(f.Payload), 200))
	}
	if f.Kind != want {
		return f, fmt.Errorf("%w: got %s while waiting for %s", ErrUnexpected, f.Kind, want)
	}
	return f, nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
