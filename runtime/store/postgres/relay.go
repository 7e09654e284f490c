package postgres

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/switchboard-dev/switchboard/internal/fanout"
	"github.com/switchboard-dev/switchboard/runtime/store"
)

// The relay (store.Relayer): a payload is a row of the relay table and a
// NOTIFY; each node reads the rows it has not seen yet when woken, and
// every few hundred publishes the rows older than relayKeep are deleted.

const (
	relayKeep = 2 * time.Minute
	relayPoll = time.Second // a missed wake-up costs at most this
	relayBack = 64          // re-read behind the last seq: a lower seq may commit after a higher one
)

var relayPublishes atomic.Int64

func (s *Store) Publish(ctx context.Context, topic string, payload []byte) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO relay (topic, payload) VALUES ($1, $2)`, topic, payload); err != nil {
			return err
		}
		if relayPublishes.Add(1)%256 == 0 {
			if _, err := tx.Exec(ctx, `DELETE FROM relay WHERE at < now() - $1::interval`, relayKeep.String()); err != nil {
				return err
			}
		}
		_, err := tx.Exec(ctx, `SELECT pg_notify($1, '')`, store.TopicRelay)
		return err
	})
}

func (s *Store) Receive(topic string) (<-chan []byte, func()) {
	s.relayOnce.Do(func() {
		s.relay = &fanout.Payloads{}
		ctx, cancel := context.WithCancel(context.Background())
		s.stopRelay = cancel
		s.relayDone = make(chan struct{})
		start := make(chan struct{})
		go s.readRelay(ctx, start)
		<-start // payloads published after Receive returns are read
	})
	return s.relay.Subscribe(topic)
}

func (s *Store) readRelay(ctx context.Context, started chan<- struct{}) {
	defer close(s.relayDone)
	wake, cancel := s.Subscribe(store.TopicRelay, "")
	defer cancel()
	var last int64
	if err := s.pool.QueryRow(ctx, `SELECT coalesce(max(seq), 0) FROM relay`).Scan(&last); err != nil && ctx.Err() == nil {
		slog.Default().Warn("relay: reading its position", "err", err)
	}
	close(started)
	seen := map[int64]bool{}
	tick := time.NewTicker(relayPoll)
	defer tick.Stop()
	for {
		rows, err := s.pool.Query(ctx, `SELECT seq, topic, payload FROM relay WHERE seq > $1 ORDER BY seq`, last-relayBack)
		if err == nil {
			for rows.Next() {
				var seq int64
				var topic string
				var payload []byte
				if rows.Scan(&seq, &topic, &payload) != nil || seen[seq] {
					continue
				}
				seen[seq] = true
				last = max(last, seq)
				_ = s.relay.Publish(ctx, topic, payload) // to this process's receivers
			}
			rows.Close()
			for seq := range seen {
				if seq <= last-relayBack {
					delete(seen, seq)
				}
			}
		} else if ctx.Err() == nil {
			slog.Default().Warn("relay: reading", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-wake:
		case <-tick.C:
		}
	}
}

var _ store.Relayer = (*Store)(nil)
