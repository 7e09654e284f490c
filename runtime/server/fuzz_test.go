package server_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/switchboard-dev/switchboard/runtime/server"
)

// apiRoutes are the admin and agent API routes, from the server's route
// table: every /v1/ route but the webhooks. Their parameters are replaced
// by the fuzzer's id.
var apiRoutes = func() (out []struct{ method, path string }) {
	for _, r := range server.New(server.Config{}).Routes() {
		method, path, _ := strings.Cut(r, " ")
		if strings.HasPrefix(path, "/v1/") && !strings.HasPrefix(path, "/v1/webhooks/") {
			out = append(out, struct{ method, path string }{method, path})
		}
	}
	return out
}()

// withID puts id in place of every {name} of path.
func withID(path, id string) string {
	segs := strings.Split(path, "/")
	for i, s := range segs {
		if strings.HasPrefix(s, "{") {
			segs[i] = id
		}
	}
	return strings.Join(segs, "/")
}

// FuzzAdminAPI sends the admin API arbitrary bodies, ids and queries on
// every route that decodes one, as an admin. Properties: the server never
// answers 500 (a malformed request is the caller's mistake, said as a 4xx),
// and every answer other than a 2xx is a JSON object with an "error"
// string. The seed corpus is testdata/fuzz/FuzzAdminAPI.
func FuzzAdminAPI(f *testing.F) {
	sb := start(f, setup{flow: agentFlow, running: true})
	adminH := bearer(admin)
	if r := call(f, "POST", sb.base+"/v1/workers", []byte(`{"id":"ana","attributes":{"languages":["en"]}}`), adminH); r.status != 201 {
		f.Fatalf("create ana: %d %v", r.status, r.body)
	}
	f.Fuzz(func(t *testing.T, route uint8, id, query string, body []byte) {
		rt := apiRoutes[int(route)%len(apiRoutes)]
		path := withID(rt.path, url.PathEscape(id))
		if id == "" && strings.Contains(rt.path, "{") {
			return // a different route, not a malformed request to this one
		}
		if len(path)+len(query) > 2048 {
			// Past the header limit the server answers 431 and closes the
			// connection without reading the request, which a client may
			// see as a reset; TestUnreadableRequests covers that answer.
			return
		}
		q, err := url.ParseQuery(query)
		if err != nil {
			return // not a query a client could send
		}
		req, err := http.NewRequest(rt.method, sb.base+path, strings.NewReader(string(body)))
		if err != nil {
			return
		}
		req.URL.RawQuery = q.Encode()
		req.Header = bearer(admin)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode >= 500 {
			t.Fatalf("%s %.200s?%.200s %.200q: %d %s", rt.method, path, req.URL.RawQuery, body, resp.StatusCode, b)
		}
		if resp.StatusCode >= 300 && rt.method == http.MethodHead {
			// A HEAD answer has no body: its type says what a GET's would be.
			if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Fatalf("HEAD %.200s: %d of type %q, want a JSON error", path, resp.StatusCode, ct)
			}
		} else if resp.StatusCode >= 300 {
			var e struct {
				Error string `json:"error"`
			}
			if json.Unmarshal(b, &e) != nil || e.Error == "" {
				t.Fatalf("%s %.200s %.200q: %d with body %q, want a JSON error", rt.method, path, body, resp.StatusCode, b)
			}
		}
	})
}
