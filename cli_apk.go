package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"preloadstation/backend/apk"
)

// runAPK is `preload-station apk inspect FILE… [--json]`.
func runAPK(ctx context.Context, args []string) error {
	return apkCommand(os.Stdout, os.Stderr, args)
}

const apkUsage = "usage: preload-station apk inspect FILE... [--json]"

func apkCommand(stdout, stderr io.Writer, args []string) error {
	if len(args) == 0 || args[0] != "inspect" {
		fmt.Fprintln(stderr, apkUsage)
		return errUsage
	}
	var files []string
	asJSON := false
	for _, a := range args[1:] {
		switch a {
		case "--json", "-json":
			asJSON = true
		case "-h", "--help", "-help":
			fmt.Fprintln(stderr, apkUsage)
			return nil
		default:
			files = append(files, a)
		}
	}
	if len(files) == 0 {
		fmt.Fprintln(stderr, apkUsage)
		return errUsage
	}
	var firstErr error
	for i, f := range files {
		info, err := apk.Inspect(f)
		if err != nil && firstErr == nil {
			firstErr = fmt.Errorf("%s: %w%s", f, err, zhLine(err))
		}
		if asJSON {
			apk.WriteJSON(stdout, f, info, err)
			continue
		}
		if i > 0 {
			fmt.Fprintln(stdout)
		}
		if err == nil {
			apk.WriteTable(stdout, f, info)
		}
	}
	return firstErr
}

func zhLine(err error) string {
	var e *apk.Error
	if errors.As(err, &e) && e.MessageZH() != "" {
		return "\n  " + e.MessageZH()
	}
	return ""
}
