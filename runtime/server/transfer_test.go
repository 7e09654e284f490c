package server_test

import (
	"fmt"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/switchboard-dev/switchboard/internal/browsertest"
)

// transferFlow hands customers to the english queue; bahasa is where
// they are transferred.
const transferFlow = routeFlow + `queue bahasa { workers "id" in worker.languages }
workflow chat_routing { default english }
`

// xferRig is a running server with the transfer flow, its workers'
// tokens and streams, and what the custom connector delivered.
type xferRig struct {
	t       *testing.T
	base    string
	out     *deliveries
	tokens  map[string]string
	streams map[string]*agentStream
}

func newXferRig(t *testing.T, reservationTimeout time.Duration) *xferRig {
	t.Helper()
	out := &deliveries{byTo: map[string][]string{}}
	platform := httptest.NewServer(out)
	t.Cleanup(platform.Close)
	sb := start(t, setup{flow: transferFlow, outboundURL: platform.URL, running: true, reservationTimeout: reservationTimeout})
	return &xferRig{t: t, base: sb.base, out: out, tokens: map[string]string{}, streams: map[string]*agentStream{}}
}

// anaHoldsAlice is where each transfer starts: ana (english) and budi
// (bahasa) available, and alice's conversation accepted by ana.
func anaHoldsAlice(t *testing.T, reservationTimeout time.Duration) (x *xferRig, task, anaRes string) {
	t.Helper()
	x = newXferRig(t, reservationTimeout)
	x.worker("ana", "en")
	x.worker("budi", "id")
	task, anaRes = x.handTo("ana", "m1", "alice")
	return x, task, anaRes
}

// worker creates an available worker with chat capacity 1 and opens its stream.
func (x *xferRig) worker(id, language string) { x.workerWith(id, language, 1) }

func (x *xferRig) workerWith(id, language string, chat int) {
	x.t.Helper()
	body := fmt.Sprintf(`{"id":%q,"attributes":{"languages":[%q]},"activity":"available","capacity":{"chat":%d}}`, id, language, chat)
	r := call(x.t, "POST", x.base+"/v1/workers", []byte(body), bearer(admin))
	if r.status != 201 {
		x.t.Fatalf("create %s: %d %v", id, r.status, r.body)
	}
	x.tokens[id] = r.body["token"].(string)
	x.streams[id] = openStream(x.t, x.base, id, x.tokens[id])
}

func (x *xferRig) customer(id, from, text string) {
	x.t.Helper()
	body := fmt.Sprintf(`{"id":%q,"from":%q,"text":%q}`, id, from, text)
	postWebhook(x.t, x.base, body)
}

// do calls the API as a worker ("admin" for the admin token) and wants status.
func (x *xferRig) do(as, method, path, body string, status int) response {
	x.t.Helper()
	token := admin
	if as != "admin" {
		token = x.tokens[as]
	}
	r := call(x.t, method, x.base+path, []byte(body), bearer(token))
	if r.status != status {
		x.t.Fatalf("%s: %s %s %s = %d %v, want %d", as, method, path, body, r.status, r.body, status)
	}
	return r
}

// handTo starts a conversation with a customer and has the worker accept
// its task; it returns the task and the worker's reservation.
func (x *xferRig) handTo(worker, msgID, customer string) (taskID, resID string) {
	x.t.Helper()
	x.customer(msgID, customer, "I want a live agent")
	offer := x.streams[worker].event("reservation.created")
	taskID, resID = offer["task_id"].(string), offer["reservation_id"].(string)
	x.do(worker, "POST", "/v1/reservations/"+resID+"/accept", "", 200)
	x.holds(taskID, worker)
	return taskID, resID
}

// holds checks that the task is assigned to the worker.
func (x *xferRig) holds(taskID, worker string) {
	x.t.Helper()
	r := x.do("admin", "GET", "/v1/tasks/"+taskID, "", 200)
	if r.body["status"] != "assigned" || r.body["worker_id"] != worker {
		x.t.Fatalf("task %s is %v with %v, want assigned to %s", taskID, r.body["status"], r.body["worker_id"], worker)
	}
}

// converses checks that the worker holding the task gets the customer's
// messages and that its replies reach the customer, and that another
// worker may not reply.
func (x *xferRig) converses(taskID, worker, other, customer, msgID string) {
	x.t.Helper()
	text := "a message for " + worker
	x.customer(msgID, customer, text)
	msg := x.streams[worker].event("conversation.message")
	if msg["task_id"] != taskID || msg["data"].(map[string]any)["text"] != text {
		x.t.Fatalf("%s's stream: %v, want %q of task %s", worker, msg, text, taskID)
	}
	x.do(other, "POST", "/v1/tasks/"+taskID+"/messages", `{"text":"not mine"}`, 403)
	reply := "Hello from " + worker
	x.do(worker, "POST", "/v1/tasks/"+taskID+"/messages", fmt.Sprintf(`{"text":%q}`, reply), 202)
	x.out.waitFor(x.t, customer, reply)
}

// reservation is the worker's reservation of the task with that status
// (GET /v1/workers/{id}/reservations), or nil.
func (x *xferRig) reservation(worker, status, taskID string) map[string]any {
	x.t.Helper()
	r := x.do(worker, "GET", "/v1/workers/"+worker+"/reservations?status="+status, "", 200)
	for _, v := range r.body["reservations"].([]any) {
		if res := v.(map[string]any); res["task_id"] == taskID {
			return res
		}
	}
	return nil
}

// queuedTask waits until the router has queued a task other than those
// named, and returns it.
func (x *xferRig) queuedTask(not ...string) string {
	x.t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		for _, v := range x.do("admin", "GET", "/v1/tasks?status=waiting", "", 200).body["tasks"].([]any) {
			id := v.(map[string]any)["id"].(string)
			if !slices.Contains(not, id) && slices.Contains(x.taskEvents(id), "task.queued") {
				return id
			}
		}
	}
	x.t.Fatalf("no task was queued")
	return ""
}

// taskEvents are the types of the task's events, in order.
func (x *xferRig) taskEvents(taskID string) []string {
	x.t.Helper()
	var types []string
	for _, e := range x.do("admin", "GET", "/v1/tasks/"+taskID+"/events", "", 200).body["events"].([]any) {
		types = append(types, e.(map[string]any)["type"].(string))
	}
	return types
}

// TestWarmTransferAccepted: a worker warm-transfers a conversation to a
// queue; the destination worker sees the offer on its stream and in its
// reservations, and accepts it over the API (with its own token, or an
// admin's). Until then the first worker keeps the conversation and its
// capacity; then the task, and the customer's messages, are the
// destination's, and the first worker's reservation ends as transferred,
// its capacity offered at once.
func TestWarmTransferAccepted(t *testing.T) {
	for _, by := range []string{"budi", "admin"} {
		t.Run("accepted by "+by, func(t *testing.T) {
			x, task, anaRes := anaHoldsAlice(t, 0)

			x.do("ana", "POST", "/v1/tasks/"+task+"/transfer", `{"queue":"bahasa","mode":"warm"}`, 200)
			offer := x.streams["budi"].event("reservation.created")
			if offer["task_id"] != task || offer["queue"] != "bahasa" {
				t.Fatalf("budi's offer %v, want task %s from bahasa", offer, task)
			}
			budiRes := offer["reservation_id"].(string)
			if res := x.reservation("budi", "pending", task); res == nil || res["id"] != budiRes {
				t.Fatalf("budi's pending reservations lack %s: %v", budiRes, res)
			}
			// Until budi accepts, the conversation is ana's, and so is
			// her capacity: a new customer waits.
			x.holds(task, "ana")
			x.converses(task, "ana", "budi", "alice", "m2")
			x.customer("m3", "carol", "live agent please")
			carol := x.queuedTask(task)
			if x.reservation("ana", "pending", carol) != nil {
				t.Fatalf("ana was offered carol's task while transferring hers warm")
			}

			accepted := x.do(by, "POST", "/v1/reservations/"+budiRes+"/accept", "", 200)
			var types []string
			for _, e := range accepted.body["events"].([]any) {
				types = append(types, e.(map[string]any)["type"].(string))
			}
			if !slices.Contains(types, "reservation.accepted") || !slices.Contains(types, "reservation.transferred") {
				t.Fatalf("accepting answered %v", accepted.body)
			}
			x.holds(task, "budi")
			if q := x.do("admin", "GET", "/v1/tasks/"+task, "", 200).body["queue"]; q != "bahasa" {
				t.Errorf("the task's queue is %v, want bahasa", q)
			}
			ended := x.streams["ana"].event("reservation.transferred")
			if ended["reservation_id"] != anaRes || ended["task_id"] != task {
				t.Fatalf("ana's stream: %v, want her reservation %s transferred", ended, anaRes)
			}
			if x.reservation("ana", "transferred", task) == nil || x.reservation("ana", "accepted", task) != nil {
				t.Fatalf("ana's reservation of %s is not transferred", task)
			}
			if x.reservation("budi", "accepted", task) == nil {
				t.Fatalf("budi's reservation of %s is not accepted", task)
			}
			// Ana's capacity is free again: carol's task is offered to her.
			if next := x.streams["ana"].event("reservation.created"); next["task_id"] != carol {
				t.Fatalf("ana's next offer %v, want carol's task %s", next, carol)
			}
			x.converses(task, "budi", "ana", "alice", "m4")
			x.do("budi", "POST", "/v1/tasks/"+task+"/complete", "", 200)
			x.out.waitFor(t, "alice", "Thanks for talking to us, budi")

			var routed []string
			for _, typ := range x.taskEvents(task) {
				if strings.HasPrefix(typ, "task.") || strings.HasPrefix(typ, "reservation.") {
					routed = append(routed, typ)
				}
			}
			want := "task.queued reservation.created reservation.accepted task.transferred task.queued reservation.created " +
				"reservation.accepted reservation.transferred reservation.completed task.completed"
			if got := strings.Join(routed, " "); got != want {
				t.Fatalf("the task's router events:\n got %s\nwant %s", got, want)
			}
		})
	}
}

// TestWarmTransferToWorkerRejected: the worker named as a warm transfer's
// destination rejects it over the API (its token, or an admin's): the
// transfer fails and the first worker keeps the conversation.
func TestWarmTransferToWorkerRejected(t *testing.T) {
	for _, by := range []string{"budi", "admin"} {
		t.Run("rejected by "+by, func(t *testing.T) {
			x, task, anaRes := anaHoldsAlice(t, 0)

			x.do("ana", "POST", "/v1/tasks/"+task+"/transfer", `{"worker":"budi","mode":"warm"}`, 200)
			offer := x.streams["budi"].event("reservation.created")
			budiRes := offer["reservation_id"].(string)
			if offer["task_id"] != task || x.reservation("budi", "pending", task) == nil {
				t.Fatalf("budi's offer %v, want task %s pending", offer, task)
			}
			x.do("ana", "POST", "/v1/reservations/"+budiRes+"/reject", "", 403)
			x.do(by, "POST", "/v1/reservations/"+budiRes+"/reject", "", 200)
			failed := x.streams["ana"].event("task.transfer_failed")
			if failed["task_id"] != task || failed["reservation_id"] != anaRes || failed["data"].(map[string]any)["reason"] != "destination rejected" {
				t.Fatalf("ana's stream: %v", failed)
			}
			x.holds(task, "ana")
			if x.reservation("ana", "accepted", task) == nil || x.reservation("budi", "rejected", task) == nil {
				t.Fatalf("reservations after the rejection: ana's not accepted or budi's not rejected")
			}
			x.do("budi", "POST", "/v1/reservations/"+budiRes+"/accept", "", 404)
			x.converses(task, "ana", "budi", "alice", "m2")
		})
	}
}

// TestWarmTransferToQueueRejected: within a destination queue a rejection
// passes the task to the queue's next member; meanwhile, and when nobody
// is left, the first worker keeps it, until she wraps up (the transfer
// fails then).
func TestWarmTransferToQueueRejected(t *testing.T) {
	x := newXferRig(t, 0)
	x.worker("ana", "en")
	x.worker("budi", "id")
	x.worker("citra", "id")
	task, _ := x.handTo("ana", "m1", "alice")

	x.do("ana", "POST", "/v1/tasks/"+task+"/transfer", `{"queue":"bahasa","mode":"warm"}`, 200)
	first, next := "budi", "citra"
	if x.reservation("citra", "pending", task) != nil {
		first, next = next, first
	}
	offer := x.streams[first].event("reservation.created")
	x.do(first, "POST", "/v1/reservations/"+offer["reservation_id"].(string)+"/reject", "", 200)
	offer = x.streams[next].event("reservation.created")
	if offer["task_id"] != task {
		t.Fatalf("%s's offer %v, want task %s", next, offer, task)
	}
	x.holds(task, "ana")
	x.do("admin", "POST", "/v1/reservations/"+offer["reservation_id"].(string)+"/reject", "", 200)
	x.holds(task, "ana")
	x.converses(task, "ana", first, "alice", "m2")
	x.do("ana", "POST", "/v1/tasks/"+task+"/wrapup", "", 200)
	if failed := x.streams["ana"].event("task.transfer_failed"); failed["data"].(map[string]any)["reason"] != "wrapping" {
		t.Fatalf("ana's stream: %v", failed)
	}
}

// TestWarmTransferTimeout: a destination worker who lets the offer time
// out fails the transfer as a rejection does; the offer counts as missed.
func TestWarmTransferTimeout(t *testing.T) {
	x, task, _ := anaHoldsAlice(t, 2*time.Second)
	x.do("ana", "POST", "/v1/tasks/"+task+"/transfer", `{"worker":"budi","mode":"warm"}`, 200)
	offer := x.streams["budi"].event("reservation.created")
	if timedOut := x.streams["budi"].event("reservation.timeout"); timedOut["reservation_id"] != offer["reservation_id"] {
		t.Fatalf("budi's stream: %v", timedOut)
	}
	if failed := x.streams["ana"].event("task.transfer_failed"); failed["data"].(map[string]any)["reason"] != "destination timed out" {
		t.Fatalf("ana's stream: %v", failed)
	}
	x.holds(task, "ana")
	x.do("budi", "POST", "/v1/reservations/"+offer["reservation_id"].(string)+"/accept", "", 404)
	x.converses(task, "ana", "budi", "alice", "m2")
}

// TestColdTransfer: a cold transfer frees the first worker at once; the
// destination, a queue or a worker, accepts over the API and holds the
// conversation, or rejects it and the task waits (never back to the
// first worker).
func TestColdTransfer(t *testing.T) {
	for _, to := range []string{`{"queue":"bahasa"}`, `{"worker":"budi","mode":"cold"}`} {
		t.Run(to, func(t *testing.T) {
			x, task, anaRes := anaHoldsAlice(t, 0)
			x.do("ana", "POST", "/v1/tasks/"+task+"/transfer", to, 200)
			if ended := x.streams["ana"].event("reservation.transferred"); ended["reservation_id"] != anaRes {
				t.Fatalf("ana's stream: %v", ended)
			}
			offer := x.streams["budi"].event("reservation.created")
			if offer["task_id"] != task || x.reservation("budi", "pending", task) == nil {
				t.Fatalf("budi's offer %v, want task %s pending", offer, task)
			}
			x.do("budi", "POST", "/v1/reservations/"+offer["reservation_id"].(string)+"/accept", "", 200)
			x.holds(task, "budi")
			x.converses(task, "budi", "ana", "alice", "m2")

			// Back to ana, cold, and she rejects: it waits for someone else.
			x.do("budi", "POST", "/v1/tasks/"+task+"/transfer", `{"worker":"ana"}`, 200)
			offer = x.streams["ana"].event("reservation.created")
			x.do("ana", "POST", "/v1/reservations/"+offer["reservation_id"].(string)+"/reject", "", 200)
			if r := x.do("admin", "GET", "/v1/tasks/"+task, "", 200); r.body["status"] != "waiting" {
				t.Fatalf("the task after its cold transfer was rejected: %v", r.body)
			}
		})
	}
}

// TestAgentDesktopWarmTransfer: the destination of warm transfers answers
// them on the agent desktop, in headless Chromium: it accepts one (the
// conversation becomes its own, the customer's messages show in it) and
// rejects another (the first worker keeps it).
func TestAgentDesktopWarmTransfer(t *testing.T) {
	x := newXferRig(t, 0)
	x.worker("ana", "en")
	x.workerWith("budi", "id", 2)
	b := &deskBrowser{t: t, ctx: browsertest.Start(t, "agent desktop warm transfer test", 1200, 900)}
	b.do("sign in as budi", chromedp.Navigate(x.base+"/agent/#worker=budi&token="+x.tokens["budi"]),
		deskUntil(`document.querySelector('[data-testid="connection"]').dataset.state === "online"`))

	alice, _ := x.handTo("ana", "m1", "alice")
	x.do("ana", "POST", "/v1/tasks/"+alice+"/transfer", `{"queue":"bahasa","mode":"warm"}`, 200)
	b.do("accept alice's", deskUntil(offerOf("alice")), clickJS(offerOf("alice")+`.querySelector('[data-testid="accept"]')`),
		deskUntil(taskButton(alice)), deskUntil(deskOffers+`.length === 0`), deskUntil(deskError+`.hidden`),
		deskUntil(deskSelected+`.dataset.task === "`+alice+`"`), deskUntil(threadHas("in", "I want a live agent")))
	x.holds(alice, "budi")
	x.streams["ana"].event("reservation.transferred")
	x.customer("m2", "alice", "hello again")
	b.do("alice's message", deskUntil(threadHas("in", "hello again")))

	carol, _ := x.handTo("ana", "m3", "carol")
	x.do("ana", "POST", "/v1/tasks/"+carol+"/transfer", `{"worker":"budi","mode":"warm"}`, 200)
	b.do("reject carol's", deskUntil(offerOf("carol")), clickJS(offerOf("carol")+`.querySelector('[data-testid="reject"]')`),
		deskUntil(deskOffers+`.length === 0`), deskUntil(deskError+`.hidden`), deskUntil(deskTasks+`.length === 1`))
	if failed := x.streams["ana"].event("task.transfer_failed"); failed["task_id"] != carol {
		t.Fatalf("ana's stream: %v", failed)
	}
	x.holds(carol, "ana")
}
