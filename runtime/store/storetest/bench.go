package storetest

import (
	"context"
	"encoding/json"
	"errors"
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

// Payloads of the routing benchmark's new-contact step (bench/run.sh): what
// the node writes for a first message that gets a bot reply, sizes as stored.
var (
	benchInboundPayload = json.RawMessage(`{"PlatformID":"lgddc3a6b85f-000000001","Channel":"custom","From":"u-lgddc3a6b85f-000000001","To":"","FromName":"","Text":"what are your opening hours?","Media":null,"Attributes":null,"At":"0001-01-01T00:00:00Z"}`)
	benchReplyPayload   = json.RawMessage(`{"key":"01M87VF2F7F29FSER64A4FWXK1/1","in_reply_to":"01M87VF2F7NAE302SE2K607S0A","send":{"text":"Thanks, a bot will help you"}}`)
	benchEndedPayload   = json.RawMessage(`{"id":"01M87VF2F7F29FSER64A4FWXK1","flow":"route","version":"04ff6c87a3783566","status":"ended","trigger":{"id":"01M87VF2F7NAE302SE2K607S0A","channel":"custom","from":"u-lgddc3a6b85f-pre-1","to":"","text":"what are your opening hours?"},"frames":[{"flow":"route","state":1,"vars":{}}],"seq":2}`)
	benchWaitingPayload = json.RawMessage(`{"id":"01M87VF2FPWEHMJW14FZ0TKVP2","flow":"route","version":"04ff6c87a3783566","status":"waiting","trigger":{"id":"01M87VF2FPRPN37Q9FSXRKJQ0F","channel":"custom","from":"u-lgddc3a6b85f-pre-19","to":"","text":"I want a live agent"},"frames":[{"flow":"route","state":2,"vars":{},"outputs":{"handoff":{"enqueue":{"task":{"id":"01M87VF2FPWEHMJW14FZ0TKVP2/1","queue":"","worker":""}}}}}],"wait":{"id":"01M87VF2FPWEHMJW14FZ0TKVP2/1","kind":"task","task":"01M87VF2FPWEHMJW14FZ0TKVP2/1"},"seq":2}`)
)

// NewContactUnit is the unit the node commits for the first message of a
// new contact in bench/run.sh's routing flow: the contact with its address,
// its conversation, the inbound message, a new execution and either (every
// tenth unit, a "live agent" message) a task with the execution waiting
// for it, or an inline bot reply stored as an outbound message with the
// execution ended.
func NewContactUnit(seq uint64) *store.Unit {
	n := strconv.FormatUint(seq, 10)
	contactID, convID, msgID, execID := store.NewID(), store.NewID(), store.NewID(), store.NewID()
	u := &store.Unit{
		Contact:      &store.NewContact{ID: contactID, Channel: "custom", Address: "u-bench-" + n},
		Conversation: &store.NewConversation{ID: convID, ContactID: contactID, Channel: "custom", Instance: "default"},
		Inbound: &store.Message{ID: msgID, ConversationID: convID, Direction: store.Inbound, Connector: "custom", Instance: "default",
			PlatformMessageID: "bench-" + n, Text: "what are your opening hours?", Payload: benchInboundPayload},
		Execution: &store.ExecutionWrite{Execution: store.Execution{ID: execID, ConversationID: convID,
			Flow: "route", ProgramVersion: "04ff6c87a3783566", Status: store.ExecutionEnded, Payload: benchEndedPayload}},
	}
	if seq%10 == 0 {
		u.Inbound.Text = "I want a live agent"
		u.Execution.Execution.Status, u.Execution.Execution.Payload = store.ExecutionWaiting, benchWaitingPayload
		u.Tasks = []store.Task{{ID: execID + "/1", ConversationID: convID, ContactID: contactID, ExecutionID: execID,
			Workflow: "support_routing", Attributes: json.RawMessage("null")}}
	} else {
		u.Messages = []store.Message{{ID: store.NewID(), ConversationID: convID, Direction: store.Outbound, Connector: "custom",
			Instance: "default", Text: "Thanks, a bot will help you", Payload: benchReplyPayload}}
	}
	return u
}

// BenchCommitNewContacts measures Commit of batches of NewContactUnit, the
// group commit's work in bench/run.sh (64 connections: batches of up to 64
// units; the runtime's figures show about 30 per batch under that load).
// The store keeps growing across rounds, as the server's does.
func BenchCommitNewContacts(b *testing.B, open func(b *testing.B) store.Store) {
	BenchCommitNewContactsServer(b, open, nil)
}

// BenchCommitNewContactsServer is BenchCommitNewContacts for a store with a
// server of its own: serverCPU returns the CPU time the server has spent on
// the store's connections so far, reported per unit as server-cpu-µs/unit.
func BenchCommitNewContactsServer(b *testing.B, open func(b *testing.B) store.Store, serverCPU func(store.Store) time.Duration) {
	for _, size := range []int{1, 32, 64} {
		s := open(b)
		var seq uint64
		b.Run(fmt.Sprintf("batch=%d", size), func(b *testing.B) {
			ctx := context.Background()
			b.ResetTimer()
			var server0 time.Duration
			if serverCPU != nil {
				server0 = serverCPU(s)
			}
			start, cpu0 := time.Now(), cpuTime()
			for done := 0; done < b.N; {
				batch := &store.Batch{}
				for k := 0; k < size && done < b.N; k++ {
					seq++
					batch.Add(NewContactUnit(seq))
					done++
				}
				res, err := s.Commit(ctx, batch)
				if err != nil {
					b.Fatal(err)
				}
				for k, r := range res {
					if r.Outcome != store.Committed {
						b.Fatalf("unit %d: %v %s %v", k, r.Outcome, r.Reason, r.Err)
					}
				}
			}
			elapsed, cpu := time.Since(start), cpuTime()-cpu0
			b.StopTimer()
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "units/s")
			// The process's CPU time per unit: less sensitive than the wall
			// time to other processes competing for the cores.
			b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-µs/unit")
			if serverCPU != nil {
				b.ReportMetric(float64((serverCPU(s)-server0).Microseconds())/float64(b.N), "server-cpu-µs/unit")
			}
		})
	}
}

// BenchInboundReads measures the reads an inbound message makes before its
// unit is committed: its contact by address, the contact's open
// conversation, the conversation's live execution (a tenth of them wait,
// the others have ended), and the dedupe lookup of a message not seen
// before; ns/op is the four together.
func BenchInboundReads(b *testing.B, open func(b *testing.B) store.Store) {
	s := open(b)
	ctx := context.Background()
	const contacts = 256
	batch := &store.Batch{}
	for i := range contacts {
		batch.Add(NewContactUnit(uint64(i + 1)))
	}
	if _, err := s.Commit(ctx, batch); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		u := batch.Units[i%contacts]
		c, err := s.LookupContact(ctx, u.Contact.Channel, u.Contact.Address)
		if err != nil {
			b.Fatal(err)
		}
		cv, err := s.LookupConversation(ctx, c.ID, u.Conversation.Channel, u.Conversation.Instance)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := s.LiveExecution(ctx, cv.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
			b.Fatal(err)
		}
		if _, err := s.FindMessage(ctx, u.Inbound.Connector, u.Inbound.Instance, "unseen"); !errors.Is(err, store.ErrNotFound) {
			b.Fatalf("FindMessage of an unseen message: %v", err)
		}
	}
}
