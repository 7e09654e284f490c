// Package crashtest kills a running switchboard with SIGKILL in the middle
// of a load, restarts it on the same store, and checks the runtime's
// promises: every acknowledged message is stored exactly once, waiting
// conversations resume, and pending timers fire, each effect once.
package crashtest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/switchboard-dev/switchboard/connectors/custom"
	"github.com/switchboard-dev/switchboard/runtime/store"
	_ "github.com/switchboard-dev/switchboard/runtime/store/sqlite"
)

const secret = "crash-test-secret"

// The flow: the first message asks a question and arms a timer; an answer
// thanks; silence gets one reminder when the timer fires.
const flow = `
flow crash {
  start: ask "What is your order number?" {
    timeout 3s -> reminder
    reply -> thanks
  }
  thanks: send "Thanks, looking up ${start.reply.text}" -> done
  reminder: send "Still there? Send your order number any time." -> done
}
`

// server is one switchboard process.
type server struct {
	cmd  *exec.Cmd
	addr string
	out  *syncBuffer // its stdout and stderr
}

// syncBuffer is a process's output, readable while the process writes it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "switchboard")
	cmd := exec.Command("go", "build", "-o", bin, "github.com/switchboard-dev/switchboard/cmd/switchboard")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func start(t *testing.T, bin, dir, db, outbound string) *server {
	t.Helper()
	return startStore(t, bin, dir, "sqlite:"+db, outbound, nil)
}

// startStore starts `switchboard serve` on the flows of dir and the store
// storeURL, with the custom connector delivering to outbound, the extra
// environment variables env (NAME=value) and extra flags; it returns once
// the server answers /healthz.
func startStore(t *testing.T, bin, dir, storeURL, outbound string, env []string, flags ...string) *server {
	t.Helper()
	addr := freeAddr(t)
	args := []string{"serve", "--addr", addr, "--store", storeURL,
		"--connector", "custom/default,secret=env:CRASH_SECRET,outbound_url=" + outbound}
	args = append(append(args, flags...), dir)
	cmd := exec.Command(bin, args...)
	cmd.Env = append(append(os.Environ(), "CRASH_SECRET="+secret), env...)
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &server{cmd: cmd, addr: addr, out: out}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get("http://" + addr + "/healthz"); err == nil {
			resp.Body.Close()
			return s
		}
		time.Sleep(50 * time.Millisecond)
	}
	s.cmd.Process.Kill()
	t.Fatalf("server did not start:\n%s", out.String())
	return nil
}

type reply struct {
	Replies []struct {
		ID   string `json:"id"`
		Text string `json:"text"`
	} `json:"replies"`
}

// post sends one signed message; ok is true when it was acknowledged.
func post(client *http.Client, addr, id, from, text string) (reply, bool) {
	body, _ := json.Marshal(map[string]string{"id": id, "from": from, "text": text})
	req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/v1/webhooks/custom/default", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	custom.SignHeader(req.Header, secret, time.Now(), body)
	resp, err := client.Do(req)
	if err != nil {
		return reply{}, false
	}
	defer resp.Body.Close()
	var r reply
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || json.Unmarshal(b, &r) != nil {
		return reply{}, false
	}
	return r, true
}

// flowDir returns a new program directory holding src as its one flow
// file, name.
func flowDir(t *testing.T, name, src string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// newPlatform starts the platform a server under test delivers to.
func newPlatform() (*collector, *httptest.Server) {
	col := &collector{byTo: map[string]map[string]string{}}
	return col, httptest.NewServer(col)
}

// collector receives the outbound deliveries, as a platform would: it
// keeps one per idempotency key.
type collector struct {
	mu    sync.Mutex
	byTo  map[string]map[string]string // to → key → text
	posts int                          // deliveries received, redeliveries included
}

func (c *collector) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var m custom.Outbound
	if err := json.NewDecoder(r.Body).Decode(&m); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	c.mu.Lock()
	c.posts++
	if c.byTo[m.To] == nil {
		c.byTo[m.To] = map[string]string{}
	}
	c.byTo[m.To][r.Header.Get("Idempotency-Key")] = m.Text
	c.mu.Unlock()
	w.WriteHeader(http.StatusOK)
}

// count returns how many of the waiting contacts have all their
// reminders: two for the restarted ones, one for the others. Contacts
// outside waiting (messages stored but never acknowledged before the kill)
// get reminders too, and must not be counted in their place.
func (c *collector) count(waiting, restarted map[string]bool) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for to := range waiting {
		d := c.byTo[to]
		if len(d) >= 1 && (!restarted[to] || len(d) >= 2) {
			n++
		}
	}
	return n
}

func TestKillMidLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the server")
	}
	bin := buildBinary(t)
	dir := flowDir(t, "crash.flow", flow)
	db := filepath.Join(dir, "switchboard.db")
	col, platform := newPlatform()
	defer platform.Close()

	// Phase 1: load from many contacts at once, and SIGKILL mid-way.
	srv := start(t, bin, dir, db, platform.URL)
	const total, conns = 3000, 32
	var acked sync.Map // message id → contact
	var sent, ackCount atomic.Int64
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: conns}}
	var wg sync.WaitGroup
	next := make(chan int)
	for w := 0; w < conns; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				id, from := fmt.Sprintf("m%05d", i), fmt.Sprintf("contact-%05d", i)
				sent.Add(1)
				if r, ok := post(client, srv.addr, id, from, "hello"); ok {
					if len(r.Replies) != 1 || r.Replies[0].Text != "What is your order number?" {
						t.Errorf("message %s: replies %+v", id, r.Replies)
					}
					acked.Store(id, from)
					ackCount.Add(1)
				}
			}
		}()
	}
	killed := false
	for i := 0; i < total; i++ {
		if !killed && ackCount.Load() >= total/2 {
			if err := srv.cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			killed = true
		}
		next <- i
	}
	close(next)
	wg.Wait()
	_ = srv.cmd.Wait()
	if !killed {
		t.Fatalf("the load ended before the kill (%d acknowledged)", ackCount.Load())
	}
	t.Logf("phase 1: %d sent, %d acknowledged before SIGKILL", sent.Load(), ackCount.Load())

	// Phase 2: restart on the same store.
	srv = start(t, bin, dir, db, platform.URL)
	defer func() {
		srv.cmd.Process.Signal(syscall.SIGTERM)
		srv.cmd.Wait()
		if t.Failed() {
			t.Logf("server output:\n%s", tail(srv.out.String(), 40))
		}
	}()
	ctx := context.Background()
	st, err := store.Open(ctx, "sqlite:"+db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()

	// Every acknowledged message is stored, once: a redelivery is
	// recognised and answered as the first time, without running the flow
	// again.
	var ids []string
	acked.Range(func(k, v any) bool { ids = append(ids, k.(string)); return true })
	for _, id := range ids {
		if _, err := st.FindMessage(ctx, "custom", "default", id); err != nil {
			t.Fatalf("acknowledged message %s is not stored: %v", id, err)
		}
	}
	for _, id := range ids[:min(200, len(ids))] {
		from, _ := acked.Load(id)
		r, ok := post(client, srv.addr, id, from.(string), "hello")
		if !ok || len(r.Replies) != 1 || r.Replies[0].Text != "What is your order number?" {
			t.Fatalf("redelivery of %s: ok=%v replies %+v (want the first answer again)", id, ok, r.Replies)
		}
		msgs, _, err := st.ListMessages(ctx, conversationOf(t, st, from.(string)), store.Page{})
		if err != nil || countInbound(msgs) != 1 {
			t.Fatalf("contact %s has %d inbound messages (%v)", from, countInbound(msgs), err)
		}
	}

	// Waiting conversations resume: half of the acknowledged contacts
	// answer now and are thanked; the others' timers fire after the
	// restart and each gets exactly one reminder.
	answered := map[string]bool{}  // thanked: no reminder
	restarted := map[string]bool{} // the timer had fired: the answer started a new conversation, whose timer fires too
	for i, id := range ids {
		if i%2 == 1 {
			continue
		}
		from, _ := acked.Load(id)
		r, ok := post(client, srv.addr, id+"-answer", from.(string), "A-"+id)
		if !ok {
			t.Fatalf("answer from %s not acknowledged", from)
		}
		// The timer may have fired already (3 s): then the conversation
		// ended with a reminder, and this message starts a new one.
		if len(r.Replies) != 1 {
			t.Fatalf("answer from %s: replies %+v", from, r.Replies)
		}
		if strings.HasPrefix(r.Replies[0].Text, "Thanks") {
			answered[from.(string)] = true
		} else {
			restarted[from.(string)] = true
		}
	}
	waiting := map[string]bool{}
	for _, id := range ids {
		if from, _ := acked.Load(id); !answered[from.(string)] {
			waiting[from.(string)] = true
		}
	}
	deadline := time.Now().Add(90 * time.Second)
	for col.count(waiting, restarted) < len(waiting) && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	col.mu.Lock()
	defer col.mu.Unlock()
	for _, id := range ids {
		from, _ := acked.Load(id)
		deliveries := col.byTo[from.(string)]
		if answered[from.(string)] {
			if len(deliveries) != 0 {
				t.Fatalf("answered contact %s also got %v", from, deliveries)
			}
			continue
		}
		wantN := 1
		if restarted[from.(string)] {
			wantN = 2
		}
		if len(deliveries) != wantN {
			t.Fatalf("contact %s got %d reminders (want %d): %v", from, len(deliveries), wantN, deliveries)
		}
	}
	t.Logf("phase 2: %d redeliveries deduplicated, %d answered in time, %d restarted, every reminder delivered once", min(200, len(ids)), len(answered), len(restarted))
}

func conversationOf(t *testing.T, st store.Store, from string) string {
	t.Helper()
	c, err := st.ResolveContact(context.Background(), "custom", from, "")
	if err != nil {
		t.Fatal(err)
	}
	convs, _, err := st.ListConversations(context.Background(), store.ConversationFilter{ContactID: c.ID}, store.Page{})
	if err != nil || len(convs) == 0 {
		t.Fatalf("no conversation for %s: %v", from, err)
	}
	return convs[0].ID
}

func countInbound(msgs []store.Message) int {
	n := 0
	for _, m := range msgs {
		if m.Direction == store.Inbound {
			n++
		}
	}
	return n
}

func tail(s string, lines int) string {
	sc := bufio.NewScanner(strings.NewReader(s))
	var all []string
	for sc.Scan() {
		all = append(all, sc.Text())
	}
	if len(all) > lines {
		all = all[len(all)-lines:]
	}
	return strings.Join(all, "\n")
}
