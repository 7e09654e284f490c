package outbox_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-dev/switchboard/connectors"
	"github.com/switchboard-dev/switchboard/runtime/effect"
	"github.com/switchboard-dev/switchboard/runtime/engine"
	"github.com/switchboard-dev/switchboard/runtime/execution"
	"github.com/switchboard-dev/switchboard/runtime/outbox"
	"github.com/switchboard-dev/switchboard/runtime/store"
	"github.com/switchboard-dev/switchboard/runtime/store/sqlite"
)

// texter carries messages only.
type texter struct{}

func (texter) Receive(context.Context, *connectors.Request) ([]connectors.Inbound, error) {
	return nil, nil
}
func (texter) Send(context.Context, *connectors.Outbound) (string, error) { return "", nil }

// phone carries calls too.
type phone struct {
	texter
	mu   sync.Mutex
	said []string
}

func (p *phone) PerformCall(_ context.Context, a *connectors.CallAction) (connectors.CallResult, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, v := range a.Verbs {
		p.said = append(p.said, v.Verb+" "+v.Text)
	}
	return connectors.CallResult{}, nil
}

// run queues a `say` of a call on custom/default and works the outbox
// until the effect is no longer pending; it returns the dead letters.
func run(t *testing.T, ch connectors.Connector) []store.Effect {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "sb.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	gc := store.NewGroupCommitter(st, store.GroupOptions{})
	defer gc.Close()
	core := execution.New(execution.Config{Store: st, Committer: gc})
	o := outbox.New(core, outbox.Config{Owner: "t", Channels: map[string]connectors.Connector{"custom/default": ch},
		MaxAttempts: 3, RetryBase: time.Millisecond})
	e := engine.Effect{Kind: engine.EffectVoice, Key: "k1", Voice: &engine.VoiceEffect{Verb: "say", Text: "Welcome"}}
	payload, _ := json.Marshal(effect.OutboxPayload{Route: effect.Route{ConversationID: "c1", Connector: "custom", Instance: "default",
		Channel: "voice", Address: "+100"}, Effect: e})
	u := &store.Unit{At: time.Now(), Effects: []store.Effect{{ID: store.NewID(), Kind: string(e.Kind), IdempotencyKey: e.Key, Payload: payload}}}
	if res, err := gc.Submit(ctx, u); err != nil || res.Outcome != store.Committed {
		t.Fatalf("queueing the effect: %+v %v", res, err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		o.Run(ctx, 1, nil)
	}()
	defer func() { cancel(); <-done }()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		dead, _, err := st.ListDeadLetters(ctx, store.Page{})
		if err != nil {
			t.Fatal(err)
		}
		if len(dead) > 0 {
			return dead
		}
		if p, ok := ch.(*phone); ok {
			p.mu.Lock()
			n := len(p.said)
			p.mu.Unlock()
			if n > 0 {
				return nil
			}
		}
	}
	t.Fatal("the effect was neither performed nor dead-lettered")
	return nil
}

// A voice verb on a connector that carries no calls is dead-lettered at
// once, naming the capability it lacks; a connector that carries calls
// performs it.
func TestVoiceIsAConnectorsJob(t *testing.T) {
	dead := run(t, texter{})
	if len(dead) != 1 || dead[0].Attempts > 1 || !strings.Contains(dead[0].LastError, "connectors.CallPerformer") {
		t.Fatalf("dead letters %+v", dead)
	}
	p := &phone{}
	if dead := run(t, p); len(dead) != 0 {
		t.Fatalf("dead letters %+v", dead)
	}
	if len(p.said) != 1 || p.said[0] != "say Welcome" {
		t.Errorf("the phone performed %q", p.said)
	}
}
