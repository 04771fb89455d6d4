package wire

// Message types carried in Envelope.Type.
const (
	TypeFacts     = "facts"     // station→agent request; reply Facts
	TypeInstall   = "install"   // station→agent request InstallRequest, then Size bytes of Data; reply InstallResult
	TypeProgress  = "progress"  // agent→station notification Progress
	TypeAbort     = "abort"     // station→agent notification: drop the current install stream
	TypePage      = "page"      // station→agent notification PageState: what the phone's page shows
	TypeOpenPage  = "open-page" // station→agent request: open the page in the phone's browser
	TypeConfigure = "configure" // agent→station request ConfigForm (from the phone's page); reply ConfigResult
	TypeEcho      = "echo"      // station→agent request: the body comes back (liveness, round-trip time)
)

// Facts is what the agent reads from the phone.
type Facts struct {
	Packages      map[string]int64 `json:"packages"` // package → versionCode
	StorageFree   int64            `json:"storageFree"`
	StorageTotal  int64            `json:"storageTotal"`
	BatteryLevel  int              `json:"batteryLevel"` // percent, -1 unknown
	BatteryStatus string           `json:"batteryStatus"`
	SDK           int              `json:"sdk"`
	ABI           string           `json:"abi"`
	Locale        string           `json:"locale"`
}

// InstallRequest announces an APK stream of exactly Size bytes.
type InstallRequest struct {
	Name    string `json:"name"`    // label for the page
	Package string `json:"package"` // for the page and logs
	Size    int64  `json:"size"`
}

// InstallResult is the package manager's verdict.
type InstallResult struct {
	Method string `json:"method"` // "cmd", "pm-stdin" or "pm-file"
	Output string `json:"output"`
}

// Progress reports bytes the agent has handed to the package manager.
type Progress struct {
	Package  string `json:"package"`
	Received int64  `json:"received"`
	Size     int64  `json:"size"`
}

// PageState is the whole state of the on-phone page; the station sends it
// whole on every change, so a page that reconnects is never out of date.
type PageState struct {
	Station      string        `json:"station"`
	Slot         string        `json:"slot"`
	Configured   bool          `json:"configured"`
	AllowConfig  bool          `json:"allowConfig"`
	Identify     bool          `json:"identify"`
	Lists        []string      `json:"lists,omitempty"` // list choices for the form
	Installs     []InstallView `json:"installs,omitempty"`
	Config       *ConfigResult `json:"config,omitempty"` // outcome of the last form submission
	Connected    bool          `json:"connected"`        // set by the agent: channel up
	AgentVersion string        `json:"agentVersion,omitempty"`
}

// InstallView is one line of the page's progress list.
type InstallView struct {
	Name    string `json:"name"`
	State   string `json:"state"` // queued, sending, installing, installed, failed, skipped
	Percent int    `json:"percent"`
	Message string `json:"message,omitempty"`
}

// ConfigForm is the phone page's configuration form. Nothing in it is trusted:
// the station validates every field.
type ConfigForm struct {
	StationName      string `json:"stationName"`
	CatalogURL       string `json:"catalogUrl"`
	RegistrationCode string `json:"registrationCode"`
	Username         string `json:"username"`
	Password         string `json:"password"`
	List             string `json:"list"`
}

// ConfigResult is the station's answer, shown live on the page.
type ConfigResult struct {
	State     string `json:"state"` // "pending", "ok", "error"
	Message   string `json:"message"`
	MessageZH string `json:"messageZh"`
}
