// Package sqlstore holds the store.Store methods that read and write the
// same tables with the same SQL on SQLite and on PostgreSQL: written once,
// against Querier, an interface database/sql (SQLite) and pgx (PostgreSQL)
// both satisfy through a thin adapter, with what the two dialects spell
// differently described by a Dialect.
//
// A driver embeds *DB in its Store and keeps what truly differs: how it
// commits (the group commit), leadership, notifications, its migration
// scripts, the connections, and the few writes where one of them has a
// statement the other lacks (TouchTokens's array update, the multi-row
// statements or pipelines of a leader's round). What both commit paths lay
// out the same (a task's row, the statements of a round) is here too.
//
// The queries are written with ? placeholders; a dialect that numbers its
// parameters gets them rewritten once per query text (rebind). JSON columns
// (TEXT on SQLite, jsonb on PostgreSQL) are written and read as strings,
// payloads as bytes; times go through Dialect.Time and are read by at, which
// takes either encoding.
package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/switchboard-dev/switchboard/runtime/store"
)

// Row is one result row; pgx.Row and *sql.Row are Rows.
type Row interface {
	Scan(dest ...any) error
}

// Rows is a result set; pgx.Rows is one, *sql.Rows once its Close drops
// the error (a close error there repeats one Err has reported).
type Rows interface {
	Row
	Next() bool
	Err() error
	Close()
}

// Querier runs statements: a connection pool, a read pool or a transaction.
// Exec returns the number of rows the statement changed.
type Querier interface {
	Query(ctx context.Context, query string, args ...any) (Rows, error)
	QueryRow(ctx context.Context, query string, args ...any) Row
	Exec(ctx context.Context, query string, args ...any) (int64, error)
}

// Dialect is what the SQL of the two stores spells differently.
type Dialect struct {
	// Name prefixes the errors the shared code makes.
	Name string
	// Numbered: parameters are $1, $2, … instead of ?.
	Numbered bool
	// Time encodes a time argument; the zero time is the column's "none"
	// (0 on SQLite, NULL on PostgreSQL), as the scanners read it back.
	Time func(time.Time) any
	// True and False are the literals of a boolean column.
	True, False string
	// ForShare and ForUpdate end a SELECT that locks the rows it reads
	// (empty where one writer at a time makes locks moot).
	ForShare, ForUpdate string
	// LockTable is the statement that serializes writers of a table, with
	// %s for the table, or "".
	LockTable string
	// NoIndex writes a column in a condition the planner must not answer
	// with an index of it.
	NoIndex func(column string) string
	// IndexedBy names the table read through one of its indexes.
	IndexedBy func(table, index string) string
	// IsUnique reports a unique or primary key violation.
	IsUnique func(error) bool
	// ClaimEffects leases due effects, returning EffectCols. Its arguments:
	// owner, lease end, now, now, now, limit.
	ClaimEffects string
	// ClaimTimers leases due timers, returning TimerCols. Its arguments:
	// owner, lease end, now, now, limit.
	ClaimTimers string
}

// Config is a driver's part: its dialect, its connections and its hooks.
type Config struct {
	Dialect Dialect
	// Reads runs the constant point lookups (SQLite keeps them prepared);
	// Scans runs the queries built per call and the long ones.
	Reads, Scans Querier
	// Write runs fn's statements, each atomic, not necessarily together;
	// Tx runs them all or none.
	Write, Tx func(ctx context.Context, fn func(Querier) error) error
	// LockConversation, inside Tx, serializes the creators of one open
	// conversation; nil where Tx already runs one at a time.
	LockConversation func(ctx context.Context, q Querier, contactID, channel, instance string) error
	// NotifyTx tells subscribers of topic, inside the transaction that
	// wrote what they should read; Notified tells them after it committed.
	// A driver sets the one its notifications need.
	NotifyTx func(ctx context.Context, q Querier, topic, payload string) error
	Notified func(topic, payload string)
	// NewAddress hears of a contact address about to be stored.
	NewAddress func(channel, address string)
}

// DB implements the store.Store methods both dialects share.
type DB struct {
	c       Config
	d       *Dialect
	rebound sync.Map // query -> query with numbered parameters
}

// New returns the shared methods over a driver's connections.
func New(c Config) *DB {
	db := &DB{c: c}
	db.d = &db.c.Dialect
	return db
}

// sql returns query in the dialect's placeholders.
func (db *DB) sql(query string) string {
	if !db.d.Numbered {
		return query
	}
	if q, ok := db.rebound.Load(query); ok {
		return q.(string)
	}
	q := number(query)
	db.rebound.Store(query, q)
	return q
}

// number rewrites the ? placeholders of query as $1, $2, …; a ? inside a
// quoted string or identifier stays.
func number(query string) string {
	var b strings.Builder
	b.Grow(len(query) + 16)
	n := 0
	var quote byte
	for i := 0; i < len(query); i++ {
		c := query[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '\'' || c == '"':
			quote = c
		case c == '?':
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

func (db *DB) query(ctx context.Context, q Querier, query string, args ...any) (Rows, error) {
	return q.Query(ctx, db.sql(query), args...)
}

func (db *DB) row(ctx context.Context, q Querier, query string, args ...any) Row {
	return q.QueryRow(ctx, db.sql(query), args...)
}

func (db *DB) exec(ctx context.Context, q Querier, query string, args ...any) (int64, error) {
	return q.Exec(ctx, db.sql(query), args...)
}

func (db *DB) time(t time.Time) any { return db.d.Time(t) }

// txNotify runs fn in a transaction and tells topic's subscribers of what
// it wrote.
func (db *DB) txNotify(ctx context.Context, topic, payload string, fn func(Querier) error) error {
	err := db.c.Tx(ctx, func(x Querier) error {
		if err := fn(x); err != nil {
			return err
		}
		if db.c.NotifyTx != nil {
			return db.c.NotifyTx(ctx, x, topic, payload)
		}
		return nil
	})
	if err == nil && db.c.Notified != nil {
		db.c.Notified(topic, payload)
	}
	return err
}

// notFound maps a missing row to store.ErrNotFound (pgx's ErrNoRows is
// also sql.ErrNoRows).
func notFound(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return store.ErrNotFound
	}
	return err
}

// Payload returns nil (SQL NULL) for a nil payload, so it reads back as nil.
func Payload(b []byte) any {
	if b == nil {
		return nil
	}
	return b
}

// Nullable returns nil (SQL NULL) for "".
func Nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// at scans a time column into t: microseconds (SQLite) or a timestamp
// (PostgreSQL); 0 and NULL are the zero time.
func at(t *time.Time) *timeCol { return (*timeCol)(t) }

type timeCol time.Time

func (c *timeCol) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*c = timeCol{}
	case int64:
		*c = timeCol{}
		if v != 0 {
			*c = timeCol(time.UnixMicro(v).UTC())
		}
	case time.Time:
		*c = timeCol(v.UTC())
	default:
		return fmt.Errorf("sqlstore: a time from %T", src)
	}
	return nil
}

// text scans a nullable text column into s, NULL as "".
func text(s *string) *textCol { return (*textCol)(s) }

type textCol string

func (c *textCol) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*c = ""
	case string:
		*c = textCol(v)
	case []byte:
		*c = textCol(v)
	default:
		return fmt.Errorf("sqlstore: text from %T", src)
	}
	return nil
}

// collect scans every row, closing rows.
func collect[T any](rows Rows, err error, scan func(Row) (T, error)) ([]T, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// list pages through a table by seq: the query selects cols then seq.
func list[T any](ctx context.Context, db *DB, table, cols string, where []string, args []any, page store.Page,
	scan func(Row) (T, error)) ([]T, string, error) {
	op, order := ">", "ASC"
	if page.Newest {
		op, order = "<", "DESC"
	}
	after, ok, err := page.Cursor()
	if err != nil {
		return nil, "", err
	}
	if ok {
		where, args = append(where, "seq "+op+" ?"), append(args, after)
	}
	query := `SELECT ` + cols + `, seq FROM ` + table
	if len(where) > 0 {
		query += ` WHERE ` + strings.Join(where, " AND ")
	}
	limit := page.PageLimit()
	query += ` ORDER BY seq ` + order + ` LIMIT ?`
	args = append(args, limit+1)
	rows, err := db.query(ctx, db.c.Scans, query, args...)
	if err != nil {
		return nil, "", err
	}
	defer rows.Close()
	var out []T
	var seqs []int64
	for rows.Next() {
		var seq int64
		item, err := scan(appendScanner{rows, &seq})
		if err != nil {
			return nil, "", err
		}
		out, seqs = append(out, item), append(seqs, seq)
	}
	if err := rows.Err(); err != nil {
		return nil, "", err
	}
	out, next := store.PageOf(out, seqs, limit)
	return out, next, nil
}

// appendScanner scans one more column into extra.
type appendScanner struct {
	sc    Row
	extra any
}

func (a appendScanner) Scan(dest ...any) error { return a.sc.Scan(append(dest, a.extra)...) }

// equal returns the conditions column = ? for the pairs (column, value)
// whose value is not empty, and their arguments.
func equal(pairs ...string) (where []string, args []any) {
	for i := 0; i+1 < len(pairs); i += 2 {
		if pairs[i+1] != "" {
			where, args = append(where, pairs[i]+" = ?"), append(args, pairs[i+1])
		}
	}
	return where, args
}

// Prefixed qualifies each of the comma-separated cols with p.
func Prefixed(p, cols string) string {
	parts := strings.Split(cols, ", ")
	for i := range parts {
		parts[i] = p + parts[i]
	}
	return strings.Join(parts, ", ")
}

// bytes scans a payload column into b: database/sql copies into a *[]byte
// (not into a json.RawMessage, which would keep the driver's buffer).
func bytes(b *json.RawMessage) *[]byte { return (*[]byte)(b) }
