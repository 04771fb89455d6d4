package apk

import (
	"encoding/binary"
	"errors"
	"fmt"
	"unicode/utf16"
)

// Chunk types of Android's binary resource format (ResourceTypes.h).
const (
	chunkStringPool   = 0x0001
	chunkTable        = 0x0002
	chunkXML          = 0x0003
	chunkXMLStartNS   = 0x0100
	chunkXMLEndNS     = 0x0101
	chunkXMLStart     = 0x0102
	chunkXMLEnd       = 0x0103
	chunkXMLCDATA     = 0x0104
	chunkXMLResMap    = 0x0180
	chunkTablePackage = 0x0200
	chunkTableType    = 0x0201
	chunkTableSpec    = 0x0202
)

// Res_value data types we interpret.
const (
	typeNull      = 0x00
	typeReference = 0x01
	typeString    = 0x03
	typeIntDec    = 0x10
	typeIntHex    = 0x11
	typeBool      = 0x12
)

const noIndex = 0xffffffff

var errShort = errors.New("chunk runs past its end")

func u16(b []byte, off int) (uint16, error) {
	if off < 0 || off+2 > len(b) {
		return 0, errShort
	}
	return binary.LittleEndian.Uint16(b[off:]), nil
}

func u32(b []byte, off int) (uint32, error) {
	if off < 0 || off+4 > len(b) {
		return 0, errShort
	}
	return binary.LittleEndian.Uint32(b[off:]), nil
}

// chunk is one ResChunk_header and its bytes.
type chunk struct {
	typ        uint16
	headerSize int
	data       []byte // whole chunk, header included
}

// readChunk reads the chunk at off in b and checks its sizes.
func readChunk(b []byte, off int) (chunk, error) {
	typ, err := u16(b, off)
	if err != nil {
		return chunk{}, err
	}
	hs, _ := u16(b, off+2)
	size, err := u32(b, off+4)
	if err != nil {
		return chunk{}, err
	}
	if hs < 8 || uint32(hs) > size || uint64(off)+uint64(size) > uint64(len(b)) {
		return chunk{}, fmt.Errorf("chunk 0x%04x at %d: header %d, size %d, %d bytes left", typ, off, hs, size, len(b)-off)
	}
	return chunk{typ: typ, headerSize: int(hs), data: b[off : off+int(size)]}, nil
}

// stringPool is a ResStringPool, decoded lazily: big pools (resources.arsc
// of large apps) hold tens of thousands of strings we never look at.
type stringPool struct {
	data    []byte
	offsets []byte // count × u32
	count   int
	utf8    bool
	start   int
}

func parseStringPool(c chunk) (*stringPool, error) {
	if c.headerSize < 28 {
		return nil, errors.New("string pool header too small")
	}
	count, _ := u32(c.data, 8)
	flags, _ := u32(c.data, 16)
	start, _ := u32(c.data, 20)
	if uint64(count)*4 > uint64(len(c.data)-c.headerSize) {
		return nil, fmt.Errorf("string pool: %d strings do not fit", count)
	}
	if start > uint32(len(c.data)) {
		return nil, errors.New("string pool: strings start past the end")
	}
	return &stringPool{
		data:    c.data,
		offsets: c.data[c.headerSize : c.headerSize+int(count)*4],
		count:   int(count),
		utf8:    flags&0x100 != 0,
		start:   int(start),
	}, nil
}

// get returns string i; errors on out-of-range indexes and bad lengths.
func (p *stringPool) get(i uint32) (string, error) {
	if p == nil || i >= uint32(p.count) {
		return "", fmt.Errorf("string index %d out of range", i)
	}
	off := p.start + int(binary.LittleEndian.Uint32(p.offsets[i*4:]))
	if off < p.start || off >= len(p.data) {
		return "", fmt.Errorf("string %d offset out of range", i)
	}
	b := p.data[off:]
	if p.utf8 {
		_, n := utf8Len(b) // length in UTF-16 units: skipped
		if n == 0 {
			return "", errShort
		}
		b = b[n:]
		l, n := utf8Len(b)
		if n == 0 || n+l > len(b) {
			return "", fmt.Errorf("string %d runs past the pool", i)
		}
		return string(b[n : n+l]), nil
	}
	if len(b) < 2 {
		return "", errShort
	}
	l := int(binary.LittleEndian.Uint16(b))
	n := 2
	if l&0x8000 != 0 {
		if len(b) < 4 {
			return "", errShort
		}
		l = (l&0x7fff)<<16 | int(binary.LittleEndian.Uint16(b[2:]))
		n = 4
	}
	if n+2*l > len(b) {
		return "", fmt.Errorf("string %d runs past the pool", i)
	}
	u := make([]uint16, l)
	for k := range u {
		u[k] = binary.LittleEndian.Uint16(b[n+2*k:])
	}
	return string(utf16.Decode(u)), nil
}

// utf8Len decodes the 1- or 2-byte length prefix of a UTF-8 pool string.
// n == 0 means the prefix itself is cut off.
func utf8Len(b []byte) (l, n int) {
	if len(b) < 1 {
		return 0, 0
	}
	if b[0]&0x80 == 0 {
		return int(b[0]), 1
	}
	if len(b) < 2 {
		return 0, 0
	}
	return int(b[0]&0x7f)<<8 | int(b[1]), 2
}

// xmlAttr is one attribute of a binary XML element.
type xmlAttr struct {
	ns, name string
	resID    uint32 // android attribute resource ID from the resource map, or 0
	typ      uint8
	data     uint32
	str      string // raw string value, or typed string value
	hasStr   bool
}

type xmlElem struct {
	depth int
	name  string
	attrs []xmlAttr
}

// Bounds that keep a hostile manifest from costing much.
const (
	maxXMLElems = 50000
	maxXMLAttrs = 1000
)

// parseAXML decodes a binary XML document into its elements in document
// order, with their nesting depth (the root is 1).
func parseAXML(b []byte) ([]xmlElem, error) {
	root, err := readChunk(b, 0)
	if err != nil {
		return nil, err
	}
	if root.typ != chunkXML {
		return nil, fmt.Errorf("not binary XML (chunk type 0x%04x)", root.typ)
	}
	var (
		pool   *stringPool
		resMap []byte
		elems  []xmlElem
		depth  int
	)
	str := func(i uint32) (string, error) {
		if i == noIndex {
			return "", nil
		}
		return pool.get(i)
	}
	for off := root.headerSize; off < len(root.data); {
		c, err := readChunk(root.data, off)
		if err != nil {
			return nil, err
		}
		off += len(c.data)
		switch c.typ {
		case chunkStringPool:
			if pool != nil {
				return nil, errors.New("two string pools")
			}
			if pool, err = parseStringPool(c); err != nil {
				return nil, err
			}
		case chunkXMLResMap:
			resMap = c.data[c.headerSize:]
		case chunkXMLStart:
			depth++
			if len(elems) >= maxXMLElems {
				return nil, errors.New("too many elements")
			}
			e, err := parseStart(c, str, resMap)
			if err != nil {
				return nil, err
			}
			e.depth = depth
			elems = append(elems, e)
		case chunkXMLEnd:
			depth--
		}
	}
	if pool == nil {
		return nil, errors.New("no string pool")
	}
	return elems, nil
}

func parseStart(c chunk, str func(uint32) (string, error), resMap []byte) (xmlElem, error) {
	ext := c.headerSize
	nameIdx, err := u32(c.data, ext+4)
	if err != nil {
		return xmlElem{}, err
	}
	attrStart, _ := u16(c.data, ext+8)
	attrSize, _ := u16(c.data, ext+10)
	attrCount, err := u16(c.data, ext+12)
	if err != nil {
		return xmlElem{}, err
	}
	name, err := str(nameIdx)
	if err != nil {
		return xmlElem{}, err
	}
	if attrCount > maxXMLAttrs {
		return xmlElem{}, fmt.Errorf("element %s: %d attributes", name, attrCount)
	}
	if attrCount > 0 && attrSize < 20 {
		return xmlElem{}, fmt.Errorf("element %s: attribute size %d", name, attrSize)
	}
	e := xmlElem{name: name}
	for i := 0; i < int(attrCount); i++ {
		a := ext + int(attrStart) + i*int(attrSize)
		if a+20 > len(c.data) {
			return xmlElem{}, fmt.Errorf("element %s: attributes run past the chunk", name)
		}
		nsIdx := binary.LittleEndian.Uint32(c.data[a:])
		an := binary.LittleEndian.Uint32(c.data[a+4:])
		raw := binary.LittleEndian.Uint32(c.data[a+8:])
		typ := c.data[a+15]
		data := binary.LittleEndian.Uint32(c.data[a+16:])
		at := xmlAttr{typ: typ, data: data}
		if at.ns, err = str(nsIdx); err != nil {
			return xmlElem{}, err
		}
		if at.name, err = str(an); err != nil {
			return xmlElem{}, err
		}
		if uint64(an)*4+4 <= uint64(len(resMap)) {
			at.resID = binary.LittleEndian.Uint32(resMap[an*4:])
		}
		switch {
		case raw != noIndex:
			if at.str, err = str(raw); err != nil {
				return xmlElem{}, err
			}
			at.hasStr = true
		case typ == typeString:
			if at.str, err = str(data); err != nil {
				return xmlElem{}, err
			}
			at.hasStr = true
		}
		e.attrs = append(e.attrs, at)
	}
	return e, nil
}

// Android attribute resource IDs (android.R.attr). The platform matches
// attributes by these IDs, not by name: obfuscated APKs strip the names.
const (
	attrLabel             = 0x01010001
	attrIcon              = 0x01010002
	attrMinSdkVersion     = 0x0101020c
	attrVersionCode       = 0x0101021b
	attrVersionName       = 0x0101021c
	attrTargetSdkVersion  = 0x01010270
	attrVersionCodeMajor  = 0x01010576
	androidNS             = "http://schemas.android.com/apk/res/android"
	attrNameLabel         = "label"
	attrNameIcon          = "icon"
	attrNameMinSdk        = "minSdkVersion"
	attrNameTargetSdk     = "targetSdkVersion"
	attrNameVersionCode   = "versionCode"
	attrNameVersionName   = "versionName"
	attrNameVersionCodeHi = "versionCodeMajor"
)

// find returns the android attribute with resource ID id (or, when the
// document has no resource map entry for it, the android-namespaced name).
func (e *xmlElem) find(id uint32, name string) (xmlAttr, bool) {
	for _, a := range e.attrs {
		if a.resID == id {
			return a, true
		}
	}
	for _, a := range e.attrs {
		if a.resID == 0 && a.name == name && (a.ns == androidNS || a.ns == "") {
			return a, true
		}
	}
	return xmlAttr{}, false
}

// plain returns the un-namespaced attribute name (package, split).
func (e *xmlElem) plain(name string) (xmlAttr, bool) {
	for _, a := range e.attrs {
		if a.ns == "" && a.name == name && a.resID == 0 {
			return a, true
		}
	}
	return xmlAttr{}, false
}
