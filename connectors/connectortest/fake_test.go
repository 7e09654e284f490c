package connectortest_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-dev/switchboard/connectors"
	"github.com/switchboard-dev/switchboard/connectors/connectortest"
)

func TestFakeReceive(t *testing.T) {
	f := &connectortest.Fake{Channel: "sms", Secret: "tok"}
	r := f.Request(connectortest.FakeMessage{ID: "m1", From: "+1555", Text: "hi"}, connectortest.FakeMessage{ID: "m2", From: "+1556"})
	in, err := f.Receive(context.Background(), r)
	if err != nil || len(in) != 2 || in[0].PlatformID != "m1" || in[0].Channel != "sms" || in[0].Text != "hi" || in[1].From != "+1556" {
		t.Fatalf("Receive = %+v, %v", in, err)
	}
	r.Header.Del("Authorization")
	if _, err := f.Receive(context.Background(), r); connectors.StatusOf(err) != 401 {
		t.Errorf("without the token: %v", err)
	}
	f.Secret = ""
	r.Body = []byte(`{"id":"m3","from":"x"}`)
	if in, err := f.Receive(context.Background(), r); err != nil || len(in) != 1 || in[0].Channel != "sms" {
		t.Errorf("single object: %v, %v", in, err)
	}
	r.Body = []byte(`{"id":"m3"}`)
	if _, err := f.Receive(context.Background(), r); connectors.StatusOf(err) != 400 {
		t.Errorf("missing from: %v", err)
	}
	r.Body = []byte(`nope`)
	if _, err := f.Receive(context.Background(), r); connectors.StatusOf(err) != 400 {
		t.Errorf("malformed: %v", err)
	}
}

func TestFakeSend(t *testing.T) {
	f := &connectortest.Fake{}
	m := &connectors.Outbound{Key: "k1", To: "+1555", Text: "hello"}
	fail := true
	f.SendHook = func(*connectors.Outbound) error {
		if fail {
			fail = false
			return errors.New("flaky")
		}
		return nil
	}
	if _, err := f.Send(context.Background(), m); err == nil {
		t.Fatal("SendHook's error was not returned")
	}
	id1, err := f.Send(context.Background(), m)
	if err != nil {
		t.Fatal(err)
	}
	id2, err := f.Send(context.Background(), m)
	if err != nil || id2 != id1 {
		t.Errorf("resend of the same key: %q, %v; want %q", id2, err, id1)
	}
	if sent := f.Sent(); len(sent) != 1 || sent[0].Text != "hello" || f.Attempts() != 3 {
		t.Errorf("Sent = %+v, Attempts = %d", sent, f.Attempts())
	}
	if _, err := f.Send(context.Background(), &connectors.Outbound{Text: "no key"}); !connectors.IsPermanent(err) {
		t.Errorf("no key: %v", err)
	}
}

func TestFakeWaitSent(t *testing.T) {
	f := &connectortest.Fake{}
	var wg sync.WaitGroup
	wg.Go(func() {
		for _, k := range []string{"a", "b", "c"} {
			time.Sleep(time.Millisecond)
			_, _ = f.Send(context.Background(), &connectors.Outbound{Key: k, To: "x", Text: k})
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	sent, err := f.WaitSent(ctx, 3)
	if err != nil || len(sent) != 3 {
		t.Fatalf("WaitSent = %v, %v", sent, err)
	}
	wg.Wait()
	ctx, cancel = context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if _, err := f.WaitSent(ctx, 4); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("WaitSent beyond what was sent: %v", err)
	}
}

func TestRegisterAndInline(t *testing.T) {
	f := &connectortest.InlineFake{}
	reg := connectors.NewRegistry()
	if err := connectortest.Register(reg, "fake", f); err != nil {
		t.Fatal(err)
	}
	c, err := reg.New("fake", nil, connectors.Resources{})
	if err != nil || c != f {
		t.Fatalf("New = %v, %v", c, err)
	}
	ir, ok := c.(connectors.InlineResponder)
	if !ok {
		t.Fatal("InlineFake is not an InlineResponder")
	}
	status, ct, body := ir.Respond(nil, connectors.Reaction{
		Replies:  []connectors.Outbound{{Key: "k", To: "x", Text: "hi"}},
		Enqueued: []connectors.EnqueuedTask{{TaskID: "t1", Workflow: "w"}},
	})
	want := `{"replies":[{"key":"k","to":"x","text":"hi"}],"enqueued":[{"task":"t1","workflow":"w"}]}`
	if status != 200 || ct != "application/json" || string(body) != want {
		t.Errorf("Respond = %d %s %s", status, ct, body)
	}
	if r := f.Reactions(); len(r) != 1 || r[0].Replies[0].Text != "hi" {
		t.Errorf("Reactions = %+v", r)
	}
}
