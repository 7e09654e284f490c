package sqlite

import "testing"

func TestChunkRows(t *testing.T) {
	sizes := map[int]bool{}
	for rows := 1; rows <= 1000; rows++ {
		n, stmts := rows, 0
		for n > 0 {
			c := chunkRows(n)
			if c <= 0 || c > n || c > maxBulkRows {
				t.Fatalf("chunkRows(%d) = %d", n, c)
			}
			sizes[c] = true
			n -= c
			stmts++
		}
		if rows < maxBulkRows && stmts > 2 {
			t.Fatalf("%d rows in %d statements, want at most 2", rows, stmts)
		}
	}
	if len(sizes) > 23 {
		t.Fatalf("%d statement sizes, want at most 23", len(sizes))
	}
}
