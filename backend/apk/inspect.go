package apk

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"sort"
	"strconv"
	"strings"
)

// Info is what the station reads from an APK.
type Info struct {
	Package     string            `json:"package"`
	VersionCode int64             `json:"versionCode"` // includes versionCodeMajor in the high 32 bits
	VersionName string            `json:"versionName"`
	MinSDK      int               `json:"minSdk"` // a preview codename reads as 10000, like Android
	TargetSDK   int               `json:"targetSdk"`
	Label       string            `json:"label"`            // default-locale label
	Labels      map[string]string `json:"labels,omitempty"` // locale ("" default, "zh-CN", …) → label
	Icon        string            `json:"icon,omitempty"`   // path of the icon file inside the APK
	IconPNG     []byte            `json:"-"`                // icon bytes when Icon is a PNG
	ABIs        []string          `json:"abis"`             // from lib/<abi>/; empty = no native code
	Split       string            `json:"split,omitempty"`  // split name for a split APK; "" = base APK
	// SignerSHA256 is the signer certificate's SHA-256: from the newest
	// scheme present (v3, then v2, then v1), as Android reads it.
	SignerSHA256  string            `json:"signerSha256"`
	Schemes       []string          `json:"schemes"`                 // "v1", "v2", "v3", "v3.1"
	SchemeSigners map[string]string `json:"schemeSigners,omitempty"` // scheme → certificate SHA-256
	SHA256        string            `json:"sha256"`                  // of the whole file
	Size          int64             `json:"size"`
}

// Limits bound what a hostile archive can cost. DefaultLimits fit every real
// APK we know of with room to spare.
type Limits struct {
	MaxEntries           int
	MaxTotalUncompressed uint64 // declared, summed over entries
	MaxRatio             uint64 // declared uncompressed ÷ compressed, per entry above 1 MiB
	MaxManifest          int64
	MaxResources         int64 // resources.arsc
	MaxIcon              int64
	MaxSigFile           int64 // META-INF signature block files
}

var DefaultLimits = Limits{
	MaxEntries:           100000,
	MaxTotalUncompressed: 8 << 30,
	MaxRatio:             1100, // deflate cannot do better than ~1032:1
	MaxManifest:          2 << 20,
	MaxResources:         64 << 20,
	MaxIcon:              4 << 20,
	MaxSigFile:           1 << 20,
}

// Inspect reads the APK at path. The name does not matter: a file renamed by
// a chat app (x.apk.1, x.apk(1)) is read by its content.
func Inspect(path string) (*Info, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, &Error{Code: CodeIO, Err: err}
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, &Error{Code: CodeIO, Err: err}
	}
	if !st.Mode().IsRegular() {
		return nil, &Error{Code: CodeIO, Detail: path + " is not a regular file"}
	}
	return InspectReader(f, st.Size())
}

// InspectReader reads an APK of size bytes from r.
func InspectReader(r io.ReaderAt, size int64) (*Info, error) {
	return inspect(r, size, DefaultLimits)
}

func inspect(r io.ReaderAt, size int64, lim Limits) (*Info, error) {
	if size <= 0 {
		return nil, &Error{Code: CodeNotZip, Detail: "the file is empty"}
	}
	var magic [4]byte
	n, _ := r.ReadAt(magic[:], 0)
	startsPK := n >= 2 && magic[0] == 'P' && magic[1] == 'K'

	cdOffset, err := findCentralDirectory(r, size)
	if err != nil {
		if startsPK {
			return nil, &Error{Code: CodeTruncated, Err: err}
		}
		return nil, &Error{Code: CodeNotZip}
	}
	zr, err := zip.NewReader(r, size)
	if err != nil && !errors.Is(err, zip.ErrInsecurePath) {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, &Error{Code: CodeTruncated, Err: err}
		}
		return nil, &Error{Code: CodeBadZip, Err: err}
	}
	if err := checkArchive(zr, size, cdOffset, lim); err != nil {
		return nil, err
	}

	files := map[string]*zip.File{}
	for _, f := range zr.File {
		files[f.Name] = f
	}
	mf := files["AndroidManifest.xml"]
	if mf == nil {
		if b := bundleError(zr); b != nil {
			return nil, b
		}
		return nil, &Error{Code: CodeNoManifest}
	}
	if mf.UncompressedSize64 > uint64(lim.MaxManifest) {
		return nil, &Error{Code: CodeManifestTooLarge, Detail: fmt.Sprintf("%d bytes, limit %d", mf.UncompressedSize64, lim.MaxManifest)}
	}
	mb, err := readEntry(mf, lim.MaxManifest, lim)
	if err != nil {
		return nil, err
	}
	elems, err := parseAXML(mb)
	if err != nil {
		return nil, &Error{Code: CodeBadManifest, Err: err}
	}

	var table *resTable
	if rf := files["resources.arsc"]; rf != nil {
		rb, err := readEntry(rf, lim.MaxResources, lim)
		if err != nil {
			return nil, err
		}
		// A damaged resource table costs the label and icon, not the APK:
		// Android itself would refuse to install it, which the phone reports.
		table, _ = parseTable(rb)
	}

	info := &Info{Size: size}
	if err := readManifest(info, elems, table); err != nil {
		return nil, err
	}
	info.ABIs = nativeABIs(zr)
	if info.Icon != "" {
		if f := files[info.Icon]; f != nil && f.UncompressedSize64 <= uint64(lim.MaxIcon) {
			if b, err := readEntry(f, lim.MaxIcon, lim); err == nil && bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")) {
				info.IconPNG = b
			}
		}
	}
	if err := readSigners(info, r, zr, cdOffset, lim); err != nil {
		return nil, err
	}

	h := sha256.New()
	if _, err := io.Copy(h, io.NewSectionReader(r, 0, size)); err != nil {
		return nil, &Error{Code: CodeIO, Err: err}
	}
	info.SHA256 = hex.EncodeToString(h.Sum(nil))
	return info, nil
}

// findCentralDirectory locates the end-of-central-directory record and
// returns the central directory's offset. It fails when there is no record
// or the directory lies past the end of the file (a cut-off download).
func findCentralDirectory(r io.ReaderAt, size int64) (int64, error) {
	const eocdLen = 22
	if size < eocdLen {
		return 0, errors.New("too short for a zip")
	}
	tail := min(size, eocdLen+65535)
	buf := make([]byte, tail)
	if _, err := r.ReadAt(buf, size-tail); err != nil && err != io.EOF {
		return 0, err
	}
	for i := len(buf) - eocdLen; i >= 0; i-- {
		if binary.LittleEndian.Uint32(buf[i:]) != 0x06054b50 {
			continue
		}
		if int(binary.LittleEndian.Uint16(buf[i+20:])) != len(buf)-i-eocdLen {
			continue // "PK\5\6" inside a comment or data, not the record
		}
		cdSize := int64(binary.LittleEndian.Uint32(buf[i+12:]))
		cdOff := int64(binary.LittleEndian.Uint32(buf[i+16:]))
		eocdAt := size - tail + int64(i)
		if cdOff == 0xffffffff {
			return cdOff, nil // zip64: the zip reader finds the real directory
		}
		if cdOff+cdSize > eocdAt {
			return 0, fmt.Errorf("central directory (%d+%d) runs past its end record at %d", cdOff, cdSize, eocdAt)
		}
		return cdOff, nil
	}
	return 0, errors.New("no end of central directory record")
}

// checkArchive refuses zip bombs, unsafe names and duplicates before any
// entry is decompressed.
func checkArchive(zr *zip.Reader, size, cdOffset int64, lim Limits) error {
	if len(zr.File) > lim.MaxEntries {
		return &Error{Code: CodeZipBomb, Detail: fmt.Sprintf("%d entries, limit %d", len(zr.File), lim.MaxEntries)}
	}
	type span struct {
		start, end int64
		name       string
	}
	var (
		total uint64
		spans = make([]span, 0, len(zr.File))
		seen  = make(map[string]bool, len(zr.File))
	)
	for _, f := range zr.File {
		if err := checkName(f.Name); err != nil {
			return err
		}
		if seen[f.Name] {
			// Two entries with one name let different readers see different
			// files (the "master key" class of bugs); Android refuses them too.
			return &Error{Code: CodeBadZip, Detail: "duplicate entry " + strconv.Quote(f.Name)}
		}
		seen[f.Name] = true
		total += f.UncompressedSize64
		if total > lim.MaxTotalUncompressed || f.UncompressedSize64 > lim.MaxTotalUncompressed {
			return &Error{Code: CodeZipBomb, Detail: fmt.Sprintf("declares more than %d bytes uncompressed", lim.MaxTotalUncompressed)}
		}
		if f.UncompressedSize64 > 1<<20 && f.UncompressedSize64/max(f.CompressedSize64, 1) > lim.MaxRatio {
			return &Error{Code: CodeZipBomb, Detail: fmt.Sprintf("%s expands %d times", f.Name, f.UncompressedSize64/max(f.CompressedSize64, 1))}
		}
		off, err := f.DataOffset()
		if err != nil {
			if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
				return &Error{Code: CodeTruncated, Detail: f.Name, Err: err}
			}
			return &Error{Code: CodeBadZip, Detail: f.Name, Err: err}
		}
		end := off + int64(f.CompressedSize64)
		if end < off || end > size {
			return &Error{Code: CodeTruncated, Detail: f.Name + " runs past the end of the file"}
		}
		spans = append(spans, span{off, end, f.Name})
	}
	// Entries whose data overlap are how the densest zip bombs (and some
	// parser-confusion attacks) are made; real APKs never have them.
	sort.Slice(spans, func(i, j int) bool { return spans[i].start < spans[j].start })
	for i := 1; i < len(spans); i++ {
		if spans[i].start < spans[i-1].end {
			return &Error{Code: CodeZipBomb, Detail: fmt.Sprintf("entries %q and %q overlap", spans[i-1].name, spans[i].name)}
		}
	}
	if cdOffset != 0xffffffff && len(spans) > 0 && spans[len(spans)-1].end > cdOffset {
		return &Error{Code: CodeZipBomb, Detail: spans[len(spans)-1].name + " overlaps the central directory"}
	}
	return nil
}

// checkName refuses names that would escape a directory when extracted.
func checkName(name string) error {
	bad := func(why string) error {
		return &Error{Code: CodeBadPath, Detail: fmt.Sprintf("%q %s", name, why)}
	}
	switch {
	case name == "":
		return bad("is empty")
	case strings.ContainsRune(name, 0):
		return bad("contains a NUL byte")
	case strings.HasPrefix(name, "/") || strings.HasPrefix(name, `\`):
		return bad("is absolute")
	case len(name) >= 2 && name[1] == ':' && (name[0]|0x20 >= 'a' && name[0]|0x20 <= 'z'):
		return bad("has a drive letter")
	}
	for _, part := range strings.FieldsFunc(name, func(r rune) bool { return r == '/' || r == '\\' }) {
		if part == ".." {
			return bad("climbs out with ..")
		}
	}
	return nil
}

// readEntry decompresses f, refusing more than limit bytes or more than it
// declares.
func readEntry(f *zip.File, limit int64, lim Limits) ([]byte, error) {
	if f.UncompressedSize64 > uint64(limit) {
		return nil, &Error{Code: CodeZipBomb, Detail: fmt.Sprintf("%s declares %d bytes, limit %d", f.Name, f.UncompressedSize64, limit)}
	}
	rc, err := f.Open()
	if err != nil {
		return nil, &Error{Code: CodeBadZip, Detail: f.Name, Err: err}
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, limit+1))
	switch {
	case errors.Is(err, zip.ErrFormat):
		// archive/zip reports data longer than the declared size this way.
		return nil, &Error{Code: CodeZipBomb, Detail: f.Name + " expands beyond its declared size"}
	case errors.Is(err, io.ErrUnexpectedEOF):
		return nil, &Error{Code: CodeTruncated, Detail: f.Name, Err: err}
	case err != nil:
		return nil, &Error{Code: CodeBadZip, Detail: f.Name, Err: err}
	case int64(len(b)) > limit:
		return nil, &Error{Code: CodeZipBomb, Detail: f.Name + " expands beyond the limit"}
	}
	return b, nil
}

// bundleError recognises .apks (bundletool), .aab and .xapk/.apkm archives.
func bundleError(zr *zip.Reader) *Error {
	var apks []string
	kind := ""
	for _, f := range zr.File {
		switch {
		case f.Name == "toc.pb":
			kind = ".apks"
		case f.Name == "BundleConfig.pb" || strings.HasSuffix(f.Name, "/manifest/AndroidManifest.xml"):
			kind = ".aab"
			if m, _, ok := strings.Cut(f.Name, "/manifest/"); ok && !strings.Contains(m, "/") {
				apks = append(apks, m)
			}
		case f.Name == "manifest.json" || f.Name == "info.json":
			if kind == "" {
				kind = ".xapk"
			}
		case strings.EqualFold(path.Ext(f.Name), ".apk"):
			apks = append(apks, f.Name)
		}
	}
	if kind == "" && len(apks) == 0 {
		return nil
	}
	sort.Strings(apks)
	apks = compactStrings(apks)
	e := &Error{Code: CodeBundle, Splits: apks}
	var detail []string
	if kind != "" {
		detail = append(detail, "a "+kind+" archive")
	}
	for _, a := range apks {
		if path.Base(a) == "universal.apk" {
			detail = append(detail, "it holds "+a+": extract that one")
		}
	}
	if len(apks) > 0 {
		detail = append(detail, "contains "+strings.Join(apks, ", "))
	}
	e.Detail = strings.Join(detail, "; ")
	return e
}

func compactStrings(s []string) []string {
	out := s[:0]
	for i, x := range s {
		if i == 0 || x != s[i-1] {
			out = append(out, x)
		}
	}
	return out
}

func readManifest(info *Info, elems []xmlElem, table *resTable) error {
	if len(elems) == 0 || elems[0].name != "manifest" || elems[0].depth != 1 {
		return &Error{Code: CodeBadManifest, Detail: "the root element is not <manifest>"}
	}
	m := elems[0]
	if a, ok := m.plain("package"); ok && a.hasStr {
		info.Package = a.str
	}
	if info.Package == "" {
		return &Error{Code: CodeBadManifest, Detail: "no package name"}
	}
	if a, ok := m.plain("split"); ok && a.hasStr {
		info.Split = a.str
	}
	if a, ok := m.find(attrVersionCode, attrNameVersionCode); ok {
		v, _ := intValue(a)
		info.VersionCode = int64(uint32(v))
	}
	if a, ok := m.find(attrVersionCodeMajor, attrNameVersionCodeHi); ok {
		if v, ok := intValue(a); ok {
			info.VersionCode |= int64(uint32(v)) << 32
		}
	}
	if a, ok := m.find(attrVersionName, attrNameVersionName); ok {
		info.VersionName = stringValue(a, table)
	}
	info.MinSDK = 1
	targetSet := false
	for _, e := range elems[1:] {
		if e.depth != 2 {
			continue
		}
		switch e.name {
		case "uses-sdk":
			if a, ok := e.find(attrMinSdkVersion, attrNameMinSdk); ok {
				info.MinSDK = sdkValue(a)
			}
			if a, ok := e.find(attrTargetSdkVersion, attrNameTargetSdk); ok {
				info.TargetSDK = sdkValue(a)
				targetSet = true
			}
		case "application":
			if a, ok := e.find(attrLabel, attrNameLabel); ok {
				readLabels(info, a, table)
			}
			if a, ok := e.find(attrIcon, attrNameIcon); ok && a.typ == typeReference {
				info.Icon = pickIcon(table, a.data)
			}
		}
	}
	if !targetSet {
		info.TargetSDK = info.MinSDK
	}
	return nil
}

func intValue(a xmlAttr) (int64, bool) {
	if a.typ >= typeIntDec && a.typ <= 0x1f {
		return int64(int32(a.data)), true
	}
	if a.hasStr {
		v, err := strconv.ParseInt(strings.TrimSpace(a.str), 0, 64)
		return v, err == nil
	}
	return 0, false
}

// sdkValue reads an SDK level; a codename ("VanillaIceCream") means a
// preview SDK, which Android treats as 10000 (CUR_DEVELOPMENT).
func sdkValue(a xmlAttr) int {
	if v, ok := intValue(a); ok {
		return int(v)
	}
	if a.hasStr && a.str != "" {
		return 10000
	}
	return 0
}

// stringValue reads a string attribute, resolving a reference through the
// default configuration of the resource table.
func stringValue(a xmlAttr, table *resTable) string {
	if a.typ == typeReference {
		for _, s := range table.resolveStrings(a.data) {
			if s.config.locale() == "" && !s.config.other {
				return s.s
			}
		}
		return ""
	}
	if a.hasStr {
		return a.str
	}
	if v, ok := intValue(a); ok {
		return strconv.FormatInt(v, 10)
	}
	return ""
}

func readLabels(info *Info, a xmlAttr, table *resTable) {
	if a.typ != typeReference {
		if s := stringValue(a, table); s != "" {
			info.Label = s
			info.Labels = map[string]string{"": s}
		}
		return
	}
	labels := map[string]string{}
	plain := map[string]bool{}
	for _, s := range table.resolveStrings(a.data) {
		loc := s.config.locale()
		// The plain value for a locale wins over one with other qualifiers
		// (landscape, night, …): that is what a phone in that locale shows.
		if _, ok := labels[loc]; ok && (plain[loc] || s.config.other) {
			continue
		}
		labels[loc] = s.s
		plain[loc] = !s.config.other
	}
	if len(labels) == 0 {
		return
	}
	info.Labels = labels
	info.Label = labels[""]
	if info.Label == "" {
		for _, k := range []string{"en", "en-US", "en-GB"} {
			if labels[k] != "" {
				info.Label = labels[k]
				break
			}
		}
	}
	if info.Label == "" {
		keys := make([]string, 0, len(labels))
		for k := range labels {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		info.Label = labels[keys[0]]
	}
}

// pickIcon chooses the icon file a launcher list would show best: the
// highest-density bitmap; an XML (adaptive) icon only when there is no bitmap.
func pickIcon(table *resTable, id uint32) string {
	best, bestScore := "", -1
	for _, s := range table.resolveStrings(id) {
		score := 0
		switch d := int(s.config.density); {
		case strings.HasSuffix(s.s, ".xml"):
			score = 0
		case d == 0 || d == 0xffff:
			score = 160
		case d == 0xfffe:
			score = 1
		default:
			score = d
		}
		if s.config.locale() != "" || s.config.other {
			score -= 1 << 20
		}
		if score > bestScore {
			best, bestScore = s.s, score
		}
	}
	return best
}

// nativeABIs lists the ABIs with files under lib/<abi>/, sorted like aapt.
func nativeABIs(zr *zip.Reader) []string {
	set := map[string]bool{}
	for _, f := range zr.File {
		rest, ok := strings.CutPrefix(f.Name, "lib/")
		if !ok {
			continue
		}
		abi, file, ok := strings.Cut(rest, "/")
		if ok && abi != "" && file != "" && !strings.HasSuffix(file, "/") {
			set[abi] = true
		}
	}
	abis := make([]string, 0, len(set))
	for a := range set {
		abis = append(abis, a)
	}
	sort.Strings(abis)
	return abis
}

func readSigners(info *Info, r io.ReaderAt, zr *zip.Reader, cdOffset int64, lim Limits) error {
	signers := map[string]string{}
	var blocks []*zip.File
	hasSF := false
	for _, f := range zr.File {
		dir, name := path.Split(f.Name)
		if dir != "META-INF/" {
			continue
		}
		switch strings.ToUpper(path.Ext(name)) {
		case ".RSA", ".DSA", ".EC":
			blocks = append(blocks, f)
		case ".SF":
			hasSF = true
		}
	}
	sort.Slice(blocks, func(i, j int) bool { return blocks[i].Name < blocks[j].Name })
	if hasSF && len(blocks) > 0 {
		b, err := readEntry(blocks[0], lim.MaxSigFile, lim)
		if err != nil {
			return err
		}
		// A signature block we cannot parse leaves v1 out of Schemes rather
		// than refusing: the phone is the judge of signatures.
		if cert, err := v1Cert(b); err == nil {
			signers["v1"] = certDigest(cert)
		}
	}
	if cdOffset != 0xffffffff {
		if block, err := signingBlock(r, cdOffset); err == nil {
			for k, v := range block {
				signers[k] = v
			}
		}
	}
	for _, s := range []string{"v1", "v2", "v3", "v3.1"} {
		if d, ok := signers[s]; ok {
			info.Schemes = append(info.Schemes, s)
			info.SignerSHA256 = d // the newest scheme present wins
		}
	}
	if d, ok := signers["v3"]; ok {
		info.SignerSHA256 = d // v3.1 targets newer platforms only; v3 is what most phones check
	}
	if len(signers) > 0 {
		info.SchemeSigners = signers
	}
	return nil
}
