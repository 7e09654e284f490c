package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"
)

// LiveProgramVersions reads the live executions through their partial
// index (executions_live), not every execution ever run.
func (s *Store) LiveProgramVersions(ctx context.Context) ([]string, error) {
	rows, err := s.pool.Query(ctx, `SELECT DISTINCT program_version FROM executions WHERE status IN ('running', 'waiting')`)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}
