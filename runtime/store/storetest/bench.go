package storetest

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard-dev/switchboard/runtime/store"
)

// Payloads of a typical webhook step: sizes close to what the engine writes.
var (
	benchMessagePayload = json.RawMessage(`{"from":"visitor-123","text":"hello, I need help with my order","channel":"webchat","attributes":{"page":"/checkout"}}`)
	benchExecPayload    = json.RawMessage(`{"state":"choose_language","vars":{"language":"en"},"waiting":{"kind":"ask","timer":"t1"},"stack":[],"outputs":{"bot":{"status":200,"json":{"reply":"Hi!"}}}}`)
	benchEffectPayload  = json.RawMessage(`{"kind":"send","to":"visitor-123","text":"Reply 1 for English, 2 for Bahasa Indonesia"}`)
)

// benchConversations is how many conversations the benchmarks spread their
// units over: each unit updates one conversation's execution, as a real
// webhook does, and a few thousand of them keep every row from being
// rewritten thousands of times a second (no conversation is that busy, and
// on PostgreSQL the dead row versions would measure vacuum, not commits).
const benchConversations = 4096

// bench is a store prepared for a benchmark, kept across the rounds of
// growing b.N (each round continues where the previous one stopped).
type bench struct {
	s        store.Store
	convs    []string
	execs    []string
	versions []int64
	seq      atomic.Uint64
}

// newBench makes the conversations, each with a live execution at version 1.
func newBench(b *testing.B, s store.Store) *bench {
	ctx := context.Background()
	c, err := s.ResolveContact(ctx, "webchat", "bench", "")
	if err != nil {
		b.Fatal(err)
	}
	bn := &bench{s: s}
	batch := &store.Batch{}
	for i := range benchConversations {
		cv, err := s.OpenConversation(ctx, c.ID, "webchat", "bench"+strconv.Itoa(i))
		if err != nil {
			b.Fatal(err)
		}
		id := store.NewID()
		bn.convs, bn.execs, bn.versions = append(bn.convs, cv.ID), append(bn.execs, id), append(bn.versions, 1)
		batch.Add(&store.Unit{Execution: &store.ExecutionWrite{Execution: store.Execution{ID: id, ConversationID: cv.ID,
			Flow: "support", ProgramVersion: "v1", Status: store.ExecutionWaiting, Payload: benchExecPayload}}})
	}
	res, err := s.Commit(ctx, batch)
	if err != nil {
		b.Fatal(err)
	}
	for _, r := range res {
		if r.Outcome != store.Committed {
			b.Fatalf("setup: %v %s %v", r.Outcome, r.Reason, r.Err)
		}
	}
	return bn
}

// unit returns the next unit for conversation i.
func (bn *bench) unit(i int) *store.Unit {
	return benchUnit(bn.convs[i], bn.execs[i], bn.versions[i], bn.seq.Add(1))
}

// benchUnit is one webhook's three writes: the inbound message, the
// execution's new state, one outbox effect.
func benchUnit(convID, execID string, version int64, seq uint64) *store.Unit {
	key := "bench-" + strconv.FormatUint(seq, 10)
	return &store.Unit{
		Inbound: &store.Message{ID: store.NewID(), ConversationID: convID, Connector: "webchat", Instance: "default",
			PlatformMessageID: key, Text: "hello, I need help with my order", Payload: benchMessagePayload},
		Execution: &store.ExecutionWrite{Expected: version, Execution: store.Execution{ID: execID, ConversationID: convID,
			Flow: "support", ProgramVersion: "v1", Status: store.ExecutionWaiting, Payload: benchExecPayload}},
		Effects: []store.Effect{{ID: store.NewID(), ExecutionID: execID, Kind: "send", IdempotencyKey: key, Payload: benchEffectPayload}},
	}
}

// BenchGroupCommit measures the GroupCommitter: at each concurrency, that
// many goroutines (webhook handlers) submit units of three writes, each to
// its own conversations; units/s is what a node acknowledges durably.
func BenchGroupCommit(b *testing.B, open func(b *testing.B) store.Store) {
	for _, conc := range []int{1, 10, 100, 1000} {
		bn := newBench(b, open(b)) // once per level, kept across rounds
		b.Run(fmt.Sprintf("conc=%d", conc), func(b *testing.B) {
			g := store.NewGroupCommitter(bn.s, store.GroupOptions{})
			defer g.Close()
			var next atomic.Int64
			var wg sync.WaitGroup
			var failed atomic.Value
			b.ResetTimer()
			start := time.Now()
			for w := range conc {
				wg.Go(func() {
					// Goroutine w owns the conversations i ≡ w (mod conc).
					i := w
					for next.Add(1) <= int64(b.N) {
						r, err := g.Submit(context.Background(), bn.unit(i))
						if err != nil || r.Outcome != store.Committed {
							failed.Store(fmt.Sprintf("%v %v %v", r.Outcome, r.Reason, err))
							return
						}
						bn.versions[i]++
						if i += conc; i >= benchConversations {
							i = w
						}
					}
				})
			}
			wg.Wait()
			elapsed := time.Since(start)
			b.StopTimer()
			if f := failed.Load(); f != nil {
				b.Fatal(f)
			}
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "units/s")
		})
	}
}

// BenchCommit measures Commit alone with fixed batch sizes (the figures
// DESIGN.md quotes: one unit per transaction, groups of 10, 100, 1000).
func BenchCommit(b *testing.B, open func(b *testing.B) store.Store) {
	for _, size := range []int{1, 10, 100, 1000} {
		bn := newBench(b, open(b))
		cursor := 0
		b.Run(fmt.Sprintf("batch=%d", size), func(b *testing.B) {
			ctx := context.Background()
			b.ResetTimer()
			start := time.Now()
			for done := 0; done < b.N; {
				batch := &store.Batch{}
				var idx []int
				for k := 0; k < size && done < b.N; k++ {
					batch.Add(bn.unit(cursor))
					idx = append(idx, cursor)
					cursor = (cursor + 1) % benchConversations
					done++
				}
				res, err := bn.s.Commit(ctx, batch)
				if err != nil {
					b.Fatal(err)
				}
				for k, r := range res {
					if r.Outcome != store.Committed {
						b.Fatalf("unit %d: %v %s %v", k, r.Outcome, r.Reason, r.Err)
					}
					bn.versions[idx[k]]++
				}
			}
			elapsed := time.Since(start)
			b.StopTimer()
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "units/s")
		})
	}
}
