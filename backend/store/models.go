package store

import "time"

// Roles a user can have.
const (
	RoleAdmin    = "admin"
	RoleOperator = "operator"
)

// User is a person who logs in to the station.
type User struct {
	ID           uint      `gorm:"primaryKey" json:"id"`
	Username     string    `gorm:"uniqueIndex;not null" json:"username"`
	PasswordHash string    `gorm:"not null" json:"-"`
	Role         string    `gorm:"not null;default:operator" json:"role"`
	DisplayName  string    `json:"displayName"`
	Disabled     bool      `json:"disabled"`
	CreatedAt    time.Time `json:"createdAt"`
	UpdatedAt    time.Time `json:"updatedAt"`
}

// Station is this PC. There is exactly one row once first-run setup is done.
type Station struct {
	ID         uint      `gorm:"primaryKey" json:"id"`
	UUID       string    `gorm:"uniqueIndex;not null" json:"uuid"`
	Name       string    `gorm:"not null" json:"name"`
	Key        string    `json:"-"` // station key: from the catalog on registration, or generated locally
	CatalogURL string    `json:"catalogUrl"`
	CatalogID  string    `json:"catalogId"` // the station's id at the catalog server, once registered
	CreatedAt  time.Time `json:"createdAt"`
	UpdatedAt  time.Time `json:"updatedAt"`
}

// Setting is one key/value pair; typed access lives in settings.go.
type Setting struct {
	Key       string `gorm:"primaryKey"`
	Value     string `gorm:"not null"`
	UpdatedAt time.Time
}

// Slot is one physical hub port, or a stable place for a phone without a USB path.
type Slot struct {
	ID        uint      `gorm:"primaryKey" json:"id"`
	Path      string    `gorm:"uniqueIndex;not null" json:"path"` // "usb:1-4.3", or "serial:<serial>" for TCP/virtual phones
	Label     string    `json:"label"`                            // operator-set, "A7"
	Hub       string    `json:"hub"`                              // hub the port belongs to ("usb:1-4"), for bandwidth scheduling
	Position  int       `json:"position"`                         // arrival order, for slots without a label
	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt"`
}

// Phone is every device the station has ever seen, by serial.
type Phone struct {
	ID           uint      `gorm:"primaryKey" json:"id"`
	Serial       string    `gorm:"uniqueIndex;not null" json:"serial"`
	Brand        string    `json:"brand"`
	Manufacturer string    `json:"manufacturer"`
	Model        string    `json:"model"`
	Release      string    `json:"release"` // Android version, "14"
	SDK          int       `json:"sdk"`
	ABIs         string    `json:"abis"` // comma-separated, preferred first
	LastSlotID   *uint     `json:"lastSlotId"`
	FirstSeen    time.Time `json:"firstSeen"`
	LastSeen     time.Time `json:"lastSeen"`
}

// App sources.
const (
	SourceCatalog = "catalog"
	SourceCustom  = "custom"
)

// App is one APK in the library, identified by its content.
type App struct {
	ID          uint      `gorm:"primaryKey" json:"id"`
	SHA256      string    `gorm:"uniqueIndex;size:64;not null" json:"sha256"`
	Package     string    `gorm:"index;not null" json:"package"`
	Label       string    `json:"label"`
	LabelZH     string    `json:"labelZh"`
	VersionCode int64     `json:"versionCode"`
	VersionName string    `json:"versionName"`
	MinSDK      int       `json:"minSdk"`
	TargetSDK   int       `json:"targetSdk"`
	ABIs        string    `json:"abis"`   // comma-separated native ABIs; empty = no native code
	Signer      string    `json:"signer"` // SHA-256 of the signing certificate
	Size        int64     `json:"size"`
	Icon        []byte    `json:"-"`
	Source      string    `gorm:"not null;default:custom" json:"source"`
	CatalogID   string    `json:"catalogId"`
	FileName    string    `json:"fileName"` // as dropped or as named by the catalog
	CreatedAt   time.Time `json:"createdAt"`
	UpdatedAt   time.Time `json:"updatedAt"`
}

// AppList is an ordered list of apps (the patent's optimized application list).
type AppList struct {
	ID        uint          `gorm:"primaryKey" json:"id"`
	Name      string        `gorm:"not null" json:"name"`
	Source    string        `gorm:"not null;default:custom" json:"source"` // catalog lists are read-only
	CatalogID string        `json:"catalogId"`
	Operator  string        `json:"operator"` // username the list belongs to; empty = everyone
	Active    bool          `json:"active"`
	Items     []AppListItem `gorm:"constraint:OnDelete:CASCADE" json:"items"`
	CreatedAt time.Time     `json:"createdAt"`
	UpdatedAt time.Time     `json:"updatedAt"`
}

// List item priorities. Higher installs first; items of equal priority
// install in list order, or in the fastest order when the station's
// pipeline-order setting is on (the default).
const (
	PriorityNormal = 0
	PriorityFirst  = 1 // the operator's "install first" mark
)

// AppListItem is one app on a list, in order, with a priority (higher first).
type AppListItem struct {
	ID        uint `gorm:"primaryKey" json:"id"`
	AppListID uint `gorm:"index;not null" json:"appListId"`
	AppID     uint `gorm:"index;not null" json:"appId"`
	App       App  `gorm:"constraint:OnDelete:CASCADE" json:"app"`
	Position  int  `json:"position"`
	Priority  int  `json:"priority"`
}

// Session outcomes.
const (
	OutcomeRunning     = "running"
	OutcomeDone        = "done"
	OutcomeFailed      = "failed"
	OutcomeInterrupted = "interrupted"
	OutcomeCancelled   = "cancelled"
)

// InstallSession is one phone's stay on a slot, from plug to unplug.
type InstallSession struct {
	ID        uint            `gorm:"primaryKey" json:"id"`
	UUID      string          `gorm:"uniqueIndex;not null" json:"uuid"`
	Serial    string          `gorm:"index;not null" json:"serial"`
	PhoneID   uint            `gorm:"index" json:"phoneId"`
	SlotLabel string          `json:"slotLabel"`
	SlotPath  string          `json:"slotPath"`
	Operator  string          `gorm:"index" json:"operator"`
	Station   string          `json:"station"`
	Brand     string          `json:"brand"`
	Model     string          `gorm:"index" json:"model"`
	Release   string          `json:"release"`
	ListName  string          `json:"listName"`
	Outcome   string          `gorm:"index;not null" json:"outcome"`
	Planned   int             `json:"planned"`
	Installed int             `json:"installed"`
	Skipped   int             `json:"skipped"`
	Failed    int             `json:"failed"`
	StartedAt time.Time       `gorm:"index" json:"startedAt"`
	EndedAt   *time.Time      `json:"endedAt"`
	Records   []InstallRecord `gorm:"foreignKey:SessionID;constraint:OnDelete:CASCADE" json:"records,omitempty"`
}

// Record results.
const (
	ResultInstalled = "installed"
	ResultSkipped   = "skipped"
	ResultFailed    = "failed"
	ResultCancelled = "cancelled"
)

// InstallRecord is one app attempt on one phone. UUID keys make uploads idempotent.
type InstallRecord struct {
	UUID        string    `gorm:"primaryKey;size:36" json:"uuid"`
	SessionID   uint      `gorm:"index;not null" json:"sessionId"`
	Serial      string    `gorm:"index" json:"serial"`
	Package     string    `gorm:"index" json:"package"`
	Label       string    `json:"label"`
	VersionCode int64     `json:"versionCode"`
	VersionName string    `json:"versionName"`
	SHA256      string    `json:"sha256"`
	Bytes       int64     `json:"bytes"`
	TransferMS  int64     `json:"transferMs"`
	CommitMS    int64     `json:"commitMs"`
	Result      string    `gorm:"index" json:"result"`
	Code        string    `json:"code"` // INSTALL_FAILED_* or a skip reason code
	Message     string    `json:"message"`
	Attempts    int       `json:"attempts"`
	StartedAt   time.Time `json:"startedAt"`
	EndedAt     time.Time `json:"endedAt"`
}

// OutboxItem is one payload waiting to be delivered to the catalog server.
type OutboxItem struct {
	ID          uint       `gorm:"primaryKey" json:"id"`
	Kind        string     `gorm:"index;not null" json:"kind"` // "install_record"
	RefUUID     string     `gorm:"uniqueIndex;not null" json:"refUuid"`
	Payload     string     `gorm:"not null" json:"payload"` // JSON
	Attempts    int        `json:"attempts"`
	LastError   string     `json:"lastError"`
	NextAttempt time.Time  `gorm:"index" json:"nextAttempt"`
	DeliveredAt *time.Time `gorm:"index" json:"deliveredAt"`
	CreatedAt   time.Time  `json:"createdAt"`
}

// SchemaVersion records which migrations have run.
type SchemaVersion struct {
	Version   int `gorm:"primaryKey"`
	AppliedAt time.Time
}
