package store

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
)

// Driver opens a store from a URL of its scheme (the whole URL is passed).
type Driver func(ctx context.Context, url string) (Store, error)

var (
	driversMu sync.RWMutex
	drivers   = map[string]Driver{}
)

// Register makes a driver available to Open under a URL scheme ("sqlite",
// "postgres"). Implementations call it from init.
func Register(scheme string, d Driver) {
	driversMu.Lock()
	defer driversMu.Unlock()
	drivers[scheme] = d
}

// Open opens (creating and migrating when needed) the store a URL names:
//
//	sqlite:PATH, sqlite://PATH or a bare path   → SQLite file (created on first start)
//	postgres://… or postgresql://…             → PostgreSQL (a pgx connection string;
//	                                              ?search_path=SCHEMA selects a schema)
//
// The driver's package must be imported (see the package doc).
func Open(ctx context.Context, url string) (Store, error) {
	scheme := "sqlite"
	if s, _, ok := strings.Cut(url, ":"); ok && len(s) > 1 && isScheme(s) {
		// A registered scheme, or anything written as scheme://, names a
		// driver; other colons belong to a bare path ("C:\x.db", "a:b.db").
		driversMu.RLock()
		_, known := drivers[s]
		driversMu.RUnlock()
		if known || s == "postgresql" || strings.HasPrefix(url[len(s):], "://") {
			scheme = s
		}
	}
	driversMu.RLock()
	d := drivers[scheme]
	driversMu.RUnlock()
	if d == nil {
		driversMu.RLock()
		var known []string
		for k := range drivers {
			known = append(known, k)
		}
		driversMu.RUnlock()
		sort.Strings(known)
		return nil, fmt.Errorf("store: no driver for %q (registered: %s; import runtime/store/%s)", scheme, strings.Join(known, ", "), scheme)
	}
	return d(ctx, url)
}

func isScheme(s string) bool {
	for i, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z':
		case i > 0 && (r >= '0' && r <= '9' || r == '+' || r == '-' || r == '.'):
		default:
			return false
		}
	}
	return true
}
