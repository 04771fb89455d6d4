package catalog

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/samber/lo"
	"golang.org/x/crypto/bcrypt"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"preloadstation/backend/apk"
	"preloadstation/backend/library"
	"preloadstation/backend/store"
)

var (
	nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$`)
	pkgRE  = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z0-9_]+)+$`)
)

// Catalog is the server's domain: every operation the HTTP API and the admin
// subcommands perform. It holds no HTTP state.
type Catalog struct {
	DB         *gorm.DB
	APKs       *library.Cache                  // APK files by SHA-256
	Inspect    func(string) (*apk.Info, error) // nil = apk.Inspect
	Now        func() time.Time
	BcryptCost int // 0 = bcrypt.DefaultCost
}

// NewCatalog opens the APK store under dataDir/apks.
func NewCatalog(db *gorm.DB, dataDir string) (*Catalog, error) {
	cache, err := library.OpenCache(filepath.Join(dataDir, "apks"), 0, nil)
	if err != nil {
		return nil, err
	}
	return &Catalog{DB: db, APKs: cache, Now: func() time.Time { return time.Now().UTC() }}, nil
}

func (c *Catalog) now() time.Time {
	if c.Now == nil {
		return time.Now().UTC()
	}
	return c.Now().UTC()
}

func badReq(msg, zh string) *APIError { return apiErr(http.StatusBadRequest, CodeBadRequest, msg, zh) }

func hashSecret(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

func randomToken() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// AddUser creates a user (role "operator" or "admin").
func (c *Catalog) AddUser(ctx context.Context, username, password, role, group string) (User, error) {
	switch {
	case !nameRE.MatchString(username):
		return User{}, badReq("a username is 1 to 64 letters, digits or ._@-", "用户名须为 1 到 64 个字母、数字或 ._@-")
	case len(password) < 8 || len(password) > 72:
		return User{}, badReq("a password is 8 to 72 bytes", "密码须为 8 到 72 个字节")
	case group != "" && !nameRE.MatchString(group):
		return User{}, badReq("invalid group name", "无效的组名")
	}
	if role == "" {
		role = "operator"
	}
	if role != "operator" && role != "admin" {
		return User{}, badReq("role must be operator or admin", "角色须为 operator 或 admin")
	}
	cost := c.BcryptCost
	if cost == 0 {
		cost = bcrypt.DefaultCost
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), cost)
	if err != nil {
		return User{}, fmt.Errorf("catalog: hash password: %w", err)
	}
	u := User{Username: username, PasswordHash: string(hash), Role: role, GroupName: group}
	res := c.DB.WithContext(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(&u)
	if res.Error != nil {
		return User{}, fmt.Errorf("catalog: add user: %w", res.Error)
	}
	if res.RowsAffected == 0 {
		return User{}, apiErr(http.StatusConflict, "conflict", "that username is taken", "该用户名已被占用")
	}
	return u, nil
}

// NewStationCode issues a one-time registration code valid for ttl.
func (c *Catalog) NewStationCode(ctx context.Context, ttl time.Duration) (string, error) {
	const alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789" // no 0/O, 1/I: read aloud and typed
	b := make([]byte, 10)
	rand.Read(b)
	var sb strings.Builder
	for i, x := range b {
		if i == 5 {
			sb.WriteByte('-')
		}
		sb.WriteByte(alphabet[int(x)%len(alphabet)])
	}
	code := sb.String()
	if err := c.DB.WithContext(ctx).Create(&RegCode{CodeHash: hashSecret(code), ExpiresAt: c.now().Add(ttl)}).Error; err != nil {
		return "", fmt.Errorf("catalog: save registration code: %w", err)
	}
	return code, nil
}

// RegisterStation spends a one-time code and returns the new station and its key.
func (c *Catalog) RegisterStation(ctx context.Context, code, name string) (Station, string, error) {
	code = strings.ToUpper(strings.TrimSpace(code))
	name = strings.TrimSpace(name)
	if len(code) != 11 {
		return Station{}, "", apiErr(http.StatusUnauthorized, CodeBadCode, "the registration code is wrong or used", "注册码错误或已使用")
	}
	if name == "" || utf8.RuneCountInString(name) > 200 || !utf8.ValidString(name) {
		return Station{}, "", badReq("a station name is 1 to 200 characters", "工作站名称须为 1 到 200 个字符")
	}
	key := randomToken()
	st := Station{UUID: newUUID(), Name: name, KeyHash: hashSecret(key), Config: "{}"}
	err := c.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		now := c.now()
		// Spend the code in the UPDATE itself so two stations racing on one code cannot both win.
		res := tx.Model(&RegCode{}).Where("code_hash = ? AND used_at IS NULL AND expires_at > ?", hashSecret(code), now).
			Update("used_at", now)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected != 1 {
			return apiErr(http.StatusUnauthorized, CodeBadCode, "the registration code is wrong or used", "注册码错误或已使用")
		}
		if err := tx.Create(&st).Error; err != nil {
			return err
		}
		return tx.Model(&RegCode{}).Where("code_hash = ?", hashSecret(code)).Update("station_id", st.ID).Error
	})
	if err != nil {
		return Station{}, "", err
	}
	return st, key, nil
}

// SetStationConfig stores a station's configuration (a JSON object).
func (c *Catalog) SetStationConfig(ctx context.Context, stationUUID string, cfg json.RawMessage) error {
	var obj map[string]any
	if err := json.Unmarshal(cfg, &obj); err != nil || obj == nil {
		return badReq("the configuration must be a JSON object", "配置须为 JSON 对象")
	}
	res := c.DB.WithContext(ctx).Model(&Station{}).Where("uuid = ?", stationUUID).Update("config", string(cfg))
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected == 0 {
		return apiErr(http.StatusNotFound, CodeNotFound, "no such station", "没有该工作站")
	}
	return nil
}

// AddAppFile stores an APK from a local file (admin subcommand).
func (c *Catalog) AddAppFile(ctx context.Context, path string) (App, bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return App{}, false, fmt.Errorf("catalog: open %s: %w", path, err)
	}
	defer f.Close()
	return c.AddAppStream(ctx, f, 0, filepath.Base(path))
}

// AddAppStream streams an APK into the store, hashing on the way, inspects it
// and records it. The same SHA-256 twice is a no-op (duplicate = true).
// max > 0 caps the size.
func (c *Catalog) AddAppStream(ctx context.Context, r io.Reader, max int64, fileName string) (App, bool, error) {
	if len(fileName) > 255 || strings.ContainsAny(fileName, "/\\\x00") {
		fileName = ""
	}
	tmp, err := c.APKs.TempFile()
	if err != nil {
		return App{}, false, err
	}
	committed := false
	defer func() {
		if !committed {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	h := sha256.New()
	src := r
	if max > 0 {
		src = io.LimitReader(r, max+1)
	}
	n, err := io.Copy(io.MultiWriter(tmp, h), src)
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) || (max > 0 && n > max) {
		return App{}, false, apiErr(http.StatusRequestEntityTooLarge, CodeTooLarge, fmt.Sprintf("the APK is larger than the limit of %d bytes", max), fmt.Sprintf("APK 超过 %d 字节的上限", max))
	}
	if err != nil {
		return App{}, false, badReq("the upload was interrupted: "+err.Error(), "上传中断")
	}
	sha := hex.EncodeToString(h.Sum(nil))
	var existing App
	if err := c.DB.WithContext(ctx).Where("sha256 = ?", sha).First(&existing).Error; err == nil && c.APKs.Has(sha) {
		return existing, true, nil
	}
	inspect := c.Inspect
	if inspect == nil {
		inspect = apk.Inspect
	}
	info, err := inspect(tmp.Name())
	if err != nil {
		return App{}, false, apiErr(http.StatusUnprocessableEntity, CodeBadAPK, "not a valid APK: "+err.Error(), "不是有效的 APK")
	}
	if info.SHA256 != "" && info.SHA256 != sha {
		return App{}, false, badReq("the APK changed while it was read", "读取期间 APK 发生了变化")
	}
	committed = true
	if err := c.APKs.CommitVerified(tmp, sha); err != nil {
		return App{}, false, err
	}
	a := App{SHA256: sha, Package: info.Package, Label: info.Label, LabelZH: library.LabelZH(info.Labels),
		VersionCode: info.VersionCode, VersionName: info.VersionName, MinSDK: info.MinSDK, TargetSDK: info.TargetSDK,
		ABIs: strings.Join(info.ABIs, ","), Signer: info.SignerSHA256, Size: n, FileName: fileName, Icon: info.IconPNG}
	res := c.DB.WithContext(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(&a)
	if res.Error != nil {
		return App{}, false, fmt.Errorf("catalog: save app: %w", res.Error)
	}
	if res.RowsAffected == 0 { // a row existed (its file was missing, now restored) or a racing upload won
		if err := c.DB.WithContext(ctx).Where("sha256 = ?", sha).First(&a).Error; err != nil {
			return App{}, false, err
		}
		return a, true, nil
	}
	return a, false, nil
}

// ListSpec is what an admin sets for a list.
type ListSpec struct {
	Operator string   `json:"operator"`
	Group    string   `json:"group"`
	Priority int      `json:"priority"`
	Apps     []string `json:"apps"` // package names (newest version) or SHA-256s, in order
	// First are the apps (as written in Apps) that install before the
	// others on every phone; the rest are normal priority, and the station
	// picks the fastest order among equals.
	First []string `json:"first,omitempty"`
}

// SetList creates or replaces a list. Items keep the given order; those
// named in First get the "install first" priority.
func (c *Catalog) SetList(ctx context.Context, name string, spec ListSpec) (List, error) {
	name = strings.TrimSpace(name)
	switch {
	case name == "" || utf8.RuneCountInString(name) > 200 || !utf8.ValidString(name):
		return List{}, badReq("a list name is 1 to 200 characters", "列表名称须为 1 到 200 个字符")
	case spec.Operator != "" && !nameRE.MatchString(spec.Operator):
		return List{}, badReq("invalid operator name", "无效的操作员名")
	case spec.Group != "" && !nameRE.MatchString(spec.Group):
		return List{}, badReq("invalid group name", "无效的组名")
	case len(spec.Apps) > 1000:
		return List{}, badReq("a list holds at most 1000 apps", "列表最多 1000 个应用")
	}
	var list List
	err := c.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var ids []uint
		seen := map[uint]bool{}
		first := map[uint]bool{}
		firstRefs := lo.SliceToMap(spec.First, func(r string) (string, bool) { return strings.TrimSpace(r), true })
		for _, ref := range spec.Apps {
			ref = strings.TrimSpace(ref)
			var a App
			var err error
			switch {
			case library.ValidSHA256(ref):
				err = tx.Where("sha256 = ?", ref).First(&a).Error
			case pkgRE.MatchString(ref):
				err = tx.Where("package = ?", ref).Order("version_code DESC, id DESC").First(&a).Error
			default:
				return badReq(fmt.Sprintf("%q is neither a package name nor a SHA-256", ref), fmt.Sprintf("%q 既不是包名也不是 SHA-256", ref))
			}
			if errors.Is(err, gorm.ErrRecordNotFound) {
				return apiErr(http.StatusNotFound, CodeNotFound, fmt.Sprintf("no app %q in the catalog", ref), fmt.Sprintf("目录中没有应用 %q", ref))
			}
			if err != nil {
				return err
			}
			if seen[a.ID] {
				return badReq(fmt.Sprintf("%q is on the list twice", ref), fmt.Sprintf("%q 在列表中重复", ref))
			}
			seen[a.ID] = true
			first[a.ID] = firstRefs[ref]
			delete(firstRefs, ref)
			ids = append(ids, a.ID)
		}
		for ref := range firstRefs {
			return badReq(fmt.Sprintf("%q is marked first but is not on the list", ref), fmt.Sprintf("%q 被标为优先但不在列表中", ref))
		}
		err := tx.Where("name = ?", name).First(&list).Error
		switch {
		case errors.Is(err, gorm.ErrRecordNotFound):
			list = List{Name: name}
		case err != nil:
			return err
		}
		list.Operator, list.GroupName, list.Priority = spec.Operator, spec.Group, spec.Priority
		if err := tx.Save(&list).Error; err != nil {
			return err
		}
		if err := tx.Where("list_id = ?", list.ID).Delete(&ListItem{}).Error; err != nil {
			return err
		}
		list.Items = nil
		for i, id := range ids {
			it := ListItem{ListID: list.ID, AppID: id, Position: i, Priority: store.PriorityNormal}
			if first[id] {
				it.Priority = store.PriorityFirst
			}
			if err := tx.Omit("App").Create(&it).Error; err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return List{}, err
	}
	return c.listByID(ctx, list.ID)
}

func (c *Catalog) listByID(ctx context.Context, id uint) (List, error) {
	var l List
	err := c.DB.WithContext(ctx).Preload("Items", func(db *gorm.DB) *gorm.DB { return db.Order("priority DESC, position") }).
		Preload("Items.App").First(&l, id).Error
	return l, err
}

// Lists returns every list with its items.
func (c *Catalog) Lists(ctx context.Context) ([]List, error) {
	var ls []List
	err := c.DB.WithContext(ctx).Order("name").Preload("Items", func(db *gorm.DB) *gorm.DB { return db.Order("priority DESC, position") }).
		Preload("Items.App").Find(&ls).Error
	return ls, err
}

// OptimizedList picks the list for an operator on a station: the operator's
// own list, else their group's, else the one the station's configuration
// names, else the default list (no operator, no group); higher Priority wins
// among equals. Items come highest priority first.
func (c *Catalog) OptimizedList(ctx context.Context, u User, st Station) (List, error) {
	var cands []List
	q := c.DB.WithContext(ctx).Where("operator = ?", u.Username).
		Or("operator = '' AND group_name = '' ")
	if u.GroupName != "" {
		q = q.Or("operator = '' AND group_name = ?", u.GroupName)
	}
	var cfg struct {
		List string `json:"list"`
	}
	json.Unmarshal([]byte(st.Config), &cfg)
	if cfg.List != "" {
		q = q.Or("name = ?", cfg.List)
	}
	if err := q.Find(&cands).Error; err != nil {
		return List{}, err
	}
	rank := func(l List) int {
		switch {
		case l.Operator == u.Username:
			return 4
		case l.Operator == "" && u.GroupName != "" && l.GroupName == u.GroupName:
			return 3
		case cfg.List != "" && l.Name == cfg.List:
			return 2
		case l.Operator == "" && l.GroupName == "":
			return 1
		}
		return 0
	}
	best := -1
	for i, l := range cands {
		if rank(l) == 0 {
			continue
		}
		if best < 0 || rank(l) > rank(cands[best]) || (rank(l) == rank(cands[best]) && (l.Priority > cands[best].Priority ||
			(l.Priority == cands[best].Priority && l.ID < cands[best].ID))) {
			best = i
		}
	}
	if best < 0 {
		return List{}, apiErr(http.StatusNotFound, CodeNoList, "no list is set for this operator", "没有为该操作员设置列表")
	}
	return c.listByID(ctx, cands[best].ID)
}

// ReportIn is one install record as a station sends it.
type ReportIn struct {
	UUID        string    `json:"uuid"`
	SessionUUID string    `json:"sessionUuid"`
	Operator    string    `json:"operator"`
	Serial      string    `json:"serial"`
	Model       string    `json:"model"`
	Package     string    `json:"package"`
	VersionCode int64     `json:"versionCode"`
	SHA256      string    `json:"sha256"`
	Bytes       int64     `json:"bytes"`
	TransferMS  int64     `json:"transferMs"`
	CommitMS    int64     `json:"commitMs"`
	Result      string    `json:"result"`
	Code        string    `json:"code"`
	Message     string    `json:"message"`
	Attempts    int       `json:"attempts"`
	StartedAt   time.Time `json:"startedAt"`
	EndedAt     time.Time `json:"endedAt"`
}

// Rejected is one report the server refused (it will never be accepted: do not resend).
type Rejected struct {
	UUID    string `json:"uuid"`
	Message string `json:"message"`
}

// IngestResult is the answer to a batch of reports.
type IngestResult struct {
	Accepted  int        `json:"accepted"`
	Duplicate int        `json:"duplicate"`
	Rejected  []Rejected `json:"rejected,omitempty"`
}

var results = map[string]bool{"installed": true, "skipped": true, "failed": true, "cancelled": true}

func validateReport(r ReportIn) string {
	switch {
	case !uuidRE.MatchString(r.UUID):
		return "uuid must be a UUID"
	case r.SessionUUID != "" && !uuidRE.MatchString(r.SessionUUID):
		return "sessionUuid must be a UUID"
	case !pkgRE.MatchString(r.Package) || len(r.Package) > 255:
		return "invalid package name"
	case !results[r.Result]:
		return "result must be installed, skipped, failed or cancelled"
	case r.SHA256 != "" && !library.ValidSHA256(r.SHA256):
		return "invalid sha256"
	case len(r.Operator) > 64, len(r.Serial) > 128, len(r.Model) > 128, len(r.Code) > 128, len(r.Message) > 1000:
		return "a field is too long"
	case r.Bytes < 0, r.TransferMS < 0, r.CommitMS < 0, r.Attempts < 0, r.VersionCode < 0:
		return "negative numbers are not allowed"
	case !utf8.ValidString(r.Message + r.Model + r.Serial + r.Operator + r.Code):
		return "text must be UTF-8"
	}
	return ""
}

// Ingest stores a batch of install reports idempotently: a UUID seen before
// (in this batch or any earlier one) counts as a duplicate and changes nothing.
func (c *Catalog) Ingest(ctx context.Context, stationID uint, in []ReportIn) (IngestResult, error) {
	var out IngestResult
	rows := make([]Report, 0, len(in))
	seen := make(map[string]bool, len(in))
	now := c.now()
	for _, r := range in {
		r.UUID = strings.ToLower(r.UUID)
		if msg := validateReport(r); msg != "" {
			out.Rejected = append(out.Rejected, Rejected{UUID: r.UUID, Message: msg})
			continue
		}
		if seen[r.UUID] {
			out.Duplicate++
			continue
		}
		seen[r.UUID] = true
		rows = append(rows, Report{UUID: r.UUID, StationID: stationID, SessionUUID: r.SessionUUID, Operator: r.Operator,
			Serial: r.Serial, Model: r.Model, Package: r.Package, VersionCode: r.VersionCode, SHA256: r.SHA256,
			Bytes: r.Bytes, TransferMS: r.TransferMS, CommitMS: r.CommitMS, Result: r.Result, Code: r.Code,
			Message: r.Message, Attempts: r.Attempts, StartedAt: r.StartedAt.UTC(), EndedAt: r.EndedAt.UTC(), ReceivedAt: now})
	}
	if len(rows) > 0 {
		res := c.DB.WithContext(ctx).Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "uuid"}}, DoNothing: true}).
			CreateInBatches(rows, 200)
		if res.Error != nil {
			return IngestResult{}, fmt.Errorf("catalog: store reports: %w", res.Error)
		}
		out.Accepted = int(res.RowsAffected)
		out.Duplicate += len(rows) - out.Accepted
	}
	return out, nil
}

var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

func newUUID() string {
	b := make([]byte, 16)
	rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
