package device

import (
	"time"
)

// State is a phone's state as the operator sees it.
type State string

const (
	StateUnauthorized State = "unauthorized" // "Allow USB debugging?" not yet accepted
	StateAuthorizing  State = "authorizing"  // adb is still checking keys
	StateOffline      State = "offline"      // adb sees it but cannot talk to it (yet)
	StateProbing      State = "probing"      // online, reading its facts
	StateReady        State = "ready"        // facts known; nothing running on it
	StateBusy         State = "busy"         // an install (or other job) is running
	StateGone         State = "gone"         // unplugged; last event for this serial
)

// Reason codes explain a state; the UI translates them (Reasons has both texts).
const (
	ReasonAllowDebugging = "allow_usb_debugging"
	ReasonOffline        = "offline"
	ReasonNoPermissions  = "no_permissions"
	ReasonNotResponding  = "not_responding"
	ReasonServerDown     = "adb_server_down"
	ReasonReconnecting   = "adb_server_restarted"
)

// Text is one message in the station's two languages.
type Text struct {
	EN string `json:"en"`
	ZH string `json:"zh"`
}

// Reasons are the operator-facing texts of the reason codes.
var Reasons = map[string]Text{
	ReasonAllowDebugging: {"Allow USB debugging on the phone", "请在手机上允许 USB 调试"},
	ReasonOffline:        {"The phone is not answering adb yet", "手机尚未响应 adb"},
	ReasonNoPermissions:  {"No permission to open the USB device (udev rules)", "没有打开 USB 设备的权限（udev 规则）"},
	ReasonNotResponding:  {"The phone stopped responding; retrying", "手机无响应，正在重试"},
	ReasonServerDown:     {"The adb server stopped; restarting it", "adb 服务已停止，正在重启"},
	ReasonReconnecting:   {"Reconnecting after an adb server restart", "adb 服务重启后正在重新连接"},
}

// Slot is a hub port (or a stable place for a phone without a USB path).
type Slot struct {
	ID       uint   `json:"id"`
	Path     string `json:"path"`  // "usb:1-4.3" or "serial:<serial>"
	Label    string `json:"label"` // operator-set, "A7"
	Hub      string `json:"hub"`   // "usb:1-4"; "" for serial slots
	Position int    `json:"position"`
}

// Phone is one phone as the UI and the install engine see it: the payload of
// device:attached, device:updated and device:detached.
type Phone struct {
	Serial     string     `json:"serial"`
	State      State      `json:"state"`
	Reason     string     `json:"reason,omitempty"`
	ADBState   string     `json:"adbState"`
	TCP        bool       `json:"tcp"`
	DevPath    string     `json:"devPath,omitempty"`
	Product    string     `json:"product,omitempty"`
	ADBModel   string     `json:"adbModel,omitempty"`
	Slot       Slot       `json:"slot"`
	Facts      *Facts     `json:"facts,omitempty"`
	Busy       string     `json:"busy,omitempty"`
	AttachedAt time.Time  `json:"attachedAt"`
	ReadyAt    *time.Time `json:"readyAt,omitempty"` // first time ready in this stay
}

// SlotPath is where a phone sits: its USB path, or "serial:<serial>".
func SlotPath(serial, devPath string) string {
	if devPath != "" {
		return devPath
	}
	return "serial:" + serial
}

// HubOf is the hub a USB path hangs on: "usb:1-4.3" → "usb:1-4".
func HubOf(path string) string {
	rest, ok := cutPrefix(path, "usb:")
	if !ok {
		return ""
	}
	for i := len(rest) - 1; i >= 0; i-- {
		if rest[i] == '.' || rest[i] == '-' {
			return "usb:" + rest[:i]
		}
	}
	return "usb:" + rest
}

func cutPrefix(s, p string) (string, bool) {
	if len(s) >= len(p) && s[:len(p)] == p {
		return s[len(p):], true
	}
	return s, false
}

// adbState maps an adb state to the station's state and reason.
func stateFromADB(adbState string) (State, string) {
	switch adbState {
	case "unauthorized":
		return StateUnauthorized, ReasonAllowDebugging
	case "authorizing":
		return StateAuthorizing, ReasonAllowDebugging
	case "no permissions":
		return StateOffline, ReasonNoPermissions
	case "device":
		return StateProbing, ""
	}
	return StateOffline, ReasonOffline
}
