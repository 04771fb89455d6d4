package apk

import (
	"testing"
)

func TestCheckName(t *testing.T) {
	tests := []struct {
		name string
		ok   bool
	}{
		{"AndroidManifest.xml", true},
		{"lib/arm64-v8a/libx.so", true},
		{"res/drawable/", true},
		{"assets/..hidden", true},
		{"assets/a..b", true},
		{"", false},
		{"../x", false},
		{"a/../../x", false},
		{`a\..\x`, false},
		{"/etc/passwd", false},
		{`\windows`, false},
		{"c:/x", false},
		{"Z:x", false},
		{"a\x00b", false},
		{"..", false},
	}
	for _, tt := range tests {
		if err := checkName(tt.name); (err == nil) != tt.ok {
			t.Errorf("checkName(%q) = %v, want ok=%v", tt.name, err, tt.ok)
		}
	}
}

func TestLocale(t *testing.T) {
	tests := []struct {
		lang, country [2]byte
		script        string
		want          string
	}{
		{[2]byte{}, [2]byte{}, "", ""},
		{[2]byte{'z', 'h'}, [2]byte{'C', 'N'}, "", "zh-CN"},
		{[2]byte{'z', 'h'}, [2]byte{'T', 'W'}, "Hant", "zh-Hant-TW"},
		{[2]byte{'f', 'r'}, [2]byte{}, "", "fr"},
		// Packed 3-letter language "fil" (ResTable_config::packLanguage).
		{[2]byte{0x80 | ('l'-'a')<<2 | ('i'-'a')>>3, ('i'-'a')<<5&0xe0 | ('f' - 'a')}, [2]byte{'P', 'H'}, "", "fil-PH"},
		// Packed 3-digit region "419" (Latin America).
		{[2]byte{'e', 's'}, [2]byte{0x80 | ('9'-'0')<<2 | ('1'-'0')>>3, ('1'-'0')<<5&0xe0 | ('4' - '0')}, "", "es-419"},
	}
	for _, tt := range tests {
		c := resConfig{language: unpackLang(tt.lang[:], 'a'), country: unpackLang(tt.country[:], '0'), script: tt.script}
		if got := c.locale(); got != tt.want {
			t.Errorf("locale(%v %v %q) = %q, want %q", tt.lang, tt.country, tt.script, got, tt.want)
		}
	}
}

func TestStringPoolBounds(t *testing.T) {
	// A UTF-8 pool with one string whose length runs past the chunk.
	pool := []byte{
		1, 0, 28, 0, 36, 0, 0, 0, // header: type, headerSize 28, size 36
		1, 0, 0, 0, 0, 0, 0, 0, // 1 string, 0 styles
		0, 1, 0, 0, 32, 0, 0, 0, // UTF-8 flag, strings start at 32
		0, 0, 0, 0, 0, 0, 0, 0, // style start; offset[0] = 0
		5, 60, 'a', 'b', // claims 60 bytes
	}
	c, err := readChunk(pool, 0)
	if err != nil {
		t.Fatal(err)
	}
	p, err := parseStringPool(c)
	if err != nil {
		t.Fatal(err)
	}
	if s, err := p.get(0); err == nil {
		t.Errorf("got %q from a string that runs past the pool", s)
	}
	if _, err := p.get(1); err == nil {
		t.Error("index 1 of a 1-string pool did not fail")
	}
}
