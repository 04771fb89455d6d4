package apk

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// resTable is the part of resources.arsc we need: for a resource ID, its
// value in every configuration.
type resTable struct {
	strings *stringPool
	// types[pkgID<<8|typeID] lists the type chunks (one per configuration).
	types map[uint32][]resType
}

type resType struct {
	config  resConfig
	entries []byte // the whole type chunk
	count   int
	start   int // entriesStart
	offsets []byte
	sparse  bool
	off16   bool
}

// resConfig holds the ResTable_config fields we use.
type resConfig struct {
	language, country string
	script            string
	density           uint16
	sdk               uint16
	other             bool // any other qualifier is set (orientation, size, night, …)
}

// locale formats the configuration's locale like aapt does ("zh-CN", "fr",
// "zh-Hans-CN"); "" is the default locale.
func (c resConfig) locale() string {
	s := c.language
	if s == "" {
		return ""
	}
	if c.script != "" {
		s += "-" + c.script
	}
	if c.country != "" {
		s += "-" + c.country
	}
	return s
}

const (
	maxTablePackages = 256
	maxTypeChunks    = 100000
	maxRefHops       = 8
)

func parseTable(b []byte) (*resTable, error) {
	root, err := readChunk(b, 0)
	if err != nil {
		return nil, err
	}
	if root.typ != chunkTable {
		return nil, fmt.Errorf("not a resource table (chunk type 0x%04x)", root.typ)
	}
	t := &resTable{types: map[uint32][]resType{}}
	nTypes, nPkgs := 0, 0
	for off := root.headerSize; off < len(root.data); {
		c, err := readChunk(root.data, off)
		if err != nil {
			return nil, err
		}
		off += len(c.data)
		switch c.typ {
		case chunkStringPool:
			if t.strings == nil {
				if t.strings, err = parseStringPool(c); err != nil {
					return nil, err
				}
			}
		case chunkTablePackage:
			if nPkgs++; nPkgs > maxTablePackages {
				return nil, errors.New("too many packages")
			}
			id, err := u32(c.data, 8)
			if err != nil {
				return nil, err
			}
			if id > 0xff {
				return nil, fmt.Errorf("package id 0x%x", id)
			}
			for poff := c.headerSize; poff < len(c.data); {
				pc, err := readChunk(c.data, poff)
				if err != nil {
					return nil, err
				}
				poff += len(pc.data)
				if pc.typ != chunkTableType {
					continue
				}
				if nTypes++; nTypes > maxTypeChunks {
					return nil, errors.New("too many type chunks")
				}
				rt, typeID, err := parseType(pc)
				if err != nil {
					return nil, err
				}
				k := id<<8 | uint32(typeID)
				t.types[k] = append(t.types[k], rt)
			}
		}
	}
	return t, nil
}

func parseType(c chunk) (resType, uint8, error) {
	if c.headerSize < 20+4 || len(c.data) < 20 {
		return resType{}, 0, errors.New("type chunk header too small")
	}
	typeID := c.data[8]
	flags := c.data[9]
	count := binary.LittleEndian.Uint32(c.data[12:])
	start := binary.LittleEndian.Uint32(c.data[16:])
	cfg := parseConfig(c.data[20:c.headerSize])
	rt := resType{config: cfg, entries: c.data, start: int(start), sparse: flags&0x01 != 0, off16: flags&0x02 != 0}
	width := uint64(4)
	if rt.off16 && !rt.sparse {
		width = 2
	}
	if uint64(count)*width > uint64(len(c.data)-c.headerSize) || start > uint32(len(c.data)) {
		return resType{}, 0, fmt.Errorf("type %d: %d entries do not fit", typeID, count)
	}
	rt.count = int(count)
	rt.offsets = c.data[c.headerSize : c.headerSize+int(uint64(count)*width)]
	return rt, typeID, nil
}

func parseConfig(b []byte) resConfig {
	var c resConfig
	if len(b) < 4 {
		return c
	}
	size := int(binary.LittleEndian.Uint32(b))
	if size < len(b) {
		b = b[:size]
	}
	get := func(off, n int) []byte {
		if off+n > len(b) {
			return make([]byte, n)
		}
		return b[off : off+n]
	}
	c.language = unpackLang(get(8, 2), 'a')
	c.country = unpackLang(get(10, 2), '0')
	c.density = binary.LittleEndian.Uint16(get(14, 2))
	c.sdk = binary.LittleEndian.Uint16(get(24, 2))
	if s := get(36, 4); s[0] != 0 {
		c.script = string(trimNUL(s))
	}
	// Qualifiers that make a value "not the plain one for its locale".
	for _, r := range [][2]int{{4, 4}, {12, 2}, {16, 4}, {20, 4}, {28, 8}} {
		for _, x := range get(r[0], r[1]) {
			if x != 0 {
				c.other = true
			}
		}
	}
	return c
}

func trimNUL(b []byte) []byte {
	for i, x := range b {
		if x == 0 {
			return b[:i]
		}
	}
	return b
}

// unpackLang decodes a 2-byte language or region code, including the packed
// 3-letter form (high bit set) of ResTable_config.
func unpackLang(b []byte, base byte) string {
	if b[0] == 0 {
		return ""
	}
	if b[0]&0x80 == 0 {
		return string(trimNUL(b))
	}
	first := b[1] & 0x1f
	second := (b[1]&0xe0)>>5 | (b[0]&0x03)<<3
	third := (b[0] & 0x7c) >> 2
	return string([]byte{base + first, base + second, base + third})
}

// resValue is one configuration's value of a resource.
type resValue struct {
	config resConfig
	typ    uint8
	data   uint32
}

// values returns every configuration's value of resource id.
func (t *resTable) values(id uint32) []resValue {
	if t == nil {
		return nil
	}
	var out []resValue
	entry := int(id & 0xffff)
	for _, rt := range t.types[id>>16] {
		off, ok := rt.entryOffset(entry)
		if !ok {
			continue
		}
		p := rt.start + off
		if p < rt.start || p+8 > len(rt.entries) {
			continue
		}
		size := int(binary.LittleEndian.Uint16(rt.entries[p:]))
		flags := binary.LittleEndian.Uint16(rt.entries[p+2:])
		if flags&0x0008 != 0 { // compact entry: type in the flags' high byte, data inline
			out = append(out, resValue{config: rt.config, typ: uint8(flags >> 8), data: binary.LittleEndian.Uint32(rt.entries[p+4:])})
			continue
		}
		if flags&0x0001 != 0 { // complex (bag) entry: not a plain value
			continue
		}
		v := p + size
		if size < 8 || v+8 > len(rt.entries) {
			continue
		}
		out = append(out, resValue{config: rt.config, typ: rt.entries[v+3], data: binary.LittleEndian.Uint32(rt.entries[v+4:])})
	}
	return out
}

func (rt resType) entryOffset(entry int) (int, bool) {
	switch {
	case rt.sparse:
		// Sorted (u16 index, u16 offset/4) pairs.
		lo, hi := 0, rt.count
		for lo < hi {
			m := (lo + hi) / 2
			idx := int(binary.LittleEndian.Uint16(rt.offsets[m*4:]))
			switch {
			case idx == entry:
				return int(binary.LittleEndian.Uint16(rt.offsets[m*4+2:])) * 4, true
			case idx < entry:
				lo = m + 1
			default:
				hi = m
			}
		}
		return 0, false
	case rt.off16:
		if entry >= rt.count {
			return 0, false
		}
		o := binary.LittleEndian.Uint16(rt.offsets[entry*2:])
		if o == 0xffff {
			return 0, false
		}
		return int(o) * 4, true
	default:
		if entry >= rt.count {
			return 0, false
		}
		o := binary.LittleEndian.Uint32(rt.offsets[entry*4:])
		if o == noIndex {
			return 0, false
		}
		return int(o), true
	}
}

// strings resolves resource id to its string value per configuration,
// following references a few hops.
func (t *resTable) resolveStrings(id uint32) []resString {
	var out []resString
	t.walk(id, 0, func(v resValue, cfg resConfig) {
		if v.typ != typeString {
			return
		}
		s, err := t.strings.get(v.data)
		if err != nil {
			return
		}
		out = append(out, resString{config: cfg, s: s})
	})
	return out
}

type resString struct {
	config resConfig
	s      string
}

// walk calls fn with every terminal value of id; values reached through a
// reference keep the configuration of the first hop when it is more
// specific (a zh-CN label pointing at a default string is still zh-CN).
func (t *resTable) walk(id uint32, hops int, fn func(resValue, resConfig)) {
	if hops > maxRefHops {
		return
	}
	for _, v := range t.values(id) {
		if v.typ == typeReference && v.data != 0 {
			t.walk(v.data, hops+1, func(w resValue, c resConfig) {
				if c.locale() == "" && !c.other {
					c = v.config
				}
				fn(w, c)
			})
			continue
		}
		fn(v, v.config)
	}
}
