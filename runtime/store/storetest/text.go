package storetest

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/switchboard-dev/switchboard/runtime/store"
)

// testText checks the store's text rule (store.Text, store.CleanJSON): a NUL,
// invalid UTF-8 or a \u0000 escape in JSON is stored as U+FFFD in every text
// and JSON column, by every write, on every store, instead of failing the
// write (PostgreSQL refuses them) or being kept (SQLite would); lookups
// apply the rule to their keys too. Payloads stay byte for byte.
func testText(t *testing.T, s store.Store) {
	const (
		bad   = "a\x00b\xffc"           // NUL and an invalid byte
		clean = "a\uFFFDb\uFFFDc"       // as stored
		badJS = `{"k\u0000":"v\u0000"}` // \u0000 escapes in a key and a value
	)
	cleanJS := json.RawMessage(`{"k\ufffd":"v\ufffd"}`)
	payload := []byte("raw\x00\xff bytes")

	// A unit creating a contact and a conversation for a customer's message.
	contactID, convID, execID, taskID := store.NewID(), store.NewID(), store.NewID(), store.NewID()
	u := &store.Unit{At: t0,
		Contact:      &store.NewContact{ID: contactID, Name: "Ann " + bad, Channel: "sms", Address: "+1555" + bad},
		Conversation: &store.NewConversation{ID: convID, ContactID: contactID, Channel: "sms", Instance: "default"},
		Inbound: &store.Message{ID: store.NewID(), ConversationID: convID, Connector: "custom", Instance: "default",
			PlatformMessageID: "pm-" + bad, Text: "hello " + bad, Payload: payload},
		Execution: &store.ExecutionWrite{Execution: store.Execution{ID: execID, ConversationID: convID, Flow: "support",
			ProgramVersion: "v1", Status: store.ExecutionWaiting, Payload: payload}},
		Messages: []store.Message{{ID: store.NewID(), ConversationID: convID, Direction: store.Outbound, Connector: "custom",
			Instance: "default", Text: "reply " + bad}},
		Effects: []store.Effect{{ID: store.NewID(), ExecutionID: execID, Kind: "send", Payload: payload}},
		Tasks: []store.Task{{ID: taskID, ConversationID: convID, ContactID: contactID, ExecutionID: execID,
			Workflow: "support_routing", Attributes: json.RawMessage(badJS)}},
	}
	wantOutcomes(t, commit(t, s, u), store.Committed)

	c := must[store.Contact](t)(s.GetContact(ctx(t), contactID))
	if c.Name != "Ann "+clean || len(c.Addresses) != 1 || c.Addresses[0].Address != "+1555"+clean {
		t.Fatalf("contact %+v, want name %q and address %q", c, "Ann "+clean, "+1555"+clean)
	}
	for _, key := range []string{clean, bad} {
		if f, ok := s.(store.AddressFilter); ok && !f.MayHaveAddress("sms", "+1555"+key) {
			t.Fatalf("MayHaveAddress(%q) is false, but LookupContact finds it", "+1555"+key)
		}
		if got := must[store.Contact](t)(s.LookupContact(ctx(t), "sms", "+1555"+key)); got.ID != contactID {
			t.Fatalf("LookupContact(%q) = %s, want %s", "+1555"+key, got.ID, contactID)
		}
		m := must[store.Message](t)(s.FindMessage(ctx(t), "custom", "default", "pm-"+key))
		if m.Text != "hello "+clean || m.PlatformMessageID != "pm-"+clean || !bytes.Equal(m.Payload, payload) {
			t.Fatalf("FindMessage(%q) = %+v", "pm-"+key, m)
		}
	}
	ms := must[[]store.Message](t)(dropCursor(s.ListMessages(ctx(t), convID, store.Page{})))
	if len(ms) != 2 || ms[0].Text != "hello "+clean || ms[1].Text != "reply "+clean {
		t.Fatalf("messages %+v", ms)
	}
	if x := must[store.Execution](t)(s.GetExecution(ctx(t), execID)); !bytes.Equal(x.Payload, payload) {
		t.Fatalf("execution payload %q, want %q byte for byte", x.Payload, payload)
	}
	jsonEq(t, must[store.Task](t)(s.GetTask(ctx(t), taskID)).Attributes, cleanJS)

	// A redelivery with the same (unclean) dedupe key is a duplicate.
	again := &store.Unit{At: t0, Inbound: &store.Message{ID: store.NewID(), ConversationID: convID, Connector: "custom",
		Instance: "default", PlatformMessageID: "pm-" + bad, Text: "hello " + bad}}
	wantOutcomes(t, commit(t, s, again), store.Duplicate)

	// The other writes: attributes, the find-or-create of identities, an
	// effect's error, workers, the router's events and commands.
	noErr(t, s.SetContactAttributes(ctx(t), contactID, json.RawMessage(badJS)))
	jsonEq(t, must[store.Contact](t)(s.GetContact(ctx(t), contactID)).Attributes, cleanJS)
	rc := must[store.Contact](t)(s.ResolveContact(ctx(t), "email", "x"+bad+"@example.com", "Bo "+bad))
	if rc.Name != "Bo "+clean || rc.Addresses[0].Address != "x"+clean+"@example.com" {
		t.Fatalf("resolved contact %+v", rc)
	}
	if again := must[store.Contact](t)(s.ResolveContact(ctx(t), "email", "x"+clean+"@example.com", "")); again.ID != rc.ID {
		t.Fatalf("ResolveContact of the stored address made contact %s, want %s", again.ID, rc.ID)
	}
	effID := u.Effects[0].ID
	noErr(t, s.RetryEffect(ctx(t), effID, t0.Add(time.Minute), "bot answered "+bad))
	if e := must[store.Effect](t)(s.GetEffect(ctx(t), effID)); e.LastError != "bot answered "+clean {
		t.Fatalf("effect error %q", e.LastError)
	}
	noErr(t, s.DeadLetter(ctx(t), effID, "gave up: "+bad))
	if e := must[store.Effect](t)(s.GetEffect(ctx(t), effID)); e.LastError != "gave up: "+clean {
		t.Fatalf("dead letter error %q", e.LastError)
	}

	w := store.Worker{ID: "w-text", Name: "Ana " + bad, Attributes: json.RawMessage(badJS), Activity: "available",
		Capacity: map[string]int{"chat": 1}}
	ev := store.RouterEvent{Type: "conversation.message", WorkerID: w.ID, Data: json.RawMessage(badJS)}
	noErr(t, s.ApplyRouting(ctx(t), &store.RoutingWrite{At: t0, Workers: []store.Worker{w}, Events: []store.RouterEvent{ev}}))
	gw := must[store.Worker](t)(s.GetWorker(ctx(t), w.ID))
	if gw.Name != "Ana "+clean {
		t.Fatalf("worker name %q", gw.Name)
	}
	jsonEq(t, gw.Attributes, cleanJS)
	noErr(t, s.AppendRouterEvents(ctx(t), []store.RouterEvent{{Type: "agent.reply.failed", WorkerID: w.ID,
		Data: json.RawMessage(`{"error":"` + "x\\u0000\xff" + `"}`)}}))
	evs := must[[]store.RouterEvent](t)(dropCursor(s.ListRouterEvents(ctx(t), store.RouterEventFilter{WorkerID: w.ID}, store.Page{})))
	if len(evs) != 2 {
		t.Fatalf("%d events, want 2", len(evs))
	}
	jsonEq(t, evs[0].Data, cleanJS)
	jsonEq(t, evs[1].Data, json.RawMessage(`{"error":"x\ufffd\ufffd"}`))
	seq := must[int64](t)(s.SubmitCommand(ctx(t), store.Command{Kind: "worker.update", Args: json.RawMessage(badJS)}))
	noErr(t, s.ApplyRouting(ctx(t), &store.RoutingWrite{Commands: []store.Command{
		{Seq: seq, Status: store.CommandFailed, Result: json.RawMessage(badJS), Error: "invalid: " + bad}}}))
	cmd := must[store.Command](t)(s.GetCommand(ctx(t), seq))
	jsonEq(t, cmd.Args, cleanJS)
	if cmd.Error != "invalid: "+clean {
		t.Fatalf("command error %q", cmd.Error)
	}
}
