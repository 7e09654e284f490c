package server_test

import (
	"context"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/switchboard-dev/switchboard/compiler"
	"github.com/switchboard-dev/switchboard/runtime/node"
	"github.com/switchboard-dev/switchboard/runtime/server"
	"github.com/switchboard-dev/switchboard/runtime/store"
)

// slowTouch is a store whose writes of tokens' last use wait for release.
type slowTouch struct {
	store.Store
	started chan struct{}
	release chan struct{}
}

func (s *slowTouch) TouchTokens(ctx context.Context, used map[string]time.Time) error {
	s.started <- struct{}{}
	<-s.release
	return s.Store.TouchTokens(ctx, used)
}

// TestShutdownWritesTokenUse: a shutdown waits for the last-use write a
// request started, so the store is not closed under it and the time is
// kept.
func TestShutdownWritesTokenUse(t *testing.T) {
	ctx := context.Background()
	inner, err := store.Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "sb.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer inner.Close()
	st := &slowTouch{Store: inner, started: make(chan struct{}, 1), release: make(chan struct{})}
	sources := []compiler.Source{{Name: "route.flow", Src: []byte(flow)}}
	prog, list := compiler.CompileSources(sources, compiler.Options{})
	if prog == nil {
		t.Fatal(list)
	}
	n, err := node.New(ctx, node.Config{Store: st, Program: prog, Sources: sources})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	if err := st.CreateToken(ctx, store.Token{ID: "tok_admin", Hash: server.HashToken(admin), Role: store.RoleAdmin, Subject: "admin"}); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	serveCtx, stop := context.WithCancel(ctx)
	served := make(chan error, 1)
	go func() { served <- server.New(server.Config{Node: n, Store: st}).Serve(serveCtx, ln) }()

	if r := call(t, "GET", "http://"+ln.Addr().String()+"/v1/programs", nil, bearer(admin)); r.status != 200 {
		t.Fatalf("programs: %d %v", r.status, r.body)
	}
	<-st.started
	stop()
	select {
	case err := <-served:
		t.Fatalf("Serve returned (%v) while the token's last use was being written", err)
	case <-time.After(300 * time.Millisecond):
	}
	close(st.release)
	if err := <-served; err != nil {
		t.Fatal(err)
	}
	toks, err := inner.ListTokens(ctx)
	if err != nil || len(toks) != 1 || toks[0].LastUsedAt.IsZero() {
		t.Fatalf("tokens after the shutdown: %+v, %v; want the admin token's last use", toks, err)
	}
}
