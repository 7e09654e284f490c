package crashtest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"net/http"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/fasthttp/websocket"
	"github.com/jackc/pgx/v5"

	sbserver "github.com/switchboard-dev/switchboard/runtime/server"
	"github.com/switchboard-dev/switchboard/runtime/store"
	_ "github.com/switchboard-dev/switchboard/runtime/store/postgres"
)

// The multi-node flow: every message asks for an agent; the end of the
// task thanks the customer with the name of the agent who took it.
const multiFlow = `
flow support {
  start: enqueue help {
    canceled -> sorry
  } -> thanks
  thanks: send "Thanks, ${start.task.worker}" -> done
  sorry: send "Sorry, nobody could take your request" -> done
}
queue everyone { workers true }
workflow help { default everyone }
`

const (
	mnCustomers = 400 // one message each, from a new contact
	mnSenders   = 8   // concurrent customer connections
	mnPace      = 6 * time.Millisecond
	mnKillAfter = mnCustomers / 3 // acknowledged messages before the SIGKILL
	mnWorkers   = 6
	mnCapacity  = 2
	mnDrain     = 60 * time.Second // after the load, for every task to complete
)

// TestLeaderKilledUnderLoad runs two `switchboard serve` nodes on one
// PostgreSQL database, SIGKILLs the router leader in the middle of a load
// of customers asking for agents, and proves from the database that the
// other node took over and that no task was lost or assigned twice.
func TestLeaderKilledUnderLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs two servers")
	}
	base := os.Getenv("SWITCHBOARD_TEST_POSTGRES")
	if base == "" {
		t.Skip("SWITCHBOARD_TEST_POSTGRES is not set (e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable): the multi-node test needs PostgreSQL")
	}
	began := time.Now()
	ctx := context.Background()
	dsn, db := freshSchema(t, base)
	bin := buildBinary(t)
	dir := flowDir(t, "support.flow", multiFlow)
	col, platform := newPlatform()
	defer platform.Close()

	// The store (migrated here, before the nodes start) and one admin
	// token both nodes accept.
	st, err := store.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	admin, err := sbserver.NewToken("sbk_")
	if err != nil {
		t.Fatal(err)
	}
	if err := st.CreateToken(ctx, store.Token{Hash: sbserver.HashToken(admin), Role: store.RoleAdmin, Subject: "admin"}); err != nil {
		t.Fatal(err)
	}

	// Node A starts first and leads; node B waits for the leadership.
	c := &cluster{client: &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}}
	c.nodes[0] = startStore(t, bin, dir, dsn, platform.URL, nil)
	stopNode(t, c.nodes[0], "A")
	ownerA := waitLeader(t, c.nodes[0], 15*time.Second)
	c.nodes[1] = startStore(t, bin, dir, dsn, platform.URL, nil)
	stopNode(t, c.nodes[1], "B")
	time.Sleep(200 * time.Millisecond)
	if strings.Contains(c.nodes[1].out.String(), `msg="router leader"`) {
		t.Fatalf("node B leads while node A does:\n%s", tail(c.nodes[1].out.String(), 20))
	}

	// Workers, created through node B (which forwards to the leader).
	rec := &agentRecord{acceptedBy: map[string][]string{}, completedBy: map[string][]string{}}
	agentCtx, stopAgents := context.WithCancel(ctx)
	defer stopAgents()
	var agents []*agent
	for i := range mnWorkers {
		id := fmt.Sprintf("w%d", i)
		body := fmt.Sprintf(`{"id":%q,"name":"Agent %d","activity":"available","capacity":{"chat":%d}}`, id, i, mnCapacity)
		status, resp, err := c.call(ctx, 1, http.MethodPost, "/v1/workers", admin, []byte(body))
		if err != nil || status != http.StatusCreated {
			t.Fatalf("creating worker %s: %d %s %v", id, status, resp, err)
		}
		var created struct {
			Token string `json:"token"`
		}
		if err := json.Unmarshal(resp, &created); err != nil || created.Token == "" {
			t.Fatalf("worker %s: no token in %s", id, resp)
		}
		// Half the agents connect to A (the leader, killed), half to B.
		agents = append(agents, &agent{c: c, id: id, token: created.Token, home: i % 2, rec: rec,
			seen: map[string]bool{}, rng: rand.New(rand.NewPCG(uint64(i), 42))})
	}
	var agentsWG sync.WaitGroup
	for _, a := range agents {
		agentsWG.Go(func() { a.run(agentCtx) })
	}
	defer func() { stopAgents(); agentsWG.Wait() }()
	for _, a := range agents {
		a.waitConnected(t, 10*time.Second)
	}

	// Customers: one message each, alternating between the nodes' webhooks;
	// a message that fails (the node died) is redelivered to the other node,
	// as a platform would.
	var acked sync.Map // contact → message id
	var ackCount, ackedA, ackedB, redelivered atomic.Int64
	var customersWG sync.WaitGroup
	next := make(chan int)
	for range mnSenders {
		customersWG.Go(func() {
			for i := range next {
				id, from := fmt.Sprintf("mn%04d", i), fmt.Sprintf("cust-%04d", i)
				node := i % 2
				for attempt := 0; attempt < 100; attempt++ {
					if c.down[node].Load() {
						node = 1 - node
					}
					if _, ok := post(c.client, c.nodes[node].addr, id, from, "I need a human"); ok {
						acked.Store(from, id)
						ackCount.Add(1)
						if node == 0 {
							ackedA.Add(1)
						} else {
							ackedB.Add(1)
						}
						if attempt > 0 {
							redelivered.Add(1)
						}
						break
					}
					node = 1 - node
					time.Sleep(100 * time.Millisecond)
				}
			}
		})
	}
	var killedAt time.Time
	var maxSeqAtKill int64
	var ackedAtKill int64
	var atKill map[string]int
	tick := time.NewTicker(mnPace)
	for i := range mnCustomers {
		if killedAt.IsZero() && ackCount.Load() >= mnKillAfter {
			if err := c.nodes[0].cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			killedAt = time.Now()
			ackedAtKill = ackCount.Load()
			_ = c.nodes[0].cmd.Wait()
			c.down[0].Store(true)
			maxSeqAtKill = maxEventSeq(t, db)
			atKill = tasksByStatus(t, db)
			atKill["pending commands"] = pendingCommands(t, db)
		}
		<-tick.C
		next <- i
	}
	tick.Stop()
	close(next)
	customersWG.Wait()
	loadEnd := time.Now()
	if killedAt.IsZero() {
		t.Fatalf("the load ended before the kill (%d acknowledged)", ackCount.Load())
	}
	if n := ackCount.Load(); n != mnCustomers {
		t.Errorf("%d of %d customers' messages were never acknowledged by either node", mnCustomers-n, mnCustomers)
	}
	t.Logf("load: %d customers, %d acknowledged (%d by A, %d by B, %d after a redelivery); A killed after %d acknowledgements",
		mnCustomers, ackCount.Load(), ackedA.Load(), ackedB.Load(), redelivered.Load(), ackedAtKill)
	t.Logf("at the SIGKILL: tasks and commands %v", atKill)

	// Drain: every acknowledged customer's task completes and its thanks
	// is delivered. The effects and timers node A had claimed when it died
	// return to the pool when their leases end (2 min, 30 s): the clock of
	// those leases is moved forward so the test stays short.
	var contacts []string
	acked.Range(func(k, _ any) bool { contacts = append(contacts, k.(string)); return true })
	sort.Strings(contacts)
	deadline := loadEnd.Add(mnDrain)
	var heldEffects, heldTimers int64
	var completed, thanked int
	for {
		e, tm := expireLeases(t, db, ownerA)
		heldEffects, heldTimers = heldEffects+e, heldTimers+tm
		completed = countTasks(t, db, "completed")
		thanked = col.thanked(contacts)
		if (completed >= len(contacts) && thanked == len(contacts)) || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	drained := time.Now()
	// A late duplicate (a redelivered thanks) would show up in this window.
	time.Sleep(500 * time.Millisecond)
	stopAgents()
	agentsWG.Wait()
	if completed < len(contacts) || thanked < len(contacts) {
		t.Errorf("after %v: %d of %d tasks completed, %d of %d customers thanked", mnDrain, completed, len(contacts), thanked, len(contacts))
		t.Logf("tasks by status: %v", tasksByStatus(t, db))
	}
	t.Logf("drain: everything completed %v after the end of the load (%d effects and %d timers node A held had their leases expired)",
		drained.Sub(loadEnd).Round(time.Millisecond), heldEffects, heldTimers)

	// From here on, the database is the witness.
	v := verify(t, st, col, contacts, maxSeqAtKill)
	bLeads := leaderLogTime(c.nodes[1])
	takeover := "never"
	if !bLeads.IsZero() {
		takeover = bLeads.Sub(killedAt).Round(time.Millisecond).String()
	}
	// The lease is retried every 2 s (node.Config.LeaderRetry) and the dead
	// leader's advisory lock ends with its connection.
	if bLeads.IsZero() || bLeads.Sub(killedAt) > 10*time.Second {
		t.Errorf("node B did not take the router leadership within 10 s of the SIGKILL (took %s)", takeover)
	}
	firstEvent := "none"
	if !v.firstNewEvent.IsZero() {
		firstEvent = v.firstNewEvent.Sub(killedAt).Round(time.Millisecond).String()
	}
	t.Logf("takeover: node B led %s after the SIGKILL; its first event (%s) was written %s after it", takeover, v.firstNewType, firstEvent)
	t.Logf("routing: %d tasks, %d reservations (%d rescinded at takeover, %d rejected/timed out), %d events, max %d offers for one task, peak load %d of capacity %d",
		v.tasks, v.reservations, v.rescinded, v.declined, v.events, v.maxOffers, v.peak, mnCapacity)
	t.Logf("agents: %d accepts and %d completes answered 200, %d accepts and %d completes whose answer was lost went through, %d stream reconnection attempts",
		rec.accepts(), rec.completes(), rec.lostAccepts.Load(), rec.lostCompletes.Load(), rec.reconnects.Load())
	distinct, all := col.deliveries()
	t.Logf("platform: %d customers thanked, %d distinct messages delivered (%d deliveries, redeliveries included)", thanked, distinct, all)
	for task, ws := range rec.doubleAccepts() {
		t.Errorf("task %s: the API accepted it for %v (an accept answered 200 more than once)", task, ws)
	}
	for _, who := range []string{"A", "B"} {
		i := map[string]int{"A": 0, "B": 1}[who]
		if t.Failed() {
			t.Logf("node %s output:\n%s", who, tail(c.nodes[i].out.String(), 30))
		}
	}
	t.Logf("total %v", time.Since(began).Round(time.Millisecond))
}

// freshSchema creates a schema of its own for this run in the database
// base names and drops it when the test ends; it returns the store URL
// and a connection for the test's own queries.
func freshSchema(t *testing.T, base string) (string, *pgx.Conn) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("SWITCHBOARD_TEST_POSTGRES=%s: %v", base, err)
	}
	schema := fmt.Sprintf("multinode_%d_%d", os.Getpid(), time.Now().UnixNano())
	if _, err := conn.Exec(ctx, `CREATE SCHEMA `+pgx.Identifier{schema}.Sanitize()); err != nil {
		conn.Close(ctx)
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// Runs after the nodes' cleanups (registered later): no session
		// holds the schema's tables.
		c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := conn.Exec(c, `DROP SCHEMA `+pgx.Identifier{schema}.Sanitize()+` CASCADE`); err != nil {
			t.Errorf("dropping schema %s: %v", schema, err)
		}
		conn.Close(c)
	})
	if _, err := conn.Exec(ctx, `SET search_path TO `+pgx.Identifier{schema}.Sanitize()); err != nil {
		t.Fatal(err)
	}
	sep := "?"
	if strings.Contains(base, "?") {
		sep = "&"
	}
	return base + sep + "search_path=" + schema, conn
}

// stopNode stops a node at the end of the test (if it still runs) and
// shows its output when the test failed.
func stopNode(t *testing.T, s *server, name string) {
	t.Cleanup(func() {
		if s.cmd.ProcessState == nil {
			_ = s.cmd.Process.Signal(syscall.SIGTERM)
			done := make(chan struct{})
			go func() { _ = s.cmd.Wait(); close(done) }()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				_ = s.cmd.Process.Kill()
				<-done
				t.Errorf("node %s did not stop on SIGTERM", name)
			}
		}
	})
}

var leaderLine = regexp.MustCompile(`time=(\S+) level=INFO msg="router leader" owner=(\S+)`)

// waitLeader waits until the node logs that it leads, and returns its
// lease owner name.
func waitLeader(t *testing.T, s *server, timeout time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if m := leaderLine.FindStringSubmatch(s.out.String()); m != nil {
			return m[2]
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("the node did not become the router leader within %v:\n%s", timeout, tail(s.out.String(), 20))
	return ""
}

// leaderLogTime is when the node logged that it leads (zero if it never did).
func leaderLogTime(s *server) time.Time {
	m := leaderLine.FindStringSubmatch(s.out.String())
	if m == nil {
		return time.Time{}
	}
	at, _ := time.Parse(time.RFC3339Nano, m[1])
	return at
}

func maxEventSeq(t *testing.T, db *pgx.Conn) int64 {
	t.Helper()
	var seq int64
	if err := db.QueryRow(context.Background(), `SELECT coalesce(max(seq), 0) FROM router_events`).Scan(&seq); err != nil {
		t.Fatal(err)
	}
	return seq
}

func pendingCommands(t *testing.T, db *pgx.Conn) int {
	t.Helper()
	var n int
	if err := db.QueryRow(context.Background(), `SELECT count(*) FROM router_commands WHERE status = 'pending'`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func countTasks(t *testing.T, db *pgx.Conn, status string) int {
	t.Helper()
	var n int
	if err := db.QueryRow(context.Background(), `SELECT count(*) FROM tasks WHERE status = $1`, status).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func tasksByStatus(t *testing.T, db *pgx.Conn) map[string]int {
	t.Helper()
	rows, err := db.Query(context.Background(), `SELECT status, count(*) FROM tasks GROUP BY status`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var s string
		var n int
		if err := rows.Scan(&s, &n); err != nil {
			t.Fatal(err)
		}
		out[s] = n
	}
	return out
}

// expireLeases ends the leases the dead node held on effects and timers,
// as the passing of their time would, and reports how many there were.
func expireLeases(t *testing.T, db *pgx.Conn, owner string) (effects, timers int64) {
	t.Helper()
	ctx := context.Background()
	tag, err := db.Exec(ctx, `UPDATE effects SET lease_until = now() - interval '1 second'
		WHERE status = 'leased' AND lease_owner = $1 AND lease_until > now()`, owner)
	if err != nil {
		t.Fatal(err)
	}
	effects = tag.RowsAffected()
	tag, err = db.Exec(ctx, `UPDATE timers SET lease_until = now() - interval '1 second'
		WHERE lease_owner = $1 AND lease_until > now()`, owner)
	if err != nil {
		t.Fatal(err)
	}
	return effects, tag.RowsAffected()
}

// thanked counts the contacts that received at least one thanks.
func (c *collector) thanked(contacts []string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, to := range contacts {
		for _, text := range c.byTo[to] {
			if strings.HasPrefix(text, "Thanks, ") {
				n++
				break
			}
		}
	}
	return n
}

// to returns a copy of what the contact received, by idempotency key.
func (c *collector) to(contact string) map[string]string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[string]string{}
	for k, v := range c.byTo[contact] {
		out[k] = v
	}
	return out
}

// deliveries counts the distinct deliveries (idempotency keys) and all
// of them, redeliveries included.
func (c *collector) deliveries() (distinct, all int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, d := range c.byTo {
		distinct += len(d)
	}
	return distinct, c.posts
}

// ---- the nodes, seen from clients ----

// cluster is the two nodes; down marks the one the test killed.
type cluster struct {
	nodes  [2]*server
	down   [2]atomic.Bool
	client *http.Client
}

// call sends a request to node pref, or to the other one when pref is
// down or unreachable, and returns the answer's status and body. It gives
// up (err) only when neither node answers for 15 s.
func (c *cluster) call(ctx context.Context, pref int, method, path, token string, body []byte) (int, []byte, error) {
	node := pref
	var last error
	for start := time.Now(); time.Since(start) < 15*time.Second; {
		if c.down[node].Load() {
			node = 1 - node
		}
		req, err := http.NewRequestWithContext(ctx, method, "http://"+c.nodes[node].addr+path, bytes.NewReader(body))
		if err != nil {
			return 0, nil, err
		}
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := c.client.Do(req)
		if err == nil {
			b, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err == nil {
				return resp.StatusCode, b, nil
			}
		}
		last = err
		if ctx.Err() != nil {
			return 0, nil, ctx.Err()
		}
		node = 1 - node
		time.Sleep(50 * time.Millisecond)
	}
	return 0, nil, fmt.Errorf("no node answered %s %s: %w", method, path, last)
}

// agentRecord is what the simulated agents were told by the API.
type agentRecord struct {
	mu          sync.Mutex
	acceptedBy  map[string][]string // task → workers whose accept answered 200
	completedBy map[string][]string // task → workers whose complete answered 200

	lostAccepts, lostCompletes atomic.Int64 // settled by reading the reservation or task
	reconnects                 atomic.Int64
}

func (r *agentRecord) add(m map[string][]string, task, worker string) {
	r.mu.Lock()
	m[task] = append(m[task], worker)
	r.mu.Unlock()
}

func (r *agentRecord) accepts() int   { return r.total(r.acceptedBy) }
func (r *agentRecord) completes() int { return r.total(r.completedBy) }
func (r *agentRecord) total(m map[string][]string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, ws := range m {
		n += len(ws)
	}
	return n
}

func (r *agentRecord) doubleAccepts() map[string][]string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string][]string{}
	for task, ws := range r.acceptedBy {
		if len(ws) > 1 {
			out[task] = ws
		}
	}
	for task, ws := range r.completedBy {
		if len(ws) > 1 {
			out[task] = append(out[task], ws...)
		}
	}
	return out
}

// agent is a simulated agent: it follows its worker's stream on its home
// node (the other one once home dies), accepts every offer, holds the
// task a short random time and completes it.
type agent struct {
	c     *cluster
	id    string
	token string
	home  int
	rec   *agentRecord
	rng   *rand.Rand // used by the stream goroutine only

	mu        sync.Mutex
	seen      map[string]bool // reservations handled
	after     string          // the last event seen, to resume the stream
	connected bool
	work      sync.WaitGroup
}

type frame struct {
	Type         string              `json:"type"`
	After        string              `json:"after"`
	Reservations []store.Reservation `json:"reservations"`
	Event        *store.RouterEvent  `json:"event"`
}

func (a *agent) waitConnected(t *testing.T, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		a.mu.Lock()
		ok := a.connected
		a.mu.Unlock()
		if ok {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("agent %s never connected its stream", a.id)
}

func (a *agent) run(ctx context.Context) {
	defer a.work.Wait()
	dialer := websocket.Dialer{HandshakeTimeout: 5 * time.Second}
	node := a.home
	for first := true; ctx.Err() == nil; first = false {
		if !first {
			a.rec.reconnects.Add(1)
		}
		if a.c.down[node].Load() {
			node = 1 - node
		}
		a.mu.Lock()
		after := a.after
		a.mu.Unlock()
		u := "ws://" + a.c.nodes[node].addr + "/v1/workers/" + a.id + "/stream?access_token=" + a.token
		if after != "" {
			u += "&after=" + after
		}
		conn, _, err := dialer.DialContext(ctx, u, nil)
		if err != nil {
			node = 1 - node
			select {
			case <-ctx.Done():
			case <-time.After(100 * time.Millisecond):
			}
			continue
		}
		a.follow(ctx, conn)
	}
}

// follow reads one stream connection until it breaks or ctx ends.
func (a *agent) follow(ctx context.Context, conn *websocket.Conn) {
	done := make(chan struct{})
	defer close(done)
	go func() {
		select {
		case <-ctx.Done():
		case <-done:
		}
		conn.Close()
	}()
	for {
		_, b, err := conn.ReadMessage()
		if err != nil {
			return
		}
		var f frame
		if err := json.Unmarshal(b, &f); err != nil {
			continue
		}
		switch {
		case f.Type == "hello":
			a.mu.Lock()
			a.connected = true
			if a.after == "" {
				a.after = f.After
			}
			a.mu.Unlock()
			for _, r := range f.Reservations {
				a.offer(ctx, r.ID, r.TaskID)
			}
		case f.Type == "event" && f.Event != nil:
			e := f.Event
			a.mu.Lock()
			a.after = fmt.Sprint(e.Seq)
			a.mu.Unlock()
			if e.Type == "reservation.created" && e.WorkerID == a.id {
				a.offer(ctx, e.ReservationID, e.TaskID)
			}
		}
	}
}

func (a *agent) offer(ctx context.Context, resID, taskID string) {
	a.mu.Lock()
	if a.seen[resID] {
		a.mu.Unlock()
		return
	}
	a.seen[resID] = true
	hold := 20*time.Millisecond + time.Duration(a.rng.IntN(80))*time.Millisecond
	a.mu.Unlock()
	a.work.Go(func() { a.handle(ctx, resID, taskID, hold) })
}

// handle accepts an offer, holds the task and completes it. An answer
// lost with a dying node is settled by reading the reservation or the task.
func (a *agent) handle(ctx context.Context, resID, taskID string, hold time.Duration) {
	for attempt := 0; ; attempt++ {
		if ctx.Err() != nil || attempt == 100 {
			return
		}
		status, _, err := a.c.call(ctx, a.home, http.MethodPost, "/v1/reservations/"+resID+"/accept", a.token, nil)
		if err == nil && status == http.StatusOK {
			a.rec.add(a.rec.acceptedBy, taskID, a.id)
			break
		}
		r, ok := a.reservation(ctx, resID)
		if ok && (r.Status == store.ReservationAccepted || r.Status == store.ReservationWrapping) {
			a.rec.lostAccepts.Add(1)
			break // an earlier attempt went through
		}
		if !ok || r.Status != store.ReservationPending {
			return // withdrawn (rescinded, timed out): the task is offered again
		}
		time.Sleep(100 * time.Millisecond)
	}
	select {
	case <-ctx.Done():
		return
	case <-time.After(hold):
	}
	for attempt := 0; attempt < 100 && ctx.Err() == nil; attempt++ {
		status, _, err := a.c.call(ctx, a.home, http.MethodPost, "/v1/tasks/"+taskID+"/complete", a.token, nil)
		if err == nil && status == http.StatusOK {
			a.rec.add(a.rec.completedBy, taskID, a.id)
			return
		}
		if t, ok := a.task(ctx, taskID); ok && !t.Status.Open() {
			a.rec.lostCompletes.Add(1)
			return // an earlier attempt went through
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (a *agent) reservation(ctx context.Context, id string) (store.Reservation, bool) {
	status, b, err := a.c.call(ctx, a.home, http.MethodGet, "/v1/workers/"+a.id+"/reservations", a.token, nil)
	if err != nil || status != http.StatusOK {
		return store.Reservation{}, false
	}
	var list struct {
		Reservations []store.Reservation `json:"reservations"`
	}
	if json.Unmarshal(b, &list) != nil {
		return store.Reservation{}, false
	}
	for _, r := range list.Reservations {
		if r.ID == id {
			return r, true
		}
	}
	return store.Reservation{}, false
}

func (a *agent) task(ctx context.Context, id string) (store.Task, bool) {
	status, b, err := a.c.call(ctx, a.home, http.MethodGet, "/v1/tasks/"+id, a.token, nil)
	if err != nil || status != http.StatusOK {
		return store.Task{}, false
	}
	var t store.Task
	return t, json.Unmarshal(b, &t) == nil
}

// ---- the proof ----

type verdict struct {
	tasks, reservations, events int
	rescinded, declined         int
	maxOffers, peak             int
	firstNewEvent               time.Time
	firstNewType                string
}

// verify checks the database after the run: one task per acknowledged
// conversation, every task completed, never two accepted reservations for
// one task, never a worker above its capacity, and one thanks per
// customer, naming the agent who took the task.
func verify(t *testing.T, st store.Store, col *collector, contacts []string, maxSeqAtKill int64) verdict {
	t.Helper()
	ctx := context.Background()
	var v verdict

	// Tasks, by conversation.
	tasks := map[string]store.Task{}
	byConv := map[string][]store.Task{}
	page := store.Page{Limit: store.MaxPageLimit}
	for {
		ts, next, err := st.ListTasks(ctx, "", page)
		if err != nil {
			t.Fatal(err)
		}
		for _, task := range ts {
			tasks[task.ID] = task
			byConv[task.ConversationID] = append(byConv[task.ConversationID], task)
		}
		if next == "" {
			break
		}
		page.After = next
	}
	v.tasks = len(tasks)
	taskOf := map[string]store.Task{} // contact → its task
	for _, from := range contacts {
		contact, err := st.LookupContact(ctx, "custom", from)
		if err != nil {
			t.Errorf("acknowledged customer %s has no contact: %v", from, err)
			continue
		}
		convs, _, err := st.ListConversations(ctx, store.ConversationFilter{ContactID: contact.ID}, store.Page{})
		if err != nil {
			t.Fatal(err)
		}
		var mine []store.Task
		for _, conv := range convs {
			mine = append(mine, byConv[conv.ID]...)
		}
		if len(mine) != 1 {
			t.Errorf("customer %s: %d conversations, %d tasks (want exactly one task): %+v", from, len(convs), len(mine), mine)
			continue
		}
		taskOf[from] = mine[0]
	}
	if len(tasks) != len(contacts) {
		t.Errorf("%d tasks for %d acknowledged customers", len(tasks), len(contacts))
	}
	for _, task := range tasks {
		if task.Status != store.TaskCompleted {
			t.Errorf("task %s (conversation %s) ended %s, worker %q: lost or stuck", task.ID, task.ConversationID, task.Status, task.WorkerID)
		}
	}

	// Reservations: one that was taken per task, by the task's worker, and
	// none left open.
	rs, err := st.ListReservations(ctx, store.ReservationFilter{})
	if err != nil {
		t.Fatal(err)
	}
	v.reservations = len(rs)
	taken := map[string][]store.Reservation{}
	offers := map[string]int{}
	for _, r := range rs {
		offers[r.TaskID]++
		v.maxOffers = max(v.maxOffers, offers[r.TaskID])
		switch r.Status {
		case store.ReservationAccepted, store.ReservationWrapping, store.ReservationCompleted, store.ReservationTransferred:
			taken[r.TaskID] = append(taken[r.TaskID], r)
		case store.ReservationRescinded:
			v.rescinded++
		case store.ReservationRejected, store.ReservationTimeout:
			v.declined++
		}
		if r.Status == store.ReservationPending || r.Status == store.ReservationAccepted || r.Status == store.ReservationWrapping {
			t.Errorf("reservation %s (task %s, worker %s) is still %s", r.ID, r.TaskID, r.WorkerID, r.Status)
		}
		if _, ok := tasks[r.TaskID]; !ok {
			t.Errorf("reservation %s names an unknown task %s", r.ID, r.TaskID)
		}
	}
	for id, task := range tasks {
		switch got := taken[id]; {
		case len(got) != 1:
			t.Errorf("task %s: %d reservations were accepted (want 1): %+v", id, len(got), got)
		case got[0].WorkerID != task.WorkerID:
			t.Errorf("task %s: held by %s, but its accepted reservation %s is %s's", id, task.WorkerID, got[0].ID, got[0].WorkerID)
		}
	}

	// The event log, replayed: per task, at most one accepted reservation
	// at a time, and only a pending one; per worker, never more open
	// reservations than its capacity.
	type resState struct {
		task, worker, status string
	}
	res := map[string]*resState{}
	holding := map[string]string{} // task → its accepted, not yet completed, reservation
	accepted, completedEv := map[string]int{}, map[string]int{}
	open := map[string]map[string]bool{} // worker → its open reservations
	page = store.Page{Limit: store.MaxPageLimit}
	for {
		evs, next, err := st.ListRouterEvents(ctx, store.RouterEventFilter{}, page)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range evs {
			v.events++
			if e.Seq > maxSeqAtKill && v.firstNewEvent.IsZero() && e.Type != "conversation.message" {
				v.firstNewEvent, v.firstNewType = e.Time, e.Type
			}
			r := res[e.ReservationID]
			switch e.Type {
			case "reservation.created":
				if r != nil {
					t.Errorf("event %d: reservation %s created twice", e.Seq, e.ReservationID)
				}
				res[e.ReservationID] = &resState{task: e.TaskID, worker: e.WorkerID, status: "pending"}
				if h := holding[e.TaskID]; h != "" {
					t.Errorf("event %d: task %s offered to %s (reservation %s) while reservation %s holds it", e.Seq, e.TaskID, e.WorkerID, e.ReservationID, h)
				}
				if open[e.WorkerID] == nil {
					open[e.WorkerID] = map[string]bool{}
				}
				open[e.WorkerID][e.ReservationID] = true
				v.peak = max(v.peak, len(open[e.WorkerID]))
				if len(open[e.WorkerID]) > mnCapacity {
					t.Errorf("event %d: worker %s holds %d reservations %v, above its capacity %d", e.Seq, e.WorkerID, len(open[e.WorkerID]), keys(open[e.WorkerID]), mnCapacity)
				}
			case "reservation.accepted":
				accepted[e.TaskID]++
				switch {
				case r == nil:
					t.Errorf("event %d: unknown reservation %s accepted", e.Seq, e.ReservationID)
				case r.status != "pending":
					t.Errorf("event %d: reservation %s (task %s, worker %s) accepted while %s", e.Seq, e.ReservationID, e.TaskID, e.WorkerID, r.status)
				}
				if h := holding[e.TaskID]; h != "" {
					t.Errorf("event %d: task %s accepted by %s (reservation %s) while reservation %s holds it: double assignment", e.Seq, e.TaskID, e.WorkerID, e.ReservationID, h)
				}
				holding[e.TaskID] = e.ReservationID
				if r != nil {
					r.status = "accepted"
				}
			case "reservation.completed", "reservation.rejected", "reservation.timeout", "reservation.canceled",
				"reservation.rescinded", "reservation.transferred":
				if r == nil {
					t.Errorf("event %d: %s of an unknown reservation %s", e.Seq, e.Type, e.ReservationID)
					break
				}
				ended := strings.TrimPrefix(e.Type, "reservation.")
				if r.status != "pending" && r.status != "accepted" {
					t.Errorf("event %d: reservation %s %s after it was %s", e.Seq, e.ReservationID, ended, r.status)
				}
				if (ended == "completed") != (r.status == "accepted") && ended != "canceled" && ended != "transferred" {
					t.Errorf("event %d: reservation %s %s while %s", e.Seq, e.ReservationID, ended, r.status)
				}
				r.status = ended
				if holding[e.TaskID] == e.ReservationID {
					delete(holding, e.TaskID)
				}
				delete(open[r.worker], e.ReservationID)
			case "task.completed":
				completedEv[e.TaskID]++
			}
		}
		if next == "" {
			break
		}
		page.After = next
	}
	for id := range tasks {
		if accepted[id] != 1 || completedEv[id] != 1 {
			t.Errorf("task %s: %d reservation.accepted and %d task.completed events (want 1 and 1)", id, accepted[id], completedEv[id])
		}
	}
	for id, r := range res {
		if r.status == "pending" || r.status == "accepted" {
			t.Errorf("reservation %s (task %s, worker %s) never ended in the event log (%s)", id, r.task, r.worker, r.status)
		}
	}

	// One thanks per customer, naming the agent the task went to.
	for _, from := range contacts {
		task, ok := taskOf[from]
		if !ok {
			continue
		}
		var thanks []string
		for key, text := range col.to(from) {
			if strings.HasPrefix(text, "Thanks, ") {
				thanks = append(thanks, key+"="+text)
			} else {
				t.Errorf("customer %s was sent %q", from, text)
			}
		}
		if len(thanks) != 1 || !strings.HasSuffix(thanks[0], "=Thanks, "+task.WorkerID) {
			t.Errorf("customer %s (task %s, worker %s) received %d thanks: %v", from, task.ID, task.WorkerID, len(thanks), thanks)
		}
	}
	return v
}

func keys(m map[string]bool) []string {
	out := slices.Sorted(maps.Keys(m))
	return out
}
