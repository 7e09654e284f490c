package connectortest_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-dev/switchboard/connectors"
	"github.com/switchboard-dev/switchboard/connectors/connectortest"
)

// toy is a minimal connector for testing the kit: X-Sig is
// hex(sha256(secret + body)); messages are {"id", "from", "text"}; sends
// POST {"to", "text"} with an Idempotency-Key. Its flaws make it break
// the contract in the ways the kit must catch.
type toy struct {
	secret string
	api    string
	client *http.Client
	flaws  string
}

func (c *toy) flaw(f string) bool { return strings.Contains(c.flaws, f) }

func sig(secret string, body []byte) string {
	s := sha256.Sum256(append([]byte(secret), body...))
	return hex.EncodeToString(s[:])
}

func (c *toy) Receive(ctx context.Context, r *connectors.Request) ([]connectors.Inbound, error) {
	if c.flaw("network") {
		resp, err := c.client.Get(c.api + "/lookup")
		if err == nil {
			resp.Body.Close()
		}
	}
	if !c.flaw("noverify") && subtle.ConstantTimeCompare([]byte(r.Header.Get("X-Sig")), []byte(sig(c.secret, r.Body))) != 1 {
		return nil, connectors.Errorf(http.StatusUnauthorized, "bad signature")
	}
	var m struct{ ID, From, Text string }
	if err := json.Unmarshal(r.Body, &m); err != nil {
		if c.flaw("500") {
			return nil, err
		}
		return nil, connectors.Errorf(http.StatusBadRequest, "malformed JSON")
	}
	if c.flaw("noid") {
		m.ID = ""
	}
	return []connectors.Inbound{{PlatformID: m.ID, Channel: "toy", From: m.From, Text: m.Text}}, nil
}

func (c *toy) Send(ctx context.Context, m *connectors.Outbound) (string, error) {
	body, _ := json.Marshal(map[string]string{"to": m.To, "text": m.Text})
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, c.api+"/send", bytes.NewReader(body))
	if !c.flaw("nokey") {
		req.Header.Set("Idempotency-Key", m.Key)
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var out struct{ ID string }
	_ = json.NewDecoder(resp.Body).Decode(&out)
	switch {
	case resp.StatusCode/100 == 2:
		return out.ID, nil
	case c.flaw("alltemporary"), resp.StatusCode == 429, resp.StatusCode >= 500:
		return "", fmt.Errorf("toy: %s", resp.Status)
	default:
		return "", connectors.Permanent(fmt.Errorf("toy: %s", resp.Status))
	}
}

func toyHarness(flaws string) connectortest.Harness {
	const secret = "toy-secret"
	req := func(body string) *connectors.Request {
		h := http.Header{"Content-Type": {"application/json"}, "X-Sig": {sig(secret, []byte(body))}}
		return &connectors.Request{Method: "POST", URL: "https://switchboard.test/v1/webhooks/toy/default", Path: "/v1/webhooks/toy/default",
			Header: h, Body: []byte(body)}
	}
	return connectortest.Harness{
		New: func(t testing.TB, api *connectortest.API, res connectors.Resources) connectors.Connector {
			reg := connectors.NewRegistry()
			reg.MustRegister(&connectors.Spec{Name: "toy", Fields: []connectors.Field{{Name: "api", Type: connectors.TypeURL, Required: true}}},
				func(cfg connectors.Config, res connectors.Resources) (connectors.Connector, error) {
					return &toy{secret: secret, api: cfg.String("api"), client: res.HTTPClient, flaws: flaws}, nil
				})
			c, err := reg.New("toy", connectors.Config{"api": api.URL}, res)
			if err != nil {
				t.Fatal(err)
			}
			return c
		},
		Handler: func(api *connectortest.API) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path != "/send" {
					http.NotFound(w, r)
					return
				}
				var m struct{ To, Text string }
				body, _ := io.ReadAll(r.Body)
				_ = json.Unmarshal(body, &m)
				reply := api.Deliver(connectortest.Delivery{Key: r.Header.Get("Idempotency-Key"), To: m.To, Text: m.Text, Header: r.Header, Body: body})
				w.WriteHeader(reply.Status)
				_ = json.NewEncoder(w).Encode(map[string]string{"id": reply.ID})
			})
		},
		Request:   func(testing.TB, time.Time) *connectors.Request { return req(`{"id":"t1","from":"alice","text":"hi"}`) },
		Unsign:    func(r *connectors.Request) { r.Header.Del("X-Sig") },
		Malformed: func(testing.TB, time.Time) *connectors.Request { return req(`{"id":`) },
	}
}

// TestToy checks that a connector that keeps the contract passes.
func TestToy(t *testing.T) {
	if flaws, ok := os.LookupEnv("CONNECTORTEST_TOY_FLAWS"); ok {
		connectortest.Run(t, toyHarness(flaws))
		return
	}
	connectortest.Run(t, toyHarness(""))
}

// TestKitCatchesFlaws runs the kit on flawed toys in a child process and
// checks that it fails each for the right reason.
func TestKitCatchesFlaws(t *testing.T) {
	if testing.Short() {
		t.Skip("runs child processes")
	}
	for _, tc := range []struct{ flaws, want string }{
		{"noverify", "--- FAIL: TestToy/receive/tampered"},
		{"noverify", "--- FAIL: TestToy/receive/unsigned"},
		{"500", "want a *connectors.StatusError"},
		{"network", "Receive made 1 requests to the platform"},
		{"noid", "message 0: empty PlatformID"},
		{"nokey", `delivery key "", want the message's Key "effect-0001"`},
		{"alltemporary", "platform answered 400: IsPermanent"},
	} {
		t.Run(tc.flaws, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestToy$", "-test.v")
			cmd.Env = append(os.Environ(), "CONNECTORTEST_TOY_FLAWS="+tc.flaws)
			out, err := cmd.CombinedOutput()
			var exit *exec.ExitError
			if !errors.As(err, &exit) {
				t.Fatalf("the kit passed a toy with flaw %q (err %v):\n%s", tc.flaws, err, out)
			}
			if !strings.Contains(string(out), tc.want) {
				t.Errorf("output lacks %q:\n%s", tc.want, out)
			}
		})
	}
}
