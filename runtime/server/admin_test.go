package server_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	adminconsole "github.com/switchboard-dev/switchboard/runtime/server/admin"
	"github.com/switchboard-dev/switchboard/runtime/store"
	"github.com/switchboard-dev/switchboard/runtime/store/storetest"
)

// adminFlow asks a question (a step executions wait at) or hands the
// conversation to an agent.
const adminFlow = `
flow route {
  start: switch {
    message.text matches "(?i)live agent" -> handoff
    message.text matches "(?i)survey" -> rate
    default -> answer
  }
  answer: send "Thanks, a bot will help you" -> done
  rate: ask "How did we do, 1 to 5?" {
    timeout 1h -> done
    reply.text == "5" -> glad
    reply -> thanks
  }
  glad: send "Glad to hear it" -> done
  thanks: send "Thank you" -> done
  handoff: enqueue support_routing
}
queue support { workers true }
workflow support_routing { default support }
`

// refusingPlatform is the custom connector's platform: it takes messages,
// or refuses them with a 400 while refuse is set (a permanent failure: an
// agent's reply is dead-lettered at once), and counts what it took per
// recipient.
type refusingPlatform struct {
	refuse atomic.Bool
	mu     sync.Mutex
	got    map[string]int
}

func (p *refusingPlatform) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if p.refuse.Load() {
		http.Error(w, "recipient blocked", http.StatusBadRequest)
		return
	}
	m, ok := readOutbound(w, r)
	if !ok {
		return
	}
	p.mu.Lock()
	p.got[m.To]++
	p.mu.Unlock()
}

func (p *refusingPlatform) count(to string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.got[to]
}

// waitUntil polls cond for up to 10 s.
func waitUntil(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 10 s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestAdminAPI_Routes checks the console's routes, on SQLite and on
// PostgreSQL: who may call them (401 without a token, 403 with a
// worker's), what they answer (the steps' waiting counts, one delivery of
// a dead letter however many admins retry it), and the 400s and 404s
// with their JSON reasons.
func TestAdminAPI_Routes(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) { testAdminRoutes(t, nil) })
	t.Run("postgres", func(t *testing.T) { testAdminRoutes(t, storetest.OpenPostgres(t)) })
}

func testAdminRoutes(t *testing.T, st store.Store) {
	platform := &refusingPlatform{got: map[string]int{}}
	srv := httptest.NewServer(platform)
	defer srv.Close()
	sb := start(t, setup{flow: adminFlow, outboundURL: srv.URL, running: true, store: st})
	base, adminH := sb.base, bearer(admin)
	version := sb.node.Active().Version
	customer := customerOn(t, base)
	r := call(t, "POST", base+"/v1/workers", []byte(`{"id":"ana"}`), adminH)
	if r.status != 201 {
		t.Fatalf("create ana: %d %v", r.status, r.body)
	}
	workerH := bearer(r.body["token"].(string))

	// Two customers wait at the ask step; one is answered and leaves.
	customer("s1", "carol", "survey please")
	customer("s2", "dan", "survey")
	customer("s3", "erin", "survey")
	customer("s4", "erin", "5")

	graphURL := base + "/v1/programs/" + version + "/flows/route/graph"
	r = call(t, "GET", graphURL, nil, adminH)
	if r.status != 200 {
		t.Fatalf("graph: %d %v", r.status, r.body)
	}
	waiting := map[string]float64{}
	kinds := map[string]string{}
	for _, n := range r.body["nodes"].([]any) {
		n := n.(map[string]any)
		waiting[n["name"].(string)] = n["waiting"].(float64)
		kinds[n["name"].(string)] = n["kind"].(string)
	}
	if waiting["rate"] != 2 || r.body["waiting"].(float64) != 2 {
		t.Errorf("graph counts %v (total %v), want 2 waiting at rate", waiting, r.body["waiting"])
	}
	if kinds["rate"] != "ask" || kinds["handoff"] != "enqueue" || len(waiting) != 7 { // six steps and done
		t.Errorf("graph nodes %v", kinds)
	}
	edges := map[string]bool{}
	for _, e := range r.body["edges"].([]any) {
		e := e.(map[string]any)
		edges[e["from"].(string)+" "+e["label"].(string)+" "+e["to"].(string)] = true
	}
	for _, want := range []string{`s2 timeout done`, `s2 reply.text == "5" s3`, `s2 reply s4`, `s0 default s1`} {
		if !edges[want] {
			t.Errorf("graph lacks the edge %q; has %v", want, edges)
		}
	}

	r = call(t, "GET", base+"/v1/programs/"+version, nil, adminH)
	if r.status != 200 || fmt.Sprint(r.body["files"]) != "[route.flow]" || fmt.Sprint(r.body["queues"]) != "[support]" {
		t.Errorf("program: %d %v", r.status, r.body)
	}

	// A dead letter: the platform refuses an agent's reply to dave for
	// good. Retried once the platform takes it again, it is delivered
	// once, and a second retry finds nothing to do.
	if r := call(t, "PATCH", base+"/v1/workers/ana", []byte(`{"activity":"available","capacity":{"chat":3}}`), adminH); r.status != 200 {
		t.Fatalf("ana available: %d %v", r.status, r.body)
	}
	customer("d1", "dave", "live agent please")
	customer("d2", "fay", "live agent please")
	tasks := map[string]bool{}
	waitUntil(t, "ana's offers accepted", func() bool {
		rs, _ := call(t, "GET", base+"/v1/workers/ana/reservations?status=pending", nil, workerH).body["reservations"].([]any)
		for _, res := range rs {
			res := res.(map[string]any)
			if r := call(t, "POST", base+"/v1/reservations/"+res["id"].(string)+"/accept", nil, workerH); r.status == 200 {
				tasks[res["task_id"].(string)] = true
			}
		}
		return len(tasks) == 2
	})
	platform.refuse.Store(true)
	deadLetters := func() []string {
		list, _ := call(t, "GET", base+"/v1/dead-letters", nil, adminH).body["dead_letters"].([]any)
		var ids []string
		for _, e := range list {
			ids = append(ids, e.(map[string]any)["id"].(string))
		}
		return ids
	}
	for task := range tasks {
		if r := call(t, "POST", base+"/v1/tasks/"+task+"/messages", []byte(`{"text":"Hello from Ana"}`), workerH); r.status != 202 {
			t.Fatalf("reply: %d %v", r.status, r.body)
		}
	}
	waitUntil(t, "two dead letters", func() bool { return len(deadLetters()) == 2 })
	dead := deadLetters()
	effect, second := dead[0], dead[1]
	platform.refuse.Store(false)
	var wg sync.WaitGroup
	statuses := make([]int, 4)
	for i := range statuses {
		wg.Add(1)
		go func() {
			defer wg.Done()
			statuses[i] = call(t, "POST", base+"/v1/dead-letters/"+effect+"/retry", nil, adminH).status
		}()
	}
	wg.Wait()
	accepted := 0
	for _, s := range statuses {
		if s == 202 {
			accepted++
		} else if s != 404 {
			t.Errorf("concurrent retry answered %d", s)
		}
	}
	if accepted != 1 {
		t.Errorf("retries answered %v: want one 202, the others 404", statuses)
	}
	delivered := func() int { return platform.count("dave") + platform.count("fay") }
	waitUntil(t, "the retried reply delivered", func() bool { return delivered() == 1 })
	waitUntil(t, "the retried effect gone from the dead letters", func() bool { return len(deadLetters()) == 1 })
	time.Sleep(300 * time.Millisecond) // a second delivery would come by now (the outbox polls every 200 ms)
	if n := delivered(); n != 1 {
		t.Errorf("the retried reply was delivered %d times", n)
	}

	// Discard the other one.
	if r := call(t, "DELETE", base+"/v1/dead-letters/"+second, nil, workerH); r.status != 403 {
		t.Errorf("a worker discarding: %d %v", r.status, r.body)
	}
	if r := call(t, "DELETE", base+"/v1/dead-letters/"+second, nil, adminH); r.status != 204 {
		t.Errorf("discard: %d %v", r.status, r.body)
	}
	if left := deadLetters(); len(left) != 0 {
		t.Errorf("dead letters %v after the discard", left)
	}

	// The event log, newest first.
	oldest := call(t, "GET", base+"/v1/router/events?limit=1", nil, adminH).body["events"].([]any)
	newest := call(t, "GET", base+"/v1/router/events?limit=1&newest=true", nil, adminH).body["events"].([]any)
	if len(oldest) != 1 || len(newest) != 1 || newest[0].(map[string]any)["seq"].(float64) <= oldest[0].(map[string]any)["seq"].(float64) {
		t.Errorf("events: oldest %v, newest %v", oldest, newest)
	}

	// Conversations by address, channel and status.
	r = call(t, "GET", base+"/v1/conversations?address=carol&channel=custom&status=open", nil, adminH)
	if list, _ := r.body["conversations"].([]any); r.status != 200 || len(list) != 1 {
		t.Errorf("carol's conversations: %d %v", r.status, r.body)
	}
	r = call(t, "GET", base+"/v1/conversations?channel=sms", nil, adminH)
	if list, ok := r.body["conversations"].([]any); r.status != 200 || !ok || len(list) != 0 {
		t.Errorf("sms conversations: %d %v", r.status, r.body)
	}

	for _, tc := range []struct {
		method, path string
		header       http.Header
		status       int
		reason       string // a regexp the JSON reason matches
	}{
		{"GET", "/v1/programs/" + version + "/flows/route/graph", nil, 401, `token`},
		{"GET", "/v1/programs/" + version + "/flows/route/graph", workerH, 403, `admin`},
		{"GET", "/v1/programs/" + version, workerH, 403, `admin`},
		{"POST", "/v1/dead-letters/x/retry", nil, 401, `token`},
		{"POST", "/v1/dead-letters/x/retry", workerH, 403, `admin`},
		{"GET", "/v1/programs/nope/flows/route/graph", adminH, 404, `no program version "nope"`},
		{"GET", "/v1/programs/nope", adminH, 404, `no program version "nope"`},
		{"GET", "/v1/programs/" + version + "/flows/rout/graph", adminH, 404, "has no flow `rout`; its flows: route \\(did you mean `route`\\?\\)"},
		{"POST", "/v1/dead-letters/" + effect + "/retry", adminH, 404, `no dead letter .* retried or discarded already`},
		{"DELETE", "/v1/dead-letters/" + second, adminH, 404, `no dead letter`},
		{"DELETE", "/v1/dead-letters/missing", adminH, 404, `no dead letter "missing"`},
		{"GET", "/v1/conversations?status=pending", adminH, 400, `status="pending" is not one of open, closed`},
		{"GET", "/v1/conversations?channel=whatsap", adminH, 400, `channel="whatsap" is not one of sms, whatsapp, `},
		{"GET", "/v1/conversations?newest=yes", adminH, 400, `newest="yes" is not one of true, false`},
		{"GET", "/v1/router/events?newest=1", adminH, 400, `newest="1" is not one of true, false`},
		{"GET", "/v1/conversations?chanel=sms", adminH, 400, "unknown query parameter `chanel`"},
		{"GET", "/v1/conversations?after=abc", adminH, 400, `cursor`},
		{"POST", "/v1/programs/" + version, adminH, 405, `takes GET`},
	} {
		r := call(t, tc.method, base+tc.path, nil, tc.header)
		reason, _ := r.body["error"].(string)
		if r.status != tc.status || !regexp.MustCompile(tc.reason).MatchString(reason) {
			t.Errorf("%s %s: %d %q, want %d matching %s", tc.method, tc.path, r.status, reason, tc.status, tc.reason)
		}
	}
}

// TestAdminConsoleFirstRender: the console's first render (the page and
// what it links) is under 200 KB, every file it links is its own, served
// by the server (relative, no scheme or host), and the page forbids
// loading anything from elsewhere.
func TestAdminConsoleFirstRender(t *testing.T) {
	base := serve(t)
	status, h, page := roundTrip(t, "GET", base+"/admin/", nil, nil)
	if status != 200 || !strings.HasPrefix(h.Get("Content-Type"), "text/html") {
		t.Fatalf("GET /admin/: %d %s", status, h.Get("Content-Type"))
	}
	csp := h.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'none'", "script-src 'self'", "style-src 'self'", "connect-src 'self'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("Content-Security-Policy %q lacks %q", csp, want)
		}
	}
	total := len(page)
	refs := regexp.MustCompile(`(?:src|href)="([^"]*)"`).FindAllStringSubmatch(string(page), -1)
	if len(refs) < 3 {
		t.Fatalf("the page links %d files: %q", len(refs), refs)
	}
	for _, m := range refs {
		ref := m[1]
		if strings.HasPrefix(ref, "data:") {
			continue
		}
		if strings.Contains(ref, "//") || strings.Contains(ref, ":") {
			t.Errorf("the page links %q, not one of its own files", ref)
			continue
		}
		status, _, body := roundTrip(t, "GET", base+"/admin/"+ref, nil, nil)
		if status != 200 {
			t.Errorf("GET /admin/%s: %d", ref, status)
		}
		total += len(body)
	}
	if total >= 200_000 {
		t.Errorf("first render is %d bytes, want under 200 KB", total)
	}
	sum := 0
	for _, n := range adminconsole.Files() {
		sum += n
	}
	t.Logf("first render: %d bytes (all the console's files: %d)", total, sum)
	if r := call(t, "POST", base+"/admin/", nil, nil); r.status != 405 {
		t.Errorf("POST /admin/: %d", r.status)
	}
	if r := call(t, "GET", base+"/admin/nope.js", nil, nil); r.status != 404 || r.body["error"] == nil {
		t.Errorf("GET /admin/nope.js: %d %v", r.status, r.body)
	}
}
