package sqlstore

import (
	"context"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Migrator applies a store's embedded migrations, in the order of their
// names' leading numbers, each in its own transaction with its record in
// schema_migrations, so a migration is applied once and wholly.
type Migrator struct {
	Dialect Dialect
	// Scripts holds the migrations, as migrations/NNNN_name.sql.
	Scripts fs.FS
	// Tx runs fn in one transaction.
	Tx func(ctx context.Context, fn func(Querier) error) error
	// Lock, when set, runs first in every transaction of the migration
	// (runtime nodes starting together then apply each migration once).
	Lock string
	// Table creates schema_migrations if it does not exist.
	Table string
	// Script runs one migration's many statements.
	Script func(ctx context.Context, q Querier, script string) error
}

// Migrate applies the migrations not yet recorded.
func (m *Migrator) Migrate(ctx context.Context) error {
	names, err := fs.Glob(m.Scripts, "migrations/*.sql")
	if err != nil {
		return err
	}
	sort.Strings(names)
	db := &DB{d: &m.Dialect}
	err = m.tx(ctx, func(x Querier) error {
		_, err := x.Exec(ctx, m.Table)
		return err
	})
	if err != nil {
		return fmt.Errorf("%s: migrate: %w", m.Dialect.Name, err)
	}
	for _, name := range names {
		base := path.Base(name)
		v, err := strconv.Atoi(strings.SplitN(base, "_", 2)[0])
		if err != nil {
			return fmt.Errorf("%s: migration %s: bad name", m.Dialect.Name, base)
		}
		body, err := fs.ReadFile(m.Scripts, name)
		if err != nil {
			return err
		}
		err = m.tx(ctx, func(x Querier) error {
			var n int
			if err := db.row(ctx, x, `SELECT count(*) FROM schema_migrations WHERE version = ?`, v).Scan(&n); err != nil || n > 0 {
				return err
			}
			if err := m.Script(ctx, x, string(body)); err != nil {
				return err
			}
			_, err := db.exec(ctx, x, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
				v, base, db.time(time.Now()))
			return err
		})
		if err != nil {
			return fmt.Errorf("%s: migration %s: %w", m.Dialect.Name, base, err)
		}
	}
	return nil
}

func (m *Migrator) tx(ctx context.Context, fn func(Querier) error) error {
	return m.Tx(ctx, func(x Querier) error {
		if m.Lock != "" {
			if _, err := x.Exec(ctx, m.Lock); err != nil {
				return err
			}
		}
		return fn(x)
	})
}
