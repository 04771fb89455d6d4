package adb

import "strings"

// Quote returns arg quoted for a POSIX shell (the device's sh): wrapped in
// single quotes, with each ' written as '\”. Anything that comes from a phone,
// an APK or an operator goes through Quote before it reaches a shell.
func Quote(arg string) string {
	if arg != "" && strings.Trim(arg, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-./:,+@%") == "" {
		return arg
	}
	return "'" + strings.ReplaceAll(arg, "'", `'\''`) + "'"
}

// Command joins a program and its arguments, each quoted with Quote.
func Command(name string, args ...string) string {
	var b strings.Builder
	b.WriteString(Quote(name))
	for _, a := range args {
		b.WriteByte(' ')
		b.WriteString(Quote(a))
	}
	return b.String()
}
