package sqlstore

import (
	"os/exec"
	"strings"
	"testing"
)

func TestNumber(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{`SELECT 1`, `SELECT 1`},
		{`SELECT a FROM t WHERE b = ? AND c IN (?, ?)`, `SELECT a FROM t WHERE b = $1 AND c IN ($2, $3)`},
		// A ? inside a string literal or a quoted identifier is not a parameter.
		{`SELECT '?', "a?b" FROM t WHERE x = ? AND y = 'it''s ?'`, `SELECT '?', "a?b" FROM t WHERE x = $1 AND y = 'it''s ?'`},
		{`VALUES (?, ?), (?, ?)`, `VALUES ($1, $2), ($3, $4)`},
	} {
		if got := number(c.in); got != c.want {
			t.Errorf("number(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestRebindCached(t *testing.T) {
	db := New(Config{Dialect: Dialect{Numbered: true}})
	q := `SELECT ? , ?`
	if got := db.sql(q); got != `SELECT $1 , $2` {
		t.Fatalf("sql(%q) = %q", q, got)
	}
	if _, ok := db.rebound.Load(q); !ok {
		t.Fatal("the numbered query was not kept")
	}
	if got := New(Config{}).sql(q); got != q {
		t.Fatalf("a ? dialect rewrote %q as %q", q, got)
	}
}

// TestNoDriver keeps the shared layer neutral: what a driver knows goes
// through Dialect and Config, so sqlstore imports neither driver.
func TestNoDriver(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, dep := range strings.Fields(string(out)) {
		for _, driver := range []string{"github.com/jackc/pgx", "modernc.org/sqlite", "github.com/switchboard-dev/switchboard/runtime/store/sqlite",
			"github.com/switchboard-dev/switchboard/runtime/store/postgres"} {
			if strings.HasPrefix(dep, driver) {
				t.Errorf("sqlstore depends on %s", dep)
			}
		}
	}
}
