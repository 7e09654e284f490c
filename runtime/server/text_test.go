package server_test

import (
	"context"
	"net"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/switchboard-dev/switchboard/compiler"
	"github.com/switchboard-dev/switchboard/connectors"
	"github.com/switchboard-dev/switchboard/runtime/node"
	"github.com/switchboard-dev/switchboard/runtime/server"
	"github.com/switchboard-dev/switchboard/runtime/store"
	"github.com/switchboard-dev/switchboard/runtime/store/storetest"
)

// TestWebhookNUL sends a customer's message whose text, sender and name
// carry NUL characters through the custom connector's webhook, twice (the
// platform's retry): both stores answer 200 both times and store the same
// text, with U+FFFD in place of each NUL, where PostgreSQL used to answer
// 500 on every delivery. A worker created with NUL in its name and
// attributes is stored the same way.
func TestWebhookNUL(t *testing.T) {
	const body = `{"id":"m-nul","from":"+1555\u00000100","name":"Ann\u0000","text":"hello\u0000world",` +
		`"attributes":{"note\u0000":["a\u0000"]}}`
	const flow = `
flow echo {
  start: send "you wrote ${message.text}" -> done
}
`
	stored := map[string]string{}
	for _, tc := range []struct {
		name string
		open func(t *testing.T) store.Store
	}{
		{"sqlite", func(t *testing.T) store.Store {
			st, err := store.Open(context.Background(), "sqlite:"+filepath.Join(t.TempDir(), "sb.db"))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			return st
		}},
		{"postgres", func(t *testing.T) store.Store { return storetest.OpenPostgres(t) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := tc.open(t)
			base := customNode(t, st, flow)
			for try := range 2 {
				got := call(t, http.MethodPost, base+"/v1/webhooks/custom/default", []byte(body), signed(body, time.Now()))
				replies, _ := got.body["replies"].([]any)
				if got.status != 200 || len(replies) != 1 || replies[0].(map[string]any)["text"] != "you wrote hello\uFFFDworld" {
					t.Fatalf("delivery %d: %d %v", try+1, got.status, got.body)
				}
			}
			c, err := st.LookupContact(t.Context(), "custom", "+1555\uFFFD0100")
			if err != nil {
				t.Fatalf("the sender's contact: %v", err)
			}
			if c.Name != "Ann\uFFFD" {
				t.Fatalf("contact name %q", c.Name)
			}
			m, err := st.FindMessage(t.Context(), "custom", "default", "m-nul")
			if err != nil {
				t.Fatal(err)
			}
			msgs, _, err := st.ListMessages(t.Context(), m.ConversationID, store.Page{})
			if err != nil {
				t.Fatal(err)
			}
			if len(msgs) != 2 || msgs[0].Text != "hello\uFFFDworld" || msgs[1].Text != "you wrote hello\uFFFDworld" {
				t.Fatalf("stored messages %+v", msgs)
			}
			stored[tc.name] = msgs[0].Text + "|" + msgs[1].Text + "|" + c.Name + "|" + string(m.Payload)

			// The agent API's writes: a worker's name and attributes.
			auth := http.Header{"Authorization": {"Bearer " + admin}}
			w := `{"id":"ana","name":"Ana\u0000","attributes":{"languages":["en\u0000"]}}`
			if got := call(t, http.MethodPost, base+"/v1/workers", []byte(w), auth); got.status != http.StatusCreated {
				t.Fatalf("worker with NUL: %d %v", got.status, got.body)
			}
			got := call(t, http.MethodGet, base+"/v1/workers/ana", nil, auth)
			langs, _ := got.body["attributes"].(map[string]any)["languages"].([]any)
			if got.status != 200 || got.body["name"] != "Ana\uFFFD" || len(langs) != 1 || langs[0] != "en\uFFFD" {
				t.Fatalf("worker %d %v", got.status, got.body)
			}
		})
	}
	if len(stored) == 2 && stored["sqlite"] != stored["postgres"] {
		t.Fatalf("the stores differ:\nsqlite   %q\npostgres %q", stored["sqlite"], stored["postgres"])
	}
}

// customNode serves flow on st behind the custom connector (instance
// default), with inline replies, and runs the router leader; it returns
// the base URL. The admin token is admin.
func customNode(t *testing.T, st store.Store, flow string) string {
	t.Helper()
	sources := []compiler.Source{{Name: "flow.flow", Src: []byte(flow)}}
	prog, list := compiler.CompileSources(sources, compiler.Options{})
	if prog == nil {
		t.Fatal(list)
	}
	conn, err := connectors.Default().New("custom", connectors.Config{"secret": secret}, connectors.Resources{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	n, err := node.New(ctx, node.Config{Store: st, Program: prog, Sources: sources,
		Channels: map[string]connectors.Connector{"custom/default": conn}})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.CreateToken(ctx, store.Token{Hash: server.HashToken(admin), Role: store.RoleAdmin, Subject: "admin"}); err != nil {
		t.Fatal(err)
	}
	srv := server.New(server.Config{Node: n, Store: st, Instances: []server.Instance{{Connector: "custom", Name: "default", Conn: conn}}})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx, ln) }()
	routed := make(chan struct{})
	go func() { n.RunRouter(ctx); close(routed) }()
	t.Cleanup(func() {
		cancel()
		if err := <-served; err != nil {
			t.Error(err)
		}
		<-routed
		n.Close()
	})
	return "http://" + ln.Addr().String()
}
