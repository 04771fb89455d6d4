package install

import (
	"regexp"
	"strings"
)

// Class says what the engine does with a failed attempt.
type Class string

const (
	ClassRetry    Class = "retry"    // transient: try again after a backoff
	ClassSkip     Class = "skip"     // this APK can never go on this phone: move on
	ClassOperator Class = "operator" // a person must act (a phone switch, storage, data decision)
)

// Failure is a parsed install failure.
type Failure struct {
	Code    string `json:"code"`    // INSTALL_FAILED_X, INSTALL_PARSE_FAILED_X, or one of the Err* codes below
	Message string `json:"message"` // the package manager's text after the code
	Class   Class  `json:"class"`
}

// Codes the engine itself assigns when the package manager said nothing usable.
const (
	ErrStalled       = "STALLED"          // no progress for the watchdog's time
	ErrTransport     = "TRANSPORT_ERROR"  // the stream or the connection broke
	ErrUnknown       = "UNKNOWN_FAILURE"  // output without Success and without a code
	ErrVerify        = "VERIFY_MISMATCH"  // installed, but the package manager shows another version
	ErrInterrupted   = "INTERRUPTED"      // the phone left or was stopped mid-APK
	ErrCommitTimeout = "COMMIT_TIMEOUT"   // the phone took too long to commit
	ErrAPKMissing    = "APK_NOT_IN_CACHE" // the cache has no verified copy of the APK
)

var failureRE = regexp.MustCompile(`\b((?:INSTALL_FAILED|INSTALL_PARSE_FAILED)_[A-Z0-9_]+)\b:?\s*([^\]\r\n]*)`)

// ParseResult reads what `cmd package install` / `pm install` printed.
// ok is true only for a "Success" line without a failure code.
func ParseResult(output string) (ok bool, f Failure) {
	if m := failureRE.FindStringSubmatch(output); m != nil {
		code := m[1]
		return false, Failure{Code: code, Message: strings.TrimSpace(m[2]), Class: Classify(code)}
	}
	for _, line := range strings.Split(output, "\n") {
		if strings.TrimSpace(line) == "Success" {
			return true, Failure{}
		}
	}
	msg := strings.TrimSpace(output)
	if len(msg) > 300 {
		msg = msg[:300]
	}
	return false, Failure{Code: ErrUnknown, Message: msg, Class: ClassRetry}
}

var skipCodes = map[string]bool{
	"INSTALL_FAILED_NO_MATCHING_ABIS":           true,
	"INSTALL_FAILED_OLDER_SDK":                  true,
	"INSTALL_FAILED_NEWER_SDK":                  true,
	"INSTALL_FAILED_DEPRECATED_SDK_VERSION":     true,
	"INSTALL_FAILED_INVALID_APK":                true,
	"INSTALL_FAILED_TEST_ONLY":                  true,
	"INSTALL_FAILED_DUPLICATE_PERMISSION":       true,
	"INSTALL_FAILED_CONFLICTING_PROVIDER":       true,
	"INSTALL_FAILED_MISSING_SHARED_LIBRARY":     true,
	"INSTALL_FAILED_MISSING_FEATURE":            true,
	"INSTALL_FAILED_CPU_ABI_INCOMPATIBLE":       true,
	"INSTALL_FAILED_SHARED_USER_INCOMPATIBLE":   true,
	"INSTALL_FAILED_ALREADY_EXISTS":             true,
	"INSTALL_FAILED_DUPLICATE_PACKAGE":          true,
	"INSTALL_FAILED_MULTIPACKAGE_INCONSISTENCY": true,
}

var operatorCodes = map[string]bool{
	"INSTALL_FAILED_USER_RESTRICTED":            true,
	"INSTALL_FAILED_INSUFFICIENT_STORAGE":       true,
	"INSTALL_FAILED_UPDATE_INCOMPATIBLE":        true,
	"INSTALL_FAILED_VERSION_DOWNGRADE":          true,
	"INSTALL_FAILED_VERIFICATION_FAILURE":       true,
	"INSTALL_FAILED_VERIFICATION_TIMEOUT":       true,
	"INSTALL_FAILED_ABORTED":                    true,
	"INSTALL_FAILED_PACKAGE_CHANGED":            true,
	"INSTALL_FAILED_UID_CHANGED":                true,
	"INSTALL_FAILED_PERMISSION_MODEL_DOWNGRADE": true,
}

// Classify maps a code to what the engine does next. Parse failures mean the
// APK itself is bad for this phone (skip); unknown INSTALL_FAILED codes and
// the engine's own transport/stall codes are retried a bounded number of times.
func Classify(code string) Class {
	switch {
	case operatorCodes[code]:
		return ClassOperator
	case skipCodes[code], strings.HasPrefix(code, "INSTALL_PARSE_FAILED_"):
		return ClassSkip
	case code == ErrAPKMissing:
		return ClassSkip
	case code == ErrVerify:
		return ClassOperator
	}
	return ClassRetry
}

// Hint is what the operator reads next to a failure, in both languages.
type Hint struct {
	EN string `json:"en"`
	ZH string `json:"zh"`
}

// brandFamily folds the brands that share a settings UI.
func brandFamily(brand string) string {
	switch strings.ToLower(strings.TrimSpace(brand)) {
	case "xiaomi", "redmi", "poco":
		return "xiaomi"
	case "oppo", "realme", "oneplus":
		return "oppo"
	case "vivo", "iqoo":
		return "vivo"
	case "huawei", "honor":
		return "huawei"
	case "samsung":
		return "samsung"
	}
	return ""
}

// OperatorHint returns what a person can do about code on a phone of brand.
// ok is false when there is nothing better to say than the code itself.
func OperatorHint(code, brand string) (h Hint, ok bool) {
	fam := brandFamily(brand)
	switch code {
	case "INSTALL_FAILED_USER_RESTRICTED":
		switch fam {
		case "xiaomi":
			return Hint{
				EN: "On the phone: Settings > Additional settings > Developer options > turn on \"Install via USB\" (needs a signed-in Mi account and a SIM on MIUI/HyperOS), then retry.",
				ZH: "在手机上：设置 > 更多设置 > 开发者选项 > 打开“USB 安装”（MIUI/HyperOS 需登录小米账号并插入 SIM 卡），然后重试。",
			}, true
		case "oppo":
			return Hint{
				EN: "On the phone: Settings > Additional settings > Developer options > turn off \"Permission monitoring\" / allow \"Install via USB\", and confirm the install prompt on the screen, then retry.",
				ZH: "在手机上：设置 > 其他设置 > 开发者选项 > 关闭“权限监控”/允许“USB 安装”，并在屏幕上确认安装提示，然后重试。",
			}, true
		case "vivo":
			return Hint{
				EN: "On the phone: Settings > System management > Developer options > turn on \"Install via USB\" and turn off \"Monitor apps installed via USB\", then retry.",
				ZH: "在手机上：设置 > 系统管理 > 开发者选项 > 打开“USB 安装”并关闭“监控 ADB 安装应用”，然后重试。",
			}, true
		}
		return Hint{
			EN: "The phone refuses installs over USB: allow \"Install via USB\" (Developer options) and accept the prompt on the phone's screen, then retry.",
			ZH: "手机拒绝通过 USB 安装：请在开发者选项中允许“USB 安装”，并在手机屏幕上确认提示，然后重试。",
		}, true
	case "INSTALL_FAILED_ABORTED", "INSTALL_FAILED_VERIFICATION_FAILURE", "INSTALL_FAILED_VERIFICATION_TIMEOUT":
		if fam == "oppo" || fam == "vivo" {
			return Hint{
				EN: "The phone asked for confirmation (or a password) on its screen and nobody answered: unlock the phone, accept the prompt, then retry.",
				ZH: "手机在屏幕上要求确认（或输入密码）但无人回应：请解锁手机并确认提示，然后重试。",
			}, true
		}
		return Hint{
			EN: "The phone's package verifier stopped the install: turn off \"Verify apps over USB\" in Developer options or confirm on the screen, then retry.",
			ZH: "手机的应用校验阻止了安装：请在开发者选项中关闭“通过 USB 验证应用”或在屏幕上确认，然后重试。",
		}, true
	case "INSTALL_FAILED_INSUFFICIENT_STORAGE":
		return Hint{
			EN: "The phone is out of storage: free space on the phone (or remove apps from the list), then retry.",
			ZH: "手机存储空间不足：请清理手机空间（或从列表中移除应用），然后重试。",
		}, true
	case "INSTALL_FAILED_VERSION_DOWNGRADE":
		return Hint{
			EN: "A newer version is already on the phone. Keep it, or uninstall it by hand (its data is lost) and retry.",
			ZH: "手机上已有更新的版本。可保留它，或手动卸载（数据会丢失）后重试。",
		}, true
	case "INSTALL_FAILED_UPDATE_INCOMPATIBLE":
		return Hint{
			EN: "The installed app is signed with a different key. The station never uninstalls on its own: uninstall it by hand if its data may be lost, then retry.",
			ZH: "已安装的应用签名不同。工作站不会自动卸载：如可放弃其数据，请手动卸载后重试。",
		}, true
	case "INSTALL_FAILED_NO_MATCHING_ABIS", "INSTALL_FAILED_CPU_ABI_INCOMPATIBLE":
		return Hint{EN: "This APK has no native code for this phone's CPU: use a build for its ABI.",
			ZH: "此 APK 没有适合该手机 CPU 的原生库：请使用对应 ABI 的版本。"}, true
	case "INSTALL_FAILED_OLDER_SDK":
		return Hint{EN: "The phone's Android is too old for this APK.", ZH: "手机的 Android 版本过低，无法安装此 APK。"}, true
	case "INSTALL_FAILED_DEPRECATED_SDK_VERSION":
		return Hint{EN: "Android 14+ refuses apps that target SDK below 23: use a newer build of the app.",
			ZH: "Android 14 及以上拒绝目标 SDK 低于 23 的应用：请使用该应用的新版本。"}, true
	case ErrStalled:
		return Hint{EN: "The phone stopped responding mid-transfer: check the cable and hub port, or replug the phone.",
			ZH: "传输中手机停止响应：请检查数据线和集线器端口，或重新插拔手机。"}, true
	case ErrVerify:
		return Hint{EN: "The package manager does not show the version just installed: check the phone by hand.",
			ZH: "软件包管理器未显示刚安装的版本：请手动检查手机。"}, true
	case ErrAPKMissing:
		return Hint{EN: "The APK is not in the station's cache: download the list again.",
			ZH: "工作站缓存中没有此 APK：请重新下载列表。"}, true
	}
	if strings.HasPrefix(code, "INSTALL_PARSE_FAILED_") {
		return Hint{EN: "The phone cannot read this APK (damaged, unsigned or not for this Android): replace the file.",
			ZH: "手机无法解析此 APK（文件损坏、未签名或不适用于此 Android 版本）：请更换文件。"}, true
	}
	if Classify(code) == ClassOperator {
		return Hint{EN: "The phone refused this install (" + code + "): check the phone's screen and settings, then retry.",
			ZH: "手机拒绝了此次安装（" + code + "）：请查看手机屏幕和设置，然后重试。"}, true
	}
	return Hint{}, false
}
