package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/switchboard-dev/switchboard/runtime/store"
	"github.com/switchboard-dev/switchboard/runtime/store/postgres"
)

// EnvPostgres names the variable holding the test server's DSN.
const EnvPostgres = "SWITCHBOARD_TEST_POSTGRES"

// OpenPostgres returns a PostgreSQL store in a fresh schema of the test
// database (dropped at cleanup), for tests of packages above the store. It
// skips the test, saying so, when EnvPostgres is unset.
func OpenPostgres(tb testing.TB) store.Store {
	tb.Helper()
	dsn := os.Getenv(EnvPostgres)
	if dsn == "" {
		tb.Skipf("%s is not set: skipping the PostgreSQL variant (e.g. %s=postgres://postgres@127.0.0.1:5432/test?sslmode=disable)", EnvPostgres, EnvPostgres)
	}
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, dsn)
	if err != nil {
		tb.Fatalf("%s: %v", EnvPostgres, err)
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := "switchboard_test_" + hex.EncodeToString(b[:])
	if _, err := admin.Exec(ctx, `CREATE SCHEMA `+schema); err != nil {
		admin.Close(ctx)
		tb.Fatal(err)
	}
	u, err := url.Parse(dsn)
	if err != nil {
		tb.Fatalf("%s must be a URL: %v", EnvPostgres, err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	q.Set("application_name", schema) // the store's connections in pg_stat_activity
	u.RawQuery = q.Encode()
	s, err := postgres.Open(ctx, u.String())
	tb.Cleanup(func() {
		if _, err := admin.Exec(ctx, `DROP SCHEMA `+schema+` CASCADE`); err != nil {
			tb.Errorf("drop schema %s: %v", schema, err)
		}
		admin.Close(ctx)
	})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}
