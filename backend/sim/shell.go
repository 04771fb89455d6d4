package sim

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// shIO is one command's standard streams.
type shIO struct {
	in       io.Reader
	out, err io.Writer
}

type tok struct {
	s  string
	op bool
}

// tokenize splits a command line the way mksh does for the subset a station
// sends: quotes, backslashes, ; && || | &, and redirections.
func tokenize(s string) ([]tok, error) {
	var toks []tok
	var cur strings.Builder
	inWord := false
	flush := func() {
		if inWord {
			toks = append(toks, tok{s: cur.String()})
			cur.Reset()
			inWord = false
		}
	}
	emit := func(op string) { toks = append(toks, tok{s: op, op: true}) }
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\'':
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				return nil, errors.New("syntax error: unterminated quoted string")
			}
			inWord = true
			cur.WriteString(s[i+1 : i+1+j])
			i += j + 1
		case c == '"':
			inWord = true
			i++
			for ; i < len(s) && s[i] != '"'; i++ {
				if s[i] == '\\' && i+1 < len(s) && strings.IndexByte(`"\$`+"`", s[i+1]) >= 0 {
					i++
				}
				cur.WriteByte(s[i])
			}
			if i >= len(s) {
				return nil, errors.New("syntax error: unterminated quoted string")
			}
		case c == '\\':
			inWord = true
			if i+1 < len(s) {
				cur.WriteByte(s[i+1])
				i++
			}
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			flush()
		case c == ';':
			flush()
			emit(";")
		case c == '(' || c == ')':
			// Subshell grouping: run the inside in this shell; "(cmd &)" still detaches.
			flush()
			if c == ')' {
				emit(";")
			}
		case c == '&':
			flush()
			switch {
			case strings.HasPrefix(s[i:], "&&"):
				emit("&&")
				i++
			case strings.HasPrefix(s[i:], "&>"):
				emit("&>")
				i++
			default:
				emit("&")
			}
		case c == '|':
			flush()
			if strings.HasPrefix(s[i:], "||") {
				emit("||")
				i++
			} else {
				emit("|")
			}
		case c == '>' || c == '<':
			fd := ""
			if inWord && (cur.String() == "1" || cur.String() == "2") {
				fd = cur.String()
				cur.Reset()
				inWord = false
			} else {
				flush()
			}
			op := fd + string(c)
			if c == '>' && strings.HasPrefix(s[i+1:], ">") {
				op += ">"
				i++
			}
			if c == '>' && strings.HasPrefix(s[i+1:], "&") && i+2 < len(s) && (s[i+2] == '1' || s[i+2] == '2') {
				op += "&" + string(s[i+2])
				i += 2
			}
			emit(op)
		default:
			inWord = true
			cur.WriteByte(c)
		}
	}
	flush()
	return toks, nil
}

type redir struct{ op, target string }

type simpleCmd struct {
	args   []string
	redirs []redir
}

type listItem struct {
	pipeline []simpleCmd
	conn     string // what follows: ";", "&&", "||", "&" or ""
}

func parse(toks []tok) ([]listItem, error) {
	var items []listItem
	var pipe []simpleCmd
	var cmd simpleCmd
	endCmd := func() error {
		if len(cmd.args) == 0 && len(cmd.redirs) == 0 {
			return errors.New("syntax error: unexpected operator")
		}
		pipe = append(pipe, cmd)
		cmd = simpleCmd{}
		return nil
	}
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		if !t.op {
			cmd.args = append(cmd.args, t.s)
			continue
		}
		switch t.s {
		case "|":
			if err := endCmd(); err != nil {
				return nil, err
			}
		case ";", "&&", "||", "&":
			if len(cmd.args) == 0 && len(pipe) == 0 && (t.s == ";" || t.s == "&") {
				continue
			}
			if err := endCmd(); err != nil {
				return nil, err
			}
			items = append(items, listItem{pipeline: pipe, conn: t.s})
			pipe = nil
		default: // redirection
			if strings.Contains(t.s, "&") && t.s != "&>" {
				cmd.redirs = append(cmd.redirs, redir{op: t.s})
				continue
			}
			if i+1 >= len(toks) || toks[i+1].op {
				return nil, fmt.Errorf("syntax error: %s needs a file", t.s)
			}
			cmd.redirs = append(cmd.redirs, redir{op: t.s, target: toks[i+1].s})
			i++
		}
	}
	if len(cmd.args) > 0 || len(cmd.redirs) > 0 {
		pipe = append(pipe, cmd)
	}
	if len(pipe) > 0 {
		items = append(items, listItem{pipeline: pipe})
	}
	return items, nil
}

// sh runs a command line on the phone and returns its exit code.
func (ph *Phone) sh(ctx context.Context, line string, in io.Reader, out, errw io.Writer) int {
	toks, err := tokenize(line)
	if err != nil {
		fmt.Fprintf(errw, "/system/bin/sh: %v\n", err)
		return 1
	}
	items, err := parse(toks)
	if err != nil {
		fmt.Fprintf(errw, "/system/bin/sh: %v\n", err)
		return 1
	}
	code := 0
	prev := ""
	for _, it := range items {
		if (prev == "&&" && code != 0) || (prev == "||" && code == 0) {
			prev = it.conn
			continue
		}
		if it.conn == "&" {
			ph.background(ctx, it.pipeline)
			code = 0
		} else {
			code = ph.pipeline(ctx, it.pipeline, shIO{in, out, errw})
		}
		prev = it.conn
		if ctx.Err() != nil {
			return 130
		}
	}
	return code
}

// background starts a pipeline detached from the shell (cmd &): a pushed
// program keeps running after the adb stream closes; anything else is run
// and its output thrown away.
func (ph *Phone) background(ctx context.Context, p []simpleCmd) {
	if len(p) == 1 {
		args := stripWrappers(p[0].args)
		if len(args) > 0 && isPushedProgram(args[0]) {
			ph.startProgram(args[0], args[1:], false, io.Discard)
			return
		}
	}
	bctx := ph.bootCtxOr(ctx)
	go ph.pipeline(bctx, p, shIO{strings.NewReader(""), io.Discard, io.Discard})
}

func (ph *Phone) bootCtxOr(ctx context.Context) context.Context {
	ph.mu.Lock()
	defer ph.mu.Unlock()
	if ph.bootCtx != nil {
		return ph.bootCtx
	}
	return ctx
}

func stripWrappers(args []string) []string {
	for len(args) > 0 {
		switch path.Base(args[0]) {
		case "nohup", "setsid", "exec", "nice":
			args = args[1:]
			continue
		}
		return args
	}
	return args
}

// isPushedProgram: a path outside /system names a file someone put on the phone.
func isPushedProgram(p string) bool {
	return (strings.HasPrefix(p, "/") || strings.HasPrefix(p, "./")) && !strings.HasPrefix(p, "/system/")
}

func (ph *Phone) pipeline(ctx context.Context, p []simpleCmd, sio shIO) int {
	in := sio.in
	code := 0
	for i, c := range p {
		var out io.Writer = sio.out
		var buf *bytes.Buffer
		if i < len(p)-1 {
			buf = &bytes.Buffer{}
			out = buf
		}
		code = ph.simple(ctx, c, shIO{in, out, sio.err})
		if buf != nil {
			in = buf
		}
	}
	return code
}

func (ph *Phone) simple(ctx context.Context, c simpleCmd, sio shIO) int {
	var closers []func()
	defer func() {
		for _, f := range closers {
			f()
		}
	}()
	for _, r := range c.redirs {
		switch r.op {
		case "2>&1":
			sio.err = sio.out
		case ">&2", "1>&2":
			sio.out = sio.err
		case "<":
			b, err := ph.ReadFile(r.target)
			if err != nil {
				fmt.Fprintf(sio.err, "/system/bin/sh: can't open %s: No such file or directory\n", r.target)
				return 1
			}
			sio.in = bytes.NewReader(b)
		default: // >, >>, 1>, 2>, 2>>, &>
			var w io.Writer = io.Discard
			if r.target != "/dev/null" {
				if strings.HasPrefix(path.Clean("/"+r.target), "/system") {
					fmt.Fprintf(sio.err, "/system/bin/sh: can't create %s: Read-only file system\n", r.target)
					return 1
				}
				flag := os.O_CREATE | os.O_WRONLY | os.O_TRUNC
				if strings.HasSuffix(r.op, ">>") {
					flag = os.O_CREATE | os.O_WRONLY | os.O_APPEND
				}
				hp := ph.hostPath(r.target)
				f, err := os.OpenFile(hp, flag, 0o644)
				if err != nil {
					fmt.Fprintf(sio.err, "/system/bin/sh: can't create %s: No such file or directory\n", r.target)
					return 1
				}
				closers = append(closers, func() { f.Close() })
				w = f
			}
			switch {
			case strings.HasPrefix(r.op, "2"):
				sio.err = w
			case r.op == "&>":
				sio.out, sio.err = w, w
			default:
				sio.out = w
			}
		}
	}
	if len(c.args) == 0 {
		return 0
	}
	return ph.runArgs(ctx, c.args, &sio)
}

// runArgs runs one command with its arguments.
func (ph *Phone) runArgs(ctx context.Context, args []string, sio *shIO) int {
	args = stripWrappers(args)
	if len(args) == 0 {
		return 0
	}
	name := args[0]
	if isPushedProgram(name) {
		return ph.startProgram(name, args[1:], true, sio.err)
	}
	out, errw := sio.out, sio.err
	a := args[1:]
	switch path.Base(name) {
	case "sh":
		if len(a) >= 2 && a[0] == "-c" {
			return ph.sh(ctx, a[1], sio.in, out, errw)
		}
		return ph.interactive(ctx, sio.in, out)
	case "getprop":
		if len(a) == 0 {
			// Copy first: writing can block on the host (or a hang fault).
			var b strings.Builder
			ph.mu.Lock()
			for _, k := range sortedKeys(ph.props) {
				fmt.Fprintf(&b, "[%s]: [%s]\n", k, ph.props[k])
			}
			ph.mu.Unlock()
			io.WriteString(out, b.String())
			return 0
		}
		v := ph.getprop(a[0])
		if v == "" && len(a) > 1 {
			v = a[1]
		}
		fmt.Fprintln(out, v)
		return 0
	case "setprop":
		if len(a) != 2 {
			fmt.Fprintln(errw, "usage: setprop NAME VALUE")
			return 1
		}
		ph.setprop(a[0], a[1])
		return 0
	case "echo":
		nl := "\n"
		if len(a) > 0 && a[0] == "-n" {
			nl, a = "", a[1:]
		}
		fmt.Fprint(out, strings.Join(a, " ")+nl)
		return 0
	case "true":
		return 0
	case "false":
		return 1
	case "exit":
		if len(a) > 0 {
			n, _ := strconv.Atoi(a[0])
			return n
		}
		return 0
	case "sleep":
		f := 1.0
		if len(a) > 0 {
			f, _ = strconv.ParseFloat(a[0], 64)
		}
		select {
		case <-time.After(time.Duration(f * float64(time.Second))):
			return 0
		case <-ctx.Done():
			return 130
		}
	case "pm":
		return ph.pm(ctx, a, sio)
	case "cmd":
		if len(a) == 0 {
			fmt.Fprintln(errw, "cmd: No service specified; use -l to list all services")
			return 20
		}
		switch a[0] {
		case "package":
			return ph.pm(ctx, a[1:], sio)
		case "activity":
			return ph.am(a[1:], out, errw)
		case "-l":
			fmt.Fprintln(out, "Currently running services:\n  activity\n  battery\n  package\n  settings\n  window")
			return 0
		}
		fmt.Fprintf(errw, "cmd: Can't find service: %s\n", a[0])
		return 20
	case "am":
		return ph.am(a, out, errw)
	case "monkey":
		for i := 0; i+1 < len(a); i++ {
			if a[i] == "-p" {
				ph.recordIntent(Intent{Action: "android.intent.action.MAIN", Package: a[i+1], Raw: "monkey " + strings.Join(a, " ")})
				fmt.Fprintln(out, "  bash arg: -p\n  bash arg: "+a[i+1]+"\nEvents injected: 1")
				return 0
			}
		}
		fmt.Fprintln(errw, "** No activities found to run, monkey aborted.")
		return 1
	case "dumpsys":
		return ph.dumpsys(a, out)
	case "df":
		return ph.df(a, out)
	case "ls":
		return ph.ls(a, out, errw)
	case "cat":
		code := 0
		if len(a) == 0 {
			io.Copy(out, sio.in)
		}
		for _, f := range a {
			b, err := ph.ReadFile(f)
			if err != nil {
				fmt.Fprintf(errw, "cat: %s: No such file or directory\n", f)
				code = 1
				continue
			}
			out.Write(b)
		}
		return code
	case "rm":
		return ph.rm(a, errw)
	case "chmod":
		return ph.chmod(a, errw)
	case "mkdir":
		for _, d := range a {
			if strings.HasPrefix(d, "-") {
				continue
			}
			os.MkdirAll(ph.hostPath(d), 0o755)
		}
		return 0
	case "touch":
		for _, f := range a {
			hp := ph.hostPath(f)
			if _, err := os.Stat(hp); err != nil {
				os.WriteFile(hp, nil, 0o644)
			} else {
				now := time.Now()
				os.Chtimes(hp, now, now)
			}
		}
		return 0
	case "sha256sum", "md5sum":
		code := 0
		for _, f := range a {
			b, err := ph.ReadFile(f)
			if err != nil {
				fmt.Fprintf(errw, "%s: %s: No such file or directory\n", path.Base(name), f)
				code = 1
				continue
			}
			var h hash.Hash = sha256.New()
			if path.Base(name) == "md5sum" {
				h = md5.New()
			}
			h.Write(b)
			fmt.Fprintf(out, "%s  %s\n", hex.EncodeToString(h.Sum(nil)), f)
		}
		return code
	case "grep":
		return grep(a, sio.in, out)
	case "pkill", "killall":
		full := false
		var pat string
		for _, x := range a {
			switch {
			case x == "-f":
				full = true
			case strings.HasPrefix(x, "-"):
			default:
				pat = x
			}
		}
		n := ph.kill(func(p *agentProc) bool {
			if full {
				return strings.Contains(p.path+" "+strings.Join(p.args, " "), pat)
			}
			return path.Base(p.path) == pat
		})
		if n == 0 {
			if path.Base(name) == "killall" {
				fmt.Fprintf(errw, "killall: %s: no process killed\n", pat)
			}
			return 1
		}
		return 0
	case "kill":
		code := 0
		for _, x := range a {
			if strings.HasPrefix(x, "-") {
				continue
			}
			pid, _ := strconv.Atoi(x)
			if ph.kill(func(p *agentProc) bool { return p.pid == pid }) == 0 {
				fmt.Fprintf(errw, "/system/bin/sh: kill: %s: No such process\n", x)
				code = 1
			}
		}
		return code
	case "pidof":
		var pids []string
		for _, p := range ph.agentList() {
			for _, n := range a {
				if path.Base(p.path) == n {
					pids = append(pids, strconv.Itoa(p.pid))
				}
			}
		}
		if len(pids) == 0 {
			return 1
		}
		sort.Strings(pids)
		fmt.Fprintln(out, strings.Join(pids, " "))
		return 0
	case "ps":
		fmt.Fprintln(out, "USER           PID  PPID     VSZ    RSS WCHAN            ADDR S NAME")
		fmt.Fprintln(out, "root             1     0 12389560  6008 0                   0 S init")
		fmt.Fprintln(out, "shell         2103     1 12447000  3220 0                   0 S adbd")
		for _, p := range ph.agentList() {
			fmt.Fprintf(out, "shell         %4d     1  732000  18000 0                   0 S %s\n", p.pid, path.Base(p.path))
		}
		return 0
	case "wm":
		if len(a) > 0 && a[0] == "density" {
			fmt.Fprintf(out, "Physical density: %d\n", ph.prof.Density)
			return 0
		}
		fmt.Fprintf(out, "Physical size: %s\n", ph.prof.Screen)
		return 0
	case "input":
		if len(a) == 0 {
			fmt.Fprintln(errw, "Usage: input [<source>] <command> [<arg>...]")
			return 1
		}
		return 0
	case "settings":
		if len(a) >= 3 && a[0] == "get" {
			switch a[2] {
			case "adb_enabled", "development_settings_enabled", "install_non_market_apps", "screen_brightness_mode":
				fmt.Fprintln(out, "1")
			case "screen_brightness":
				fmt.Fprintln(out, "102")
			default:
				fmt.Fprintln(out, "null")
			}
		}
		return 0
	case "id":
		fmt.Fprintln(out, "uid=2000(shell) gid=2000(shell) groups=2000(shell),1004(input),1007(log),1011(adb),1015(sdcard_rw),1028(sdcard_r),3001(net_bt_admin),3002(net_bt),3003(inet),3006(net_bw_stats),3009(readproc),3011(uhid) context=u:r:shell:s0")
		return 0
	case "whoami":
		fmt.Fprintln(out, "shell")
		return 0
	case "uname":
		m := map[string]string{"arm64-v8a": "aarch64", "armeabi-v7a": "armv7l", "x86_64": "x86_64", "x86": "i686"}[ph.prof.ABIs[0]]
		if len(a) > 0 && a[0] == "-m" {
			fmt.Fprintln(out, m)
		} else {
			fmt.Fprintln(out, "Linux")
		}
		return 0
	case "which":
		for _, x := range a {
			fmt.Fprintln(out, "/system/bin/"+x)
		}
		return 0
	case "reboot":
		ph.Reboot()
		return 0
	case "logcat", "sync", "svc", "log":
		return 0
	}
	fmt.Fprintf(errw, "/system/bin/sh: %s: inaccessible or not found\n", name)
	return 127
}

func grep(a []string, in io.Reader, out io.Writer) int {
	invert, fixed := false, false
	var pat string
	for _, x := range a {
		switch x {
		case "-v":
			invert = true
		case "-F":
			fixed = true
		default:
			pat = x
		}
	}
	_ = fixed
	b, _ := io.ReadAll(in)
	code := 1
	for _, l := range strings.SplitAfter(string(b), "\n") {
		if l == "" {
			continue
		}
		if strings.Contains(l, pat) != invert {
			io.WriteString(out, l)
			code = 0
		}
	}
	return code
}

func (ph *Phone) ls(a []string, out, errw io.Writer) int {
	long, all := false, false
	var paths []string
	for _, x := range a {
		if strings.HasPrefix(x, "-") {
			long = long || strings.Contains(x, "l")
			all = all || strings.Contains(x, "a")
			continue
		}
		paths = append(paths, x)
	}
	if len(paths) == 0 {
		paths = []string{"/"}
	}
	code := 0
	line := func(fi os.FileInfo, name string) {
		if !long {
			fmt.Fprintln(out, name)
			return
		}
		mode := fi.Mode().String()
		if fi.IsDir() {
			mode = "d" + mode[1:]
		}
		fmt.Fprintf(out, "%s 1 shell shell %d %s %s\n", mode, fi.Size(), fi.ModTime().Format("2006-01-02 15:04"), name)
	}
	for _, p := range paths {
		fi, err := os.Stat(ph.hostPath(p))
		if err != nil {
			fmt.Fprintf(errw, "ls: %s: No such file or directory\n", p)
			code = 1
			continue
		}
		if !fi.IsDir() {
			line(fi, p)
			continue
		}
		ents, _ := os.ReadDir(ph.hostPath(p))
		for _, e := range ents {
			if !all && strings.HasPrefix(e.Name(), ".") {
				continue
			}
			if info, err := e.Info(); err == nil {
				line(info, e.Name())
			}
		}
	}
	return code
}

func (ph *Phone) rm(a []string, errw io.Writer) int {
	force, rec := false, false
	code := 0
	for _, x := range a {
		if strings.HasPrefix(x, "-") {
			force = force || strings.Contains(x, "f")
			rec = rec || strings.ContainsAny(x, "rR")
			continue
		}
		hp := ph.hostPath(x)
		if strings.HasPrefix(path.Clean("/"+x), "/system") {
			fmt.Fprintf(errw, "rm: %s: Read-only file system\n", x)
			code = 1
			continue
		}
		fi, err := os.Stat(hp)
		if err != nil {
			if !force {
				fmt.Fprintf(errw, "rm: %s: No such file or directory\n", x)
				code = 1
			}
			continue
		}
		if fi.IsDir() && !rec {
			fmt.Fprintf(errw, "rm: %s: Is a directory\n", x)
			code = 1
			continue
		}
		size := dirSize(hp)
		if err := os.RemoveAll(hp); err == nil {
			ph.addUsed(-size)
		}
	}
	return code
}

func dirSize(hp string) int64 {
	var n int64
	filepath.Walk(hp, func(_ string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			n += fi.Size()
		}
		return nil
	})
	return n
}

func (ph *Phone) chmod(a []string, errw io.Writer) int {
	var args []string
	for _, x := range a {
		if !strings.HasPrefix(x, "-") {
			args = append(args, x)
		}
	}
	if len(args) < 2 {
		fmt.Fprintln(errw, "chmod: Need 2 arguments")
		return 1
	}
	code := 0
	for _, f := range args[1:] {
		hp := ph.hostPath(f)
		fi, err := os.Stat(hp)
		if err != nil {
			fmt.Fprintf(errw, "chmod: %s: No such file or directory\n", f)
			code = 1
			continue
		}
		mode := fi.Mode().Perm()
		switch m := args[0]; {
		case strings.HasSuffix(m, "+x"):
			mode |= 0o111
		case strings.HasSuffix(m, "-x"):
			mode &^= 0o111
		default:
			n, err := strconv.ParseUint(m, 8, 32)
			if err != nil {
				fmt.Fprintf(errw, "chmod: bad mode '%s'\n", m)
				return 1
			}
			mode = os.FileMode(n) & 0o777
		}
		os.Chmod(hp, mode)
	}
	return code
}

func (ph *Phone) df(a []string, out io.Writer) int {
	total := ph.prof.StorageBytes
	free := ph.freeBytes()
	used := total - free
	if ph.prof.SDK >= 26 { // toybox df
		fmt.Fprintln(out, "Filesystem      1K-blocks     Used Available Use% Mounted on")
		pct := int(float64(used) / float64(total) * 100)
		fmt.Fprintf(out, "/dev/block/dm-5 %9d %8d %9d %3d%% /data\n", total/1024, used/1024, free/1024, pct)
		return 0
	}
	g := func(n int64) string { return fmt.Sprintf("%.1fG", float64(n)/(1<<30)) }
	fmt.Fprintln(out, "Filesystem               Size     Used     Free   Blksize")
	fmt.Fprintf(out, "/data                %8s %8s %8s   4096\n", g(total), g(used), g(free))
	return 0
}

func (ph *Phone) dumpsys(a []string, out io.Writer) int {
	if len(a) == 0 {
		return 0
	}
	switch a[0] {
	case "battery":
		fmt.Fprintf(out, `Current Battery Service state:
  AC powered: false
  USB powered: true
  Wireless powered: false
  Max charging current: 500000
  Max charging voltage: 5000000
  Charge counter: %d
  status: 2
  health: 2
  present: true
  level: %d
  scale: 100
  voltage: 4012
  temperature: 285
  technology: Li-ion
`, ph.prof.Battery*40000, ph.prof.Battery)
	case "package":
		if len(a) < 2 {
			return 0
		}
		ph.dumpPackage(a[1], out)
	}
	return 0
}

func (ph *Phone) dumpPackage(name string, out io.Writer) {
	p, ok := ph.Package(name)
	if !ok {
		fmt.Fprintf(out, "Dexopt state:\n  Unable to find package: %s\n", name)
		return
	}
	abi := "null"
	if len(p.ABIs) > 0 {
		abi = p.ABIs[0]
	}
	vn := p.VersionName
	if vn == "" {
		vn = strconv.FormatInt(p.VersionCode, 10)
	}
	fmt.Fprintf(out, `Packages:
  Package [%[1]s] (5e3a1c2):
    userId=10%03[8]d
    pkg=Package{5e3a1c2 %[1]s}
    codePath=%[2]s
    resourcePath=%[2]s
    primaryCpuAbi=%[3]s
    secondaryCpuAbi=null
    versionCode=%[4]d minSdk=%[5]d targetSdk=%[6]d
    versionName=%[7]s
    flags=[ HAS_CODE ALLOW_CLEAR_USER_DATA ALLOW_BACKUP ]
    timeStamp=%[9]s
    firstInstallTime=%[9]s
    lastUpdateTime=%[9]s
    installerPackageName=null
`, p.Name, path.Dir(p.Path), abi, p.VersionCode, p.MinSDK, p.TargetSDK, vn, len(p.Name), p.Installed.Format("2006-01-02 15:04:05"))
}

// Intent is one `am start` (or monkey launch) the phone received.
type Intent struct {
	Action    string `json:"action,omitempty"`
	Data      string `json:"data,omitempty"`
	Component string `json:"component,omitempty"`
	Package   string `json:"package,omitempty"`
	Raw       string `json:"raw"`
}

func (ph *Phone) recordIntent(in Intent) {
	ph.mu.Lock()
	ph.intents = append(ph.intents, in)
	ph.mu.Unlock()
	ph.logf("intent: %s", in.Raw)
}

func (ph *Phone) am(a []string, out, errw io.Writer) int {
	if len(a) == 0 {
		fmt.Fprintln(errw, "usage: am [subcommand] [options]")
		return 1
	}
	switch a[0] {
	case "start", "start-activity", "startservice", "start-service", "broadcast":
	case "force-stop", "kill":
		return 0
	default:
		fmt.Fprintf(errw, "Error: Unknown command: %s\n", a[0])
		return 1
	}
	in := Intent{Raw: "am " + strings.Join(a, " ")}
	for i := 1; i < len(a); i++ {
		next := func() string {
			if i+1 < len(a) {
				i++
				return a[i]
			}
			return ""
		}
		switch a[i] {
		case "-a":
			in.Action = next()
		case "-d":
			in.Data = next()
		case "-n":
			in.Component = next()
			in.Package, _, _ = strings.Cut(in.Component, "/")
		case "-t", "-c", "-f", "--user", "--ei", "--ez":
			next()
			if a[i-1] == "--ei" || a[i-1] == "--ez" {
				next()
			}
		case "--es":
			next()
			next()
		}
	}
	if in.Package != "" {
		if _, ok := ph.Package(in.Package); !ok {
			fmt.Fprintf(out, "Starting: Intent { cmp=%s }\n", in.Component)
			fmt.Fprintf(errw, "Error type 3\nError: Activity class {%s} does not exist.\n", in.Component)
			return 1
		}
	}
	ph.recordIntent(in)
	var parts []string
	if in.Action != "" {
		parts = append(parts, "act="+in.Action)
	}
	if in.Data != "" {
		parts = append(parts, "dat="+in.Data)
	}
	if in.Component != "" {
		parts = append(parts, "cmp="+in.Component)
	}
	fmt.Fprintf(out, "Starting: Intent { %s }\n", strings.Join(parts, " "))
	return 0
}
