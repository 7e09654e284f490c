package sqlite

import "context"

// LiveProgramVersions reads the versions through executions_live, the
// index of the live executions, instead of every execution ever run.
func (s *Store) LiveProgramVersions(ctx context.Context) ([]string, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT DISTINCT program_version FROM executions
		INDEXED BY executions_live WHERE status IN ('running', 'waiting')`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}
