package connectors

import (
	"context"
	"crypto/rand"
	"errors"
	"sync"
)

// Keys gives connectors secrets that outlive the process: a key is made
// once, the first time any runtime node asks for its name, and every later
// call (after a restart, on another node sharing the store) returns the
// same bytes. A connector whose secret is optional (the webchat's
// visitor-signing key) uses one instead of a random secret per start, so
// what it signed stays valid across restarts. Connectors never see the
// store: the runtime implements Keys over it (Resources.Keys).
type Keys interface {
	// Key returns the key called name, size random bytes when it is made.
	// Names are the connector's business; "{connector}/{instance}" keeps
	// the instances apart.
	Key(ctx context.Context, name string, size int) ([]byte, error)
}

// KeyStore keeps keys: the first value stored under a name wins (runtime/
// store's LoadOrStoreKey has this method).
type KeyStore interface {
	LoadOrStoreKey(ctx context.Context, name string, value []byte) ([]byte, error)
}

// ErrNoKeys is Key's error when the runtime bound no KeyStore: the
// connector falls back to a secret of its own.
var ErrNoKeys = errors.New("connectors: no key store")

// KeysBoundLater is the Keys the runtime gives its connector instances
// (Resources.Keys). Instances are built before the store is opened, so the
// store is bound afterwards, once; a Key call made before waits for Bind
// (or for its context).
type KeysBoundLater struct {
	mu    sync.Mutex
	ks    KeyStore
	ready chan struct{} // closed by Bind
}

var _ Keys = (*KeysBoundLater)(nil)

// NewKeysBoundLater returns Keys waiting for their store.
func NewKeysBoundLater() *KeysBoundLater { return &KeysBoundLater{ready: make(chan struct{})} }

// Bind sets the store, which may be nil (Key then fails with ErrNoKeys).
// Call it once.
func (k *KeysBoundLater) Bind(ks KeyStore) {
	k.mu.Lock()
	k.ks = ks
	k.mu.Unlock()
	close(k.ready)
}

// Key implements Keys.
func (k *KeysBoundLater) Key(ctx context.Context, name string, size int) ([]byte, error) {
	select {
	case <-k.ready:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	k.mu.Lock()
	ks := k.ks
	k.mu.Unlock()
	if ks == nil {
		return nil, ErrNoKeys
	}
	fresh := make([]byte, size)
	_, _ = rand.Read(fresh) // crypto/rand.Read never fails
	return ks.LoadOrStoreKey(ctx, name, fresh)
}
