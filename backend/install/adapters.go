package install

import (
	"context"
	"fmt"
	"io"
	"os"
)

// CacheAPKs serves APKs from the library's content-addressed cache
// (*library.Cache), which checks each file's hash before handing it out.
type CacheAPKs struct {
	Cache interface {
		Open(sha string) (*os.File, error)
	}
}

// OpenAPK implements APKSource.
func (c CacheAPKs) OpenAPK(_ context.Context, sha string) (io.ReadCloser, error) {
	f, err := c.Cache.Open(sha)
	if err != nil {
		return nil, fmt.Errorf("install: APK %s: %w", sha, err)
	}
	return f, nil
}

// StaticList is a fixed list (tests, benchmarks, a station without operators).
type StaticList List

// CurrentList implements ListSource.
func (s StaticList) CurrentList(context.Context) (List, error) { return List(s), nil }
