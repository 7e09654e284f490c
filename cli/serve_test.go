package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-dev/switchboard/connectors/custom"
)

// lockedBuffer is a command's output, read while it runs.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// serveFlows runs `switchboard serve` in this process on the flow src and
// the given flags; it returns the address once /healthz answers.
func serveFlows(t *testing.T, src string, flags ...string) string {
	t.Helper()
	addr, _ := serveOutput(t, src, flags...)
	return addr
}

// serveOutput is serveFlows that returns serve's output too.
func serveOutput(t *testing.T, src string, flags ...string) (string, *lockedBuffer) {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "t.flow"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	cmd := New()
	out := &lockedBuffer{}
	cmd.SetOut(out)
	cmd.SetErr(out)
	cmd.SetArgs(append(append([]string{"serve", "--addr", addr, "--store", "sqlite:" + filepath.Join(dir, "sb.db")}, flags...), dir))
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
		select {
		case err := <-done:
			done <- err
			t.Fatalf("serve stopped: %v\n%s", err, out)
		default:
		}
		if resp, err := http.Get("http://" + addr + "/healthz"); err == nil {
			resp.Body.Close()
			return addr, out
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("serve did not start:\n%s", out)
	return "", nil
}

// TestServeEnv checks what a flow can read as env: the variables --env
// exposes and the demo bot's BOT_URL, but neither a connector's secret nor
// anything else of the process environment, though the flow may look up
// any name a customer sends it.
func TestServeEnv(t *testing.T) {
	const secret = "s3cret-connector-key"
	t.Setenv("SB_SECRET", secret)
	t.Setenv("CRM_URL", "https://crm.example.test")
	t.Setenv("UNLISTED", "not for flows")
	addr := serveFlows(t, `
flow probe {
  read: send "[${env[message.text] ?? ""}]" -> done
}`, "--connector", "custom/default,secret=env:SB_SECRET",
		"--env", "CRM_URL", "--env", "GREETING=hello there")

	cases := []struct{ name, want string }{
		{"SB_SECRET", "[]"},
		{"UNLISTED", "[]"},
		{"PATH", "[]"},
		{"CRM_URL", "[https://crm.example.test]"},
		{"GREETING", "[hello there]"},
		{"BOT_URL", "[http://" + addr + "/demo/bot]"},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			body, _ := json.Marshal(map[string]string{"id": "m" + c.name, "from": "+1555010" + string(rune('0'+i)), "text": c.name})
			req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/v1/webhooks/custom/default", bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			custom.SignHeader(req.Header, secret, time.Now(), body)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			var r struct {
				Replies []struct{ Text string } `json:"replies"`
			}
			if resp.StatusCode != http.StatusOK || json.Unmarshal(b, &r) != nil || len(r.Replies) != 1 {
				t.Fatalf("%d %s", resp.StatusCode, b)
			}
			if got := r.Replies[0].Text; got != c.want {
				t.Errorf("env[%q] reads %q, want %q", c.name, got, c.want)
			}
			if strings.Contains(r.Replies[0].Text, secret) {
				t.Errorf("the flow read the connector's secret")
			}
		})
	}
}

// TestServeEnvRefusesSecrets checks that serve does not start when --env
// would pass flows a variable a connector or the event webhook reads as a
// secret, and says which.
func TestServeEnvRefusesSecrets(t *testing.T) {
	t.Setenv("SB_SECRET", "s3cret")
	t.Setenv("HOOK_SECRET", "h00k")
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "t.flow"), []byte("flow f {\n  s: send \"hi\" -> done\n}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name  string
		flags []string
		want  string
	}{
		{"connector secret", []string{"--connector", "custom/default,secret=env:SB_SECRET", "--env", "SB_SECRET"},
			"--env SB_SECRET: flows may not read SB_SECRET, a secret (--connector custom/default reads it as secret)"},
		{"event webhook secret", []string{"--event-webhook", "http://hooks.test/", "--event-webhook-secret", "env:HOOK_SECRET", "--env", "HOOK_SECRET"},
			"--env HOOK_SECRET: flows may not read HOOK_SECRET, a secret (--event-webhook-secret reads it)"},
		{"unset variable", []string{"--env", "NOT_SET_ANYWHERE"}, "--env NOT_SET_ANYWHERE: the environment has no variable NOT_SET_ANYWHERE"},
		{"no name", []string{"--env", "=x"}, `--env "=x": want NAME or NAME=VALUE`},
		{"no steps", []string{"--step-budget", "0"}, "--step-budget 0: want at least 1"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cmd := New()
			var out bytes.Buffer
			cmd.SetOut(&out)
			cmd.SetErr(&out)
			cmd.SetArgs(append(append([]string{"serve", "--addr", "127.0.0.1:0", "--store", "sqlite:" + filepath.Join(t.TempDir(), "sb.db")}, c.flags...), dir))
			err := cmd.ExecuteContext(context.Background())
			var ue *usageError
			if !errors.As(err, &ue) {
				t.Fatalf("err %v, want a usage error\n%s", err, out.String())
			}
			if !strings.HasPrefix(err.Error(), c.want) {
				t.Errorf("err %q, want %q", err, c.want)
			}
		})
	}
}
