package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"strings"

	"preloadstation/backend/events"
	"preloadstation/backend/web"
)

// tokenEnv supplies --token without putting it on the command line.
const tokenEnv = "PRELOAD_TOKEN"

// runServe is `preload-station serve`: the station UI over HTTP, no window.
func runServe(ctx context.Context, args []string) error {
	fset := flag.NewFlagSet("serve", flag.ContinueOnError)
	listen := fset.String("listen", "127.0.0.1:8620", "address to listen on (loopback unless --token is set)")
	data := fset.String("data", "", "data directory (default: $PRELOAD_DATA or the user config dir)/PreloadStation")
	token := fset.String("token", "", "access token required from browsers (default: $PRELOAD_TOKEN); needed for a non-loopback --listen")
	if err := fset.Parse(args); err != nil {
		return errUsage
	}
	if fset.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "serve: unexpected argument %q\n", fset.Arg(0))
		return errUsage
	}
	if *token == "" {
		*token = os.Getenv(tokenEnv)
	}
	if err := checkListen(*listen, *token); err != nil {
		return err
	}
	dir, err := resolveDataDir(*data)
	if err != nil {
		return err
	}
	assets, err := frontendAssets()
	if err != nil {
		return err
	}
	broadcast := events.NewBroadcaster()
	app, err := NewApp(ctx, appConfig{DataDir: dir, Emit: broadcast})
	if err != nil {
		return err
	}
	defer app.Close()
	app.Start()

	srv, err := web.New(web.Options{Assets: assets, Services: app.Services.Bindings(), Events: broadcast, Token: *token, Log: app.Log})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	url := "http://" + displayAddr(ln.Addr().String()) + "/"
	if *token != "" {
		url += "?token=" + *token
	}
	fmt.Printf("Preload Station is serving at %s\n", url)
	return srv.Serve(ctx, ln)
}

// checkListen refuses a non-loopback address unless a token protects it: the
// station's UI installs apps on phones and must not be open to the network.
func checkListen(addr, token string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("serve: --listen %q: %w", addr, err)
	}
	if isLoopback(host) || token != "" {
		return nil
	}
	return fmt.Errorf("serve: refusing to listen on %s without protection: it is reachable from other machines.\n"+
		"  Use --listen 127.0.0.1:PORT, or set --token T (or %s=T) and open the printed URL.", addr, tokenEnv)
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}

// displayAddr turns a wildcard listen address into one a browser can open.
func displayAddr(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		if h, err := os.Hostname(); err == nil {
			host = h
		}
	}
	return net.JoinHostPort(host, port)
}
