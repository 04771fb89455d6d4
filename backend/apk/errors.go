package apk

import "fmt"

// Error codes. The UI translates by code; Messages holds both languages.
const (
	CodeNotZip           = "not_zip"
	CodeNoManifest       = "no_manifest"
	CodeTruncated        = "truncated"
	CodeZipBomb          = "zip_bomb"
	CodeBadPath          = "bad_path"
	CodeManifestTooLarge = "manifest_too_large"
	CodeBadManifest      = "bad_manifest"
	CodeBundle           = "bundle"
	CodeBadZip           = "bad_zip"
	CodeIO               = "io"
)

// Messages gives the user-facing text of each code in English and
// Simplified Chinese.
var Messages = map[string]struct{ EN, ZH string }{
	CodeNotZip:           {"not an APK: the file is not a zip archive", "不是 APK：该文件不是 zip 压缩包"},
	CodeNoManifest:       {"not an APK: AndroidManifest.xml is missing", "不是 APK：缺少 AndroidManifest.xml"},
	CodeTruncated:        {"the APK is incomplete (truncated download or copy)", "APK 不完整（下载或复制被截断）"},
	CodeZipBomb:          {"refused: the archive expands far beyond its size (zip bomb)", "已拒绝：压缩包解压后远超其大小（压缩炸弹）"},
	CodeBadPath:          {"refused: the archive has an unsafe file name (path traversal)", "已拒绝：压缩包内含不安全的文件名（路径穿越）"},
	CodeManifestTooLarge: {"refused: AndroidManifest.xml is too large", "已拒绝：AndroidManifest.xml 过大"},
	CodeBadManifest:      {"the APK's AndroidManifest.xml is damaged", "APK 的 AndroidManifest.xml 已损坏"},
	CodeBundle:           {"this is an app bundle (.apks/.aab/.xapk), not an APK: bundles are not supported, export a universal APK", "这是应用包（.apks/.aab/.xapk），不是 APK：暂不支持应用包，请导出通用（universal）APK"},
	CodeBadZip:           {"the APK's zip structure is damaged", "APK 的 zip 结构已损坏"},
	CodeIO:               {"the APK could not be read", "无法读取 APK"},
}

// Error is why an APK was refused. Code is stable; Detail adds specifics in
// English for logs and the CLI.
type Error struct {
	Code   string
	Detail string
	Splits []string // for CodeBundle: the APKs inside the bundle
	Err    error
}

func (e *Error) Error() string {
	msg := Messages[e.Code].EN
	if msg == "" {
		msg = e.Code
	}
	if e.Detail != "" {
		msg += ": " + e.Detail
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

func (e *Error) Unwrap() error { return e.Err }

// MessageZH is the Simplified Chinese text for the error's code.
func (e *Error) MessageZH() string { return Messages[e.Code].ZH }

func errorf(code string, err error, format string, args ...any) *Error {
	return &Error{Code: code, Detail: fmt.Sprintf(format, args...), Err: err}
}
