package wire

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"
)

// Kind is the first byte of every frame.
type Kind uint8

// Frame kinds. Handshake kinds are only valid before the channel is up;
// Msg, Data and Ping only after.
const (
	KindHello     Kind = 1  // station→agent: magic + protocol version
	KindHelloOK   Kind = 2  // agent→station: protocol version + agent build
	KindChallenge Kind = 3  // station→agent: station nonce
	KindProof     Kind = 4  // agent→station: agent nonce + agent MAC
	KindConfirm   Kind = 5  // station→agent: station MAC
	KindReady     Kind = 6  // agent→station: channel up
	KindReject    Kind = 7  // either way: text reason, then close
	KindMsg       Kind = 8  // JSON Envelope
	KindData      Kind = 9  // raw bytes of the current stream (APK), never base64
	KindPing      Kind = 10 // heartbeat, empty
)

func (k Kind) String() string {
	names := [...]string{"", "hello", "hello-ok", "challenge", "proof", "confirm", "ready", "reject", "msg", "data", "ping"}
	if int(k) < len(names) && k != 0 {
		return names[k]
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

const (
	// MaxPayload bounds one frame's payload; a length above it is rejected
	// before anything is allocated, so a hostile peer cannot make us buffer.
	MaxPayload = 1 << 20
	// DataChunk is how many APK bytes the station puts in one Data frame.
	DataChunk = 256 << 10
	headerLen = 5 // u32 big-endian length of kind+payload, then kind
)

// Frame errors. Decoders return them wrapped with detail.
var (
	ErrFrameTooLarge = errors.New("frame too large")
	ErrTruncated     = errors.New("truncated frame")
	ErrEmptyFrame    = errors.New("empty frame")
)

// Frame is one decoded frame. Payload is owned by the caller.
type Frame struct {
	Kind    Kind
	Payload []byte
}

// ReadFrame decodes one frame. io.EOF is returned only on a clean boundary;
// a frame cut short yields ErrTruncated.
func ReadFrame(r io.Reader) (Frame, error) {
	var hdr [headerLen]byte
	n, err := io.ReadFull(r, hdr[:])
	if err != nil {
		if err == io.EOF && n == 0 {
			return Frame{}, io.EOF
		}
		if err == io.ErrUnexpectedEOF {
			return Frame{}, fmt.Errorf("%w: header cut after %d of %d bytes", ErrTruncated, n, headerLen)
		}
		return Frame{}, err
	}
	size := binary.BigEndian.Uint32(hdr[:4])
	if size == 0 {
		return Frame{}, ErrEmptyFrame
	}
	if size-1 > MaxPayload {
		return Frame{}, fmt.Errorf("%w: %d bytes announced, limit %d", ErrFrameTooLarge, size-1, MaxPayload)
	}
	f := Frame{Kind: Kind(hdr[4]), Payload: make([]byte, size-1)}
	if n, err := io.ReadFull(r, f.Payload); err != nil {
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return Frame{}, fmt.Errorf("%w: %s payload cut after %d of %d bytes", ErrTruncated, f.Kind, n, size-1)
		}
		return Frame{}, err
	}
	return f, nil
}

// AppendFrame encodes one frame onto b.
func AppendFrame(b []byte, k Kind, payload []byte) ([]byte, error) {
	if len(payload) > MaxPayload {
		return b, fmt.Errorf("%w: %d bytes, limit %d", ErrFrameTooLarge, len(payload), MaxPayload)
	}
	b = binary.BigEndian.AppendUint32(b, uint32(len(payload)+1))
	b = append(b, byte(k))
	return append(b, payload...), nil
}

// Writer serialises frames from several goroutines onto one stream.
type Writer struct {
	mu  sync.Mutex
	w   io.Writer
	buf []byte // header, plus the payload when it is small
}

func NewWriter(w io.Writer) *Writer { return &Writer{w: w} }

// smallFrame is the payload size up to which a frame is copied and written
// in one Write call; a larger payload (an APK chunk) follows its header
// uncopied, so a channel keeps no chunk-sized buffer of its own. Both go
// out under the writer's lock, so frames never interleave. (Not writev:
// the race detector sees no happens-before edge through it.)
const smallFrame = 4 << 10

// WriteFrame writes one whole frame.
func (w *Writer) WriteFrame(k Kind, payload []byte) error {
	if len(payload) > MaxPayload {
		return fmt.Errorf("%w: %d bytes, limit %d", ErrFrameTooLarge, len(payload), MaxPayload)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(payload) <= smallFrame {
		w.buf, _ = AppendFrame(w.buf[:0], k, payload)
		_, err := w.w.Write(w.buf)
		return err
	}
	w.buf = binary.BigEndian.AppendUint32(w.buf[:0], uint32(len(payload)+1))
	w.buf = append(w.buf, byte(k))
	if _, err := w.w.Write(w.buf); err != nil {
		return err
	}
	_, err := w.w.Write(payload)
	return err
}

// newReader buffers a conn for ReadFrame.
func newReader(r io.Reader) *bufio.Reader { return bufio.NewReaderSize(r, 64<<10) }
