// Package leader is the router's leader: every node competes for one
// store lease, and the node holding it keeps the router core
// (runtime/router) in memory, fed from the store's routing inbox (new and
// canceled tasks, the API's commands). Each round's changes — task and
// reservation rows, workers, the event log, the flows' task outcomes as
// timers, the event webhook's deliveries — are written in one fenced
// transaction, so a deposed leader cannot write.
package leader

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"runtime/debug"
	"slices"
	"sort"
	"sync/atomic"
	"time"

	"github.com/switchboard-dev/switchboard/compiler"
	"github.com/switchboard-dev/switchboard/connectors"
	"github.com/switchboard-dev/switchboard/runtime/effect"
	"github.com/switchboard-dev/switchboard/runtime/engine"
	"github.com/switchboard-dev/switchboard/runtime/execution"
	"github.com/switchboard-dev/switchboard/runtime/leader/policy"
	"github.com/switchboard-dev/switchboard/runtime/metrics"
	"github.com/switchboard-dev/switchboard/runtime/router"
	"github.com/switchboard-dev/switchboard/runtime/store"
)

// Config configures a Leader.
type Config struct {
	Owner   string // lease owner name
	Routing RoutingConfig
	// EventWebhook, when its URL is set, receives every change the leader
	// makes, through the outbox (KindRouterEvents rows).
	EventWebhook EventWebhook
	// Retry is how often a node that does not lead tries to take the
	// leadership: a dead leader is replaced this fast.
	Retry   time.Duration
	Logger  *slog.Logger
	Metrics *metrics.Registry
}

// Leader competes for the router's leadership and, while it holds it,
// drives the router core from the store.
type Leader struct {
	cfg          Config
	core         *execution.Core
	store        store.Store
	log          *slog.Logger
	leading      atomic.Bool // this node is the router leader
	routerEvents *metrics.CounterVec
}

// New returns a Leader for the node of core; Run makes it compete.
func New(core *execution.Core, cfg Config) *Leader {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Retry == 0 {
		cfg.Retry = 2 * time.Second
	}
	reg := cfg.Metrics
	if reg == nil {
		reg = &metrics.Registry{}
	}
	n := &Leader{cfg: cfg, core: core, store: core.Store(), log: cfg.Logger}
	n.routerEvents = reg.Counter("switchboard_router_events_total", "Router events applied by this node as leader, by type.", "type")
	reg.Gauge("switchboard_router_leader", "1 while this node is the router leader.", "owner", func() map[string]float64 {
		v := 0.0
		if n.leading.Load() {
			v = 1
		}
		return map[string]float64{n.cfg.Owner: v}
	})
	return n
}

// leaseName is the lease the router leader holds.
const leaseName = "router"

// Run competes for the router leadership until ctx ends; while it leads,
// it drives the router from the store's inbox. Every node runs it; one
// leads at a time, and another takes over within seconds of its death.
func (n *Leader) Run(ctx context.Context) {
	leaser, ok := n.store.(store.Leaser)
	if !ok {
		n.log.Error("the store cannot elect a router leader; tasks stay waiting")
		return
	}
	for ctx.Err() == nil {
		lease, ok, err := leaser.TryLead(ctx, leaseName)
		if err != nil && ctx.Err() == nil {
			n.log.Error("router leadership", "err", err)
		}
		if ok {
			n.log.Info("router leader", "owner", n.cfg.Owner)
			n.leading.Store(true)
			err := n.lead(ctx, lease)
			n.leading.Store(false)
			lease.Release()
			if err != nil && ctx.Err() == nil {
				n.log.Error("router leader stopped", "err", err)
			}
		}
		select {
		case <-ctx.Done():
		case <-time.After(n.cfg.Retry):
		}
	}
}

// Leading reports whether this node is the router leader now.
func (n *Leader) Leading() bool { return n.leading.Load() }

// leader is the router's state on the leading node.
type leader struct {
	n       *Leader
	cfg     RoutingConfig
	r       *router.Router
	prog    *compiler.Program
	tasks   map[string]*liveTask
	follow  *policy.Tasks // where each task stands, from the events
	workers map[string]store.Worker
	cum     *router.Cumulative
	fence   *store.Fence // every write is made under this leadership

	// one transaction being built
	w       *store.RoutingWrite
	dirty   map[string]bool // tasks whose row changes
	answers map[int64][]int // a command's seq → the indexes in w.Events of the events it caused
}

type liveTask struct {
	policy.Task // Closed: ended; the row says routed = closed
	row         store.Task
	channel     string
	byFlow      bool // ended by its flow (no outcome to send back)
	// attrs, when set, are the attributes the router routes the task on,
	// written to its row with the next commit: task.last_worker shows there.
	attrs json.RawMessage
}

// bigRestore is the number of tasks from which a rebuild returns its
// garbage to the system at once.
const bigRestore = 10_000

func (n *Leader) lead(ctx context.Context, lease store.Lease) error {
	notifier, _ := n.store.(store.Notifier)
	var wake <-chan struct{}
	if notifier != nil {
		ch, cancel := notifier.Subscribe(store.TopicRouter, "")
		defer cancel()
		wake = ch
	}
	fence := lease.Fence()
	l := &leader{n: n, cfg: n.cfg.Routing.WithDefaults(), fence: &fence}
	began := time.Now()
	if err := l.rebuild(ctx); err != nil {
		return err
	}
	// How long a new leader takes to restore grows with the tasks it finds.
	n.log.Info("router restored", "tasks", len(l.tasks), "workers", len(l.workers), "took", time.Since(began).Round(time.Millisecond))
	if len(l.tasks) >= bigRestore {
		// The rebuild's garbage (pages of rows, every task's events and
		// their commit) is several times what the router keeps: with
		// 100,000 tasks ~1 GB of heap the runtime returned to the system
		// only over minutes, resident all that time.
		debug.FreeOSMemory()
	}
	poll := time.NewTimer(0)
	defer poll.Stop()
	var last time.Time
	for {
		// Under load, wake-ups come faster than rounds are worth: waiting
		// a moment lets one round (one transaction on the store's writer)
		// route everything that arrived meanwhile.
		if gap := minRoundGap - time.Since(last); gap > 0 {
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(gap):
			}
		}
		last = time.Now()
		more, err := l.round(ctx)
		if err != nil {
			return err
		}
		if more {
			continue
		}
		next := time.Second // a missed wake-up costs at most this
		if at, ok := l.r.NextDeadline(); ok {
			if d := at.Sub(n.core.Now()); d < next {
				next = max(d, time.Millisecond)
			}
		}
		poll.Reset(next)
		select {
		case <-ctx.Done():
			return nil
		case <-lease.Lost():
			return errors.New("router leadership lost")
		case <-wake:
		case <-n.core.Deployed():
		case <-poll.C:
		}
	}
}

// minRoundGap is the least time between two rounds of the leader: at most
// this much is added to an offer's latency, and only under load.
const minRoundGap = time.Millisecond

func (l *leader) begin(now time.Time) {
	l.w = &store.RoutingWrite{At: now, Fence: l.fence}
	l.dirty = map[string]bool{}
	l.answers = map[int64][]int{}
}

// commit writes what the round changed, in one transaction.
func (l *leader) commit(ctx context.Context) error {
	ids := slices.Sorted(maps.Keys(l.dirty))
	for _, id := range ids {
		t := l.tasks[id]
		routed := store.RoutedLive
		if t.Closed {
			routed = store.RoutedClosed
		}
		l.w.Tasks = append(l.w.Tasks, store.TaskRouting{ID: id, Status: t.Status, Queue: t.Queue, WorkerID: t.Worker, Routed: routed, Attributes: t.attrs})
		t.attrs = nil
		if t.Closed {
			delete(l.tasks, id)
			l.follow.Forget(id)
		}
	}
	w := l.w
	if answers := l.answers; len(answers) > 0 {
		// The log gives the events their seqs as it writes them: only
		// then can a command's answer carry them.
		w.Answer = func() {
			for i, c := range w.Commands {
				if idx, ok := answers[c.Seq]; ok && c.Status == store.CommandDone {
					logged := make([]store.RouterEvent, len(idx))
					for j, k := range idx {
						logged[j] = w.Events[k]
					}
					w.Commands[i].Result = mustJSON(map[string]any{"events": logged})
				}
			}
		}
	}
	l.w, l.dirty, l.answers = nil, nil, nil
	if hook := l.n.cfg.EventWebhook; hook.URL != "" && len(w.Events) > 0 {
		id := store.NewID()
		w.Effects = append(w.Effects, store.Effect{ID: id, Kind: KindRouterEvents, IdempotencyKey: id,
			Payload: mustJSON(EventDelivery{URL: hook.URL, Events: w.Events})})
	}
	if len(w.Tasks)+len(w.Workers)+len(w.Events)+len(w.Commands)+len(w.Reservations)+len(w.Timers)+len(w.DeleteWorkers) == 0 {
		return nil
	}
	if err := l.n.store.ApplyRouting(ctx, w); err != nil {
		return err
	}
	if len(w.Effects) > 0 {
		l.n.core.WakeOutbox() // a caller waits for its agent's connection
	}
	return nil
}

// rebuild loads the workers and open tasks into a new router.
func (l *leader) rebuild(ctx context.Context) error {
	now := l.n.core.Now()
	l.prog = l.n.core.Active()
	l.r = l.cfg.New(l.prog, router.WithReservationIDs(store.NewID))
	l.tasks, l.follow, l.workers = map[string]*liveTask{}, policy.NewTasks(), map[string]store.Worker{}
	l.cum = router.NewCumulative(l.cfg.StatsWindow, l.cfg.ServiceLevels)
	if err := l.replayStats(ctx, now); err != nil {
		return err
	}
	l.begin(now)
	workers, err := l.n.store.ListWorkers(ctx)
	if err != nil {
		return err
	}
	for _, w := range workers {
		l.workers[w.ID] = w
		// Restoring is not news: the events of the rebuild are not logged.
		if _, err := l.r.AddWorker(w.ID, attrsOf(w.Attributes), w.Activity, w.Capacity, now); err != nil {
			return fmt.Errorf("restoring worker %s: %w", w.ID, err)
		}
	}
	var snaps []router.TaskSnapshot
	for _, status := range []store.TaskStatus{store.TaskWaiting, store.TaskReserved, store.TaskAssigned, store.TaskWrapping} {
		page := store.Page{Limit: store.MaxPageLimit}
		for {
			tasks, next, err := l.n.store.ListTasks(ctx, status, page)
			if err != nil {
				return err
			}
			for _, t := range tasks {
				lt := l.track(t)
				// A task a leader routed before shows its last worker: only
				// the others need the read, one each.
				attrs, err := lt.routingAttributes(func() (string, error) { return l.n.store.LastWorker(ctx, t.ContactID) })
				if err != nil {
					return err
				}
				s := router.TaskSnapshot{ID: t.ID, Workflow: t.Workflow, Attributes: attrs, Priority: t.Priority,
					Channel: lt.channel, Created: t.CreatedAt, State: router.StateWaiting}
				if (status == store.TaskAssigned || status == store.TaskWrapping) && l.workers[t.WorkerID].ID != "" {
					s.State, s.Worker, s.Queue = router.StateAssigned, t.WorkerID, t.Queue
					if status == store.TaskWrapping {
						s.State = router.StateWrapping
					}
					if rs, err := l.n.store.ListReservations(ctx, store.ReservationFilter{TaskID: t.ID, WorkerID: t.WorkerID}); err == nil && len(rs) > 0 {
						s.Reservation = rs[len(rs)-1].ID
					}
				}
				if status != store.TaskWaiting {
					// Its offer died with the old leader: rescinded. A reserved
					// task is offered again; an assigned task's offer was a warm
					// transfer's, which the restored router does not know, so
					// the transfer fails and the task stays with its worker.
					rs, err := l.n.store.ListReservations(ctx, store.ReservationFilter{TaskID: t.ID, Status: store.ReservationPending})
					if err != nil {
						return err
					}
					for _, r := range rs {
						l.w.Reservations = append(l.w.Reservations, store.Reservation{ID: r.ID, TaskID: r.TaskID, WorkerID: r.WorkerID, Status: store.ReservationRescinded})
						l.w.Events = append(l.w.Events, store.RouterEvent{Type: "reservation.rescinded", Time: now, TaskID: r.TaskID, ReservationID: r.ID, WorkerID: r.WorkerID, Queue: t.Queue})
					}
					if len(rs) > 0 && s.Worker != "" {
						l.w.Events = append(l.w.Events, store.RouterEvent{Type: "task.transfer_failed", Time: now, TaskID: t.ID, ReservationID: s.Reservation,
							WorkerID: s.Worker, Queue: t.Queue, Data: mustJSON(map[string]any{"reason": "router restarted"})})
					}
				}
				snaps = append(snaps, s)
			}
			if next == "" {
				break
			}
			page.After = next
		}
	}
	// Oldest first, as they arrived: equal times (one batch) keep the order
	// of their ids, which are sortable.
	sort.SliceStable(snaps, func(i, j int) bool {
		if !snaps[i].Created.Equal(snaps[j].Created) {
			return snaps[i].Created.Before(snaps[j].Created)
		}
		return snaps[i].ID < snaps[j].ID
	})
	evs, err := l.r.Restore(snaps, now)
	if err != nil {
		return fmt.Errorf("restoring tasks: %w", err)
	}
	l.record(ctx, evs)
	return l.commit(ctx)
}

// routingAttributes are what the router routes the task on: its row's
// attributes with task.last_worker, which lastWorker reads only when the
// row does not show it yet (its flow set it, or a leader routed it
// before). When the router adds it, the row shows it from the next commit.
func (lt *liveTask) routingAttributes(lastWorker func() (string, error)) (map[string]any, error) {
	attrs := attrsOf(lt.row.Attributes)
	if _, shown := attrs["last_worker"]; shown {
		return attrs, nil
	}
	last, err := lastWorker()
	if err != nil {
		return nil, err
	}
	attrs = policy.TaskAttributes(attrs, last)
	lt.attrs = mustJSON(attrs)
	return attrs, nil
}

// track starts following a task row.
func (l *leader) track(t store.Task) *liveTask {
	if lt := l.tasks[t.ID]; lt != nil {
		return lt
	}
	lt := &liveTask{Task: policy.Task{ID: t.ID, Status: t.Status, Queue: t.Queue, Worker: t.WorkerID}, row: t, channel: t.Channel}
	l.follow.Track(&lt.Task)
	l.tasks[t.ID] = lt
	l.dirty[t.ID] = true // routed = live from now on
	return lt
}

// round applies what the inbox holds and what is due; it reports whether
// the inbox may hold more.
func (l *leader) round(ctx context.Context) (bool, error) {
	const batch = 256
	if prog := l.n.core.Active(); prog != l.prog {
		l.prog = prog
		l.begin(l.n.core.Now())
		l.record(ctx, l.r.SetProgram(prog, l.n.core.Now()))
		if err := l.commit(ctx); err != nil {
			return false, err
		}
	}
	in, err := l.n.store.RoutingInbox(ctx, batch)
	if err != nil {
		return false, err
	}
	now := l.n.core.Now()
	l.begin(now)
	for _, nt := range in.NewTasks {
		t := nt.Task
		if l.tasks[t.ID] != nil { // restored already
			l.dirty[t.ID] = true
			continue
		}
		lt := l.track(t)
		if t.Status != store.TaskWaiting { // canceled before the router saw it
			lt.Closed, lt.byFlow = true, true
			continue
		}
		attrs, _ := lt.routingAttributes(func() (string, error) { return nt.LastWorker, nil }) // the inbox read it
		evs, err := l.r.Enqueue(t.ID, t.Workflow, attrs, t.Priority, lt.channel, now)
		if err != nil {
			// A workflow the program lacks (a redeploy removed it): the
			// flow gets the task's failure at once.
			l.n.log.Warn("task cannot be routed", "task", t.ID, "err", err)
			lt.Status, lt.Closed = store.TaskCanceled, true
			l.outcome(ctx, lt, compiler.OutFailed)
			l.w.Events = append(l.w.Events, store.RouterEvent{Type: "task.failed", Time: now, TaskID: t.ID, Data: mustJSON(map[string]any{"reason": err.Error()})})
			continue
		}
		l.record(ctx, evs)
	}
	for _, t := range in.Closed {
		lt := l.tasks[t.ID]
		if lt == nil {
			l.w.Tasks = append(l.w.Tasks, store.TaskRouting{ID: t.ID, Status: t.Status, Queue: t.Queue, WorkerID: t.WorkerID, Routed: store.RoutedClosed})
			continue
		}
		lt.byFlow = true
		evs, err := l.r.Cancel(t.ID, now)
		if err != nil && !errors.Is(err, router.ErrUnknownTask) {
			return false, err
		}
		l.record(ctx, evs)
		lt.Status, lt.Closed = t.Status, true
		l.dirty[t.ID] = true
	}
	for _, c := range in.Commands {
		result, cerr := l.apply(ctx, c, now)
		done := store.Command{Seq: c.Seq, Status: store.CommandDone, Result: result}
		if cerr != nil {
			done.Status, done.Error, done.Result = store.CommandFailed, cerr.Code+": "+cerr.Msg, nil
		}
		l.w.Commands = append(l.w.Commands, done)
	}
	l.record(ctx, l.r.Tick(now))
	if err := l.commit(ctx); err != nil {
		return false, err
	}
	return len(in.Commands) == batch || len(in.NewTasks) == batch || len(in.Closed) == batch, nil
}

// apply runs one command against the router.
func (l *leader) apply(ctx context.Context, c store.Command, now time.Time) (json.RawMessage, *CommandError) {
	var a CommandArgs
	if err := json.Unmarshal(c.Args, &a); err != nil {
		return nil, Refuse("invalid", "arguments: %v", err)
	}
	// own checks that the actor holds the reservation or task.
	ownTask := func(id string) (*liveTask, *CommandError) {
		t := l.tasks[id]
		if t == nil {
			return nil, Refuse("not_found", "no open task %q", id)
		}
		if a.Actor != "" && t.Worker != a.Actor {
			return nil, Refuse("forbidden", "task %q is not yours", id)
		}
		return t, nil
	}
	ownReservation := func(id string) *CommandError {
		holder := l.follow.Holder(id)
		if holder == "" {
			return Refuse("not_found", "no pending reservation %q", id)
		}
		if a.Actor != "" && holder != a.Actor {
			return Refuse("forbidden", "reservation %q is not yours", id)
		}
		return nil
	}
	var evs []router.Event
	var err error
	switch c.Kind {
	case CmdPutWorker:
		return l.putWorker(a, now)
	case CmdStats:
		return mustJSON(statsJSON(l.r.Stats(now), l.cum.Snapshot(now))), nil
	case CmdWaiting:
		return l.waiting(a, now)
	case CmdLoads:
		return l.loads()
	case CmdDeleteWorker:
		if _, ok := l.workers[a.Worker]; !ok {
			return nil, Refuse("not_found", "no worker %q", a.Worker)
		}
		if evs, err = l.r.RemoveWorker(a.Worker, now); err == nil {
			delete(l.workers, a.Worker)
			// The store deletes before it writes workers, so a worker created
			// again in this round is a new one (with new tokens), and one
			// created earlier in the round must not be written after its delete.
			l.w.Workers = slices.DeleteFunc(l.w.Workers, func(w store.Worker) bool { return w.ID == a.Worker })
			l.w.DeleteWorkers = append(l.w.DeleteWorkers, a.Worker)
		}
	case CmdActivity:
		if a.Actor != "" && a.Actor != a.Worker {
			return nil, Refuse("forbidden", "a worker sets only its own activity")
		}
		if err := l.cfg.CheckActivity(a.Activity); err != nil {
			return nil, Refuse("invalid", "%v", err)
		}
		evs, err = l.r.SetActivity(a.Worker, a.Activity, now)
	case CmdAccept, CmdReject:
		if ce := ownReservation(a.Reservation); ce != nil {
			return nil, ce
		}
		if c.Kind == CmdAccept {
			evs, err = l.r.Accept(a.Reservation, now)
		} else {
			evs, err = l.r.Reject(a.Reservation, now)
		}
	case CmdWrapUp, CmdComplete, CmdTransfer, CmdCancel, CmdBounce:
		if (c.Kind == CmdCancel || c.Kind == CmdBounce) && a.Actor != "" {
			return nil, Refuse("forbidden", "only an admin cancels a task")
		}
		if _, ce := ownTask(a.Task); ce != nil {
			return nil, ce
		}
		switch c.Kind {
		case CmdWrapUp:
			evs, err = l.r.WrapUp(a.Task, now)
		case CmdComplete:
			evs, err = l.r.Complete(a.Task, now)
		case CmdTransfer:
			evs, err = l.r.Transfer(a.Task, router.TransferTarget{Queue: a.Queue, Worker: a.ToWorker, Timeout: a.Timeout}, a.Warm, now)
		case CmdCancel:
			evs, err = l.r.Cancel(a.Task, now)
		case CmdBounce:
			evs, err = l.r.Bounce(a.Task, a.Reason, now)
		}
	default:
		return nil, Refuse("invalid", "unknown command %q", c.Kind)
	}
	if err != nil {
		return nil, routerError(err)
	}
	from := len(l.w.Events)
	logged := l.record(ctx, evs)
	// record appends each event to the write in order, after from; their
	// seqs replace these zeros once written (see commit).
	idx := make([]int, 0, len(logged))
	for i := from; i < len(l.w.Events); i++ {
		idx = append(idx, i)
	}
	l.answers[c.Seq] = idx
	return mustJSON(map[string]any{"events": logged}), nil
}

func (l *leader) putWorker(a CommandArgs, now time.Time) (json.RawMessage, *CommandError) {
	if a.Worker == "" {
		return nil, Refuse("invalid", "a worker needs an id")
	}
	if a.Attributes != nil {
		var m map[string]any
		if json.Unmarshal(a.Attributes, &m) != nil || m == nil {
			return nil, Refuse("invalid", "attributes must be a JSON object")
		}
	}
	for ch, c := range a.Capacity {
		if c < 0 {
			return nil, Refuse("invalid", "capacity of %s is negative", ch)
		}
	}
	if a.Activity != "" {
		if err := l.cfg.CheckActivity(a.Activity); err != nil {
			return nil, Refuse("invalid", "%v", err)
		}
	}
	w, exists := l.workers[a.Worker]
	var evs []router.Event
	if !exists {
		w = store.Worker{ID: a.Worker, Activity: "offline", Capacity: DefaultCapacity, Attributes: json.RawMessage("{}"), CreatedAt: now}
		if a.Name != nil {
			w.Name = *a.Name
		}
		if a.Attributes != nil {
			w.Attributes = a.Attributes
		}
		if a.Capacity != nil {
			w.Capacity = a.Capacity
		}
		if a.Activity != "" {
			w.Activity = a.Activity
		}
		e, err := l.r.AddWorker(w.ID, attrsOf(w.Attributes), w.Activity, w.Capacity, now)
		if err != nil {
			return nil, routerError(err)
		}
		evs = append(evs, e...)
	} else {
		if a.Name != nil {
			w.Name = *a.Name
		}
		change := policy.WorkerChange{Capacity: a.Capacity}
		if a.Attributes != nil {
			change.Attributes = attrsOf(a.Attributes)
		}
		if a.Activity != w.Activity {
			change.Activity = a.Activity
		}
		e, err := policy.ChangeWorker(l.r, w.ID, change, now)
		if err != nil {
			return nil, routerError(err)
		}
		evs = append(evs, e...)
		if a.Attributes != nil {
			w.Attributes = a.Attributes
		}
		if a.Capacity != nil {
			w.Capacity = a.Capacity
		}
	}
	w.UpdatedAt = now
	l.workers[w.ID] = w
	l.record(context.Background(), evs)
	w = l.workers[w.ID] // activity events updated it
	l.upsertWorker(w)
	return mustJSON(map[string]any{"worker": w}), nil
}

func (l *leader) upsertWorker(w store.Worker) {
	for i := range l.w.Workers {
		if l.w.Workers[i].ID == w.ID {
			l.w.Workers[i] = w
			return
		}
	}
	l.w.Workers = append(l.w.Workers, w)
}

// record turns router events into the round's writes: the task and
// reservation rows, the workers, the event log and the flows' outcomes. It
// returns the events as logged.
func (l *leader) record(ctx context.Context, evs []router.Event) []store.RouterEvent {
	logged := make([]store.RouterEvent, 0, len(evs))
	for _, e := range evs {
		l.cum.Observe(e)
		l.n.routerEvents.Inc(string(e.Type))
		se := store.RouterEvent{Type: string(e.Type), Time: e.Time, TaskID: e.Task, ReservationID: e.Reservation,
			WorkerID: e.Worker, Queue: e.Queue, Data: l.eventData(e)}
		logged = append(logged, se)
		l.w.Events = append(l.w.Events, se)
		t := l.tasks[e.Task]
		if t != nil {
			l.dirty[e.Task] = true
		}
		resRow := func(status store.ReservationStatus) {
			l.w.Reservations = append(l.w.Reservations, store.Reservation{ID: e.Reservation, TaskID: e.Task, WorkerID: e.Worker, Status: status})
		}
		l.follow.Apply(e)
		switch e.Type {
		case router.ReservationCreated:
			resRow(store.ReservationPending)
		case router.ReservationAccepted:
			resRow(store.ReservationAccepted)
			if t != nil && t.channel == "voice" {
				l.connect(t, e.Worker)
			} else if t != nil {
				l.notice(t, connectors.NoticeJoined, e.Worker)
			}
		case router.ReservationRejected, router.ReservationTimeout, router.ReservationCanceled:
			status := map[router.EventType]store.ReservationStatus{router.ReservationRejected: store.ReservationRejected,
				router.ReservationTimeout: store.ReservationTimeout, router.ReservationCanceled: store.ReservationCanceled}[e.Type]
			resRow(status)
		case router.ReservationTransferred:
			resRow(store.ReservationTransferred)
		case router.ReservationDone:
			resRow(store.ReservationCompleted)
		case router.TaskWrapping:
			if t != nil {
				l.w.Reservations = append(l.w.Reservations, store.Reservation{ID: t.Res, TaskID: e.Task, WorkerID: t.Worker, Status: store.ReservationWrapping})
				l.notice(t, connectors.NoticeLeft, t.Worker)
			}
		case router.TaskCompleted:
			if t != nil {
				l.outcome(ctx, t, compiler.OutCompleted)
				l.notice(t, connectors.NoticeLeft, e.Worker)
			}
		case router.TaskCanceled:
			if t != nil && !t.byFlow {
				l.outcome(ctx, t, compiler.OutCanceled)
			}
		case router.WorkerActivity, router.WorkerCapacity, router.WorkerAttributes:
			if w, ok := l.workers[e.Worker]; ok {
				switch e.Type {
				case router.WorkerActivity:
					w.Activity = e.Activity
				case router.WorkerCapacity:
					w.Capacity = e.Capacity
				case router.WorkerAttributes:
					w.Attributes = mustJSON(e.Attributes)
				}
				l.workers[e.Worker] = w
				l.upsertWorker(w)
			}
		}
	}
	return logged
}

// connect has the outbox put the caller of a voice task through to the
// worker who accepted it, in the round's transaction.
func (l *leader) connect(t *liveTask, worker string) {
	var attrs map[string]any
	_ = json.Unmarshal(l.workers[worker].Attributes, &attrs)
	uri, _ := attrs["contact_uri"].(string)
	id := store.NewID()
	l.w.Effects = append(l.w.Effects, store.Effect{ID: id, Kind: KindCallConnect, IdempotencyKey: id,
		Payload: mustJSON(CallConnect{Task: t.row.ID, Conversation: t.row.ConversationID, Worker: worker, ContactURI: uri})})
}

// notice tells the customer of a chat task what its agent did (joined,
// left), through the outbox, in the round's transaction. A task that went
// through wrap-up says "left" twice (wrapping, completed): the channel
// shows it once.
func (l *leader) notice(t *liveTask, kind connectors.NoticeKind, worker string) {
	if t.channel == "voice" || t.row.ConversationID == "" || worker == "" || t.row.Quiet {
		return
	}
	l.w.Effects = append(l.w.Effects, effect.NoticeRow(effect.NoticePayload{Kind: kind, Conversation: t.row.ConversationID,
		Task: t.row.ID, Worker: worker}))
}

// outcome resumes the task's flow at the matching outcome: a timer due now,
// written in the same transaction as the task's end, so it fires once.
func (l *leader) outcome(ctx context.Context, t *liveTask, out compiler.Outcome) {
	if t.row.ExecutionID == "" {
		return
	}
	route, tmpl, err := l.n.core.RouteFor(ctx, t.row.ConversationID)
	if err != nil {
		l.n.log.Error("task outcome: the conversation cannot be loaded", "task", t.row.ID, "err", err)
		return
	}
	payload := mustJSON(effect.TimerPayload{Route: route, Event: tmpl,
		Task: &engine.TaskResult{ID: t.row.ID, Outcome: out, Worker: t.Worker, Queue: t.Queue}})
	l.w.Timers = append(l.w.Timers, store.Timer{ID: "task-" + t.row.ID, ExecutionID: t.row.ExecutionID, FireAt: l.w.At, Payload: payload})
}

// eventData is the part of a router event that has no column.
func (l *leader) eventData(e router.Event) json.RawMessage {
	m := map[string]any{}
	set := func(k string, v any, keep bool) {
		if keep {
			m[k] = v
		}
	}
	set("priority", e.Priority, e.Task != "")
	set("reason", e.Reason, e.Reason != "")
	set("workflow", e.Workflow, e.Workflow != "")
	set("channel", e.Channel, e.Channel != "")
	set("wait_ms", e.Wait.Milliseconds(), e.Wait > 0)
	set("to_worker", e.ToWorker, e.ToWorker != "")
	set("activity", e.Activity, e.Activity != "")
	set("prev_activity", e.PrevActivity, e.PrevActivity != "")
	set("capacity", e.Capacity, e.Capacity != nil)
	set("attributes", e.Attributes, e.Attributes != nil)
	// The agent's desktop counts down to it.
	set("expires_at", e.Time.Add(l.cfg.ReservationTimeout), e.Type == router.ReservationCreated && l.cfg.ReservationTimeout > 0)
	if len(m) == 0 {
		return nil
	}
	return mustJSON(m)
}
