package store

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"

	"golang.org/x/crypto/bcrypt"
	"gorm.io/gorm"
)

// Errors the user repository returns; services map them to error codes.
var (
	ErrUsernameTaken   = errors.New("username already taken")
	ErrInvalidUsername = errors.New("username must be 3-32 characters: letters, digits, '.', '_' or '-'")
	ErrWeakPassword    = errors.New("password must be at least 8 characters")
	ErrInvalidRole     = errors.New("role must be admin or operator")
	ErrBadCredentials  = errors.New("wrong username or password")
)

// MinPasswordLength is the shortest password the station accepts.
const MinPasswordLength = 8

var usernameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{2,31}$`)

// NormalizeUsername folds a username to the form it is stored and compared in:
// usernames are case-insensitive so "Admin" and "admin" cannot both exist.
func NormalizeUsername(name string) string { return strings.ToLower(strings.TrimSpace(name)) }

// NewUser is what it takes to create a user.
type NewUser struct {
	Username    string
	Password    string
	Role        string
	DisplayName string
}

func (s *Store) hashCost() int {
	if s.HashCost > 0 {
		return s.HashCost
	}
	return bcrypt.DefaultCost
}

// CreateUser validates and inserts a user with a bcrypt password hash.
func (s *Store) CreateUser(ctx context.Context, u NewUser) (*User, error) {
	return createUser(ctx, s.DB.WithContext(ctx), u, s.hashCost())
}

func createUser(ctx context.Context, db *gorm.DB, u NewUser, cost int) (*User, error) {
	name := NormalizeUsername(u.Username)
	if !usernameRE.MatchString(name) {
		return nil, ErrInvalidUsername
	}
	if len(u.Password) < MinPasswordLength {
		return nil, ErrWeakPassword
	}
	// bcrypt reads only the first 72 bytes; refuse longer rather than silently truncate.
	if len(u.Password) > 72 {
		return nil, fmt.Errorf("%w (and at most 72 bytes)", ErrWeakPassword)
	}
	if u.Role == "" {
		u.Role = RoleOperator
	}
	if u.Role != RoleAdmin && u.Role != RoleOperator {
		return nil, ErrInvalidRole
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(u.Password), cost)
	if err != nil {
		return nil, fmt.Errorf("store: hash password: %w", err)
	}
	user := &User{Username: name, PasswordHash: string(hash), Role: u.Role, DisplayName: strings.TrimSpace(u.DisplayName)}
	if err := db.Create(user).Error; err != nil {
		if isUniqueViolation(err) {
			return nil, ErrUsernameTaken
		}
		return nil, fmt.Errorf("store: create user %q: %w", name, err)
	}
	return user, nil
}

// Authenticate returns the user if the password matches and the user is enabled.
// Unknown users and wrong passwords give the same error, so a caller cannot probe names.
func (s *Store) Authenticate(ctx context.Context, username, password string) (*User, error) {
	var u User
	err := s.DB.WithContext(ctx).Where("username = ?", NormalizeUsername(username)).Take(&u).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		// Spend the same time as a real check so timing does not reveal the name.
		_ = bcrypt.CompareHashAndPassword(dummyHash(), []byte(password))
		return nil, ErrBadCredentials
	}
	if err != nil {
		return nil, fmt.Errorf("store: find user: %w", err)
	}
	if bcrypt.CompareHashAndPassword([]byte(u.PasswordHash), []byte(password)) != nil || u.Disabled {
		return nil, ErrBadCredentials
	}
	return &u, nil
}

// dummyHash is computed on first use, not at init: every test binary that
// imports store would otherwise pay for a bcrypt hash at start.
var dummyHash = sync.OnceValue(func() []byte {
	h, _ := bcrypt.GenerateFromPassword([]byte("not a real password"), bcrypt.DefaultCost)
	return h
})

// UserByID returns one user or ErrNotFound.
func (s *Store) UserByID(ctx context.Context, id uint) (*User, error) {
	var u User
	err := s.DB.WithContext(ctx).Take(&u, id).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("store: user %d: %w", id, err)
	}
	return &u, nil
}

// Users lists every user by username.
func (s *Store) Users(ctx context.Context) ([]User, error) {
	var users []User
	if err := s.DB.WithContext(ctx).Order("username").Find(&users).Error; err != nil {
		return nil, fmt.Errorf("store: list users: %w", err)
	}
	return users, nil
}

// SetPassword replaces a user's password.
func (s *Store) SetPassword(ctx context.Context, id uint, password string) error {
	if len(password) < MinPasswordLength || len(password) > 72 {
		return ErrWeakPassword
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), s.hashCost())
	if err != nil {
		return fmt.Errorf("store: hash password: %w", err)
	}
	res := s.DB.WithContext(ctx).Model(&User{}).Where("id = ?", id).Update("password_hash", string(hash))
	if res.Error != nil {
		return fmt.Errorf("store: set password: %w", res.Error)
	}
	if res.RowsAffected == 0 {
		return ErrNotFound
	}
	return nil
}

// isUniqueViolation recognises SQLite's and PostgreSQL's unique-constraint errors
// without importing either driver's error types.
func isUniqueViolation(err error) bool {
	if errors.Is(err, gorm.ErrDuplicatedKey) {
		return true
	}
	msg := err.Error()
	return strings.Contains(msg, "UNIQUE constraint failed") || strings.Contains(msg, "duplicate key value")
}
