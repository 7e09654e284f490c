package node_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-dev/switchboard/compiler"
	"github.com/switchboard-dev/switchboard/connectors"
	"github.com/switchboard-dev/switchboard/connectors/connectortest"
	"github.com/switchboard-dev/switchboard/runtime/node"
	"github.com/switchboard-dev/switchboard/runtime/store"
)

// phone is a connector that carries calls: it records the scripts the
// runtime hands it and, like a real platform, reports waiting verbs'
// outcomes later.
type phone struct {
	mu      sync.Mutex
	scripts []connectors.CallAction
	changed chan struct{}
	fail    error // when set, every script fails with it (after it is recorded)
}

func newPhone() *phone { return &phone{changed: make(chan struct{}, 64)} }

func (p *phone) Receive(context.Context, *connectors.Request) ([]connectors.Inbound, error) {
	return nil, nil
}
func (p *phone) Send(context.Context, *connectors.Outbound) (string, error) { return "", nil }

func (p *phone) PerformCall(_ context.Context, a *connectors.CallAction) (connectors.CallResult, error) {
	p.mu.Lock()
	p.scripts = append(p.scripts, *a)
	fail := p.fail
	p.mu.Unlock()
	p.changed <- struct{}{}
	if fail != nil {
		return connectors.CallResult{}, fail
	}
	last := a.Verbs[len(a.Verbs)-1]
	return connectors.CallResult{Pending: last.WaitID != "" || last.Verb == connectors.VerbConnect}, nil
}

func (p *phone) failWith(err error) {
	p.mu.Lock()
	p.fail = err
	p.mu.Unlock()
}

// script waits for the n-th script (from 1) the call was given.
func (p *phone) script(t *testing.T, n int) connectors.CallAction {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		p.mu.Lock()
		if len(p.scripts) >= n {
			a := p.scripts[n-1]
			p.mu.Unlock()
			return a
		}
		p.mu.Unlock()
		select {
		case <-p.changed:
		case <-deadline:
			t.Fatalf("the call never got script %d (has %d)", n, len(p.scripts))
		}
	}
}

func verbs(a connectors.CallAction) []string {
	var out []string
	for _, v := range a.Verbs {
		out = append(out, v.Verb)
	}
	return out
}

const callFlow = `
flow call {
  trigger call

  menu: gather {
    prompt "Press 1 for support."
    digits 1
    timeout 5s -> bye
    digits == "1" -> queue
    keypress -> bye
  }
  queue: enqueue voice_routing {
    attributes {caller: message.from}
    timeout 10m -> voicemail
  } -> thanks
  thanks: say "Thanks for calling." -> end_call
  voicemail: say "Please leave a message." -> record_it
  record_it: record {
    max_length 1m
    failed -> bye
  } -> bye
  bye: say "Goodbye." -> end_call
  end_call: hangup
}
queue phones { workers worker.phone == true }
workflow voice_routing { default phones }
`

type callRig struct {
	*rig
	phone *phone
	from  string
}

func newCallRig(t *testing.T, st store.Store) *callRig {
	t.Helper()
	sources := []compiler.Source{{Name: "t.flow", Src: []byte(callFlow)}}
	prog, list := compiler.CompileSources(sources, compiler.Options{})
	if prog == nil {
		t.Fatal(list)
	}
	c := &clock{}
	c.ns.Store(time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC).UnixNano())
	ph := newPhone()
	n, err := node.New(context.Background(), node.Config{Store: st, Program: prog, Sources: sources, Now: c.now,
		Channels: map[string]connectors.Connector{"phone/default": ph}, RetryBase: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	r := &callRig{rig: &rig{t: t, node: n, store: st, clock: c}, phone: ph, from: "+15550001"}
	return r
}

// call delivers one of the call's webhooks as the phone connector parses it.
func (r *callRig) call(id string, ev *connectors.CallEvent, text string) *node.Reaction {
	r.t.Helper()
	return r.callOn("CA1", id, ev, text)
}

// callOn is call for the call sid.
func (r *callRig) callOn(sid, id string, ev *connectors.CallEvent, text string) *node.Reaction {
	r.t.Helper()
	in := connectors.Inbound{PlatformID: id, Channel: connectors.ChannelVoice, From: r.from, To: "+15550100", Thread: sid, Text: text, Call: ev}
	re, err := r.node.Receive(context.Background(), "phone", "default", in, true)
	if err != nil {
		r.t.Fatal(err)
	}
	return re
}

func (r *callRig) worker(id, uri string) {
	attrs, _ := json.Marshal(map[string]any{"phone": true, "contact_uri": uri})
	if uri == "" {
		attrs = json.RawMessage(`{"phone":true}`)
	}
	command(r.t, r.node, node.CmdPutWorker, node.CommandArgs{Worker: id, Attributes: attrs, Activity: "available", Capacity: map[string]int{"voice": 1}})
}

// queued answers the call's menu with 1: the caller holds for a task.
func (r *callRig) queued() (store.Task, *node.Reaction) {
	r.t.Helper()
	re := r.call("CA1", nil, "")
	if len(re.Calls) != 1 || re.Calls[0].Verb != "gather" || re.Calls[0].Text != "Press 1 for support." || re.Calls[0].WaitID == "" {
		r.t.Fatalf("the call's answer %+v", re)
	}
	wait := re.Calls[0].WaitID
	re = r.call("CA1/result/"+wait, &connectors.CallEvent{Kind: connectors.CallResultEvent, WaitID: wait, Result: connectors.CallResult{Digits: "1"}}, "1")
	tk := taskOn(r.t, r.store, "voice", r.from, store.TaskWaiting, store.TaskReserved)
	if re.Holding != tk.ID || re.Position != 1 || len(re.Calls) != 0 || re.Hangup {
		r.t.Fatalf("after the menu %+v, task %s", re, tk.ID)
	}
	if tk.Channel != "voice" {
		r.t.Fatalf("task channel %q", tk.Channel)
	}
	return tk, re
}

// TestCallToAnAgent: a caller answers the menu and holds; the agent who
// accepts is rung at its contact_uri, one who does not answer passes the
// call to the next, the talk ending wraps the task up, the caller hanging
// up then leaves it wrapping, and completing it runs the flow's completed
// outcome on the call.
func TestCallToAnAgent(t *testing.T) {
	eachStore(t, func(t *testing.T, st store.Store) {
		r := newCallRig(t, st)
		r.run()
		l := runLeader(r.node)
		defer l.stop()

		first := r.call("CA1", nil, "")
		if again := r.call("CA1", nil, ""); len(again.Calls) != 1 || again.Calls[0] != first.Calls[0] {
			t.Fatalf("a redelivered call webhook is answered %+v, first %+v", again, first)
		}
		tk, _ := r.queued()
		if re := r.call("CA1/hold/1", &connectors.CallEvent{Kind: connectors.CallHoldEvent, Task: tk.ID}, ""); re.Holding != tk.ID {
			t.Fatalf("the hold's next loop %+v", re)
		}

		r.worker("ana", "+15559001")
		r.worker("budi", "sip:budi@pbx.example.com")
		res := pending(t, st, tk.ID)
		command(t, r.node, node.CmdAccept, node.CommandArgs{Actor: res.WorkerID, Reservation: res.ID})
		a := r.phone.script(t, 1)
		want := map[string]string{"ana": "+15559001", "budi": "sip:budi@pbx.example.com"}
		if v := a.Verbs[0]; len(a.Verbs) != 1 || v.Verb != connectors.VerbConnect || v.Number != want[res.WorkerID] || v.Task != tk.ID ||
			v.Worker != res.WorkerID || a.Call != "CA1" || a.To != r.from {
			t.Fatalf("the connection %+v", a)
		}

		// The first agent's phone does not answer: the next agent is offered the call.
		re := r.call("CA1/agent/1", &connectors.CallEvent{Kind: connectors.CallAgentEvent, Task: tk.ID, Worker: res.WorkerID, Status: "no_answer"}, "")
		if re.Holding != tk.ID {
			t.Fatalf("after the agent did not answer %+v", re)
		}
		next := taskOn(t, st, "voice", r.from, store.TaskReserved)
		res2 := pending(t, st, next.ID)
		if res2.WorkerID == res.WorkerID {
			t.Fatalf("the call went back to %s", res.WorkerID)
		}
		command(t, r.node, node.CmdAccept, node.CommandArgs{Actor: res2.WorkerID, Reservation: res2.ID})
		if a := r.phone.script(t, 2); a.Verbs[0].Number != want[res2.WorkerID] {
			t.Fatalf("the second connection %+v", a)
		}

		// The agent picks up: its desktop hears it.
		if re := r.call("CA2/answered", &connectors.CallEvent{Kind: connectors.CallAnsweredEvent, Task: tk.ID, Worker: res2.WorkerID}, ""); re.Hangup || re.Holding != "" || len(re.Calls) != 0 {
			t.Fatalf("the answer to the agent's pick-up %+v", re)
		}
		evs, _, err := st.ListRouterEvents(context.Background(), store.RouterEventFilter{TaskID: tk.ID}, store.Page{Limit: 100})
		if err != nil || !slices.ContainsFunc(evs, func(e store.RouterEvent) bool { return e.Type == "call.answered" && e.WorkerID == res2.WorkerID }) {
			t.Fatalf("no call.answered for %s in %+v (%v)", res2.WorkerID, evs, err)
		}

		// They talk; the agent hangs up: the task wraps up and the call ends.
		re = r.call("CA1/agent/2", &connectors.CallEvent{Kind: connectors.CallAgentEvent, Task: tk.ID, Worker: res2.WorkerID, Status: "answered", Duration: 95}, "")
		if !re.Hangup {
			t.Fatalf("after the talk %+v", re)
		}
		taskOn(t, st, "voice", r.from, store.TaskWrapping)
		r.call("CA1/ended", &connectors.CallEvent{Kind: connectors.CallEndedEvent, Status: "completed"}, "")
		if got := taskOn(t, st, "voice", r.from, store.TaskWrapping); got.WorkerID != res2.WorkerID {
			t.Fatalf("the caller's hang-up moved the task %+v", got)
		}
		command(t, r.node, node.CmdComplete, node.CommandArgs{Actor: res2.WorkerID, Task: tk.ID})
		if a := r.phone.script(t, 3); !slices.Equal(verbs(a), []string{"say", "hangup"}) || a.Verbs[0].Text != "Thanks for calling." {
			t.Fatalf("the completed outcome's script %+v", a)
		}
	})
}

// TestCallerHangsUpWhileHolding: the flow, its task and the conversation end.
func TestCallerHangsUpWhileHolding(t *testing.T) {
	r := newCallRig(t, openSQLite(t))
	r.run()
	l := runLeader(r.node)
	defer l.stop()
	tk, _ := r.queued()
	r.call("CA1/ended", &connectors.CallEvent{Kind: connectors.CallEndedEvent, Status: "completed"}, "")
	if got := taskOn(t, r.store, "voice", r.from, store.TaskCanceled); got.ID != tk.ID {
		t.Fatalf("task %+v", got)
	}
	conv, err := r.store.GetConversation(context.Background(), tk.ConversationID)
	if err != nil || conv.Status != store.ConversationClosed {
		t.Fatalf("conversation %+v %v", conv, err)
	}
	if _, err := r.store.LiveExecution(context.Background(), tk.ConversationID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the flow still runs: %v", err)
	}
	// A late callback of the ended call is answered with its end.
	if re := r.call("CA1/hold/9", &connectors.CallEvent{Kind: connectors.CallHoldEvent, Task: tk.ID}, ""); !re.Hangup {
		t.Fatalf("a late hold %+v", re)
	}
}

// TestCallTimesOutOnHold: the enqueue's timeout replaces the hold with the
// flow's next verbs, given to the call as one script, and the recording's
// outcome steps the flow on.
func TestCallTimesOutOnHold(t *testing.T) {
	r := newCallRig(t, openSQLite(t))
	r.run()
	r.queued()
	r.clock.advance(11 * time.Minute)
	a := r.phone.script(t, 1)
	if !slices.Equal(verbs(a), []string{"say", "record"}) || a.Verbs[1].WaitID == "" || a.Verbs[1].MaxLength != time.Minute {
		t.Fatalf("the voicemail script %+v", a)
	}
	wait := a.Verbs[1].WaitID
	re := r.call("CA1/result/"+wait, &connectors.CallEvent{Kind: connectors.CallResultEvent, WaitID: wait,
		Result: connectors.CallResult{RecordingURL: "https://api.twilio.com/rec/RE1", Duration: 12}}, "")
	if got := verbs(connectors.CallAction{Verbs: re.Calls}); !slices.Equal(got, []string{"say", "hangup"}) {
		t.Fatalf("after the recording %+v", re)
	}
}

// TestWorkerWithoutContactURI: an agent the call cannot ring passes it on.
func TestWorkerWithoutContactURI(t *testing.T) {
	r := newCallRig(t, openSQLite(t))
	r.run()
	l := runLeader(r.node)
	defer l.stop()
	tk, _ := r.queued()
	r.worker("ana", "")
	res := pending(t, r.store, tk.ID)
	command(t, r.node, node.CmdAccept, node.CommandArgs{Actor: "ana", Reservation: res.ID})
	got := taskOn(t, r.store, "voice", r.from, store.TaskWaiting)
	rs, err := r.store.ListReservations(context.Background(), store.ReservationFilter{TaskID: got.ID, Status: store.ReservationRejected})
	if err != nil || len(rs) != 1 || rs[0].WorkerID != "ana" {
		t.Fatalf("ana's reservation %+v %v", rs, err)
	}
}

// reporter is a channel whose platform reports on deliveries later.
type reporter struct{ connectortest.Fake }

func (*reporter) ReportsDelivery() bool { return true }

// TestDeliveryReportDecidesTheSend: a send the flow waits for takes its
// outcome from the platform's report, not from the platform taking it.
func TestDeliveryReportDecidesTheSend(t *testing.T) {
	eachStore(t, func(t *testing.T, st store.Store) {
		src := `
flow notify {
  first: send "Your order shipped." {
    failed -> failed_note
  } -> ok_note
  ok_note: send "It reached you." -> stop
  failed_note: send "We could not reach you." -> stop
  stop: set status = "failed"
  var status: string = ""
}`
		sources := []compiler.Source{{Name: "t.flow", Src: []byte(src)}}
		prog, list := compiler.CompileSources(sources, compiler.Options{})
		if prog == nil {
			t.Fatal(list)
		}
		ch := &reporter{Fake: connectortest.Fake{Channel: "sms"}}
		n, err := node.New(context.Background(), node.Config{Store: st, Program: prog, Sources: sources,
			Channels: map[string]connectors.Connector{"sms/default": ch}, RetryBase: time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { n.Close() })
		r := &rig{t: t, node: n, store: st, fake: &ch.Fake}
		r.run()
		ctx := context.Background()
		report := func(from, id, status string) {
			t.Helper()
			in := connectors.Inbound{PlatformID: id + "/" + status, Channel: "sms", From: from,
				Status: &connectors.DeliveryStatus{PlatformID: id, Status: status, Error: "30003: Unreachable destination handset"}}
			if _, err := n.Receive(ctx, "sms", "default", in, false); err != nil {
				t.Fatal(err)
			}
		}
		receive := func(from string, sends int) {
			t.Helper()
			if _, err := n.Receive(ctx, "sms", "default", connectors.Inbound{PlatformID: from, Channel: "sms", From: from, Text: "hi"}, false); err != nil {
				t.Fatal(err)
			}
			r.waitSent(sends)
			time.Sleep(200 * time.Millisecond)
			if got := texts(ch.Sent()); len(got) != sends {
				t.Fatalf("the flow went on before the report: %q", got)
			}
		}
		receive("+15550011", 1)
		report("+15550011", "fake-1", "queued") // not a report the flow waits for
		time.Sleep(200 * time.Millisecond)
		if got := texts(ch.Sent()); len(got) != 1 {
			t.Fatalf("a queued report moved the flow: %q", got)
		}
		report("+15550011", "fake-1", "delivered")
		if got := r.waitSent(2); got[1].Text != "It reached you." {
			t.Fatalf("after the delivery report: %q", texts(got))
		}
		receive("+15550012", 3)
		report("+15550012", "fake-3", "undelivered")
		if got := r.waitSent(4); got[3].Text != "We could not reach you." || got[3].To != "+15550012" {
			t.Fatalf("after the failure report: %q", texts(got))
		}
	})
}

// TestTwoCallsFromOneNumber: a PBX's lines share one caller id; each call
// is a conversation of its own, and a callback reaches its own call.
func TestTwoCallsFromOneNumber(t *testing.T) {
	eachStore(t, func(t *testing.T, st store.Store) { twoCalls(t, newCallRig(t, st)) })
}

func twoCalls(t *testing.T, r *callRig) {
	first := r.callOn("CA1", "CA1", nil, "")
	second := r.callOn("CA2", "CA2", nil, "")
	if len(first.Calls) != 1 || len(second.Calls) != 1 || first.Calls[0].WaitID == "" {
		t.Fatalf("the two calls' answers %+v %+v", first, second)
	}
	// The second call's caller presses 2 (not an option: goodbye); the first one's presses 1 (queued).
	w2 := second.Calls[0].WaitID
	re := r.callOn("CA2", "CA2/result/"+w2, &connectors.CallEvent{Kind: connectors.CallResultEvent, WaitID: w2, Result: connectors.CallResult{Digits: "2"}}, "2")
	if got := verbs(connectors.CallAction{Verbs: re.Calls}); !slices.Equal(got, []string{"say", "hangup"}) {
		t.Fatalf("the second call after 2: %+v", re)
	}
	w1 := first.Calls[0].WaitID
	re = r.callOn("CA1", "CA1/result/"+w1, &connectors.CallEvent{Kind: connectors.CallResultEvent, WaitID: w1, Result: connectors.CallResult{Digits: "1"}}, "1")
	if re.Holding == "" || re.Position != 1 {
		t.Fatalf("the first call after 1: %+v", re)
	}
	// Another caller behind it is second in line.
	r.from = "+15550002"
	w3 := r.callOn("CA3", "CA3", nil, "").Calls[0].WaitID
	re = r.callOn("CA3", "CA3/result/"+w3, &connectors.CallEvent{Kind: connectors.CallResultEvent, WaitID: w3, Result: connectors.CallResult{Digits: "1"}}, "1")
	if re.Holding == "" || re.Position != 2 {
		t.Fatalf("the second caller in line: %+v", re)
	}
	if re := r.callOn("CA3", "CA3/hold/1", &connectors.CallEvent{Kind: connectors.CallHoldEvent, Task: re.Holding}, ""); re.Position != 2 {
		t.Fatalf("the second caller's next hold loop: %+v", re)
	}
	// A callback of a call nobody follows is told to hang up.
	if re := r.callOn("CA9", "CA9/hold/1", &connectors.CallEvent{Kind: connectors.CallHoldEvent, Task: "x"}, ""); !re.Hangup {
		t.Fatalf("an unknown call's callback %+v", re)
	}
	if re := r.callOn("CA9", "CA9/result/w", &connectors.CallEvent{Kind: connectors.CallResultEvent, WaitID: "w"}, ""); !re.Hangup {
		t.Fatalf("an unknown call's result %+v", re)
	}
}

// TestScriptsToAnEndedCall: a call whose end was never reported is found
// over when its next verbs, or its agent's connection, reach it: its flow,
// task and conversation end then.
func TestScriptsToAnEndedCall(t *testing.T) {
	ended := connectors.Permanent(fmt.Errorf("call CA1 is no longer in progress: %w", connectors.ErrCallEnded))
	t.Run("verbs", func(t *testing.T) {
		r := newCallRig(t, openSQLite(t))
		r.run()
		tk, _ := r.queued()
		r.phone.failWith(ended)
		r.clock.advance(11 * time.Minute) // the enqueue's timeout: the voicemail's verbs
		r.phone.script(t, 1)
		r.conversationEnds(t, tk.ConversationID)
	})
	t.Run("connect", func(t *testing.T) {
		r := newCallRig(t, openSQLite(t))
		r.run()
		l := runLeader(r.node)
		defer l.stop()
		tk, _ := r.queued()
		r.phone.failWith(ended)
		r.worker("ana", "+15559001")
		command(t, r.node, node.CmdAccept, node.CommandArgs{Actor: "ana", Reservation: pending(t, r.store, tk.ID).ID})
		r.phone.script(t, 1)
		r.conversationEnds(t, tk.ConversationID)
		taskOn(t, r.store, "voice", r.from, store.TaskCanceled)
	})
}

// conversationEnds waits until the conversation is closed with no flow running.
func (r *callRig) conversationEnds(t *testing.T, id string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		conv, err := r.store.GetConversation(context.Background(), id)
		_, lerr := r.store.LiveExecution(context.Background(), id)
		if err == nil && conv.Status == store.ConversationClosed && errors.Is(lerr, store.ErrNotFound) {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("conversation %s is still open or its flow runs", id)
}
