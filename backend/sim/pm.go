package sim

import (
	"context"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// pm is `pm …` and `cmd package …`.
func (ph *Phone) pm(ctx context.Context, a []string, sio *shIO) int {
	out, errw := sio.out, sio.err
	if len(a) == 0 {
		fmt.Fprintln(errw, "Package manager (package) commands:\n  list packages [-f] [-3] [-s] [--show-versioncode] [FILTER]\n  install [-r] [-d] [-t] [-S BYTES] [PATH]\n  uninstall [-k] PACKAGE\n  path PACKAGE")
		return 1
	}
	switch a[0] {
	case "list":
		if len(a) < 2 || (a[1] != "packages" && a[1] != "package") {
			fmt.Fprintln(errw, "Error: unknown list type")
			return 1
		}
		return ph.listPackages(a[2:], out)
	case "path":
		if len(a) < 2 {
			return 1
		}
		p, ok := ph.Package(a[len(a)-1])
		if !ok {
			return 1
		}
		fmt.Fprintf(out, "package:%s\n", p.Path)
		return 0
	case "dump":
		if len(a) > 1 {
			ph.dumpPackage(a[1], out)
		}
		return 0
	case "install", "install-streamed":
		return ph.pmInstall(ctx, a[1:], sio)
	case "uninstall":
		return ph.uninstall(a[1:], out)
	case "clear", "grant", "revoke", "disable-user", "enable", "set-installer":
		fmt.Fprintln(out, "Success")
		return 0
	}
	fmt.Fprintf(errw, "Unknown command: %s\n", a[0])
	return 1
}

func (ph *Phone) listPackages(a []string, out io.Writer) int {
	var showPath, third, system, versions, uid bool
	var filter string
	for _, x := range a {
		switch x {
		case "-f":
			showPath = true
		case "-3":
			third = true
		case "-s":
			system = true
		case "--show-versioncode":
			versions = true
		case "-U":
			uid = true
		case "--user", "0":
		default:
			if !strings.HasPrefix(x, "-") {
				filter = x
			}
		}
	}
	for _, p := range ph.Packages() {
		if (third && p.System) || (system && !p.System) || !strings.Contains(p.Name, filter) {
			continue
		}
		line := "package:"
		if showPath {
			line += p.Path + "="
		}
		line += p.Name
		if versions {
			line += " versionCode:" + strconv.FormatInt(p.VersionCode, 10)
		}
		if uid {
			line += fmt.Sprintf(" uid:10%03d", len(p.Name))
		}
		fmt.Fprintln(out, line)
	}
	return 0
}

type installFlags struct {
	downgrade bool
}

// pmInstall installs from a phone path, or from stdin with -S SIZE (what
// `adb install` streams over exec:/abb_exec:).
func (ph *Phone) pmInstall(ctx context.Context, a []string, sio *shIO) int {
	var fl installFlags
	size := int64(-1)
	var file string
	for i := 0; i < len(a); i++ {
		switch x := a[i]; x {
		case "-d":
			fl.downgrade = true
		case "-S":
			if i+1 < len(a) {
				size, _ = strconv.ParseInt(a[i+1], 10, 64)
				i++
			}
		case "-i", "--user", "--install-reason", "--originating-uri", "--referrer", "--abi", "-p":
			i++
		default:
			if !strings.HasPrefix(x, "-") {
				file = x
			}
		}
	}
	ph.mu.Lock()
	ph.installSeq++
	seq := ph.installSeq
	ph.mu.Unlock()
	tmpDir := filepath.Join(ph.dir, "staging")
	os.MkdirAll(tmpDir, 0o755)
	tmp := filepath.Join(tmpDir, fmt.Sprintf("vmdl%d.tmp", 1000+seq))
	defer os.Remove(tmp)
	switch {
	case size >= 0:
		f, err := os.Create(tmp)
		if err != nil {
			fmt.Fprintf(sio.out, "Failure [INSTALL_FAILED_INTERNAL_ERROR: %v]\n", err)
			return 1
		}
		n, err := io.CopyN(f, sio.in, size)
		f.Close()
		if err != nil || n != size {
			fmt.Fprintf(sio.out, "Failure [INSTALL_FAILED_INVALID_APK: Failed to read APK: got %d of %d bytes]\n", n, size)
			return 1
		}
	case file != "":
		b, err := ph.ReadFile(file)
		if err != nil {
			fmt.Fprintf(sio.out, "Error: Can't open file: %s\nException occurred while executing 'install':\njava.lang.IllegalArgumentException: Error: Can't open file: %s\n", file, file)
			return 1
		}
		if err := os.WriteFile(tmp, b, 0o644); err != nil {
			fmt.Fprintf(sio.out, "Failure [INSTALL_FAILED_INTERNAL_ERROR: %v]\n", err)
			return 1
		}
		size = int64(len(b))
	default:
		fmt.Fprintln(sio.err, "Error: must either specify a package size or an APK file")
		return 1
	}
	msg := ph.install(ctx, tmp, size, fl)
	fmt.Fprintln(sio.out, msg)
	if msg != "Success" {
		return 1
	}
	return 0
}

// install decides and commits one APK under the package manager lock.
func (ph *Phone) install(ctx context.Context, apkPath string, size int64, fl installFlags) string {
	vmdl := "/data/app/" + strings.TrimSuffix(filepath.Base(apkPath), ".tmp") + ".tmp/base.apk"
	if ph.sim.opts.InspectAPK == nil {
		return "Failure [INSTALL_FAILED_INTERNAL_ERROR: the virtual phone has no APK reader]"
	}
	f, err := os.Open(apkPath)
	if err != nil {
		return fmt.Sprintf("Failure [INSTALL_FAILED_INTERNAL_ERROR: %v]", err)
	}
	facts, err := ph.sim.opts.InspectAPK(f, size)
	f.Close()
	if err != nil {
		return fmt.Sprintf("Failure [INSTALL_PARSE_FAILED_NOT_APK: Failed to parse %s: %v]", vmdl, err)
	}
	select {
	case ph.pmLock <- struct{}{}:
	case <-ctx.Done():
		return "Failure [INSTALL_FAILED_ABORTED: Session was abandoned]"
	}
	defer func() { <-ph.pmLock }()
	reason := ph.refuse(facts, size, fl, vmdl)
	usb := ph.sim.opts.USB
	slow := ph.slowFactor()
	if reason != "" {
		// A refusal costs the parse, not the dexopt.
		sleepCtx(ctx, usb.CommitFixed/5)
		ph.logf("install %s refused: %s", facts.Package, reason)
		return "Failure [" + reason + "]"
	}
	if !sleepCtx(ctx, usb.CommitTime(size, slow)) {
		return "Failure [INSTALL_FAILED_ABORTED: Session was abandoned]"
	}
	dir := fmt.Sprintf("/data/app/%s-%d", facts.Package, time.Now().UnixNano()%100000)
	dst := ph.hostPath(dir + "/base.apk")
	os.MkdirAll(filepath.Dir(dst), 0o755)
	if err := os.Rename(apkPath, dst); err != nil {
		return fmt.Sprintf("Failure [INSTALL_FAILED_INTERNAL_ERROR: %v]", err)
	}
	var abis []string
	for _, a := range ph.prof.ABIs {
		if slices.Contains(facts.ABIs, a) {
			abis = append(abis, a)
			break
		}
	}
	ph.mu.Lock()
	old := ph.pkgs[facts.Package]
	ph.pkgs[facts.Package] = &Package{Name: facts.Package, VersionCode: facts.VersionCode, VersionName: facts.VersionName,
		MinSDK: facts.MinSDK, TargetSDK: facts.TargetSDK, ABIs: abis, Signer: facts.SignerSHA256, Size: size,
		Path: dir + "/base.apk", Installed: time.Now()}
	ph.mu.Unlock()
	var oldSize int64
	if old != nil && !old.System {
		oldSize = old.Size
		os.RemoveAll(ph.hostPath(path.Dir(old.Path)))
	}
	ph.addUsed(size - oldSize)
	ph.logf("installed %s versionCode %d (%d bytes)", facts.Package, facts.VersionCode, size)
	return "Success"
}

// refuse is Android's list of reasons not to install, in the order the
// package manager checks them; "" installs.
func (ph *Phone) refuse(f APKFacts, size int64, fl installFlags, vmdl string) string {
	ph.mu.Lock()
	forced := ph.failInstall[f.Package]
	if forced == "" {
		forced = ph.failInstall["*"]
	}
	restricted := ph.prof.MIUI != "" && ph.props["persist.security.adbinstall"] == "0"
	old := ph.pkgs[f.Package]
	ph.mu.Unlock()
	sdk := ph.prof.SDK
	switch {
	case forced != "":
		if !strings.HasPrefix(forced, "INSTALL_") {
			forced = "INSTALL_FAILED_" + forced
		}
		return forced + ": injected by the virtual phone"
	case restricted:
		return "INSTALL_FAILED_USER_RESTRICTED: Install canceled by user"
	case f.MinSDK > sdk:
		return fmt.Sprintf("INSTALL_FAILED_OLDER_SDK: Failed parse during installPackageLI: %s (at Binary XML file line #7): Requires newer sdk version #%d (current version is #%d)", vmdl, f.MinSDK, sdk)
	case sdk >= 34 && f.TargetSDK < 23:
		return fmt.Sprintf("INSTALL_FAILED_DEPRECATED_SDK_VERSION: App package must target at least SDK version 23, but found %d", f.TargetSDK)
	case len(f.ABIs) > 0 && !anyIn(f.ABIs, ph.prof.ABIs):
		return "INSTALL_FAILED_NO_MATCHING_ABIS: Failed to extract native libraries, res=-113"
	}
	var oldSize int64
	if old != nil && !old.System {
		oldSize = old.Size
	}
	// The APK is kept and its code extracted/compiled next to it: ask for twice its size.
	if need := 2*size - oldSize; ph.freeBytes() < need {
		return "INSTALL_FAILED_INSUFFICIENT_STORAGE: Failed to allocate " + strconv.FormatInt(need, 10) + " bytes on /data"
	}
	if old != nil {
		if old.Signer != f.SignerSHA256 {
			return fmt.Sprintf("INSTALL_FAILED_UPDATE_INCOMPATIBLE: Existing package %s signatures do not match newer version; ignoring!", f.Package)
		}
		if f.VersionCode < old.VersionCode && !fl.downgrade {
			return fmt.Sprintf("INSTALL_FAILED_VERSION_DOWNGRADE: Downgrade detected: Update version code %d is older than current %d", f.VersionCode, old.VersionCode)
		}
	}
	return ""
}

func anyIn(a, b []string) bool {
	for _, x := range a {
		if slices.Contains(b, x) {
			return true
		}
	}
	return false
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

func (ph *Phone) uninstall(a []string, out io.Writer) int {
	var name string
	for i := 0; i < len(a); i++ {
		switch a[i] {
		case "--user":
			i++
		case "-k":
		default:
			name = a[i]
		}
	}
	ph.mu.Lock()
	p, ok := ph.pkgs[name]
	if ok && !p.System {
		delete(ph.pkgs, name)
	}
	ph.mu.Unlock()
	if !ok || p.System {
		fmt.Fprintln(out, "Failure [DELETE_FAILED_INTERNAL_ERROR]")
		return 1
	}
	os.RemoveAll(ph.hostPath(path.Dir(p.Path)))
	ph.addUsed(-p.Size)
	fmt.Fprintln(out, "Success")
	return 0
}
