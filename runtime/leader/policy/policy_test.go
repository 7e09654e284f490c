package policy_test

import (
	"strings"
	"testing"
	"time"

	"github.com/switchboard-dev/switchboard/compiler"
	"github.com/switchboard-dev/switchboard/runtime/leader/policy"
	"github.com/switchboard-dev/switchboard/runtime/router"
	"github.com/switchboard-dev/switchboard/runtime/store"
)

const src = `
flow f {
  channels webchat
  h: enqueue w {} -> done
}
queue agents { workers worker.team == "a" }
queue experts { workers worker.team == "x" }
workflow w { default agents }
`

func compile(t *testing.T) *compiler.Program {
	t.Helper()
	prog, list := compiler.CompileSources([]compiler.Source{{Name: "f.flow", Src: []byte(src)}}, compiler.Options{})
	if prog == nil {
		t.Fatal(list)
	}
	return prog
}

var t0 = time.Date(2026, 1, 5, 15, 0, 0, 0, time.UTC)

// drive applies a router call's events to the followed tasks.
func drive(t *testing.T, k *policy.Tasks, evs []router.Event, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range evs {
		k.Apply(e)
	}
}

// A warm transfer's offer is answered by its destination while the task
// stays with the transferring worker; a cold one frees the task at once.
func TestTasksFollowTransfers(t *testing.T) {
	cfg := policy.Config{}.WithDefaults()
	r := cfg.New(compile(t))
	k := policy.NewTasks()
	for _, w := range []struct{ id, team string }{{"ana", "a"}, {"xan", "x"}} {
		_, err := r.AddWorker(w.id, map[string]any{"team": w.team}, "available", policy.DefaultCapacity, t0)
		if err != nil {
			t.Fatal(err)
		}
	}
	task := &policy.Task{ID: "t1"}
	k.Track(task)
	evs, err := r.Enqueue("t1", "w", map[string]any{}, 0, "chat", t0)
	drive(t, k, evs, err)
	if task.Status != store.TaskReserved || task.Worker != "ana" || k.Holder(task.Res) != "ana" {
		t.Fatalf("offered: %+v", task)
	}
	evs, err = r.Accept(task.Res, t0)
	drive(t, k, evs, err)
	evs, err = r.Transfer("t1", router.TransferTarget{Queue: "experts"}, true, t0)
	drive(t, k, evs, err)
	if task.Status != store.TaskAssigned || task.Worker != "ana" || task.OfferTo != "xan" || k.Holder(task.Offer) != "xan" {
		t.Fatalf("warm transfer: %+v", task)
	}
	evs, err = r.Accept(task.Offer, t0)
	drive(t, k, evs, err)
	if task.Worker != "xan" || task.Queue != "experts" || task.Offer != "" {
		t.Fatalf("handed over: %+v", task)
	}
	evs, err = r.Transfer("t1", router.TransferTarget{Queue: "agents"}, false, t0)
	drive(t, k, evs, err)
	if task.Status != store.TaskReserved || task.Worker != "ana" {
		t.Fatalf("cold transfer: %+v", task)
	}
	evs, err = r.Cancel("t1", t0)
	drive(t, k, evs, err)
	if !task.Closed || task.Status != store.TaskCanceled {
		t.Fatalf("canceled: %+v", task)
	}
}

func TestDefaultsAndActivities(t *testing.T) {
	cfg := policy.Config{}.WithDefaults()
	if cfg.ReservationTimeout != 30*time.Second || cfg.MissedLimit != 3 || cfg.MissedActivity != "away" || cfg.WrapUp != 0 ||
		cfg.ReofferAfter != 2*time.Minute {
		t.Errorf("defaults: %+v", cfg)
	}
	if err := cfg.CheckActivity("break"); err != nil {
		t.Error(err)
	}
	err := cfg.CheckActivity("avaliable")
	if err == nil || !strings.Contains(err.Error(), `unknown activity "avaliable" (known: ["available","away","break","busy","offline"])`) {
		t.Errorf("got %v", err)
	}
}

// ChangeWorker moves a worker between queues and offers it work at once.
func TestChangeWorker(t *testing.T) {
	r := policy.Config{}.WithDefaults().New(compile(t))
	if _, err := r.AddWorker("ana", map[string]any{"team": "x"}, "break", nil, t0); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Enqueue("t1", "w", map[string]any{}, 0, "chat", t0); err != nil {
		t.Fatal(err)
	}
	evs, err := policy.ChangeWorker(r, "ana", policy.WorkerChange{Attributes: map[string]any{"team": "a"}, Capacity: map[string]int{"chat": 1}, Activity: "available"}, t0)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range evs {
		got = append(got, string(e.Type))
	}
	want := "worker.attributes worker.capacity worker.activity reservation.created"
	if strings.Join(got, " ") != want {
		t.Errorf("events %v, want %s", got, want)
	}
	if _, err := policy.ChangeWorker(r, "zed", policy.WorkerChange{Activity: "break"}, t0); err == nil {
		t.Error("unknown worker: no error")
	}
}

// A task its only worker rejected goes back to them after ReofferAfter,
// and never with a negative ReofferAfter.
func TestReofferAfter(t *testing.T) {
	for _, tt := range []struct {
		name  string
		after time.Duration
		want  bool
	}{
		{"default", 0, true},
		{"never", -1, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := policy.Config{ReofferAfter: tt.after}.WithDefaults()
			r := cfg.New(compile(t))
			if _, err := r.AddWorker("ana", map[string]any{"team": "a"}, "available", policy.DefaultCapacity, t0); err != nil {
				t.Fatal(err)
			}
			evs, err := r.Enqueue("t1", "w", map[string]any{}, 0, "chat", t0)
			if err != nil || len(evs) != 2 || evs[1].Type != router.ReservationCreated {
				t.Fatalf("enqueue: %v %v", evs, err)
			}
			if _, err := r.Reject(evs[1].Reservation, t0); err != nil {
				t.Fatal(err)
			}
			evs = r.Tick(t0.Add(policy.DefaultReofferAfter))
			got := len(evs) == 1 && evs[0].Type == router.ReservationCreated && evs[0].Worker == "ana"
			if got != tt.want {
				t.Errorf("offered again: %v, want %v (%v)", got, tt.want, evs)
			}
		})
	}
}
