package library

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/samber/lo"
	"gorm.io/gorm"

	"preloadstation/backend/apk"
	"preloadstation/backend/events"
	"preloadstation/backend/store"
)

// Library is the station's apps: rows in the store, bytes in the cache.
type Library struct {
	Store *store.Store
	Cache *Cache
	Emit  events.Emitter
	// Inspect reads an APK; nil = apk.Inspect.
	Inspect func(path string) (*apk.Info, error)
	// Downloader fills the cache for pre-downloads; its Keep is set by New.
	Downloader *Downloader
}

// New wires a library: the downloader never evicts what the library needs.
func New(st *store.Store, cache *Cache, emit events.Emitter) *Library {
	if emit == nil {
		emit = events.Nop{}
	}
	l := &Library{Store: st, Cache: cache, Emit: emit}
	l.Downloader = &Downloader{Cache: cache, Emit: emit, Keep: l.keep}
	return l
}

// AppView is an app with whether its APK is in the cache.
type AppView struct {
	store.App
	Cached bool `json:"cached"`
}

// Apps lists the library, newest first.
func (l *Library) Apps(ctx context.Context) ([]AppView, error) {
	var apps []store.App
	if err := l.Store.DB.WithContext(ctx).Order("id DESC").Find(&apps).Error; err != nil {
		return nil, newErr(CodeIO, "cannot read the library", "无法读取应用库", err)
	}
	out := make([]AppView, len(apps))
	for i, a := range apps {
		out[i] = AppView{App: a, Cached: l.Cache.Has(a.SHA256)}
	}
	return out, nil
}

// AddResult says what AddFile did.
type AddResult struct {
	App       store.App `json:"app"`
	Duplicate bool      `json:"duplicate"` // the same APK (SHA-256) was already in the library
}

// AddFile inspects a custom APK and copies it into the cache, so the original
// may vanish afterwards. A bad APK returns a CodeBadAPK error and changes nothing.
func (l *Library) AddFile(ctx context.Context, path string) (AddResult, error) {
	inspect := l.Inspect
	if inspect == nil {
		inspect = apk.Inspect
	}
	info, err := inspect(path)
	if err != nil {
		e := newErr(CodeBadAPK, "this file is not a valid APK", "该文件不是有效的 APK", err)
		var ae *apk.Error
		if errors.As(err, &ae) {
			e.Message += " (" + ae.Code + ")"
			if zh := ae.MessageZH(); zh != "" {
				e.ZH = zh
			}
		}
		return AddResult{}, e
	}
	db := l.Store.DB.WithContext(ctx)
	var existing store.App
	err = db.Where("sha256 = ?", info.SHA256).First(&existing).Error
	switch {
	case err == nil:
		if !l.Cache.Verified(info.SHA256, info.Size) {
			if err := l.putFile(path, info); err != nil {
				return AddResult{}, err
			}
		}
		return AddResult{App: existing, Duplicate: true}, nil
	case !errors.Is(err, gorm.ErrRecordNotFound):
		return AddResult{}, newErr(CodeIO, "cannot read the library", "无法读取应用库", err)
	}
	l.Cache.Evict(info.Size, l.keepFunc())
	if err := l.putFile(path, info); err != nil {
		return AddResult{}, err
	}
	app := AppFromInfo(info)
	app.Source = store.SourceCustom
	app.FileName = filepath.Base(path)
	if err := db.Create(&app).Error; err != nil {
		return AddResult{}, newErr(CodeIO, "cannot save the app", "无法保存应用", err)
	}
	l.Emit.Emit(events.LibraryChanged, map[string]any{"added": app.ID})
	return AddResult{App: app}, nil
}

func (l *Library) putFile(path string, info *apk.Info) error {
	f, err := os.Open(path)
	if err != nil {
		return newErr(CodeIO, "cannot read the APK file", "无法读取 APK 文件", err)
	}
	defer f.Close()
	// Put re-hashes while copying: the file may have changed since Inspect.
	return l.Cache.Put(info.SHA256, info.Size, f)
}

// AppFromInfo turns what the APK reader found into a library row.
func AppFromInfo(info *apk.Info) store.App {
	return store.App{
		SHA256: info.SHA256, Package: info.Package, Label: info.Label, LabelZH: LabelZH(info.Labels),
		VersionCode: info.VersionCode, VersionName: info.VersionName, MinSDK: info.MinSDK, TargetSDK: info.TargetSDK,
		ABIs: strings.Join(info.ABIs, ","), Signer: info.SignerSHA256, Size: info.Size, Icon: info.IconPNG,
	}
}

// LabelZH picks the Simplified Chinese label from per-locale labels.
func LabelZH(labels map[string]string) string {
	for _, k := range []string{"zh-CN", "zh-rCN", "zh_CN", "zh-Hans", "zh"} {
		if v := labels[k]; v != "" {
			return v
		}
	}
	keys := make([]string, 0, len(labels))
	for k := range labels {
		if strings.HasPrefix(strings.ToLower(k), "zh") {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	if len(keys) > 0 {
		return labels[keys[0]]
	}
	return ""
}

// Remove deletes a custom app from the library, its list entries and its cached APK.
// Catalog apps are managed by the catalog server.
func (l *Library) Remove(ctx context.Context, id uint) error {
	var app store.App
	db := l.Store.DB.WithContext(ctx)
	if err := db.First(&app, id).Error; err != nil {
		return l.notFound(err, "app")
	}
	if app.Source == store.SourceCatalog {
		return newErr(CodeReadOnly, "catalog apps are managed on the catalog server", "目录应用由目录服务器管理", nil)
	}
	err := db.Transaction(func(tx *gorm.DB) error {
		if err := tx.Where("app_id = ?", id).Delete(&store.AppListItem{}).Error; err != nil {
			return err
		}
		return tx.Delete(&store.App{}, id).Error
	})
	if err != nil {
		return newErr(CodeIO, "cannot remove the app", "无法删除应用", err)
	}
	l.Cache.Remove(app.SHA256)
	l.Emit.Emit(events.LibraryChanged, map[string]any{"removed": id})
	return nil
}

// Open returns the app's cached APK, verified (size and SHA-256) just before use.
func (l *Library) Open(ctx context.Context, sha string) (*os.File, store.App, error) {
	var app store.App
	if err := l.Store.DB.WithContext(ctx).Where("sha256 = ?", sha).First(&app).Error; err != nil {
		return nil, app, l.notFound(err, "app")
	}
	f, err := l.Cache.Open(sha)
	if err != nil {
		return nil, app, err
	}
	if info, err := f.Stat(); err != nil || (app.Size > 0 && info.Size() != app.Size) {
		f.Close()
		l.Cache.Remove(sha)
		return nil, app, newErr(CodeSizeMismatch, "the cached APK has the wrong size and was removed", "缓存的 APK 大小不符，已删除", err)
	}
	return f, app, nil
}

func (l *Library) notFound(err error, what string) error {
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return newErr(CodeNotFound, "no such "+what, "未找到"+map[string]string{"app": "应用", "list": "列表"}[what], err)
	}
	return newErr(CodeIO, "cannot read the library", "无法读取应用库", err)
}

// keep is the set eviction must not touch: every APK the active list needs
// and every custom APK (its original may be gone: it cannot be fetched
// again). nil means "unsure": the caller keeps everything.
func (l *Library) keep() map[string]bool {
	needed, err := l.Needed(context.Background())
	if err != nil {
		return nil
	}
	return needed
}

// keepFunc adapts keep for Cache.Evict.
func (l *Library) keepFunc() func(string) bool {
	needed := l.keep()
	return func(sha string) bool { return needed == nil || needed[sha] }
}

// Needed is the set of hashes eviction must not remove.
func (l *Library) Needed(ctx context.Context) (map[string]bool, error) {
	var shas []string
	err := l.Store.DB.WithContext(ctx).Model(&store.App{}).
		Where("source = ? OR id IN (?)", store.SourceCustom,
			l.Store.DB.Model(&store.AppListItem{}).Select("app_list_items.app_id").
				Joins("JOIN app_lists ON app_lists.id = app_list_items.app_list_id").Where("app_lists.active = ?", true)).
		Pluck("sha256", &shas).Error
	if err != nil {
		return nil, err
	}
	return lo.SliceToMap(shas, func(s string) (string, bool) { return s, true }), nil
}

// Predownload fetches every APK of a list into the cache (claim 2: before phones arrive).
func (l *Library) Predownload(ctx context.Context, listID uint) (Result, error) {
	list, err := l.List(ctx, listID)
	if err != nil {
		return Result{}, err
	}
	wants := make([]Want, 0, len(list.Items))
	for _, it := range list.Items {
		wants = append(wants, Want{SHA256: it.App.SHA256, Size: it.App.Size, Package: it.App.Package, Label: it.App.Label})
	}
	return l.Downloader.Prefetch(ctx, wants)
}

// Status is the library's pre-download status for the UI.
type Status struct {
	Progress   Progress `json:"progress"`
	CacheBytes int64    `json:"cacheBytes"`
	CacheMax   int64    `json:"cacheMax"`
	Missing    int      `json:"missing"` // active-list apps not in the cache
}

// Status reports pre-download progress and how much of the active list is cached.
func (l *Library) Status(ctx context.Context) (Status, error) {
	st := Status{Progress: l.Downloader.Status(), CacheBytes: l.Cache.Usage(), CacheMax: l.Cache.MaxBytes()}
	list, err := l.ActiveList(ctx)
	if err != nil {
		if CodeOf(err) == CodeNotFound {
			return st, nil
		}
		return st, err
	}
	for _, it := range list.Items {
		if !l.Cache.Has(it.App.SHA256) {
			st.Missing++
		}
	}
	return st, nil
}

func validName(name string) (string, error) {
	name = strings.TrimSpace(name)
	if name == "" || len(name) > 200 {
		return "", newErr(CodeInvalid, "a list needs a name of 1 to 200 characters", "列表名称须为 1 到 200 个字符", nil)
	}
	return name, nil
}

// Lists returns every list with its items in order.
func (l *Library) Lists(ctx context.Context) ([]store.AppList, error) {
	var lists []store.AppList
	err := l.Store.DB.WithContext(ctx).Order("id").
		Preload("Items", func(db *gorm.DB) *gorm.DB { return db.Order("position") }).Preload("Items.App").
		Find(&lists).Error
	if err != nil {
		return nil, newErr(CodeIO, "cannot read the lists", "无法读取列表", err)
	}
	return lists, nil
}

// List returns one list with its items in order.
func (l *Library) List(ctx context.Context, id uint) (store.AppList, error) {
	var list store.AppList
	err := l.Store.DB.WithContext(ctx).
		Preload("Items", func(db *gorm.DB) *gorm.DB { return db.Order("position") }).Preload("Items.App").
		First(&list, id).Error
	if err != nil {
		return list, l.notFound(err, "list")
	}
	return list, nil
}

// ActiveList returns the list the station installs now.
func (l *Library) ActiveList(ctx context.Context) (store.AppList, error) {
	var list store.AppList
	err := l.Store.DB.WithContext(ctx).Where("active = ?", true).
		Preload("Items", func(db *gorm.DB) *gorm.DB { return db.Order("position") }).Preload("Items.App").
		First(&list).Error
	if err != nil {
		return list, l.notFound(err, "list")
	}
	return list, nil
}

// CreateList makes an empty custom list.
func (l *Library) CreateList(ctx context.Context, name string) (store.AppList, error) {
	name, err := validName(name)
	if err != nil {
		return store.AppList{}, err
	}
	list := store.AppList{Name: name, Source: store.SourceCustom}
	if err := l.Store.DB.WithContext(ctx).Create(&list).Error; err != nil {
		return list, newErr(CodeIO, "cannot save the list", "无法保存列表", err)
	}
	l.Emit.Emit(events.LibraryChanged, map[string]any{"list": list.ID})
	return list, nil
}

func (l *Library) editable(ctx context.Context, id uint) (store.AppList, error) {
	var list store.AppList
	if err := l.Store.DB.WithContext(ctx).First(&list, id).Error; err != nil {
		return list, l.notFound(err, "list")
	}
	if list.Source == store.SourceCatalog {
		return list, newErr(CodeReadOnly, "catalog lists are managed on the catalog server", "目录列表由目录服务器管理", nil)
	}
	return list, nil
}

// RenameList renames a custom list.
func (l *Library) RenameList(ctx context.Context, id uint, name string) error {
	name, err := validName(name)
	if err != nil {
		return err
	}
	if _, err := l.editable(ctx, id); err != nil {
		return err
	}
	if err := l.Store.DB.WithContext(ctx).Model(&store.AppList{}).Where("id = ?", id).Update("name", name).Error; err != nil {
		return newErr(CodeIO, "cannot save the list", "无法保存列表", err)
	}
	l.Emit.Emit(events.LibraryChanged, map[string]any{"list": id})
	return nil
}

// DeleteList deletes a custom list.
func (l *Library) DeleteList(ctx context.Context, id uint) error {
	if _, err := l.editable(ctx, id); err != nil {
		return err
	}
	err := l.Store.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Where("app_list_id = ?", id).Delete(&store.AppListItem{}).Error; err != nil {
			return err
		}
		return tx.Delete(&store.AppList{}, id).Error
	})
	if err != nil {
		return newErr(CodeIO, "cannot delete the list", "无法删除列表", err)
	}
	l.Emit.Emit(events.LibraryChanged, map[string]any{"list": id})
	return nil
}

// SetListItems replaces a custom list's apps, in this order. An app that
// stays on the list keeps its priority; a new one is normal priority.
func (l *Library) SetListItems(ctx context.Context, id uint, appIDs []uint) error {
	if _, err := l.editable(ctx, id); err != nil {
		return err
	}
	seen := map[uint]bool{}
	for _, a := range appIDs {
		if seen[a] {
			return newErr(CodeInvalid, "an app appears twice on the list", "列表中有重复的应用", fmt.Errorf("app %d", a))
		}
		seen[a] = true
	}
	err := l.Store.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var n int64
		if len(appIDs) > 0 {
			if err := tx.Model(&store.App{}).Where("id IN ?", appIDs).Count(&n).Error; err != nil {
				return err
			}
		}
		if int(n) != len(appIDs) {
			return newErr(CodeNotFound, "an app on the list is not in the library", "列表中的应用不在应用库中", nil)
		}
		var old []store.AppListItem
		if err := tx.Where("app_list_id = ?", id).Find(&old).Error; err != nil {
			return err
		}
		kept := lo.SliceToMap(old, func(it store.AppListItem) (uint, int) { return it.AppID, it.Priority })
		if err := tx.Where("app_list_id = ?", id).Delete(&store.AppListItem{}).Error; err != nil {
			return err
		}
		for i, a := range appIDs {
			if err := tx.Create(&store.AppListItem{AppListID: id, AppID: a, Position: i, Priority: kept[a]}).Error; err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		if CodeOf(err) != "" {
			return err
		}
		return newErr(CodeIO, "cannot save the list", "无法保存列表", err)
	}
	l.Emit.Emit(events.LibraryChanged, map[string]any{"list": id})
	return nil
}

// SetItemFirst marks one app on a custom list "install first" (or normal
// again): marked apps go before the others on every phone, in list order
// among themselves.
func (l *Library) SetItemFirst(ctx context.Context, listID, appID uint, first bool) error {
	if _, err := l.editable(ctx, listID); err != nil {
		return err
	}
	prio := store.PriorityNormal
	if first {
		prio = store.PriorityFirst
	}
	res := l.Store.DB.WithContext(ctx).Model(&store.AppListItem{}).
		Where("app_list_id = ? AND app_id = ?", listID, appID).Update("priority", prio)
	if res.Error != nil {
		return newErr(CodeIO, "cannot save the list", "无法保存列表", res.Error)
	}
	if res.RowsAffected == 0 {
		return newErr(CodeNotFound, "the app is not on this list", "该应用不在此列表中", nil)
	}
	l.Emit.Emit(events.LibraryChanged, map[string]any{"list": listID})
	return nil
}

// ActivateList makes one list the active one (and every other inactive).
func (l *Library) ActivateList(ctx context.Context, id uint) error {
	err := l.Store.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.First(&store.AppList{}, id).Error; err != nil {
			return err
		}
		if err := tx.Model(&store.AppList{}).Where("active = ?", true).Update("active", false).Error; err != nil {
			return err
		}
		return tx.Model(&store.AppList{}).Where("id = ?", id).Update("active", true).Error
	})
	if err != nil {
		return l.notFound(err, "list")
	}
	l.Emit.Emit(events.LibraryChanged, map[string]any{"active": id})
	return nil
}
