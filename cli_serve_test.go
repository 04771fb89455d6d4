package main

import (
	"strings"
	"testing"
)

func TestCheckListen(t *testing.T) {
	tests := []struct {
		addr, token string
		ok          bool
	}{
		{"127.0.0.1:8620", "", true},
		{"localhost:8620", "", true},
		{"[::1]:8620", "", true},
		{"127.0.0.1:0", "", true},
		{"0.0.0.0:8620", "", false},
		{":8620", "", false},
		{"192.168.1.10:8620", "", false},
		{"0.0.0.0:8620", "t0ken", true},
		{"nonsense", "", false},
	}
	for _, tc := range tests {
		err := checkListen(tc.addr, tc.token)
		if (err == nil) != tc.ok {
			t.Errorf("checkListen(%q, %q) = %v, want ok=%v", tc.addr, tc.token, err, tc.ok)
		}
		if err != nil && tc.addr != "nonsense" && !strings.Contains(err.Error(), "--token") {
			t.Errorf("message does not say how to fix it: %v", err)
		}
	}
}
