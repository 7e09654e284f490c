package sqlite

import "github.com/switchboard-dev/switchboard/runtime/store"

// cleanArgs applies the store's text rule (store.Text) to the string
// arguments of a write, as the PostgreSQL store does for every text and
// jsonb value: SQLite would store NUL and invalid UTF-8 as given, and the
// two stores must store the same text. Payloads are []byte, kept as given;
// JSON columns are strings cleaned by store.Object before they get here.
// args is returned as is, not copied, when no string needs a change.
func cleanArgs(args []any) []any {
	var out []any
	for i, a := range args {
		s, ok := a.(string)
		if !ok {
			continue
		}
		if c := store.Text(s); c != s {
			if out == nil {
				out = append([]any(nil), args...)
			}
			out[i] = c
		}
	}
	if out == nil {
		return args
	}
	return out
}
