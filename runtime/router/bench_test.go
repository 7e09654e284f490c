package router

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"
	"time"
)

const benchProgram = `
queue q0 { workers 0 in worker.groups }
queue q1 { workers 1 in worker.groups  order least_busy }
queue q2 { workers 2 in worker.groups  order round_robin }
queue q3 { workers 3 in worker.groups  order worker.level desc }
workflow wf {
  when task.q == 0 -> q0
  when task.q == 1 -> q1
  when task.q == 2 -> q2
  default q3
}
`

// BenchmarkAssign measures one assignment with N tasks waiting across four
// queues and M busy workers (each in two queues, chat capacity 1): a worker
// completes its task and the best waiting task it can take is offered to it
// (and accepted). A new task is enqueued off the clock to keep N constant.
func BenchmarkAssign(b *testing.B) {
	prog := compile(b, benchProgram)
	for _, n := range []int{1000, 10000, 100000} {
		for _, m := range []int{100, 1000, 10000} {
			b.Run(fmt.Sprintf("tasks=%d/workers=%d", n, m), func(b *testing.B) {
				c := check{b}
				r := New(prog)
				rng := rand.New(rand.NewPCG(1, uint64(n*m)))
				now := t0
				seq := 0
				enqueue := func() {
					seq++
					now = now.Add(time.Millisecond)
					c.ok(r.Enqueue(fmt.Sprintf("t%d", seq), "wf", map[string]any{"q": rng.IntN(4)}, rng.IntN(3), "chat", now))
				}
				for range n + m {
					enqueue()
				}
				holding := make([]string, m) // worker i → its task
				for i := range m {
					g := i % 4
					evs := c.ok(r.AddWorker(fmt.Sprintf("w%d", i), map[string]any{
						"groups": []any{g, (g + 1) % 4}, "level": i % 10,
					}, "available", map[string]int{"chat": 1}, now))
					if len(evs) != 2 || evs[1].Type != ReservationCreated {
						b.Fatalf("worker %d: %v", i, evs)
					}
					c.ok(r.Accept(evs[1].Reservation, now))
					holding[i] = evs[1].Task
				}
				if got := len(r.tasks) - m; got != n {
					b.Fatalf("%d tasks waiting, want %d", got, n)
				}
				runtime.GC() // setup garbage must not be collected on the clock
				b.ReportAllocs()
				b.ResetTimer()
				for i := range b.N {
					wi := i % m
					now = now.Add(time.Millisecond)
					evs := c.ok(r.Complete(holding[wi], now))
					res := evs[len(evs)-1]
					if res.Type != ReservationCreated || res.Worker != fmt.Sprintf("w%d", wi) {
						b.Fatalf("no offer to w%d: %v", wi, evs)
					}
					c.ok(r.Accept(res.Reservation, now))
					holding[wi] = res.Task
					b.StopTimer()
					enqueue()
					b.StartTimer()
				}
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "assignments/s")
			})
		}
	}
}

// BenchmarkRestore measures a new leader's restore of N waiting tasks
// (four queues, no worker available): the time of one Restore, and the
// heap the router keeps for them, per task.
func BenchmarkRestore(b *testing.B) {
	prog := compile(b, benchProgram)
	for _, n := range []int{10000, 100000} {
		b.Run(fmt.Sprintf("tasks=%d", n), func(b *testing.B) {
			rng := rand.New(rand.NewPCG(2, uint64(n)))
			snaps := make([]TaskSnapshot, n)
			for i := range snaps {
				snaps[i] = TaskSnapshot{ID: fmt.Sprintf("t%d", i), Workflow: "wf", Attributes: map[string]any{"q": rng.IntN(4)},
					Priority: rng.IntN(3), Channel: "chat", Created: t0.Add(time.Duration(i) * time.Millisecond), State: StateWaiting}
			}
			var heap float64
			b.ReportAllocs()
			for b.Loop() {
				b.StopTimer()
				var before, after runtime.MemStats
				runtime.GC()
				runtime.ReadMemStats(&before)
				b.StartTimer()
				r := New(prog)
				if _, err := r.Restore(snaps, t0.Add(time.Hour)); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				runtime.GC()
				runtime.ReadMemStats(&after)
				heap = float64(after.HeapAlloc) - float64(before.HeapAlloc)
				if len(r.tasks) != n {
					b.Fatalf("%d tasks restored, want %d", len(r.tasks), n)
				}
				b.StartTimer()
			}
			b.ReportMetric(heap/float64(n), "heap-B/task")
		})
	}
}

// BenchmarkOffer measures one offer with W agents ready (each in two of
// the four queues, with room for every task): a task is enqueued, offered
// to the worker its queue's order prefers, accepted and completed. The
// choice among the ready workers is what grows with W.
func BenchmarkOffer(b *testing.B) {
	prog := compile(b, benchProgram)
	for _, w := range []int{100, 1000, 20000} {
		b.Run(fmt.Sprintf("workers=%d", w), func(b *testing.B) {
			c := check{b}
			r := New(prog)
			rng := rand.New(rand.NewPCG(2, uint64(w)))
			now := t0
			for i := range w {
				g := i % 4
				c.ok(r.AddWorker(fmt.Sprintf("w%d", i), map[string]any{
					"groups": []any{g, (g + 1) % 4}, "level": i % 10,
				}, "available", map[string]int{"chat": 1 << 20}, now))
			}
			runtime.GC()
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				now = now.Add(time.Millisecond)
				id := fmt.Sprintf("t%d", i)
				evs := c.ok(r.Enqueue(id, "wf", map[string]any{"q": rng.IntN(4)}, 0, "chat", now))
				res := evs[len(evs)-1]
				if res.Type != ReservationCreated {
					b.Fatalf("task %s not offered: %v", id, evs)
				}
				c.ok(r.Accept(res.Reservation, now))
				c.ok(r.Complete(id, now))
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "offers/s")
		})
	}
}
