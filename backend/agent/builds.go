package agent

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"sort"
	"strings"
	"sync"
)

// bin is filled by scripts/build-agents.sh (make agents) before any Go build.
//
//go:embed bin
var bin embed.FS

// Build is one agent binary. Its bytes stay in the executable's embedded
// data and are read at each push, not copied onto the heap (four builds are
// ~14 MB, and the garbage collector would count them twice).
type Build struct {
	Name   string // "linux-amd64"
	Size   int64
	SHA256 string
	open   func() (io.ReadCloser, error)
}

// Open reads the binary.
func (b Build) Open() (io.ReadCloser, error) { return b.open() }

// BytesBuild is a build from bytes in memory (tests, and builds not embedded).
func BytesBuild(name string, data []byte) Build {
	sum := sha256.Sum256(data)
	return Build{Name: name, Size: int64(len(data)), SHA256: hex.EncodeToString(sum[:]),
		open: func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }}
}

var (
	buildsOnce sync.Once
	builds     map[string]Build
)

func loadBuilds() map[string]Build {
	buildsOnce.Do(func() {
		builds = map[string]Build{}
		ents, _ := fs.ReadDir(bin, "bin")
		for _, e := range ents {
			name, ok := strings.CutPrefix(e.Name(), "preload-agent-")
			if !ok || strings.HasSuffix(name, ".tmp") {
				continue
			}
			path := "bin/" + e.Name()
			open := func() (io.ReadCloser, error) { return bin.Open(path) }
			f, err := open()
			if err != nil {
				continue
			}
			h := sha256.New()
			n, err := io.Copy(h, f)
			f.Close()
			if err != nil {
				continue
			}
			builds[name] = Build{Name: name, Size: n, SHA256: hex.EncodeToString(h.Sum(nil)), open: open}
		}
	})
	return builds
}

// abiBuild maps Android ABIs to the build that runs there. 32-bit ARM and x86
// run static Linux builds, which Android executes.
var abiBuild = map[string]string{
	"arm64-v8a":   "android-arm64",
	"armeabi-v7a": "linux-arm",
	"armeabi":     "linux-arm",
	"x86":         "linux-386",
	"x86_64":      "linux-amd64",
}

// BuildForABI returns the embedded build for a phone's ro.product.cpu.abi.
func BuildForABI(abi string) (Build, error) {
	name, ok := abiBuild[strings.TrimSpace(abi)]
	if !ok {
		return Build{}, fmt.Errorf("no agent build for ABI %q", abi)
	}
	b, ok := loadBuilds()[name]
	if !ok {
		return Build{}, fmt.Errorf("agent build %s is not embedded (run make agents)", name)
	}
	return b, nil
}

// Builds lists the embedded builds, by name.
func Builds() []Build {
	m := loadBuilds()
	out := make([]Build, 0, len(m))
	for _, b := range m {
		out = append(out, b)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}
