package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/switchboard-dev/switchboard/runtime/store"
)

// ---- keys ----

func (db *DB) LoadOrStoreKey(ctx context.Context, name string, value []byte) ([]byte, error) {
	if name == "" || len(value) == 0 {
		return nil, fmt.Errorf("%w: LoadOrStoreKey needs a name and a value", store.ErrInvalid)
	}
	// Insert-if-absent then read, so of two nodes making the key at once
	// both read the value of the one that committed first.
	err := db.c.Write(ctx, func(x Querier) error {
		_, err := db.exec(ctx, x, `INSERT INTO runtime_keys (name, value, created_at) VALUES (?, ?, ?) ON CONFLICT (name) DO NOTHING`,
			name, value, db.time(store.Now(time.Time{})))
		return err
	})
	if err != nil {
		return nil, err
	}
	var stored []byte
	if err := db.row(ctx, db.c.Reads, `SELECT value FROM runtime_keys WHERE name = ?`, name).Scan(&stored); err != nil {
		return nil, notFound(err)
	}
	return stored, nil
}
