package rcs

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/jwt"
)

// serviceAccount is what the connector reads of a service account's JSON
// key, as the console downloads it.
type serviceAccount struct {
	Type         string `json:"type"`
	ClientEmail  string `json:"client_email"`
	PrivateKey   string `json:"private_key"`
	PrivateKeyID string `json:"private_key_id"`
	TokenURI     string `json:"token_uri"`
}

// parseKey reads and checks a service account key, so that a bad key is
// a configuration error at start rather than a failed send later.
func parseKey(raw []byte) (*serviceAccount, error) {
	var k serviceAccount
	if err := json.Unmarshal(raw, &k); err != nil {
		return nil, fmt.Errorf("not a service account's JSON key: %v", err)
	}
	if k.Type != "service_account" {
		return nil, fmt.Errorf("type is %q, want \"service_account\" (the key of the agent's service account)", k.Type)
	}
	if k.ClientEmail == "" {
		return nil, errors.New("the key has no client_email")
	}
	block, _ := pem.Decode([]byte(k.PrivateKey))
	if block == nil {
		return nil, errors.New("private_key is not a PEM block")
	}
	if _, err := x509.ParsePKCS8PrivateKey(block.Bytes); err != nil {
		if _, err1 := x509.ParsePKCS1PrivateKey(block.Bytes); err1 != nil {
			return nil, fmt.Errorf("private_key is not an RSA key: %v", err)
		}
	}
	return &k, nil
}

// client calls the RBM API as the agent's service account.
type client struct {
	base   string
	agent  string
	http   *http.Client
	tokens oauth2.TokenSource
}

func newClient(base, agent string, key *serviceAccount, tokenURL string, hc *http.Client) *client {
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	cfg := &jwt.Config{
		Email: key.ClientEmail, PrivateKey: []byte(key.PrivateKey), PrivateKeyID: key.PrivateKeyID,
		Scopes: []string{Scope}, TokenURL: tokenURL,
	}
	// The token source outlives any one Send, so it gets a context of its
	// own; the HTTP client's timeout bounds each fetch.
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, hc)
	return &client{base: base, agent: agent, http: hc, tokens: oauth2.ReuseTokenSource(nil, cfg.TokenSource(ctx))}
}

// response is the API's answer to one call.
type response struct {
	status int
	header http.Header
	body   []byte
}

// apiError is Google's error body.
type apiError struct {
	Error struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
		Status  string `json:"status"`
	} `json:"error"`
}

// reason is the answer's error as Google states it ("NOT_FOUND: Requested
// entity was not found."), or an excerpt of a body that is not Google's.
func (r *response) reason() string {
	var e apiError
	if json.Unmarshal(r.body, &e) == nil && (e.Error.Status != "" || e.Error.Message != "") {
		return e.Error.Status + ": " + e.Error.Message
	}
	if len(r.body) == 0 {
		return http.StatusText(r.status)
	}
	return excerpt(r.body)
}

// call makes one API request with the agent's token: path under the
// base URL (already escaped), the agentId added to query. A failed token
// fetch is returned as it is (see tokenError).
func (c *client) call(ctx context.Context, method, path string, query url.Values, body any) (*response, error) {
	tok, err := c.tokens.Token()
	if err != nil {
		return nil, tokenError(err)
	}
	if query == nil {
		query = url.Values{}
	}
	query.Set("agentId", c.agent)
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path+"?"+query.Encode(), rd)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json; charset=utf-8")
	}
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	return &response{status: resp.StatusCode, header: resp.Header, body: b}, nil
}

// tokenError says why no token came: a refusal of the key (4xx other than
// 408 and 429: a revoked key, a wrong token URL) is permanent, any other
// failure temporary.
func tokenError(err error) error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) && re.Response != nil {
		s := re.Response.StatusCode
		if s >= 400 && s < 500 && s != http.StatusRequestTimeout && s != http.StatusTooManyRequests {
			return permanent(fmt.Errorf("the token endpoint refused the service account's key: %d %s", s, oauthReason(re)))
		}
		return fmt.Errorf("fetching an OAuth token: %d %s", s, oauthReason(re))
	}
	return fmt.Errorf("fetching an OAuth token: %w", err)
}

func oauthReason(re *oauth2.RetrieveError) string {
	code, desc := re.ErrorCode, re.ErrorDescription
	if code == "" {
		var e struct {
			Error       string `json:"error"`
			Description string `json:"error_description"`
		}
		if json.Unmarshal(re.Body, &e) != nil || e.Error == "" {
			return excerpt(re.Body)
		}
		code, desc = e.Error, e.Description
	}
	return strings.TrimSpace(code + " " + desc)
}
