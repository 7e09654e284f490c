package crashtest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/switchboard-dev/switchboard/connectors/custom"
	"github.com/switchboard-dev/switchboard/runtime/store"
	_ "github.com/switchboard-dev/switchboard/runtime/store/postgres"
)

// The shutdown flow answers inline, and every fifth message asks for an
// agent, so tasks reach the router while the node stops.
const shutdownFlow = `
flow shutdown {
  start: switch {
    message.text matches "agent" -> handoff
    default -> answer
  }
  answer: send "Got ${message.text}" -> done
  handoff: enqueue help
}
queue everyone { workers true }
workflow help { default everyone }
`

const (
	sdSenders   = 32                       // concurrent platform connections
	sdBeforeSig = 200                      // acknowledged messages before the SIGTERM
	sdDrain     = 10 * time.Second         // --drain-timeout: far more than the requests in flight need
	sdExit      = sdDrain + 15*time.Second // the process must be gone by then
)

// attempt is one webhook request and what the platform saw of it.
type attempt struct {
	id         string
	sent, done time.Time
	status     int   // 0: no answer (err)
	err        error // the transport's error
	body       string
}

// TestSIGTERMUnderLoad sends webhooks from many connections at once,
// signals SIGTERM in the middle, and holds the server to what a platform
// relies on: a message answered 200 is stored; one answered otherwise, or
// not answered at all, is not (the platform will send it again, and that
// is only safe to rely on because the answer was truthful); nothing
// answers 500. Each message is sent once: a retry would be deduplicated
// anyway, so the strict rule is what shows the answers tell the truth. The
// drain timeout is far longer than the requests need, so every request the
// server read is finished and answered before it stops.
func TestSIGTERMUnderLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the server")
	}
	bin := buildBinary(t)
	t.Run("sqlite", func(t *testing.T) {
		dir := t.TempDir()
		sigtermUnderLoad(t, bin, "sqlite:"+filepath.Join(dir, "switchboard.db"))
	})
	t.Run("postgres", func(t *testing.T) {
		base := os.Getenv("SWITCHBOARD_TEST_POSTGRES")
		if base == "" {
			t.Skip("SWITCHBOARD_TEST_POSTGRES is not set (e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable): skipping the PostgreSQL run")
		}
		dsn, _ := freshSchema(t, base)
		sigtermUnderLoad(t, bin, dsn)
	})
}

func sigtermUnderLoad(t *testing.T, bin, storeURL string) {
	dir := flowDir(t, "shutdown.flow", shutdownFlow)
	_, platform := newPlatform()
	defer platform.Close()
	srv := startStore(t, bin, dir, storeURL, platform.URL, nil, "--drain-timeout", sdDrain.String())
	exited := make(chan error, 1)
	go func() { exited <- srv.cmd.Wait() }()
	var gone atomic.Bool // the process has exited: the senders stop
	defer func() {
		if !gone.Load() {
			_ = srv.cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("server output:\n%s", tail(srv.out.String(), 40))
		}
	}()

	var (
		mu       sync.Mutex
		attempts []attempt
		acked    atomic.Int64
		seq      atomic.Int64
		wg       sync.WaitGroup
	)
	for w := range sdSenders {
		wg.Go(func() {
			client := &http.Client{Timeout: sdExit, Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
			defer client.CloseIdleConnections()
			for !gone.Load() {
				i := seq.Add(1)
				text := fmt.Sprintf("hello %d", i)
				if i%5 == 0 {
					text = fmt.Sprintf("agent please %d", i)
				}
				a := sendOnce(client, srv.addr, fmt.Sprintf("sd%06d", i), fmt.Sprintf("contact-%d-%d", w, i%7), text)
				if a.status == http.StatusOK {
					acked.Add(1)
				}
				mu.Lock()
				attempts = append(attempts, a)
				mu.Unlock()
				if a.status != http.StatusOK {
					time.Sleep(5 * time.Millisecond) // refused: the platform backs off
				}
			}
		})
	}
	deadline := time.Now().Add(30 * time.Second)
	for acked.Load() < sdBeforeSig && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if acked.Load() < sdBeforeSig {
		gone.Store(true)
		wg.Wait()
		t.Fatalf("only %d messages acknowledged in 30 s", acked.Load())
	}
	signaled := time.Now()
	if err := srv.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	var exitErr error
	select {
	case exitErr = <-exited:
	case <-time.After(sdExit):
		t.Errorf("serve still runs %s after SIGTERM", sdExit)
		_ = srv.cmd.Process.Kill()
		exitErr = <-exited
	}
	stopped := time.Now()
	gone.Store(true)
	wg.Wait()
	if exitErr != nil {
		t.Errorf("serve exited with %v after SIGTERM (want 0)", exitErr)
	}
	if !strings.Contains(srv.out.String(), "switchboard stopped") {
		t.Errorf("serve did not report that it stopped")
	}

	// The store, reopened, is the judge of what the answers said.
	ctx := context.Background()
	st, err := store.Open(ctx, storeURL)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var inFlight, inFlightOK, inFlight503, inFlightNone, after200, refused int
	statuses := map[int]int{}
	for _, a := range attempts {
		statuses[a.status]++
		_, err := st.FindMessage(ctx, "custom", "default", a.id)
		stored := err == nil
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("looking up %s: %v", a.id, err)
		}
		if a.sent.Before(signaled) && a.done.After(signaled) {
			inFlight++
			switch a.status {
			case http.StatusOK:
				inFlightOK++
			case http.StatusServiceUnavailable:
				inFlight503++
			case 0:
				inFlightNone++
			}
		}
		if a.sent.After(signaled) {
			if a.status == http.StatusOK {
				after200++
			} else if a.status == 0 {
				refused++
			}
		}
		switch {
		case a.status >= 500 && a.status != http.StatusServiceUnavailable:
			t.Errorf("message %s answered %d %s (stored: %v)", a.id, a.status, a.body, stored)
		case a.status == http.StatusOK && !stored:
			t.Errorf("message %s answered 200 but is not stored", a.id)
		case a.status != http.StatusOK && stored:
			t.Errorf("message %s is stored but the platform saw %s", a.id, a.outcome())
		case a.status == http.StatusServiceUnavailable && !strings.Contains(a.body, `"error"`):
			t.Errorf("message %s answered 503 without a JSON reason: %q", a.id, a.body)
		}
	}
	t.Logf("%d attempts %v; %d in flight at SIGTERM: %d answered 200, %d 503, %d no answer; "+
		"%d sent after it answered 200, %d refused; stopped %v after the signal",
		len(attempts), statuses, inFlight, inFlightOK, inFlight503, inFlightNone, after200, refused, stopped.Sub(signaled).Round(time.Millisecond))
	if inFlight == 0 {
		t.Errorf("no request was in flight at SIGTERM: the test proved nothing")
	}
}

func (a attempt) outcome() string {
	if a.status == 0 {
		return fmt.Sprintf("no answer (%v)", a.err)
	}
	return fmt.Sprintf("%d %s", a.status, a.body)
}

// sendOnce posts one signed message and records what came back.
func sendOnce(client *http.Client, addr, id, from, text string) attempt {
	body, _ := json.Marshal(map[string]string{"id": id, "from": from, "text": text})
	req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/v1/webhooks/custom/default", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	custom.SignHeader(req.Header, secret, time.Now(), body)
	a := attempt{id: id, sent: time.Now()}
	resp, err := client.Do(req)
	if err != nil {
		a.err, a.done = err, time.Now()
		return a
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	a.done = time.Now()
	if err != nil {
		a.err = err // the status line came, the answer did not: not an answer
		return a
	}
	a.status, a.body = resp.StatusCode, strings.TrimSpace(string(b))
	return a
}
