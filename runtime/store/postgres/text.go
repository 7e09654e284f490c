package postgres

import (
	"context"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/switchboard-dev/switchboard/runtime/store"
)

// The store's text rule (store.Text for text, store.CleanJSON for json and
// jsonb) is applied where every argument meets the server, so that no query
// fails on a NUL, invalid UTF-8 or a \u0000 escape (SQLSTATE 22021, 22P05),
// writes and lookups alike, and no query has to remember to clean its
// arguments:
//
//   - each connection's type map encodes text-like and JSON parameters
//     through cleaningCodec, which cleans what the standard codec wrote;
//   - pgx encodes a plain Go string in the text format without asking the
//     type map, so textRule (the connections' tracer, called with a query's
//     arguments before they are encoded) turns a string that may need
//     cleaning into a textArg, which does go through the type map. As the
//     parameter's type is known there, a string becomes clean text for a
//     text column and clean JSON for a jsonb one.
//
// Strings of plain ASCII without a backslash, nearly all, are left alone.

// textArg is a string argument that may need the text rule.
type textArg string

type textRule struct{}

var (
	_ pgx.QueryTracer = textRule{}
	_ pgx.BatchTracer = textRule{}
)

func (textRule) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	markArgs(d.Args)
	return ctx
}

func (textRule) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

func (textRule) TraceBatchStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceBatchStartData) context.Context {
	for _, q := range d.Batch.QueuedQueries {
		markArgs(q.Arguments)
	}
	return ctx
}

func (textRule) TraceBatchQuery(context.Context, *pgx.Conn, pgx.TraceBatchQueryData) {}
func (textRule) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData)     {}

// markArgs replaces, in place, the string arguments that may need cleaning
// by textArgs, and cleans the elements of string slices (text[] keys).
// The slice is the caller's: the replacements only make it cleaner.
func markArgs(args []any) {
	for i, a := range args {
		switch v := a.(type) {
		case string:
			if suspect(v) {
				args[i] = textArg(v)
			}
		case []string:
			var out []string
			for j, s := range v {
				if c := store.Text(s); c != s {
					if out == nil {
						out = append([]string(nil), v...)
					}
					out[j] = c
				}
			}
			if out != nil {
				args[i] = out
			}
		}
	}
}

// suspect reports whether s may change under either rule: it has a NUL, a
// backslash (a JSON escape) or a byte outside ASCII.
func suspect(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == 0 || c == '\\' || c >= utf8.RuneSelf {
			return true
		}
	}
	return false
}

func registerTextRule(m *pgtype.Map) {
	for _, oid := range []uint32{pgtype.TextOID, pgtype.VarcharOID, pgtype.BPCharOID, pgtype.NameOID} {
		wrap(m, oid, store.TextBytes)
	}
	for _, oid := range []uint32{pgtype.JSONOID, pgtype.JSONBOID} {
		wrap(m, oid, store.CleanJSON)
	}
}

func wrap(m *pgtype.Map, oid uint32, clean func([]byte) []byte) {
	t, ok := m.TypeForOID(oid)
	if !ok {
		return
	}
	m.RegisterType(&pgtype.Type{Name: t.Name, OID: t.OID, Codec: cleaningCodec{Codec: t.Codec, clean: clean}})
}

type cleaningCodec struct {
	pgtype.Codec
	clean func([]byte) []byte
}

func (c cleaningCodec) PlanEncode(m *pgtype.Map, oid uint32, format int16, value any) pgtype.EncodePlan {
	_, asString := value.(textArg)
	if asString {
		value = ""
	}
	p := c.Codec.PlanEncode(m, oid, format, value)
	if p == nil {
		return nil
	}
	return cleaningPlan{p, c.clean, asString}
}

type cleaningPlan struct {
	pgtype.EncodePlan
	clean    func([]byte) []byte
	asString bool // the value is a textArg, encoded as a string
}

// Encode cleans what the wrapped plan appended to buf.
func (p cleaningPlan) Encode(value any, buf []byte) ([]byte, error) {
	if p.asString {
		value = string(value.(textArg))
	}
	start := len(buf)
	out, err := p.EncodePlan.Encode(value, buf)
	if err != nil || out == nil || len(out) == start {
		return out, err
	}
	wrote := out[start:]
	if cleaned := p.clean(wrote); len(cleaned) != len(wrote) || &cleaned[0] != &wrote[0] {
		out = append(out[:start], cleaned...)
	}
	return out, nil
}
