package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-dev/switchboard/compiler"
	"github.com/switchboard-dev/switchboard/connectors"
	"github.com/switchboard-dev/switchboard/connectors/custom"
	"github.com/switchboard-dev/switchboard/runtime/metrics"
	"github.com/switchboard-dev/switchboard/runtime/node"
	"github.com/switchboard-dev/switchboard/runtime/server"
	"github.com/switchboard-dev/switchboard/runtime/store"
	_ "github.com/switchboard-dev/switchboard/runtime/store/sqlite"
)

const (
	secret = "test-secret"
	admin  = "sbk_admin_token"
	flow   = `
flow route {
  start: switch {
    message.text matches "(?i)live agent" -> handoff
    default -> answer
  }
  answer: send "Thanks, a bot will help you" -> done
  handoff: enqueue support_routing
}
queue support { workers true }
workflow support_routing { default support }
`
)

// serve starts a server on a loopback port and returns its base URL.
func serve(t *testing.T) string {
	t.Helper()
	return start(t, setup{flow: flow}).base
}

// setup is what start varies.
type setup struct {
	flow        string
	outboundURL string // the custom connector's deliveries
	running     bool   // run the outbox workers, the timers and the router
	eventHook   string // the router's event webhook
	// reservationTimeout: how long an offer waits (0: the runtime's default)
	reservationTimeout time.Duration
	// instances are connector instances served beside custom/default.
	instances []server.Instance
	// store is the store to run on (nil: a new SQLite database).
	store store.Store
}

type running struct {
	base  string
	store store.Store
	node  *node.Node
}

func start(t testing.TB, su setup) running {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	st, err := su.store, error(nil)
	if st == nil {
		st, err = store.Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "sb.db"))
	}
	if err != nil {
		t.Fatal(err)
	}
	sources := []compiler.Source{{Name: "route.flow", Src: []byte(su.flow)}}
	prog, list := compiler.CompileSources(sources, compiler.Options{})
	if prog == nil {
		t.Fatal(list)
	}
	reg := &metrics.Registry{}
	connCfg := connectors.Config{"secret": secret}
	if su.outboundURL != "" {
		connCfg["outbound_url"] = su.outboundURL
	}
	conn, err := connectors.Default().New("custom", connCfg, connectors.Resources{})
	if err != nil {
		t.Fatal(err)
	}
	channels := map[string]connectors.Connector{"custom/default": conn}
	instances := []server.Instance{{Connector: "custom", Name: "default", Conn: conn}}
	for _, in := range su.instances {
		channels[in.Connector+"/"+in.Name] = in.Conn
		instances = append(instances, in)
	}
	n, err := node.New(ctx, node.Config{Store: st, Program: prog, Sources: sources,
		Channels: channels, LeaderRetry: 50 * time.Millisecond,
		EventWebhook: node.EventWebhook{URL: su.eventHook, Secret: secret}, Metrics: reg,
		Routing: node.RoutingConfig{ReservationTimeout: su.reservationTimeout}})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.CreateToken(ctx, store.Token{Hash: server.HashToken(admin), Role: store.RoleAdmin, Subject: "admin"}); err != nil {
		t.Fatal(err)
	}
	srv := server.New(server.Config{Node: n, Store: st, DemoBot: true, Metrics: reg,
		Instances: instances})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	workers := make(chan struct{}, 2)
	if su.running {
		go func() { n.Run(ctx, 2); workers <- struct{}{} }()
		go func() { n.RunRouter(ctx); workers <- struct{}{} }()
	} else {
		workers <- struct{}{}
		workers <- struct{}{}
	}
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
		<-workers
		<-workers
		n.Close()
		st.Close()
	})
	return running{base: "http://" + ln.Addr().String(), store: st, node: n}
}

type response struct {
	status int
	body   map[string]any
}

func call(t testing.TB, method, url string, body []byte, header http.Header) response {
	t.Helper()
	status, _, b := roundTrip(t, method, url, bytes.NewReader(body), header)
	var m map[string]any
	if len(b) > 0 && json.Unmarshal(b, &m) != nil {
		m = map[string]any{"raw": string(b)}
	}
	return response{status, m}
}

// roundTrip sends one request and returns the answer, its body read.
func roundTrip(t testing.TB, method, url string, body io.Reader, header http.Header) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b
}

func signed(body string, at time.Time) http.Header {
	h := http.Header{"Content-Type": {"application/json"}}
	custom.SignHeader(h, secret, at, []byte(body))
	return h
}

// postWebhook sends body, signed, to the custom connector's webhook of the
// server at base, which must take it.
func postWebhook(t testing.TB, base, body string) {
	t.Helper()
	if r := call(t, "POST", base+"/v1/webhooks/custom/default", []byte(body), signed(body, time.Now())); r.status != 200 {
		t.Fatalf("webhook: %d %v", r.status, r.body)
	}
}

// customerOn is a customer writing through the custom connector of the
// server at base: a message of its own id, from whom, with its text.
func customerOn(t *testing.T, base string) func(id, from, text string) {
	return func(id, from, text string) {
		t.Helper()
		postWebhook(t, base, fmt.Sprintf(`{"id":%q,"from":%q,"text":%q}`, id, from, text))
	}
}

func TestWebhooks(t *testing.T) {
	base := serve(t)
	hook := base + "/v1/webhooks/custom/default"
	ok := `{"id":"m1","from":"alice","text":"hello"}`
	tests := []struct {
		name   string
		url    string
		body   string
		header http.Header
		status int
		check  func(map[string]any) bool
	}{
		{"reply inline", hook, ok, signed(ok, time.Now()), 200, func(m map[string]any) bool {
			r := m["replies"].([]any)
			return len(r) == 1 && r[0].(map[string]any)["text"] == "Thanks, a bot will help you"
		}},
		{"redelivery gets the first answer again", hook, ok, signed(ok, time.Now()), 200, func(m map[string]any) bool {
			r := m["replies"].([]any)
			return len(r) == 1 && r[0].(map[string]any)["text"] == "Thanks, a bot will help you"
		}},
		{"enqueue inline", hook, `{"id":"m2","from":"bob","text":"live agent!"}`, signed(`{"id":"m2","from":"bob","text":"live agent!"}`, time.Now()), 200,
			func(m map[string]any) bool { return len(m["enqueued"].([]any)) == 1 }},
		{"bad signature", hook, ok, signed(`{"id":"other"}`, time.Now()), 401, nil},
		{"stale timestamp", hook, ok, signed(ok, time.Now().Add(-time.Hour)), 401, nil},
		{"malformed", hook, `{"id":`, signed(`{"id":`, time.Now()), 400, nil},
		{"missing field", hook, `{"id":"m3"}`, signed(`{"id":"m3"}`, time.Now()), 400, nil},
		{"too large", hook, strings.Repeat("x", server.MaxWebhookBody+1), signed(strings.Repeat("x", server.MaxWebhookBody+1), time.Now()), 413, nil},
		{"unknown instance", base + "/v1/webhooks/custom/nope", ok, signed(ok, time.Now()), 404, nil},
	}
	for _, tt := range tests {
		got := call(t, http.MethodPost, tt.url, []byte(tt.body), tt.header)
		if got.status != tt.status {
			t.Errorf("%s: status %d, want %d: %v", tt.name, got.status, tt.status, got.body)
			continue
		}
		if tt.status >= 400 {
			if msg, _ := got.body["error"].(string); msg == "" {
				t.Errorf("%s: error body %v has no reason", tt.name, got.body)
			}
			continue
		}
		if tt.check != nil && !tt.check(got.body) {
			t.Errorf("%s: body %v", tt.name, got.body)
		}
	}
}

func TestAdminAPI(t *testing.T) {
	base := serve(t)
	auth := http.Header{"Authorization": {"Bearer " + admin}}
	if got := call(t, http.MethodGet, base+"/v1/programs", nil, nil); got.status != 401 {
		t.Fatalf("no token: %d", got.status)
	}
	if got := call(t, http.MethodGet, base+"/v1/programs", nil, http.Header{"Authorization": {"Bearer wrong"}}); got.status != 401 {
		t.Fatalf("wrong token: %d", got.status)
	}
	bad, _ := json.Marshal(map[string]any{"files": map[string]string{"a.flow": "flow a {\n  s: send \"x\" -> nowhere\n}\n"}})
	got := call(t, http.MethodPost, base+"/v1/programs", bad, auth)
	diags, _ := got.body["diagnostics"].([]any)
	if got.status != 422 || len(diags) != 1 || diags[0].(map[string]any)["code"] != "E0203" {
		t.Fatalf("invalid program: %d %v", got.status, got.body)
	}
	good, _ := json.Marshal(map[string]any{"files": map[string]string{"a.flow": flow}})
	if got := call(t, http.MethodPost, base+"/v1/programs", good, auth); got.status != 201 || got.body["version"] == "" {
		t.Fatalf("deploy: %d %v", got.status, got.body)
	}
	if got := call(t, http.MethodPost, base+"/v1/programs", []byte("not json"), auth); got.status != 400 {
		t.Fatalf("malformed deploy: %d", got.status)
	}
	if got := call(t, http.MethodGet, base+"/v1/executions/nope", nil, auth); got.status != 404 {
		t.Fatalf("unknown execution: %d", got.status)
	}
	for _, path := range []string{"/v1/programs", "/v1/tasks", "/v1/dead-letters"} {
		if got := call(t, http.MethodGet, base+path, nil, auth); got.status != 200 {
			t.Fatalf("%s: %d %v", path, got.status, got.body)
		}
	}
}

func TestHealthMetricsDemoBot(t *testing.T) {
	base := serve(t)
	if got := call(t, http.MethodGet, base+"/healthz", nil, nil); got.status != 200 {
		t.Fatalf("healthz %d", got.status)
	}
	if got := call(t, http.MethodGet, base+"/readyz", nil, nil); got.status != 200 || got.body["program"] == "" {
		t.Fatalf("readyz %d %v", got.status, got.body)
	}
	body := `{"id":"m1","from":"alice","text":"hi"}`
	call(t, http.MethodPost, base+"/v1/webhooks/custom/default", []byte(body), signed(body, time.Now()))
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(b), `switchboard_messages_in_total{channel="custom"} 1`) || !strings.Contains(string(b), "switchboard_webhook_seconds_count 1") {
		t.Fatalf("metrics:\n%s", b)
	}
	got := call(t, http.MethodPost, base+server.DemoBotPath+"/reply", []byte(`{"text":"where is my order?"}`), nil)
	if got.status != 200 || !strings.Contains(got.body["reply"].(string), "order") {
		t.Fatalf("demo bot: %d %v", got.status, got.body)
	}
}
