package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// shipped is `switchboard serve` running the shipped flows (flows/) in this
// process, with connectors the test names, for the connectors' end to end
// tests: the admin API and the agent API drive it as an operator and an
// agent would.
type shipped struct {
	t     *testing.T
	base  string // serve's public URL
	admin string
	http  *http.Client
}

var adminTokenLine = regexp.MustCompile(`(?m)^Admin token \(shown once.*\n\s+(\S+)`)

// serveShipped serves a copy of flows/ with flags added to serve's; the IVR's
// office is open whenever the test runs, so a call reaches its menu.
func serveShipped(t *testing.T, flags ...string) *shipped {
	t.Helper()
	dir := shippedFlowsDir(t, true)
	addr := freeAddr(t)
	base := "http://" + addr
	cmd := New()
	out := &lockedBuffer{}
	cmd.SetOut(out)
	cmd.SetErr(out)
	args := []string{"serve", "--addr", addr, "--public-url", base, "--store", "sqlite:" + filepath.Join(dir, "sb.db"),
		"--env", "ASSETS_URL=https://assets.test", "--env", "SALES_NUMBER=+15559990000", "--env", "TICKETS_URL=https://tickets.test",
		"--reservation-timeout", "1m"}
	cmd.SetArgs(append(append(args, flags...), dir))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- cmd.ExecuteContext(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("serve: %v\n%s", err, out)
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if m := adminTokenLine.FindStringSubmatch(out.String()); m != nil {
			if resp, err := http.Get(base + "/readyz"); err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					return &shipped{t: t, base: base, admin: m[1], http: &http.Client{Timeout: 20 * time.Second}}
				}
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("serve did not start:\n%s", out)
	return nil
}

// shippedFlowsDir copies flows/ into a directory of the test's own, where
// serve keeps its store too; with openOffice the IVR's office hours cover
// every moment, so a call reaches its menu whenever the test runs.
func shippedFlowsDir(t *testing.T, openOffice bool) string {
	t.Helper()
	dir := t.TempDir()
	flows, err := filepath.Glob("../flows/*.flow")
	if err != nil || len(flows) == 0 {
		t.Fatalf("the shipped flows: %v %v", flows, err)
	}
	for _, f := range flows {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if openOffice && filepath.Base(f) == "ivr.flow" {
			src = regexp.MustCompile(`(?s)hours office_hours \{.*?\n\}`).ReplaceAll(src,
				[]byte("hours office_hours {\n  timezone \"UTC\"\n  mon-sun 00:00-24:00\n}"))
		}
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(f)), src, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// freeAddr is a loopback address that nothing listens on a moment ago, for
// serve to listen on; a test that restarts serve needs it known beforehand.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// shipped is the rig on a serve run that startServe started on addr, with
// the admin token serve printed.
func (r *serveRun) shipped(t *testing.T, addr string) *shipped {
	t.Helper()
	m := adminTokenLine.FindStringSubmatch(r.out.String())
	if m == nil {
		t.Fatalf("no admin token:\n%s", r.out)
	}
	return &shipped{t: t, base: "http://" + addr, admin: m[1], http: &http.Client{Timeout: 20 * time.Second}}
}

// post sends body to url with header and returns the status and the answer.
func (r *shipped) post(url string, header http.Header, body []byte) (int, http.Header, []byte) {
	r.t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		r.t.Fatal(err)
	}
	req.Header = header
	resp, err := r.http.Do(req)
	if err != nil {
		r.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, raw
}

// api calls the admin or agent API with token and decodes the answer.
func (r *shipped) api(method, path, token string, body any, want int) map[string]any {
	r.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, r.base+path, rd)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := r.http.Do(req)
	if err != nil {
		r.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		r.t.Fatalf("%s %s: %d %s (want %d)", method, path, resp.StatusCode, raw, want)
	}
	var out map[string]any
	_ = json.Unmarshal(raw, &out)
	return out
}

// worker creates a worker and returns its token.
func (r *shipped) worker(id string, attrs map[string]any, capacity map[string]int) string {
	res := r.api("POST", "/v1/workers", r.admin, map[string]any{"id": id, "attributes": attrs, "activity": "available", "capacity": capacity}, http.StatusCreated)
	return res["token"].(string)
}

// accept waits for the worker's pending reservation and accepts it; it
// returns the task's id.
func (r *shipped) accept(worker, token string) string {
	r.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		res := r.api("GET", "/v1/workers/"+worker+"/reservations", token, nil, http.StatusOK)
		list, _ := res["reservations"].([]any)
		for _, x := range list {
			rv := x.(map[string]any)
			if rv["status"] == "pending" {
				r.api("POST", "/v1/reservations/"+rv["id"].(string)+"/accept", token, nil, http.StatusOK)
				return rv["task_id"].(string)
			}
		}
		time.Sleep(30 * time.Millisecond)
	}
	r.t.Fatalf("%s was never offered a task", worker)
	return ""
}

// taskStatus waits until the task has the status.
func (r *shipped) taskStatus(id, status string) map[string]any {
	r.t.Helper()
	var last map[string]any
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		last = r.api("GET", "/v1/tasks/"+id, r.admin, nil, http.StatusOK)
		if task, _ := last["task"].(map[string]any); task != nil && task["status"] == status {
			return task
		}
		if last["status"] == status {
			return last
		}
		time.Sleep(30 * time.Millisecond)
	}
	r.t.Fatalf("task %s never became %s: %v", id, status, last)
	return nil
}

// waitEvent waits for an event of the task's log whose JSON mentions want.
func (r *shipped) waitEvent(task, typ, want string) {
	r.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	var last []byte
	for time.Now().Before(deadline) {
		evs := r.api("GET", "/v1/tasks/"+task+"/events", r.admin, nil, http.StatusOK)
		list, _ := evs["events"].([]any)
		for _, e := range list {
			raw, _ := json.Marshal(e)
			if e.(map[string]any)["type"] == typ && strings.Contains(string(raw), want) {
				return
			}
		}
		last, _ = json.Marshal(evs)
		time.Sleep(30 * time.Millisecond)
	}
	r.t.Fatalf("task %s never had a %s event with %q: %s", task, typ, want, last)
}
