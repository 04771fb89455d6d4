// Command echoagent is a stand-in agent for the sim's process-mode test: it
// reaches its virtual phone through simos.Dial, like cmd/preload-agent does.
package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"strings"

	"preloadstation/backend/sim/simos"
)

// marker makes the phone accept this binary as an agent build.
var marker = "PRELOAD-AGENT-BUILD echoagent"

func main() {
	osys, err := simos.Dial(os.Getenv(simos.EnvBridge))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	port := "27183"
	for i, a := range os.Args {
		if a == "--port" && i+1 < len(os.Args) {
			port = os.Args[i+1]
		}
	}
	var sb strings.Builder
	ctx := context.Background()
	if _, err := osys.Run(ctx, "getprop ro.product.model", nil, &sb); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	model := strings.TrimSpace(sb.String())
	var echoed strings.Builder
	osys.Run(ctx, "cat", strings.NewReader("stdin-ok"), &echoed)
	if err := osys.WriteFile("/data/local/tmp/agent.note", []byte(marker[:19]+" "+model+" "+echoed.String()), 0o600); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	ln, err := osys.Listen("127.0.0.1:" + port)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			sc := bufio.NewScanner(c)
			for sc.Scan() {
				note, _ := osys.ReadFile("/data/local/tmp/agent.note")
				fmt.Fprintf(c, "%s: %s (%s)\n", model, sc.Text(), note)
			}
		}()
	}
}
