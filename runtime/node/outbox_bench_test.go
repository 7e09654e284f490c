package node_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/switchboard-dev/switchboard/compiler"
	"github.com/switchboard-dev/switchboard/connectors"
	"github.com/switchboard-dev/switchboard/connectors/connectortest"
	"github.com/switchboard-dev/switchboard/runtime/node"
	"github.com/switchboard-dev/switchboard/runtime/store"
)

// outboxSends is how many sends BenchmarkOutboxDeliveries queues.
const outboxSends = 20_000

// BenchmarkOutboxDeliveries measures how fast a node on SQLite works off
// a backlog: outboxSends conversations each get a message whose flow
// sends a reply, with the outbox stopped; then the node runs with serve's
// 16 workers until every reply is done in the store. The platform answers
// at once, or after a fixed delay standing for its round trip. Reported:
// deliveries a second, and the process's CPU time a delivery (user and
// system) while the outbox works. Run it with -benchtime 1x: each
// iteration is a backlog.
func BenchmarkOutboxDeliveries(b *testing.B) {
	sources := []compiler.Source{{Name: "t.flow", Src: []byte("flow reply {\n  answer: send \"hello\" -> done\n}\n")}}
	prog, list := compiler.CompileSources(sources, compiler.Options{})
	if prog == nil {
		b.Fatal(list)
	}
	for _, delay := range []time.Duration{0, time.Millisecond} {
		b.Run(fmt.Sprintf("platform=%v", delay), func(b *testing.B) {
			var elapsed, cpu time.Duration
			for range b.N {
				e, c := outboxBacklog(b, prog, sources, delay)
				elapsed, cpu = elapsed+e, cpu+c
			}
			n := float64(b.N * outboxSends)
			b.ReportMetric(n/elapsed.Seconds(), "deliveries/s")
			b.ReportMetric(float64(cpu.Microseconds())/n, "cpu-µs/delivery")
			b.ReportMetric(0, "ns/op") // the setup dominates it
		})
	}
}

// outboxBacklog queues outboxSends replies on a new node and returns how
// long the node's Run took to deliver and record them all, and the CPU
// time the process spent meanwhile.
func outboxBacklog(b *testing.B, prog *compiler.Program, sources []compiler.Source, delay time.Duration) (elapsed, cpu time.Duration) {
	b.StopTimer()
	ctx := context.Background()
	st, err := store.Open(ctx, "sqlite:"+filepath.Join(b.TempDir(), "sb.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	fake := &connectortest.Fake{Channel: "webchat"}
	if delay > 0 {
		fake.SendHook = func(*connectors.Outbound) error { time.Sleep(delay); return nil }
	}
	n, err := node.New(ctx, node.Config{Store: st, Program: prog, Sources: sources,
		Channels: map[string]connectors.Connector{"fake/default": fake}})
	if err != nil {
		b.Fatal(err)
	}
	defer n.Close()
	var wg sync.WaitGroup
	const senders = 32
	for s := range senders {
		wg.Go(func() {
			for i := s; i < outboxSends; i += senders {
				in := connectors.Inbound{PlatformID: fmt.Sprintf("m%d", i), Channel: "webchat", From: fmt.Sprintf("u%d", i), Text: "hi"}
				if _, err := n.Receive(ctx, "fake", "default", in, false); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if b.Failed() {
		b.FailNow()
	}

	b.StartTimer()
	cpu0, began := cpuTime(), time.Now()
	runCtx, stop := context.WithCancel(ctx)
	ran := make(chan struct{})
	go func() {
		defer close(ran)
		n.Run(runCtx, 16)
	}()
	wait, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	if _, err := fake.WaitSent(wait, outboxSends); err != nil {
		b.Fatalf("sent %d of %d: %v", len(fake.Sent()), outboxSends, err)
	}
	for {
		stats, err := st.OutboxStats(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if stats[store.EffectDone] >= outboxSends {
			break
		}
		if wait.Err() != nil {
			b.Fatalf("outbox %v", stats)
		}
		time.Sleep(5 * time.Millisecond)
	}
	elapsed, cpu = time.Since(began), cpuTime()-cpu0
	b.StopTimer()
	stop()
	<-ran
	return elapsed, cpu
}

// cpuTime is the CPU time the process has used, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
