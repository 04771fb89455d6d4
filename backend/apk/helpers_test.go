package apk

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/png"
	"io"
	"testing"
)

// file is one entry for zipOf: data is compressed normally; raw is written
// as the deflated bytes as is; declared overrides the uncompressed size the
// headers claim.
type file struct {
	name     string
	data     []byte
	raw      []byte
	declared uint64
}

func zipOf(t testing.TB, files ...file) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range files {
		if f.raw == nil && f.declared == 0 {
			w, err := zw.Create(f.name)
			if err != nil {
				t.Fatal(err)
			}
			w.Write(f.data)
			continue
		}
		raw := f.raw
		if raw == nil {
			var c bytes.Buffer
			fw, _ := flate.NewWriter(&c, flate.BestCompression)
			fw.Write(f.data)
			fw.Close()
			raw = c.Bytes()
		}
		h := &zip.FileHeader{Name: f.name, Method: zip.Deflate, CompressedSize64: uint64(len(raw)),
			UncompressedSize64: f.declared, CRC32: crc32.ChecksumIEEE(f.data)}
		w, err := zw.CreateRaw(h)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(raw)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func entryBytes(t testing.TB, apk []byte, name string) []byte {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(apk), int64(len(apk)))
	if err != nil {
		t.Fatal(err)
	}
	rc, err := zr.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// overlapping builds an archive whose two central directory entries point
// at the same local entry: the shape of the densest zip bombs.
func overlapping(t testing.TB, manifest []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	le := func(v any) { binary.Write(&b, binary.LittleEndian, v) }
	name := "AndroidManifest.xml"
	crc := crc32.ChecksumIEEE(manifest)
	// Local file header, stored.
	le(uint32(0x04034b50))
	le(uint16(10))
	le(uint16(0))
	le(uint16(0))
	le(uint32(0))
	le(crc)
	le(uint32(len(manifest)))
	le(uint32(len(manifest)))
	le(uint16(len(name)))
	le(uint16(0))
	b.WriteString(name)
	b.Write(manifest)
	cd := b.Len()
	for _, n := range []string{name, "assets/again"} {
		le(uint32(0x02014b50))
		le(uint16(20))
		le(uint16(10))
		le(uint16(0))
		le(uint16(0))
		le(uint32(0))
		le(crc)
		le(uint32(len(manifest)))
		le(uint32(len(manifest)))
		le(uint16(len(n)))
		le(uint16(0))
		le(uint16(0))
		le(uint16(0))
		le(uint16(0))
		le(uint32(0))
		le(uint32(0)) // both at offset 0
		b.WriteString(n)
	}
	cdSize := b.Len() - cd
	le(uint32(0x06054b50))
	le(uint16(0))
	le(uint16(0))
	le(uint16(2))
	le(uint16(2))
	le(uint32(cdSize))
	le(uint32(cd))
	le(uint16(0))
	return b.Bytes()
}

func mustPNG() []byte {
	var b bytes.Buffer
	png.Encode(&b, image.NewGray(image.Rect(0, 0, 4, 4)))
	return b.Bytes()
}
