package webchat

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"testing"

	"github.com/switchboard-dev/switchboard/connectors"
)

// memKeys is a connectors.KeyStore in memory, shared by the instances of
// a test as the store is shared by the runs of a server.
type memKeys struct {
	mu    sync.Mutex
	keys  map[string][]byte
	calls int
	fail  error
}

func (m *memKeys) LoadOrStoreKey(_ context.Context, name string, value []byte) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls++
	if m.fail != nil {
		return nil, m.fail
	}
	if m.keys == nil {
		m.keys = map[string][]byte{}
	}
	if k, ok := m.keys[name]; ok {
		return k, nil
	}
	m.keys[name] = value
	return value, nil
}

func bound(ks connectors.KeyStore) *connectors.KeysBoundLater {
	k := connectors.NewKeysBoundLater()
	k.Bind(ks)
	return k
}

// TestKeptSecret checks that an instance without a configured secret
// signs with the runtime's kept key: a visitor's token from before a
// restart (a new instance on the same store) still works, one instance's
// tokens are not another's, and the key is fetched once.
func TestKeptSecret(t *testing.T) {
	ks := &memKeys{}
	before := newTest(t, nil, connectors.Resources{Keys: bound(ks)})
	visitor, token := before.NewVisitor()
	if token == "" {
		t.Fatal("no token")
	}
	_ = before.Close(context.Background())

	after := newTest(t, nil, connectors.Resources{Keys: bound(ks)})
	if v, ok := after.Visitor(token); !ok || v != visitor {
		t.Fatalf("after a restart the token is %q, %v; want visitor %s", v, ok, visitor)
	}
	ins, err := after.Receive(context.Background(), webhook(token, `{"id":"c_1","text":"still here"}`))
	if err != nil || len(ins) != 1 || ins[0].From != visitor {
		t.Fatalf("Receive after a restart: %v, %+v", err, ins)
	}
	for range 3 {
		after.Token(visitor)
	}
	if ks.calls != 2 { // one per instance
		t.Errorf("the key store was asked %d times, want 2", ks.calls)
	}

	shop := newTest(t, nil, connectors.Resources{Instance: "shop", Keys: bound(ks)})
	if _, ok := shop.Visitor(token); ok {
		t.Error("instance shop accepts instance default's token")
	}
	if len(ks.keys) != 2 {
		t.Errorf("keys %v, want one per instance", ks.keys)
	}

	// A configured secret wins: the store is not asked.
	calls := ks.calls
	fixed := newTest(t, map[string]string{"secret": testSecret}, connectors.Resources{Keys: bound(ks)})
	fixed.Token(visitor)
	if ks.calls != calls {
		t.Error("an instance with a secret asked the key store")
	}
}

// TestKeptSecretUnavailable checks that a key store that fails is not
// papered over with a random secret (tokens would break at the next
// restart): the webhook answers 500 for the platform to retry, the
// session endpoint 503, and once the store answers, everything works.
func TestKeptSecretUnavailable(t *testing.T) {
	ks := &memKeys{fail: errors.New("database is locked")}
	c := newTest(t, nil, connectors.Resources{Keys: bound(ks)})
	_, err := c.Receive(context.Background(), webhook("v_x.y", `{"id":"c_1","text":"hi"}`))
	var se *connectors.StatusError
	if err == nil || errors.As(err, &se) {
		t.Fatalf("Receive with the key store down: %v, want an internal error", err)
	}
	ts := startServerWith(t, c)
	if code, _, body := ts.do(t, http.MethodPost, "/webchat/default/session", nil, ""); code != http.StatusServiceUnavailable {
		t.Fatalf("session with the key store down: %d %s", code, body)
	}
	ks.mu.Lock()
	ks.fail = nil
	ks.mu.Unlock()
	s := ts.session(t, "")
	if v, ok := c.Visitor(s.Token); !ok || v != s.Visitor {
		t.Fatalf("session %+v not valid once the store answers", s)
	}
	// Without a key store at all, the instance makes its own secret.
	own := newTest(t, nil, connectors.Resources{Keys: bound(nil)})
	if _, tok := own.NewVisitor(); tok == "" {
		t.Fatal("no token without a key store")
	}
}
