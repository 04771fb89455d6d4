package install

import (
	"strings"
	"testing"
)

func TestParseResult(t *testing.T) {
	tests := []struct {
		out   string
		ok    bool
		code  string
		msg   string
		class Class
	}{
		{"Success\n", true, "", "", ""},
		{"Performing Streamed Install\nSuccess\n", true, "", "", ""},
		{"Failure [INSTALL_FAILED_USER_RESTRICTED: Install canceled by user]\n", false, "INSTALL_FAILED_USER_RESTRICTED", "Install canceled by user", ClassOperator},
		{"Failure [INSTALL_FAILED_INSUFFICIENT_STORAGE]", false, "INSTALL_FAILED_INSUFFICIENT_STORAGE", "", ClassOperator},
		{"Failure [INSTALL_FAILED_NO_MATCHING_ABIS: Failed to extract native libraries, res=-113]", false, "INSTALL_FAILED_NO_MATCHING_ABIS", "Failed to extract native libraries, res=-113", ClassSkip},
		{"Failure [INSTALL_PARSE_FAILED_NO_CERTIFICATES: Failed collecting certificates for /data/app/vmdl.tmp/base.apk]", false, "INSTALL_PARSE_FAILED_NO_CERTIFICATES", "Failed collecting certificates for /data/app/vmdl.tmp/base.apk", ClassSkip},
		{"Failure [INSTALL_FAILED_UPDATE_INCOMPATIBLE: Package com.a signatures do not match previously installed version; ignoring!]", false, "INSTALL_FAILED_UPDATE_INCOMPATIBLE", "Package com.a signatures do not match previously installed version; ignoring!", ClassOperator},
		{"Failure [INSTALL_FAILED_INTERNAL_ERROR: Session relinquished]", false, "INSTALL_FAILED_INTERNAL_ERROR", "Session relinquished", ClassRetry},
		{"adb: failed to install x.apk: Failure [INSTALL_FAILED_VERSION_DOWNGRADE]", false, "INSTALL_FAILED_VERSION_DOWNGRADE", "", ClassOperator},
		{"Failure [INSTALL_FAILED_DEPRECATED_SDK_VERSION: App package must target at least SDK version 23]", false, "INSTALL_FAILED_DEPRECATED_SDK_VERSION", "App package must target at least SDK version 23", ClassSkip},
		{"Error: java.lang.IllegalStateException", false, ErrUnknown, "Error: java.lang.IllegalStateException", ClassRetry},
		{"", false, ErrUnknown, "", ClassRetry},
		{"Successful? no", false, ErrUnknown, "Successful? no", ClassRetry},
	}
	for _, tt := range tests {
		ok, f := ParseResult(tt.out)
		if ok != tt.ok || f.Code != tt.code || f.Message != tt.msg || f.Class != tt.class {
			t.Errorf("ParseResult(%q) = %v %+v, want %v {%s %q %s}", tt.out, ok, f, tt.ok, tt.code, tt.msg, tt.class)
		}
	}
}

func TestOperatorHint(t *testing.T) {
	tests := []struct {
		code, brand string
		contains    string // in the English hint
		ok          bool
	}{
		{"INSTALL_FAILED_USER_RESTRICTED", "Xiaomi", "Install via USB", true},
		{"INSTALL_FAILED_USER_RESTRICTED", "Redmi", "Mi account", true},
		{"INSTALL_FAILED_USER_RESTRICTED", "POCO", "Mi account", true},
		{"INSTALL_FAILED_USER_RESTRICTED", "OPPO", "Permission monitoring", true},
		{"INSTALL_FAILED_USER_RESTRICTED", "vivo", "Monitor apps installed via USB", true},
		{"INSTALL_FAILED_USER_RESTRICTED", "Google", "Install via USB", true},
		{"INSTALL_FAILED_INSUFFICIENT_STORAGE", "", "free space", true},
		{"INSTALL_FAILED_VERSION_DOWNGRADE", "", "newer version", true},
		{"INSTALL_FAILED_UPDATE_INCOMPATIBLE", "", "never uninstalls", true},
		{"INSTALL_PARSE_FAILED_NOT_APK", "", "cannot read", true},
		{"INSTALL_FAILED_INTERNAL_ERROR", "", "", false},
	}
	for _, tt := range tests {
		h, ok := OperatorHint(tt.code, tt.brand)
		if ok != tt.ok {
			t.Errorf("OperatorHint(%s, %s) ok = %v", tt.code, tt.brand, ok)
			continue
		}
		if !ok {
			continue
		}
		if h.ZH == "" || !strings.Contains(h.EN, tt.contains) {
			t.Errorf("OperatorHint(%s, %s) = %+v, want EN containing %q and a Chinese text", tt.code, tt.brand, h, tt.contains)
		}
	}
	// Every operator-class code must come with a hint: that is what "needs the operator" means.
	for code := range operatorCodes {
		if _, ok := OperatorHint(code, ""); !ok {
			t.Errorf("operator code %s has no hint", code)
		}
	}
}
