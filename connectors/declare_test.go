package connectors_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-dev/switchboard/connectors"
)

func TestQuickStart(t *testing.T) {
	reg := connectors.NewRegistry()
	quick := &connectors.Spec{Name: "quick", QuickStart: true, Fields: []connectors.Field{{Name: "title", Default: "hi"}}}
	reg.MustRegister(quick, nopCtor)
	reg.MustRegister(testSpec("other"), nopCtor)
	if got := reg.QuickStart(); len(got) != 1 || got[0] != quick {
		t.Errorf("QuickStart() = %v, want the quick spec only", got)
	}

	// A quick start builds with the defaults, so a required field cannot be.
	bad := &connectors.Spec{Name: "bad", QuickStart: true, Fields: []connectors.Field{{Name: "token", Required: true}}}
	if err := reg.Register(bad, nopCtor); err == nil || !strings.Contains(err.Error(), "no field is required") {
		t.Errorf("a QuickStart spec with a required field: %v", err)
	}
}

func TestMaxBodyBytesBounds(t *testing.T) {
	for _, n := range []int64{-1, connectors.MaxBodyBytesLimit + 1} {
		if err := (&connectors.Spec{Name: "x", MaxBodyBytes: n}).Validate(); err == nil {
			t.Errorf("MaxBodyBytes %d accepted", n)
		}
	}
	for _, tc := range []struct {
		spec *connectors.Spec
		want int64
	}{
		{nil, connectors.DefaultMaxBodyBytes},
		{&connectors.Spec{Name: "x"}, connectors.DefaultMaxBodyBytes},
		{&connectors.Spec{Name: "x", MaxBodyBytes: 4096}, 4096},
	} {
		if got := (connectors.Instance{Spec: tc.spec}).BodyLimit(); got != tc.want {
			t.Errorf("BodyLimit of %+v = %d, want %d", tc.spec, got, tc.want)
		}
	}
}

func TestNewInstance(t *testing.T) {
	reg := connectors.NewRegistry()
	spec := testSpec("sms")
	reg.MustRegister(spec, nopCtor)
	in, err := reg.NewInstance("sms", "", connectors.Config{"token": "t"}, connectors.Resources{})
	if err != nil {
		t.Fatal(err)
	}
	if in.Connector != "sms" || in.Name != connectors.DefaultInstance || in.Spec != spec || in.Conn.(*nopConnector).res.Instance != connectors.DefaultInstance {
		t.Errorf("NewInstance = %+v", in)
	}
	if _, err := reg.NewInstance("sms", "eu", connectors.Config{}, connectors.Resources{}); err == nil {
		t.Error("a missing required field was accepted")
	}
	if _, err := reg.NewInstance("nope", "", nil, connectors.Resources{}); err == nil {
		t.Error("an unknown connector was built")
	}
}

// transport is an in-memory RelayTransport: every receiver of a topic gets
// what is published on it.
type transport struct {
	mu   sync.Mutex
	subs map[string][]chan []byte
}

func (tr *transport) Publish(_ context.Context, topic string, p []byte) error {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	for _, c := range tr.subs[topic] {
		c <- p
	}
	return nil
}

func (tr *transport) Receive(topic string) (<-chan []byte, func()) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	c := make(chan []byte, 8)
	if tr.subs == nil {
		tr.subs = map[string][]chan []byte{}
	}
	tr.subs[topic] = append(tr.subs[topic], c)
	return c, func() {}
}

func TestBoundLater(t *testing.T) {
	relay := connectors.NewBoundLater()
	got, cancel := relay.Subscribe("chat")
	defer cancel()
	published := make(chan error, 1)
	go func() { published <- relay.Publish(context.Background(), "chat", []byte("hello")) }()
	select {
	case err := <-published:
		t.Fatalf("Publish returned before Bind: %v", err)
	case <-time.After(50 * time.Millisecond):
	}
	tr := &transport{}
	relay.Bind(tr)
	if err := <-published; err != nil {
		t.Fatal(err)
	}
	// The subscription was made before Bind; it receives once bound. The
	// publication raced with it, so publish again until one arrives.
	deadline := time.After(5 * time.Second)
	for {
		select {
		case p := <-got:
			if string(p) != "hello" {
				t.Fatalf("received %q", p)
			}
			return
		case <-time.After(10 * time.Millisecond):
			_ = relay.Publish(context.Background(), "chat", []byte("hello"))
		case <-deadline:
			t.Fatal("nothing received")
		}
	}
}

func TestBoundLaterToNothing(t *testing.T) {
	relay := connectors.NewBoundLater()
	relay.Bind(nil)
	if err := relay.Publish(context.Background(), "chat", []byte("x")); err != nil {
		t.Errorf("Publish with no transport: %v", err)
	}
	got, cancel := relay.Subscribe("chat")
	cancel()
	select {
	case _, ok := <-got:
		if ok {
			t.Error("received a payload with no transport")
		}
	case <-time.After(5 * time.Second):
		t.Error("the subscription's channel stayed open after cancel")
	}
	ctx, stop := context.WithCancel(context.Background())
	stop()
	if err := connectors.NewBoundLater().Publish(ctx, "chat", nil); err == nil {
		t.Error("Publish before Bind ignored its canceled context")
	}
}
