package adb

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"sync/atomic"
	"time"
)

// DefaultPort is the adb server port when ANDROID_ADB_SERVER_PORT is unset.
const DefaultPort = 5037

// PortFromEnv reads the adb server port the way adb does: from
// ANDROID_ADB_SERVER_PORT, default 5037.
func PortFromEnv(getenv func(string) string) (int, error) {
	s := getenv("ANDROID_ADB_SERVER_PORT")
	if s == "" {
		return DefaultPort, nil
	}
	p, err := strconv.Atoi(s)
	if err != nil || p <= 0 || p >= 65536 {
		return 0, fmt.Errorf("ANDROID_ADB_SERVER_PORT must be a number between 1 and 65535, not %q / ANDROID_ADB_SERVER_PORT 必须是 1 到 65535 之间的数字", s)
	}
	return p, nil
}

// Locate finds the adb binary: the configured path (a setting) first, then
// PATH, then $ANDROID_HOME/platform-tools and $ANDROID_SDK_ROOT/platform-tools,
// then next to the station's own binary (exeDir).
func Locate(setting string, getenv func(string) string, exeDir string) (string, error) {
	name := "adb"
	if runtime.GOOS == "windows" {
		name = "adb.exe"
	}
	if setting != "" {
		if isExecutable(setting) {
			return setting, nil
		}
		return "", fmt.Errorf("adb not found at the configured path %s / 设置的 adb 路径不存在: %s", setting, setting)
	}
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	var tried []string
	for _, env := range []string{"ANDROID_HOME", "ANDROID_SDK_ROOT"} {
		if root := getenv(env); root != "" {
			tried = append(tried, filepath.Join(root, "platform-tools", name))
		}
	}
	if exeDir != "" {
		tried = append(tried, filepath.Join(exeDir, name))
	}
	for _, p := range tried {
		if isExecutable(p) {
			return p, nil
		}
	}
	return "", errors.New("adb not found: install Android platform-tools or set its path in Settings / 未找到 adb：请安装 Android platform-tools 或在设置中指定路径")
}

func isExecutable(p string) bool {
	fi, err := os.Stat(p)
	if err != nil || fi.IsDir() {
		return false
	}
	return runtime.GOOS == "windows" || fi.Mode()&0o111 != 0
}

// Server keeps an adb server running on 127.0.0.1:Port: it starts one when
// none answers, warns on a client/server version mismatch and, in Serve,
// restarts it when it dies. It never kills a server it finds running.
type Server struct {
	Bin    string // path to adb
	Port   int
	Log    *slog.Logger
	Check  time.Duration // how often Serve checks the server; default 500 ms
	Env    []string      // environment for `adb start-server`; nil = the station's own
	client *Client

	restarts atomic.Int64
}

// NewServer returns a Server for the adb binary bin on port.
func NewServer(bin string, port int, log *slog.Logger) *Server {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Server{Bin: bin, Port: port, Log: log, Check: 500 * time.Millisecond,
		client: NewClient(fmt.Sprintf("127.0.0.1:%d", port))}
}

// Client returns a client for this server.
func (s *Server) Client() *Client { return s.client }

// Restarts counts how many times Serve found the server dead and restarted it.
func (s *Server) Restarts() int64 { return s.restarts.Load() }

// Start makes sure a server answers on the port, starting one (adb
// start-server, which daemonizes it) if needed, and checks its version.
func (s *Server) Start(ctx context.Context) error {
	v, err := s.client.ServerVersion(ctx)
	if err != nil {
		if !errors.Is(err, ErrServerDown) {
			return err
		}
		cmd := exec.CommandContext(ctx, s.Bin, "-P", strconv.Itoa(s.Port), "start-server")
		env := s.Env
		if env == nil {
			env = os.Environ()
		}
		cmd.Env = append(env, fmt.Sprintf("ANDROID_ADB_SERVER_PORT=%d", s.Port))
		out, runErr := cmd.CombinedOutput()
		// Under load `adb start-server` can give up waiting for the daemon's
		// ACK and exit non-zero while the daemon comes up all the same: what
		// counts is whether the server answers now.
		if v, err = s.client.ServerVersion(ctx); err != nil {
			if runErr != nil {
				return fmt.Errorf("start adb server on port %d: %v: %s / 无法启动 adb 服务: %w", s.Port, runErr, out, runErr)
			}
			return err
		}
		if runErr != nil {
			s.Log.Warn("adb start-server reported an error, but the server answers", "port", s.Port, "err", runErr, "output", string(out))
		}
		s.Log.Info("adb server started", "port", s.Port, "version", v)
	}
	if cv, err := ClientVersion(ctx, s.Bin); err == nil && cv != v {
		s.Log.Warn("adb client and server versions differ / adb 客户端与服务端版本不一致",
			"client", cv, "server", v, "bin", s.Bin, "port", s.Port)
	}
	return nil
}

// Serve checks the server every Check interval and restarts it when it stops
// answering, until ctx ends. It returns ctx's error. Phones come back by
// themselves over USB; TCP devices (virtual phones) must be re-connected: the
// discovery layer does that when it sees the server come back.
func (s *Server) Serve(ctx context.Context) error {
	t := time.NewTicker(s.Check)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
		cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		_, err := s.client.ServerVersion(cctx)
		cancel()
		if err == nil || ctx.Err() != nil || !errors.Is(err, ErrServerDown) {
			continue
		}
		s.Log.Warn("adb server is down; restarting it / adb 服务已停止，正在重启", "port", s.Port, "err", err)
		if err := s.Start(ctx); err != nil {
			s.Log.Error("adb server restart failed / adb 服务重启失败", "err", err)
			continue
		}
		s.restarts.Add(1)
	}
}

var versionRE = regexp.MustCompile(`Android Debug Bridge version 1\.0\.(\d+)`)

// ClientVersion runs `adb version` and returns its internal version (41).
func ClientVersion(ctx context.Context, bin string) (int, error) {
	out, err := exec.CommandContext(ctx, bin, "version").Output()
	if err != nil {
		return 0, err
	}
	m := versionRE.FindSubmatch(out)
	if m == nil {
		return 0, fmt.Errorf("adb version: unexpected output %q", out)
	}
	return strconv.Atoi(string(m[1]))
}

// NewServerFromEnv is the station's start-up path: find adb (setting, PATH,
// ANDROID_HOME, next to the station's binary) and read the port the way adb
// does. Call Start, then run Serve for the app's lifetime.
func NewServerFromEnv(setting string, log *slog.Logger) (*Server, error) {
	exeDir := ""
	if exe, err := os.Executable(); err == nil {
		exeDir = filepath.Dir(exe)
	}
	bin, err := Locate(setting, os.Getenv, exeDir)
	if err != nil {
		return nil, err
	}
	port, err := PortFromEnv(os.Getenv)
	if err != nil {
		return nil, err
	}
	return NewServer(bin, port, log), nil
}
