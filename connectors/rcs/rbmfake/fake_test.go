package rbmfake_test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/oauth2/jwt"

	"github.com/switchboard-dev/switchboard/connectors/rcs/rbmfake"
)

// TestFakeChecks: the fake refuses what the real API and token endpoint
// refuse, so the connector's tests cannot pass with a wrong request.
func TestFakeChecks(t *testing.T) {
	fake := rbmfake.New(t, "agent-1")
	var key struct {
		PrivateKey string `json:"private_key"`
	}
	if err := json.Unmarshal([]byte(fake.ServiceAccountJSON()), &key); err != nil {
		t.Fatal(err)
	}
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKCS8PrivateKey(other)
	otherPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	token := func(pemKey []byte, email, scope string) error {
		cfg := &jwt.Config{Email: email, PrivateKey: pemKey, Scopes: []string{scope}, TokenURL: fake.TokenURL()}
		_, err := cfg.TokenSource(t.Context()).Token()
		return err
	}
	if err := token([]byte(key.PrivateKey), rbmfake.ClientEmail, rbmfake.Scope); err != nil {
		t.Fatalf("the service account's own JWT: %v", err)
	}
	for name, err := range map[string]error{
		"another key":   token(otherPEM, rbmfake.ClientEmail, rbmfake.Scope),
		"another email": token([]byte(key.PrivateKey), "someone@example.iam.gserviceaccount.com", rbmfake.Scope),
		"another scope": token([]byte(key.PrivateKey), rbmfake.ClientEmail, "https://www.googleapis.com/auth/cloud-platform"),
	} {
		if err == nil || !strings.Contains(err.Error(), "invalid_grant") {
			t.Errorf("%s: %v, want invalid_grant", name, err)
		}
	}
	if fake.Tokens() != 1 {
		t.Fatalf("%d tokens issued, want 1", fake.Tokens())
	}

	send := func(bearer, agent, id, body string) (int, string) {
		q := url.Values{"agentId": {agent}, "messageId": {id}}
		req, _ := http.NewRequest(http.MethodPost, fake.URL+"/v1/phones/+14155550123/agentMessages?"+q.Encode(), strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+bearer)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	const id = "0e9b7f36-4c57-5d41-8a0f-53b2d7c1e9aa"
	msg := `{"contentMessage":{"text":"hi"}}`
	for _, tc := range []struct {
		name, bearer, agent, id, body string
		status                        int
		want                          string
	}{
		{"unknown token", "ya29.other", "agent-1", id, msg, 401, "UNAUTHENTICATED"},
		{"another agent", rbmfake.Token(1), "agent-2", id, msg, 403, "PERMISSION_DENIED"},
		{"messageId not a UUID", rbmfake.Token(1), "agent-1", "effect-1", msg, 400, "UUID"},
		{"no contentMessage", rbmfake.Token(1), "agent-1", id, `{"text":"hi"}`, 400, "contentMessage"},
		{"sent", rbmfake.Token(1), "agent-1", id, msg, 200, `"name":"phones/+14155550123/agentMessages/` + id + `"`},
		{"the same messageId", rbmfake.Token(1), "agent-1", id, msg, 409, "ALREADY_EXISTS"},
	} {
		if status, body := send(tc.bearer, tc.agent, tc.id, tc.body); status != tc.status || !strings.Contains(body, tc.want) {
			t.Errorf("%s: %d %s, want %d with %s", tc.name, status, body, tc.status, tc.want)
		}
	}
	if n := len(fake.Sent("+14155550123")); n != 6 {
		t.Errorf("Sent recorded %d requests, want all 6", n)
	}
}
