package postgres_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/switchboard-dev/switchboard/runtime/store"
	"github.com/switchboard-dev/switchboard/runtime/store/postgres"
	"github.com/switchboard-dev/switchboard/runtime/store/sqlstore"
	"github.com/switchboard-dev/switchboard/runtime/store/storetest"
)

// rowsPerTx is the rows a benchmark transaction writes to its table, as a
// group commit of 64 new contacts does.
const rowsPerTx = 64

// rowTable is a table the fast path writes for a new contact's message,
// with the INSERT … unnest the fast path used before it wrote the table
// with COPY.
type rowTable struct {
	name, table string
	cols        []string
	unnest      string
	kinds       string // per column: s text, n text or NULL, b bytea, t timestamptz, i bigint
	row         func(u *store.Unit, at time.Time) []any
}

var rowTables = []rowTable{
	{"contacts", "contacts", []string{"id", "name", "created_at"},
		`INSERT INTO contacts (id, name, created_at) SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[])`, "sst",
		func(u *store.Unit, at time.Time) []any { return []any{u.Contact.ID, u.Contact.Name, at} }},
	{"addresses", "contact_addresses", []string{"channel", "address", "contact_id", "created_at"},
		`INSERT INTO contact_addresses (channel, address, contact_id, created_at) SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[])`, "ssst",
		func(u *store.Unit, at time.Time) []any {
			return []any{u.Contact.Channel, u.Contact.Address, u.Contact.ID, at}
		}},
	{"conversations", "conversations", []string{"id", "contact_id", "channel", "instance", "status", "created_at", "updated_at"},
		`INSERT INTO conversations (id, contact_id, channel, instance, status, created_at, updated_at)
		SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::timestamptz[], $7::timestamptz[])`, "ssssstt",
		func(u *store.Unit, at time.Time) []any {
			c := u.Conversation
			return []any{c.ID, c.ContactID, c.Channel, c.Instance, "open", at, at}
		}},
	{"inbound", "messages", strings.Split(messageCols, ", "),
		`INSERT INTO messages (` + messageCols + `)
		SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::bytea[], $9::timestamptz[])`, "sssssnsbt",
		func(u *store.Unit, at time.Time) []any {
			m := u.Inbound
			return []any{m.ID, m.ConversationID, "in", m.Connector, m.Instance, m.PlatformMessageID, m.Text, []byte(m.Payload), at}
		}},
	{"executions", "executions", strings.Split(sqlstore.ExecutionCols, ", "),
		`INSERT INTO executions (` + sqlstore.ExecutionCols + `)
		SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bytea[], $7::bigint[], $8::timestamptz[], $9::timestamptz[], $10::text[])`,
		"sssssbitts", func(u *store.Unit, at time.Time) []any {
			e := u.Execution.Execution
			return []any{e.ID, e.ConversationID, e.Flow, e.ProgramVersion, string(e.Status), []byte(e.Payload), int64(1), at, at, e.Step}
		}},
	{"replies", "messages", strings.Split(messageCols, ", "),
		`INSERT INTO messages (` + messageCols + `)
		SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::bytea[], $9::timestamptz[])
		ON CONFLICT (id) DO NOTHING`, "sssssnsbt",
		func(u *store.Unit, at time.Time) []any {
			m := reply(u)
			return []any{m.ID, m.ConversationID, "out", m.Connector, m.Instance, m.PlatformMessageID, m.Text, []byte(m.Payload), at}
		}},
}

const messageCols = "id, conversation_id, direction, connector, instance, platform_message_id, text, payload, created_at"

// reply is the unit's reply, or one like it for the tenth that have a task.
func reply(u *store.Unit) store.Message {
	if len(u.Messages) > 0 {
		return u.Messages[0]
	}
	return store.Message{ID: u.Execution.Execution.ID + "-reply", ConversationID: u.Conversation.ID, Direction: store.Outbound,
		Connector: "custom", Instance: "default", Text: "Thanks, a bot will help you", Payload: u.Inbound.Payload}
}

// BenchmarkTableRows reports the server's CPU per row of each table the
// fast path writes for a new contact's message, inserted the way the fast
// path used to (insert=unnest; tasks one INSERT a row) and with COPY, in
// transactions of rowsPerTx rows (of rowsPerTx/10 tasks) from one
// connection; the figures include each transaction's BEGIN and COMMIT,
// which table=commit measures alone (a one-row transaction: server-cpu-µs/tx).
func BenchmarkTableRows(b *testing.B) {
	requireDSN(b)
	ctx := context.Background()
	s := open(b).(*postgres.Store)
	var seq uint64
	units := func(n int) []*store.Unit {
		us := make([]*store.Unit, n)
		for i := range us {
			seq++
			us[i] = storetest.NewContactUnit(seq)
		}
		return us
	}
	conn, err := s.Pool().Acquire(ctx)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Release()
	at := store.Micro(time.Now())
	// each runs write(rows) in transactions and reports the server's CPU
	// per row.
	each := func(b *testing.B, n, perTx int, write func(tx pgx.Tx, from, to int) error) {
		cpu0 := backendCPU(s)
		b.ResetTimer()
		for i := 0; i < n; i += perTx {
			tx, err := conn.Begin(ctx)
			if err != nil {
				b.Fatal(err)
			}
			if err := write(tx, i, min(i+perTx, n)); err != nil {
				b.Fatal(err)
			}
			if err := tx.Commit(ctx); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		b.ReportMetric(float64((backendCPU(s)-cpu0).Microseconds())/float64(n), "server-cpu-µs/row")
	}
	b.Run("table=commit", func(b *testing.B) {
		if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS bench_commit (n bigint)`); err != nil {
			b.Fatal(err)
		}
		each(b, b.N, 1, func(tx pgx.Tx, from, _ int) error {
			_, err := tx.Exec(ctx, `INSERT INTO bench_commit VALUES ($1)`, int64(from))
			return err
		})
	})
	for _, t := range rowTables {
		for _, method := range []string{"unnest", "copy"} {
			b.Run("table="+t.name+"/insert="+method, func(b *testing.B) {
				us := units(b.N)
				each(b, b.N, rowsPerTx, func(tx pgx.Tx, from, to int) error {
					rows := make([][]any, 0, to-from)
					for _, u := range us[from:to] {
						rows = append(rows, t.row(u, at))
					}
					if method == "copy" {
						for _, r := range rows {
							for j, k := range t.kinds {
								if k == 'n' && r[j] == "" {
									r[j] = nil
								}
							}
						}
						_, err := tx.CopyFrom(ctx, pgx.Identifier{t.table}, t.cols, pgx.CopyFromRows(rows))
						return err
					}
					_, err := tx.Exec(ctx, t.unnest, arrays(rows, t.kinds)...)
					return err
				})
			})
		}
	}
	for _, method := range []string{"row", "copy"} {
		b.Run("table=tasks/insert="+method, func(b *testing.B) {
			us := units(b.N)
			for i := 0; i < len(us); i += 256 { // the rows the tasks name, outside the measure
				batch := &store.Batch{}
				for _, u := range us[i:min(i+256, len(us))] {
					u.Tasks = nil
					batch.Add(u)
				}
				if _, err := s.Commit(ctx, batch); err != nil {
					b.Fatal(err)
				}
			}
			each(b, b.N, rowsPerTx/10, func(tx pgx.Tx, from, to int) error {
				var rows [][]any
				pb := &pgx.Batch{}
				for _, u := range us[from:to] {
					e := u.Execution.Execution
					args, err := sqlstore.TaskArgs(store.Task{ID: e.ID + "/1", ConversationID: u.Conversation.ID, ContactID: u.Contact.ID,
						ExecutionID: e.ID, Workflow: "support_routing"}, at)
					if err != nil {
						return err
					}
					rows = append(rows, args)
					pb.Queue(`INSERT INTO tasks (`+sqlstore.TaskCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
						ON CONFLICT DO NOTHING`, args...)
				}
				if method == "copy" {
					_, err := tx.CopyFrom(ctx, pgx.Identifier{"tasks"}, strings.Split(sqlstore.TaskCols, ", "), pgx.CopyFromRows(rows))
					return err
				}
				return tx.SendBatch(ctx, pb).Close()
			})
		})
	}
}

// arrays turns rows into the unnest statement's column arrays.
func arrays(rows [][]any, kinds string) []any {
	cols := make([]any, len(kinds))
	for j, k := range kinds {
		switch k {
		case 's':
			c := make([]string, len(rows))
			for i, r := range rows {
				c[i] = r[j].(string)
			}
			cols[j] = c
		case 'n':
			c := make([]*string, len(rows))
			for i, r := range rows {
				if v := r[j].(string); v != "" {
					c[i] = &v
				}
			}
			cols[j] = c
		case 'b':
			c := make([][]byte, len(rows))
			for i, r := range rows {
				c[i] = r[j].([]byte)
			}
			cols[j] = c
		case 't':
			c := make([]time.Time, len(rows))
			for i, r := range rows {
				c[i] = r[j].(time.Time)
			}
			cols[j] = c
		case 'i':
			c := make([]int64, len(rows))
			for i, r := range rows {
				c[i] = r[j].(int64)
			}
			cols[j] = c
		}
	}
	return cols
}
