package phone

import (
	"bufio"
	"context"
	"fmt"
	"strconv"
	"strings"

	"preloadstation/backend/agent/wire"
)

// facts reads what the planner needs from the phone.
func (a *Agent) facts(ctx context.Context) (wire.Facts, error) {
	f := wire.Facts{BatteryLevel: -1}
	pk := runOut(ctx, a.osys, "pm list packages --show-versioncode")
	if pk == "" {
		return f, fmt.Errorf("pm list packages gave nothing")
	}
	f.Packages = ParsePackages(pk)
	f.StorageFree, f.StorageTotal = ParseDF(runOut(ctx, a.osys, "df /data"))
	f.BatteryLevel, f.BatteryStatus = ParseBattery(runOut(ctx, a.osys, "dumpsys battery"))
	f.SDK, _ = strconv.Atoi(runOut(ctx, a.osys, "getprop ro.build.version.sdk"))
	f.ABI = runOut(ctx, a.osys, "getprop ro.product.cpu.abi")
	f.Locale = runOut(ctx, a.osys, "getprop persist.sys.locale")
	if f.Locale == "" {
		f.Locale = runOut(ctx, a.osys, "getprop ro.product.locale")
	}
	return f, nil
}

// ParsePackages reads `pm list packages --show-versioncode` lines:
// "package:com.example versionCode:42". Old phones print no versionCode (0).
func ParsePackages(s string) map[string]int64 {
	m := map[string]int64{}
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		name, ok := strings.CutPrefix(line, "package:")
		if !ok {
			continue
		}
		var vc int64
		if i := strings.Index(name, " versionCode:"); i >= 0 {
			vc, _ = strconv.ParseInt(strings.Fields(name[i+len(" versionCode:"):] + " ")[0], 10, 64)
			name = name[:i]
		}
		if name = strings.TrimSpace(name); name != "" {
			m[name] = vc
		}
	}
	return m
}

// ParseDF reads `df /data` in toybox form (1K-blocks, Used, Available) or the
// old toolbox form (Size Used Free Blksize with K/M/G suffixes). Bytes.
func ParseDF(s string) (free, total int64) {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) < 2 {
		return 0, 0
	}
	hdr := strings.Fields(lines[0])
	f := strings.Fields(lines[len(lines)-1])
	if len(hdr) > 1 && strings.EqualFold(hdr[1], "1K-blocks") && len(f) >= 4 {
		t, _ := strconv.ParseInt(f[1], 10, 64)
		a, _ := strconv.ParseInt(f[3], 10, 64)
		return a * 1024, t * 1024
	}
	if len(f) >= 4 { // Filesystem Size Used Free Blksize
		return humanSize(f[3]), humanSize(f[1])
	}
	return 0, 0
}

func humanSize(s string) int64 {
	mult := float64(1)
	switch {
	case strings.HasSuffix(s, "K"):
		mult = 1 << 10
	case strings.HasSuffix(s, "M"):
		mult = 1 << 20
	case strings.HasSuffix(s, "G"):
		mult = 1 << 30
	case strings.HasSuffix(s, "T"):
		mult = 1 << 40
	}
	v, err := strconv.ParseFloat(strings.TrimRight(s, "KMGT"), 64)
	if err != nil {
		return 0
	}
	return int64(v * mult)
}

// ParseBattery reads `dumpsys battery`: level and status (2 charging,
// 3 discharging, 4 not charging, 5 full).
func ParseBattery(s string) (level int, status string) {
	level = -1
	for _, line := range strings.Split(s, "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), ":")
		if !ok {
			continue
		}
		v = strings.TrimSpace(v)
		switch k {
		case "level":
			level, _ = strconv.Atoi(v)
		case "status":
			status = map[string]string{"1": "unknown", "2": "charging", "3": "discharging", "4": "not-charging", "5": "full"}[v]
		}
	}
	return level, status
}
