package postgres

import (
	"context"
	"encoding/binary"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"
)

// The fast path's plain inserts (rows written as they are, with no join and
// no condition) go in with COPY: the server's CPU is what bounds a batch on
// a small machine, and COPY spends about a fifth less of it on a new
// contact's rows than INSERT … SELECT FROM unnest, which parses the arrays,
// plans a query and projects every row through it (the most on executions,
// on replies, whose insert had ON CONFLICT, and on tasks, one statement a
// row before). The rows are encoded by hand in COPY's binary format, which
// the server reads with each type's receive function, as it reads array
// elements: the same checks (a text's encoding, say) and the same errors.
//
// A COPY cannot travel in pgx's pipeline, and pgconn's CopyFrom waits for
// each one's answer: a round trip per table. sendCopies sends every COPY of
// a run of consecutive ones (simple-protocol Query, the data, CopyDone) in
// one write and then reads their answers, so that the fast path of a batch
// of new contacts costs no more round trips than before. The protocol keeps
// the answers in step: a failing COPY answers ErrorResponse and
// ReadyForQuery, the server drops the rest of its data, and the COPYs after
// it fail at once (the transaction is aborted) and answer the same two.
//
// A COPY writes every row or fails, so a row that the plan did not expect
// (a concurrent node's address or dedupe key; an existing message id or a
// second open task, which the row's own insert skips with ON CONFLICT) is a
// unique violation, which sends the batch to the slow path: there each
// unit's own statements decide, as before.

// copyRows is one table's rows in COPY's binary format.
type copyRows struct {
	sql string // COPY … FROM STDIN (FORMAT binary)
	n   int
	buf []byte
	bad bool // a value the column cannot hold
}

// copyHeader starts the binary format: signature, flags, header extension.
const copyHeader = "PGCOPY\n\xff\r\n\x00" + "\x00\x00\x00\x00" + "\x00\x00\x00\x00"

func newCopy(table, cols string) *copyRows {
	return &copyRows{sql: "COPY " + table + " (" + cols + ") FROM STDIN (FORMAT binary)"}
}

// The column values that are not plain text, bytea, timestamptz or bigint.
type (
	nullText string // text, NULL when empty (platform_message_id)
	jsonb    string // jsonb: its binary form is a version byte and the text
)

// pgEpoch is the zero of timestamptz's binary form (microseconds).
var pgEpoch = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC).UnixMicro()

// row appends one row; a nil []byte is NULL.
func (c *copyRows) row(values ...any) {
	if c.n == 0 {
		c.buf = append(c.buf, copyHeader...)
	}
	c.buf = binary.BigEndian.AppendUint16(c.buf, uint16(len(values)))
	for _, v := range values {
		switch v := v.(type) {
		case string:
			c.buf = appendField(c.buf, v)
		case nullText:
			if v == "" {
				c.null()
			} else {
				c.buf = appendField(c.buf, v)
			}
		case jsonb:
			c.buf = binary.BigEndian.AppendUint32(c.buf, uint32(len(v)+1))
			c.buf = append(c.buf, 1)
			c.buf = append(c.buf, v...)
		case []byte:
			if v == nil {
				c.null()
			} else {
				c.buf = appendField(c.buf, v)
			}
		case time.Time:
			c.buf = binary.BigEndian.AppendUint32(c.buf, 8)
			c.buf = binary.BigEndian.AppendUint64(c.buf, uint64(v.UnixMicro()-pgEpoch))
		case int64:
			c.buf = binary.BigEndian.AppendUint32(c.buf, 8)
			c.buf = binary.BigEndian.AppendUint64(c.buf, uint64(v))
		case int: // an integer column (a task's priority and quiet)
			if v != int(int32(v)) {
				c.bad = true // the server's INSERT would refuse it; the slow path reports it
			}
			c.buf = binary.BigEndian.AppendUint32(c.buf, 4)
			c.buf = binary.BigEndian.AppendUint32(c.buf, uint32(v))
		case nil:
			c.null()
		default:
			panic("postgres: no COPY encoding for a column value") // a programming error in tableOps
		}
	}
	c.n++
}

func appendField[T string | []byte | nullText](buf []byte, v T) []byte {
	buf = binary.BigEndian.AppendUint32(buf, uint32(len(v)))
	return append(buf, v...)
}

func (c *copyRows) null() { c.buf = binary.BigEndian.AppendUint32(c.buf, 0xffffffff) }

// data ends the rows with the trailer (a tuple of -1 fields).
func (c *copyRows) data() []byte { return append(c.buf, 0xff, 0xff) }

// sendCopies runs consecutive COPY ops in one round trip; false: one did
// not do what the plan expected (the slow path decides).
func sendCopies(ctx context.Context, conn *pgx.Conn, run []op) (bool, error) {
	pc := conn.PgConn()
	fe := pc.Frontend()
	for _, o := range run {
		fe.SendQuery(&pgproto3.Query{String: o.sql})
		fe.Send(&pgproto3.CopyData{Data: o.copy})
		fe.Send(&pgproto3.CopyDone{})
	}
	// pgconn does not know of these messages: past a failed write or read
	// the connection is out of step, and only closing it is safe (the
	// deferred ROLLBACK then fails and the pool drops the connection).
	broken := func(err error) (bool, error) {
		_ = pc.Conn().Close()
		return false, err
	}
	if err := fe.Flush(); err != nil {
		return broken(err)
	}
	tags := make([]pgconn.CommandTag, len(run))
	errs := make([]error, len(run))
	for i := range run {
		for ready := false; !ready; {
			msg, err := pc.ReceiveMessage(ctx)
			if err != nil {
				return broken(err)
			}
			switch m := msg.(type) {
			case *pgproto3.CommandComplete:
				tags[i] = pgconn.NewCommandTag(string(m.CommandTag))
			case *pgproto3.ErrorResponse:
				if errs[i] == nil {
					errs[i] = pgconn.ErrorResponseToPgError(m)
				}
			case *pgproto3.ReadyForQuery:
				ready = true
			}
		}
	}
	for i, o := range run {
		r, ferr := judge(o, tags[i], errs[i])
		if ferr != nil {
			return false, ferr
		}
		if r != nil {
			return false, nil
		}
	}
	return true, nil
}
