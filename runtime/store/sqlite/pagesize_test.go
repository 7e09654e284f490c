package sqlite

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/switchboard-dev/switchboard/runtime/store"
	"github.com/switchboard-dev/switchboard/runtime/store/storetest"
)

// New databases get pageSize pages; a database made before keeps its own
// page size and is written and read as before.
func TestPageSize(t *testing.T) {
	for _, tc := range []struct {
		name     string
		existing int // page size of a file made before Open; 0: none
		want     int
	}{
		{"new file", 0, pageSize},
		{"file of 4 KiB pages", 4096, 4096},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			path := filepath.Join(t.TempDir(), "sb.db")
			if tc.existing != 0 {
				db, err := sql.Open("sqlite", path)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := db.Exec(`PRAGMA page_size = 4096; PRAGMA journal_mode = WAL; CREATE TABLE earlier (x)`); err != nil {
					t.Fatal(err)
				}
				db.Close()
			}
			s, err := Open(ctx, path)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			var got int
			if err := s.r.QueryRowContext(ctx, `PRAGMA page_size`).Scan(&got); err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Fatalf("page size %d, want %d", got, tc.want)
			}
			b := &store.Batch{}
			u := storetest.NewContactUnit(1)
			b.Add(u)
			res, err := s.Commit(ctx, b)
			if err != nil || res[0].Outcome != store.Committed {
				t.Fatalf("commit: %v %+v", err, res)
			}
			c, err := s.LookupContact(ctx, u.Contact.Channel, u.Contact.Address)
			if err != nil || c.ID != u.Contact.ID {
				t.Fatalf("LookupContact: %+v, %v", c, err)
			}
		})
	}
}
