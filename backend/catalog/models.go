package catalog

import "time"

// The catalog server's own tables: a separate database from any station's.

// User is an operator or admin known to the catalog.
type User struct {
	ID           uint      `gorm:"primaryKey" json:"id"`
	Username     string    `gorm:"size:64;uniqueIndex;not null" json:"username"`
	PasswordHash string    `gorm:"not null" json:"-"`
	Role         string    `gorm:"size:16;not null" json:"role"`
	GroupName    string    `gorm:"size:64;index" json:"group"`
	Disabled     bool      `json:"disabled"`
	CreatedAt    time.Time `json:"createdAt"`
}

// Station is a registered station; only the SHA-256 of its key is kept.
type Station struct {
	ID        uint       `gorm:"primaryKey" json:"-"`
	UUID      string     `gorm:"size:36;uniqueIndex;not null" json:"id"`
	Name      string     `gorm:"size:200;not null" json:"name"`
	KeyHash   string     `gorm:"size:64;uniqueIndex;not null" json:"-"`
	Config    string     `gorm:"not null;default:'{}'" json:"-"` // JSON object set by an admin
	CreatedAt time.Time  `json:"createdAt"`
	LastSeen  *time.Time `json:"lastSeen"`
}

// RegCode is a one-time station registration code (hashed).
type RegCode struct {
	ID        uint      `gorm:"primaryKey"`
	CodeHash  string    `gorm:"size:64;uniqueIndex;not null"`
	ExpiresAt time.Time `gorm:"not null"`
	UsedAt    *time.Time
	StationID *uint
	CreatedAt time.Time
}

// Token is an operator login, valid on one station only, until it expires.
type Token struct {
	ID        uint      `gorm:"primaryKey"`
	Hash      string    `gorm:"size:64;uniqueIndex;not null"`
	UserID    uint      `gorm:"index;not null"`
	StationID uint      `gorm:"index;not null"`
	ExpiresAt time.Time `gorm:"index;not null"`
	CreatedAt time.Time
}

// App is one APK the catalog serves, by content.
type App struct {
	ID          uint      `gorm:"primaryKey" json:"id"`
	SHA256      string    `gorm:"size:64;uniqueIndex;not null" json:"sha256"`
	Package     string    `gorm:"size:255;index;not null" json:"package"`
	Label       string    `json:"label"`
	LabelZH     string    `json:"labelZh"`
	VersionCode int64     `json:"versionCode"`
	VersionName string    `json:"versionName"`
	MinSDK      int       `json:"minSdk"`
	TargetSDK   int       `json:"targetSdk"`
	ABIs        string    `json:"abis"`
	Signer      string    `json:"signer"`
	Size        int64     `json:"size"`
	FileName    string    `json:"fileName"`
	Icon        []byte    `json:"-"`
	CreatedAt   time.Time `json:"createdAt"`
}

// List is an ordered app list for one operator, one group, or everyone.
type List struct {
	ID        uint       `gorm:"primaryKey" json:"id"`
	Name      string     `gorm:"size:200;uniqueIndex;not null" json:"name"`
	Operator  string     `gorm:"size:64;index" json:"operator"` // username; empty = not per operator
	GroupName string     `gorm:"size:64;index" json:"group"`    // empty = not per group
	Priority  int        `json:"priority"`                      // among lists that match equally
	Items     []ListItem `gorm:"constraint:OnDelete:CASCADE" json:"items"`
	UpdatedAt time.Time  `json:"updatedAt"`
}

// ListItem is one app on a list.
type ListItem struct {
	ID       uint `gorm:"primaryKey" json:"-"`
	ListID   uint `gorm:"index;not null" json:"-"`
	AppID    uint `gorm:"index;not null" json:"-"`
	App      App  `gorm:"constraint:OnDelete:CASCADE" json:"app"`
	Position int  `json:"position"`
	Priority int  `json:"priority"`
}

// Report is one install record received from a station; the UUID makes
// ingestion idempotent.
type Report struct {
	UUID        string    `gorm:"primaryKey;size:36" json:"uuid"`
	StationID   uint      `gorm:"index;not null" json:"-"`
	SessionUUID string    `gorm:"size:36;index" json:"sessionUuid"`
	Operator    string    `gorm:"size:64;index" json:"operator"`
	Serial      string    `gorm:"size:128" json:"serial"`
	Model       string    `gorm:"size:128" json:"model"`
	Package     string    `gorm:"size:255;index" json:"package"`
	VersionCode int64     `json:"versionCode"`
	SHA256      string    `gorm:"size:64" json:"sha256"`
	Bytes       int64     `json:"bytes"`
	TransferMS  int64     `json:"transferMs"`
	CommitMS    int64     `json:"commitMs"`
	Result      string    `gorm:"size:16;index" json:"result"`
	Code        string    `gorm:"size:128" json:"code"`
	Message     string    `gorm:"size:1000" json:"message"`
	Attempts    int       `json:"attempts"`
	StartedAt   time.Time `json:"startedAt"`
	EndedAt     time.Time `json:"endedAt"`
	ReceivedAt  time.Time `gorm:"index" json:"receivedAt"`
}

func allModels() []any {
	return []any{&User{}, &Station{}, &RegCode{}, &Token{}, &App{}, &List{}, &ListItem{}, &Report{}}
}
