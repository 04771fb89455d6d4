package sim

import (
	"encoding/binary"
	"fmt"
	"io"
)

// ADB transport commands (system/core/adb/adb.h), little-endian ASCII.
const (
	cmdSYNC = 0x434e5953
	cmdCNXN = 0x4e584e43
	cmdOPEN = 0x4e45504f
	cmdOKAY = 0x59414b4f
	cmdCLSE = 0x45534c43
	cmdWRTE = 0x45545257
	cmdAUTH = 0x48545541
)

// AUTH message kinds (arg0 of A_AUTH).
const (
	authToken        = 1
	authSignature    = 2
	authRSAPublicKey = 3
)

const (
	protocolVersion = 0x01000001 // A_VERSION: checksums may be zero
	maxPayload      = 1 << 20    // MAX_PAYLOAD of adb 1.0.41; smaller values throttle pushes
	headerLen       = 24
)

type message struct {
	cmd, arg0, arg1 uint32
	data            []byte
}

func cmdName(c uint32) string {
	var b [4]byte
	binary.LittleEndian.PutUint32(b[:], c)
	return string(b[:])
}

func (m message) String() string {
	return fmt.Sprintf("%s(%d,%d,%d bytes)", cmdName(m.cmd), m.arg0, m.arg1, len(m.data))
}

func readMessage(r io.Reader, buf []byte) (message, error) {
	var h [headerLen]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return message{}, err
	}
	m := message{
		cmd:  binary.LittleEndian.Uint32(h[0:]),
		arg0: binary.LittleEndian.Uint32(h[4:]),
		arg1: binary.LittleEndian.Uint32(h[8:]),
	}
	n := binary.LittleEndian.Uint32(h[12:])
	magic := binary.LittleEndian.Uint32(h[20:])
	if magic != m.cmd^0xffffffff {
		return message{}, fmt.Errorf("adb message: bad magic %#x for %s", magic, cmdName(m.cmd))
	}
	if n > 16*maxPayload {
		return message{}, fmt.Errorf("adb message: %s payload %d too large", cmdName(m.cmd), n)
	}
	if n > 0 {
		m.data = make([]byte, n)
		if _, err := io.ReadFull(r, m.data); err != nil {
			return message{}, err
		}
	}
	return m, nil
}

func encodeMessage(m message) []byte {
	b := make([]byte, headerLen+len(m.data))
	binary.LittleEndian.PutUint32(b[0:], m.cmd)
	binary.LittleEndian.PutUint32(b[4:], m.arg0)
	binary.LittleEndian.PutUint32(b[8:], m.arg1)
	binary.LittleEndian.PutUint32(b[12:], uint32(len(m.data)))
	var sum uint32
	for _, c := range m.data {
		sum += uint32(c)
	}
	binary.LittleEndian.PutUint32(b[16:], sum)
	binary.LittleEndian.PutUint32(b[20:], m.cmd^0xffffffff)
	copy(b[headerLen:], m.data)
	return b
}
