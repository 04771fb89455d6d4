package device

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"preloadstation/backend/adb"
)

// Facts are what the station knows about a phone's software and room.
type Facts struct {
	Brand        string           `json:"brand"`
	Manufacturer string           `json:"manufacturer"`
	Model        string           `json:"model"`
	Device       string           `json:"device"`
	Release      string           `json:"release"` // "14"
	SDK          int              `json:"sdk"`
	ABIs         []string         `json:"abis"` // preferred first
	SerialNo     string           `json:"serialNo,omitempty"`
	FreeData     int64            `json:"freeData"` // bytes free on /data; -1 unknown
	Battery      int              `json:"battery"`  // percent; -1 unknown
	Packages     map[string]int64 `json:"-"`        // package → versionCode
	PackageCount int              `json:"packageCount"`
	ReadAt       time.Time        `json:"readAt"`
}

// Shell is what facts need from a phone (adb.Device implements it).
type Shell interface {
	Shell(ctx context.Context, cmd string) (adb.ShellResult, error)
}

// ReadFacts reads a phone's facts with four shell commands run in parallel,
// each under its own no-progress watchdog of idle; all must succeed except
// battery and storage, which are reported as -1 when unreadable.
func ReadFacts(ctx context.Context, sh Shell, idle time.Duration) (Facts, error) {
	ctx = adb.WithIdleTimeout(ctx, idle)
	var (
		wg                     sync.WaitGroup
		props, df, batt, pkgs  adb.ShellResult
		ePro, eDf, eBat, ePkgs error
	)
	run := func(cmd string, r *adb.ShellResult, e *error) {
		defer wg.Done()
		*r, *e = sh.Shell(ctx, cmd)
		if *e == nil && r.ExitCode != 0 {
			*e = fmt.Errorf("%s: exit %d: %s", cmd, r.ExitCode, bytes.TrimSpace(r.Stderr))
		}
	}
	wg.Add(4)
	go run("getprop", &props, &ePro)
	go run("df /data", &df, &eDf)
	go run("dumpsys battery", &batt, &eBat)
	go run("pm list packages --show-versioncode", &pkgs, &ePkgs)
	wg.Wait()
	if err := errors.Join(ePro, ePkgs); err != nil {
		return Facts{}, err
	}
	f := factsFromProps(ParseProps(props.Stdout))
	if f.SDK == 0 {
		return Facts{}, fmt.Errorf("getprop: no ro.build.version.sdk in %d bytes of output", len(props.Stdout))
	}
	f.FreeData, f.Battery = -1, -1
	if eDf == nil {
		if n, ok := ParseDfAvailable(df.Stdout); ok {
			f.FreeData = n
		}
	}
	if eBat == nil {
		if n, ok := ParseBatteryLevel(batt.Stdout); ok {
			f.Battery = n
		}
	}
	f.Packages = ParsePackages(pkgs.Stdout)
	f.PackageCount = len(f.Packages)
	f.ReadAt = time.Now()
	return f, nil
}

func factsFromProps(p map[string]string) Facts {
	f := Facts{
		Brand:        p["ro.product.brand"],
		Manufacturer: p["ro.product.manufacturer"],
		Model:        p["ro.product.model"],
		Device:       p["ro.product.device"],
		Release:      p["ro.build.version.release"],
		SerialNo:     p["ro.serialno"],
	}
	f.SDK, _ = strconv.Atoi(p["ro.build.version.sdk"])
	abis := p["ro.product.cpu.abilist"]
	if abis == "" {
		// Before Android 5 there is no abilist: abi and abi2.
		abis = strings.Trim(p["ro.product.cpu.abi"]+","+p["ro.product.cpu.abi2"], ",")
	}
	for _, a := range strings.Split(abis, ",") {
		if a = strings.TrimSpace(a); a != "" {
			f.ABIs = append(f.ABIs, a)
		}
	}
	return f
}

// ParseProps parses `getprop` output: lines of "[key]: [value]".
func ParseProps(b []byte) map[string]string {
	m := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		k, v, ok := strings.Cut(line, "]: [")
		if !ok || !strings.HasPrefix(k, "[") || !strings.HasSuffix(v, "]") {
			continue
		}
		m[k[1:]] = v[:len(v)-1]
	}
	return m
}

// ParsePackages parses `pm list packages --show-versioncode`: lines of
// "package:com.x versionCode:123" (no versionCode on very old Android: 0).
func ParsePackages(b []byte) map[string]int64 {
	m := map[string]int64{}
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		rest, ok := strings.CutPrefix(line, "package:")
		if !ok {
			continue
		}
		name, vc, _ := strings.Cut(rest, " ")
		var v int64
		if s, ok := strings.CutPrefix(strings.TrimSpace(vc), "versionCode:"); ok {
			v, _ = strconv.ParseInt(s, 10, 64)
		}
		if name != "" {
			m[name] = v
		}
	}
	return m
}

// ParseBatteryLevel reads "level: N" from `dumpsys battery`.
func ParseBatteryLevel(b []byte) (int, bool) {
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "level:"); ok {
			n, err := strconv.Atoi(strings.TrimSpace(v))
			return n, err == nil
		}
	}
	return 0, false
}

// ParseDfAvailable reads the free bytes of the last filesystem `df /data`
// lists. Toybox prints 1K blocks ("Filesystem 1K-blocks Used Available Use%
// Mounted on"); old toolbox prints sizes with suffixes ("/data 12.5G 3.1G
// 9.4G 4096") under a "Free" column.
func ParseDfAvailable(b []byte) (int64, bool) {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) < 2 {
		return 0, false
	}
	head := strings.Fields(lines[0])
	col, unit := -1, int64(1024)
	for i, h := range head {
		switch strings.ToLower(h) {
		case "available", "avail", "free":
			col = i
		}
		if strings.EqualFold(h, "1K-blocks") {
			unit = 1024
		}
		if strings.EqualFold(h, "512-blocks") {
			unit = 512
		}
	}
	if col < 0 {
		return 0, false
	}
	// A long device name can wrap the row onto two lines: join the rest.
	f := strings.Fields(strings.Join(lines[1:], " "))
	if col >= len(f) {
		return 0, false
	}
	return parseSize(f[col], unit)
}

func parseSize(s string, unit int64) (int64, bool) {
	mult := unit
	if n := len(s); n > 0 {
		switch s[n-1] {
		case 'K', 'k':
			mult, s = 1<<10, s[:n-1]
		case 'M':
			mult, s = 1<<20, s[:n-1]
		case 'G':
			mult, s = 1<<30, s[:n-1]
		case 'T':
			mult, s = 1<<40, s[:n-1]
		}
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || v < 0 {
		return 0, false
	}
	return int64(v * float64(mult)), true
}
