package slack_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-dev/switchboard/connectors"
	"github.com/switchboard-dev/switchboard/connectors/slack"
	"github.com/switchboard-dev/switchboard/connectors/slack/slackfake"
)

// pulled collects what Pull delivers; fail makes deliver fail.
type pulled struct {
	mu   sync.Mutex
	in   []connectors.Inbound
	fail error
}

func (p *pulled) deliver(_ context.Context, in []connectors.Inbound) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.fail != nil {
		return p.fail
	}
	p.in = append(p.in, in...)
	return nil
}

func (p *pulled) messages() []connectors.Inbound {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]connectors.Inbound(nil), p.in...)
}

// waitFor polls cond for up to five seconds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

// TestSocketMode: in Socket Mode the instance opens the WebSocket with
// the app-level token and delivers the envelopes' messages, parsed as the
// webhook's, acknowledging each once delivered (the ones it does not
// take too); an envelope whose delivery fails is not acknowledged, so
// Slack sends it again, and Pull ends with the failure.
func TestSocketMode(t *testing.T) {
	f := slackfake.New(t)
	c := newConnector(t, config(f.URL, connectors.Config{"socket_mode": "true", "app_token": slackfake.AppToken}),
		connectors.Resources{HTTPClient: f.Client()})
	puller, ok := c.(connectors.Puller)
	if !ok {
		t.Fatal("an instance in socket mode is not a connectors.Puller")
	}
	p := &pulled{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- puller.Pull(ctx, p.deliver) }()

	tap := findPayload(t, "block-actions")
	tapJSON := []byte(strings.TrimSpace(string(tap.Sections["payload"])))
	for _, e := range []struct {
		id, typ string
		body    []byte
		retry   int
	}{
		{"dbdd0ef3-1543-4f94-bfb4-133d0e6c1545", "events_api", findPayload(t, "dm-text").body, 0},
		{"4f6c0d2a-3e1b-4a5c-9d8e-7f6a5b4c3d2e", "events_api", findPayload(t, "own-reply").body, 0},
		{"57d6a792-4d35-4d0b-b6aa-3361493e1caf", "interactive", tapJSON, 0},
		{"9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d", "events_api", findPayload(t, "app-mention").body, 2},
	} {
		if err := f.SendEnvelope(e.id, e.typ, e.body, e.retry); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "four acknowledgements", func() bool { return len(f.Acks()) == 4 })
	got := p.messages()
	if len(got) != 3 || got[0].PlatformID != "Ev0PV52K21" || got[1].Choice != "id" || got[2].Thread != "1515449522.000016" ||
		got[2].Attributes["retry_num"] != "2" || got[0].From != "D024BE91L/U2147483697" {
		t.Fatalf("delivered %+v", got)
	}

	p.mu.Lock()
	p.fail = errors.New("the store is down")
	p.mu.Unlock()
	if err := f.SendEnvelope("0c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f", "events_api", findPayload(t, "dm-in-thread").body, 0); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "the store is down") {
			t.Fatalf("Pull returned %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Pull did not return after deliver failed")
	}
	if acks := f.Acks(); len(acks) != 4 {
		t.Fatalf("acknowledged %v: the failed envelope must not be", acks)
	}
	cancel()
}

// TestSocketModeEnds: Pull returns nil when its context ends, and an
// app-level token Slack refuses ends it with an error naming app_token.
func TestSocketModeEnds(t *testing.T) {
	f := slackfake.New(t)
	c := newConnector(t, config(f.URL, connectors.Config{"socket_mode": "true", "app_token": slackfake.AppToken}),
		connectors.Resources{HTTPClient: f.Client()})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.(connectors.Puller).Pull(ctx, (&pulled{}).deliver) }()
	if err := f.SendEnvelope("e1", "events_api", findPayload(t, "reaction-added").body, 0); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the acknowledgement", func() bool { return len(f.Acks()) == 1 })
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Pull returned %v after its context ended", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Pull did not return after its context ended")
	}

	bad := newConnector(t, config(f.URL, connectors.Config{"socket_mode": "true", "app_token": "xapp-1-wrong"}),
		connectors.Resources{HTTPClient: f.Client()})
	ctx2, cancel2 := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel2()
	err := bad.(connectors.Puller).Pull(ctx2, (&pulled{}).deliver)
	if err == nil || ctx2.Err() != nil || !strings.Contains(err.Error(), "invalid_auth (check app_token") {
		t.Fatalf("a refused app token: Pull returned %v (context %v)", err, ctx2.Err())
	}
}

// TestSocketModeConfig: socket_mode needs an app-level token.
func TestSocketModeConfig(t *testing.T) {
	for _, tok := range []string{"", "xoxb-1-2"} {
		reg := connectors.NewRegistry()
		reg.MustRegister(slack.Spec(), slack.New)
		_, err := reg.New("slack", config("http://127.0.0.1:1/api/", connectors.Config{"socket_mode": "true", "app_token": tok}), connectors.Resources{})
		if err == nil || !strings.Contains(err.Error(), "app_token") {
			t.Errorf("app_token %q: err = %v", tok, err)
		}
	}
	if _, ok := newConnector(t, config("http://127.0.0.1:1/api/", nil), connectors.Resources{}).(connectors.Puller); ok {
		t.Error("an instance without socket_mode pulls")
	}
}
