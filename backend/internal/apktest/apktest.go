package apktest

import (
	"archive/zip"
	"bufio"
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	"image/png"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// Paths of the Debian tools. Variables so a developer machine with the SDK
// elsewhere can point them somewhere else from a TestMain.
var (
	AaptPath      = "/usr/bin/aapt"
	Aapt2Path     = "/usr/bin/aapt2"
	ApksignerPath = "/usr/bin/apksigner"
	FrameworkRes  = "/usr/share/android-framework-res/framework-res.apk"
)

// cacheVersion is mixed into every cache key: bump it whenever the bytes
// Build produces for a Spec change, so stale cached APKs are never reused.
const cacheVersion = "v1"

// Spec describes one APK. Zero values get defaults (see Build).
type Spec struct {
	Package     string // default "com.example.app"
	VersionCode int64  // written as is (0 is allowed)
	VersionName string // "" = attribute omitted
	MinSDK      int    // default 21
	TargetSDK   int    // default max(MinSDK, 30)

	Label   string // default label; default Package
	LabelZH string // optional values-zh-rCN label

	ABIs         []string // lib/<abi>/libdummy.so entries; empty = no native code
	PayloadBytes int      // incompressible bytes in assets/payload.bin, stored uncompressed

	Signer string // "" or "a" = test key A, "b" = test key B
	// V1Only with TargetSDK >= 30 builds, but Android (and apksigner verify)
	// refuse it: a target of 30+ needs v2 or later.
	V1Only, V2Only bool // signing schemes; neither = apksigner's default (v1+v2+v3)

	Split string // manifest split="…" attribute: makes a split APK (e.g. "config.arm64_v8a")
	Icon  bool   // add an android:icon (aapt: res/drawable/icon.png; Aapt2: mdpi+hdpi PNGs and an anydpi-v26 adaptive XML)
	Aapt2 bool   // build with aapt2 (UTF-8 string pools, as modern build tools make them) instead of aapt
}

// Available reports why APKs cannot be built here, or nil when they can.
// Tests call it and t.Skip with the error when it is not nil.
func Available() error {
	var missing []string
	for _, p := range []string{AaptPath, Aapt2Path, ApksignerPath, FrameworkRes} {
		if _, err := os.Stat(p); err != nil {
			missing = append(missing, p)
		}
	}
	if _, err := exec.LookPath("java"); err != nil {
		missing = append(missing, "java (needed by apksigner)")
	}
	if len(missing) > 0 {
		return fmt.Errorf("apktest: missing %s (Debian: apt-get install aapt apksigner android-framework-res)", strings.Join(missing, ", "))
	}
	return nil
}

//go:embed keys/*
var keyFS embed.FS

// SignerCertSHA256 returns the SHA-256 of the DER certificate of test key
// "a" or "b" (lower-case hex), the digest apksigner --print-certs shows.
func SignerCertSHA256(signer string) string {
	name := signerName(signer)
	p, err := keyFS.ReadFile("keys/" + name + ".x509.pem")
	if err != nil {
		panic("apktest: unknown signer " + signer)
	}
	b, _ := pem.Decode(p)
	sum := sha256.Sum256(b.Bytes)
	return hex.EncodeToString(sum[:])
}

func signerName(s string) string {
	if s == "" {
		return "a"
	}
	return s
}

var (
	buildMu   sync.Mutex
	keyLocks  = map[string]*sync.Mutex{}
	buildSlot = make(chan struct{}, 2) // the machine has few cores; parallel tests queue here
)

func lockFor(key string) *sync.Mutex {
	buildMu.Lock()
	defer buildMu.Unlock()
	m := keyLocks[key]
	if m == nil {
		m = &sync.Mutex{}
		keyLocks[key] = m
	}
	return m
}

// Build returns the path of a signed APK in dir made from s. It fatals with
// the tools' output when building fails. Each call returns a fresh copy, so
// tests may modify or truncate it without touching the cache. An empty dir
// means t.TempDir().
func Build(t testing.TB, dir string, s Spec) string {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	if err := Available(); err != nil {
		t.Fatal(err)
	}
	s, err := normalize(s)
	if err != nil {
		t.Fatalf("apktest: %v", err)
	}
	key := specKey(s)
	cached, err := cachedBuild(key, s)
	if err != nil {
		t.Fatalf("apktest: building %s: %v", s.Package, err)
	}
	out := filepath.Join(dir, fmt.Sprintf("%s-%d-%s.apk", s.Package, s.VersionCode, key[:8]))
	if err := copyFile(cached, out); err != nil {
		t.Fatalf("apktest: %v", err)
	}
	return out
}

var (
	pkgRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)+$`)
	abiRE = regexp.MustCompile(`^[A-Za-z0-9_\-]+$`)
)

func normalize(s Spec) (Spec, error) {
	if s.Package == "" {
		s.Package = "com.example.app"
	}
	if !pkgRE.MatchString(s.Package) {
		return s, fmt.Errorf("bad package name %q", s.Package)
	}
	if s.MinSDK == 0 {
		s.MinSDK = 21
	}
	if s.TargetSDK == 0 {
		s.TargetSDK = max(s.MinSDK, 30)
	}
	if s.Label == "" {
		s.Label = s.Package
	}
	s.Signer = signerName(s.Signer)
	if s.Signer != "a" && s.Signer != "b" {
		return s, fmt.Errorf("unknown signer %q (want \"a\" or \"b\")", s.Signer)
	}
	if s.V1Only && s.V2Only {
		return s, errors.New("V1Only and V2Only are exclusive")
	}
	for _, a := range s.ABIs {
		if !abiRE.MatchString(a) {
			return s, fmt.Errorf("bad ABI %q", a)
		}
	}
	if s.PayloadBytes < 0 {
		return s, errors.New("negative PayloadBytes")
	}
	if s.Split != "" && !abiRE.MatchString(strings.ReplaceAll(s.Split, ".", "_")) {
		return s, fmt.Errorf("bad split name %q", s.Split)
	}
	return s, nil
}

func specKey(s Spec) string {
	j, _ := json.Marshal(s)
	sum := sha256.Sum256(append([]byte(cacheVersion+"\x00"), j...))
	return hex.EncodeToString(sum[:])
}

func cacheDir() string {
	if d := os.Getenv("PRELOAD_APKTEST_CACHE"); d != "" {
		return d
	}
	return filepath.Join(os.TempDir(), fmt.Sprintf("preload-apktest-%d", os.Getuid()), cacheVersion)
}

// cachedBuild returns the cache path of the APK for s, building it first if
// no earlier process or test did.
func cachedBuild(key string, s Spec) (string, error) {
	m := lockFor(key)
	m.Lock()
	defer m.Unlock()
	dir := cacheDir()
	final := filepath.Join(dir, key+".apk")
	if _, err := os.Stat(final); err == nil {
		return final, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	buildSlot <- struct{}{}
	defer func() { <-buildSlot }()
	work, err := os.MkdirTemp(dir, "build-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(work)
	signed, err := build(work, key, s)
	if err != nil {
		return "", err
	}
	// Rename is atomic: a concurrent process sees either no file or the whole one.
	if err := os.Rename(signed, final); err != nil {
		return "", err
	}
	return final, nil
}

func build(work, key string, s Spec) (string, error) {
	if err := writeSources(work, s); err != nil {
		return "", err
	}
	unaligned := filepath.Join(work, "aapt.apk")
	if s.Aapt2 {
		flat := filepath.Join(work, "res.zip")
		if out, err := exec.Command(Aapt2Path, "compile", "--dir", filepath.Join(work, "res"), "-o", flat).CombinedOutput(); err != nil {
			return "", fmt.Errorf("aapt2 compile: %v\n%s", err, out)
		}
		if out, err := exec.Command(Aapt2Path, "link", "-o", unaligned, "-I", FrameworkRes,
			"--manifest", filepath.Join(work, "AndroidManifest.xml"), flat).CombinedOutput(); err != nil {
			return "", fmt.Errorf("aapt2 link: %v\n%s", err, out)
		}
	} else {
		args := []string{"package", "-f", "-M", filepath.Join(work, "AndroidManifest.xml"),
			"-S", filepath.Join(work, "res"), "-I", FrameworkRes, "-F", unaligned}
		if out, err := exec.Command(AaptPath, args...).CombinedOutput(); err != nil {
			return "", fmt.Errorf("aapt package: %v\n%s", err, out)
		}
	}
	unsigned := filepath.Join(work, "unsigned.apk")
	if err := addEntries(unaligned, unsigned, key, s); err != nil {
		return "", err
	}
	signed := filepath.Join(work, "signed.apk")
	// JVM options cut the start-up: the serial GC always; C1 only for small
	// APKs (~0.25 s instead of ~0.6 s), since hashing a big payload needs C2's
	// SHA-256 intrinsics (50 MB: ~0.5 s with C2, ~1.2 s without).
	sargs := []string{"-JXX:+UseSerialGC"}
	if s.PayloadBytes < 4<<20 {
		sargs = append(sargs, "-JXX:TieredStopAtLevel=1")
	}
	sargs = append(sargs, "sign", "--key", filepath.Join(work, "key.pk8"), "--cert", filepath.Join(work, "cert.pem"))
	switch {
	case s.V1Only:
		sargs = append(sargs, "--v1-signing-enabled", "true", "--v2-signing-enabled", "false",
			"--v3-signing-enabled", "false", "--v4-signing-enabled", "false")
	case s.V2Only:
		sargs = append(sargs, "--v1-signing-enabled", "false", "--v2-signing-enabled", "true",
			"--v3-signing-enabled", "false", "--v4-signing-enabled", "false")
	default:
		sargs = append(sargs, "--v4-signing-enabled", "false")
	}
	sargs = append(sargs, "--out", signed, unsigned)
	for _, ext := range []string{".pk8", ".x509.pem"} {
		b, err := keyFS.ReadFile("keys/" + s.Signer + ext)
		if err != nil {
			return "", err
		}
		name := map[string]string{".pk8": "key.pk8", ".x509.pem": "cert.pem"}[ext]
		if err := os.WriteFile(filepath.Join(work, name), b, 0o600); err != nil {
			return "", err
		}
	}
	if out, err := exec.Command(ApksignerPath, sargs...).CombinedOutput(); err != nil {
		return "", fmt.Errorf("apksigner sign: %v\n%s", err, out)
	}
	return signed, nil
}

func writeSources(work string, s Spec) error {
	var m strings.Builder
	m.WriteString(`<?xml version="1.0" encoding="utf-8"?>` + "\n")
	m.WriteString(`<manifest xmlns:android="http://schemas.android.com/apk/res/android"`)
	fmt.Fprintf(&m, ` package="%s" android:versionCode="%d"`, s.Package, s.VersionCode)
	if s.VersionName != "" {
		fmt.Fprintf(&m, ` android:versionName="%s"`, xmlAttr(s.VersionName))
	}
	if s.Split != "" {
		fmt.Fprintf(&m, ` split="%s"`, s.Split)
	}
	m.WriteString(">\n")
	fmt.Fprintf(&m, "  <uses-sdk android:minSdkVersion=\"%d\" android:targetSdkVersion=\"%d\"/>\n", s.MinSDK, s.TargetSDK)
	m.WriteString(`  <application android:label="@string/app_name"`)
	if s.Icon {
		m.WriteString(` android:icon="@drawable/icon"`)
	}
	m.WriteString("/>\n</manifest>\n")
	if err := os.WriteFile(filepath.Join(work, "AndroidManifest.xml"), []byte(m.String()), 0o644); err != nil {
		return err
	}
	write := func(rel, content string) error {
		p := filepath.Join(work, "res", rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		return os.WriteFile(p, []byte(content), 0o644)
	}
	strs := func(label string) string {
		return `<?xml version="1.0" encoding="utf-8"?>` + "\n<resources><string name=\"app_name\">" + resString(label) + "</string></resources>\n"
	}
	if err := write("values/strings.xml", strs(s.Label)); err != nil {
		return err
	}
	if s.LabelZH != "" {
		if err := write("values-zh-rCN/strings.xml", strs(s.LabelZH)); err != nil {
			return err
		}
	}
	switch {
	case s.Icon && s.Aapt2:
		for _, f := range []struct {
			rel  string
			size int
		}{{"drawable-mdpi/icon.png", 48}, {"drawable-hdpi/icon.png", 72}, {"drawable/icon_fg.png", 108}} {
			if err := write(f.rel, string(iconPNG(s.Package, f.size))); err != nil {
				return err
			}
		}
		adaptive := `<?xml version="1.0" encoding="utf-8"?>
<adaptive-icon xmlns:android="http://schemas.android.com/apk/res/android">
  <background android:drawable="@drawable/icon_fg"/><foreground android:drawable="@drawable/icon_fg"/>
</adaptive-icon>
`
		if err := write("drawable-anydpi-v26/icon.xml", adaptive); err != nil {
			return err
		}
	case s.Icon:
		if err := write("drawable/icon.png", string(iconPNG(s.Package, 48))); err != nil {
			return err
		}
	}
	return nil
}

func xmlAttr(v string) string {
	var b bytes.Buffer
	_ = xmlEscape(&b, v)
	return b.String()
}

// resString escapes a value for an aapt string resource: aapt treats quotes,
// backslashes and a leading @ or ? specially, on top of XML escaping.
func resString(v string) string {
	r := strings.NewReplacer(`\`, `\\`, `'`, `\'`, `"`, `\"`, "\n", `\n`)
	v = r.Replace(v)
	if strings.HasPrefix(v, "@") || strings.HasPrefix(v, "?") {
		v = `\` + v
	}
	return xmlAttr(v)
}

func xmlEscape(w io.Writer, s string) error {
	r := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "'", "&apos;")
	_, err := io.WriteString(w, r.Replace(s))
	return err
}

// iconPNG draws a small icon whose colour depends on the package, so icons
// of different test apps differ.
func iconPNG(pkg string, size int) []byte {
	sum := sha256.Sum256([]byte(pkg))
	img := image.NewNRGBA(image.Rect(0, 0, size, size))
	c := color.NRGBA{sum[0], sum[1], sum[2], 255}
	r := size/2 - 2
	for y := 0; y < size; y++ {
		for x := 0; x < size; x++ {
			if (x-size/2)*(x-size/2)+(y-size/2)*(y-size/2) < r*r {
				img.Set(x, y, c)
			}
		}
	}
	var b bytes.Buffer
	_ = png.Encode(&b, img)
	return b.Bytes()
}

// countWriter tracks the archive offset so stored entries can be aligned.
type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// addEntries copies aapt's archive and adds native libraries and the
// payload. Stored entries are 4-byte aligned as zipalign would do (Android
// 11+ wants resources.arsc stored and aligned).
func addEntries(src, dst, key string, s Spec) error {
	zr, err := zip.OpenReader(src)
	if err != nil {
		return err
	}
	defer zr.Close()
	f, err := os.Create(dst)
	if err != nil {
		return err
	}
	defer f.Close()
	bw := bufio.NewWriterSize(f, 1<<20)
	cw := &countWriter{w: bw}
	zw := zip.NewWriter(cw)
	mtime := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

	for _, e := range zr.File {
		if e.Method == zip.Store {
			data, err := readAll(e)
			if err != nil {
				return err
			}
			if err := writeStored(zw, cw, e.Name, data, mtime); err != nil {
				return err
			}
			continue
		}
		if err := zw.Copy(e); err != nil {
			return err
		}
	}
	for _, abi := range s.ABIs {
		h := &zip.FileHeader{Name: "lib/" + abi + "/libdummy.so", Method: zip.Deflate, Modified: mtime}
		w, err := zw.CreateHeader(h)
		if err != nil {
			return err
		}
		// An ELF magic and the ABI name: enough for anything that peeks at it.
		if _, err := w.Write(append([]byte("\x7fELF"), []byte("dummy native library for "+abi+"\n")...)); err != nil {
			return err
		}
	}
	if s.PayloadBytes > 0 {
		seed := sha256.Sum256([]byte("payload\x00" + key))
		rng := rand.NewChaCha8(seed)
		data := make([]byte, s.PayloadBytes)
		_, _ = rng.Read(data)
		if err := writeStored(zw, cw, "assets/payload.bin", data, mtime); err != nil {
			return err
		}
	}
	if err := zw.Close(); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	return f.Close()
}

func readAll(e *zip.File) ([]byte, error) {
	rc, err := e.Open()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(rc)
}

// writeStored writes an uncompressed entry whose data starts on a 4-byte
// boundary, padding the local header's extra field like zipalign.
func writeStored(zw *zip.Writer, cw *countWriter, name string, data []byte, mtime time.Time) error {
	if err := zw.Flush(); err != nil {
		return err
	}
	h := &zip.FileHeader{
		Name:               name,
		Method:             zip.Store,
		CRC32:              crc32.ChecksumIEEE(data),
		CompressedSize64:   uint64(len(data)),
		UncompressedSize64: uint64(len(data)),
	}
	// DOS time only: setting Modified would make Go add its own extra field
	// and throw the alignment off.
	h.ModifiedDate = uint16((mtime.Year()-1980)<<9 | int(mtime.Month())<<5 | mtime.Day())
	dataOff := cw.n + 30 + int64(len(name))
	if pad := (4 - dataOff%4) % 4; pad > 0 {
		// zipalign's padding extra field (ID 0xd935) needs 6 bytes at least; any
		// unknown ID is fine for readers, so use 4+pad bytes of ID 0xd935.
		extraLen := 4 + int(pad)
		for (dataOff+int64(extraLen))%4 != 0 {
			extraLen++
		}
		ex := make([]byte, extraLen)
		binary.LittleEndian.PutUint16(ex[0:], 0xd935)
		binary.LittleEndian.PutUint16(ex[2:], uint16(extraLen-4))
		h.Extra = ex
	}
	w, err := zw.CreateRaw(h)
	if err != nil {
		return err
	}
	_, err = w.Write(data)
	return err
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	tmp := dst + ".tmp"
	out, err := os.Create(tmp)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		os.Remove(tmp)
		return err
	}
	if err := out.Close(); err != nil {
		os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, dst)
}
