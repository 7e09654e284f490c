package server_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// apiRoutes are the admin and agent API routes that read a body, an id or a
// query; {id} is replaced by the fuzzer's id.
var apiRoutes = []struct{ method, path string }{
	{"POST", "/v1/programs"},
	{"GET", "/v1/programs"},
	{"POST", "/v1/workers"},
	{"GET", "/v1/workers"},
	{"GET", "/v1/workers/{id}"},
	{"PATCH", "/v1/workers/{id}"},
	{"DELETE", "/v1/workers/{id}"},
	{"POST", "/v1/workers/{id}/tokens"},
	{"PUT", "/v1/workers/{id}/activity"},
	{"GET", "/v1/workers/{id}/reservations"},
	{"POST", "/v1/reservations/{id}/accept"},
	{"POST", "/v1/reservations/{id}/reject"},
	{"GET", "/v1/tasks"},
	{"GET", "/v1/tasks/{id}"},
	{"GET", "/v1/tasks/{id}/history"},
	{"GET", "/v1/tasks/{id}/events"},
	{"POST", "/v1/tasks/{id}/messages"},
	{"POST", "/v1/tasks/{id}/wrapup"},
	{"POST", "/v1/tasks/{id}/complete"},
	{"POST", "/v1/tasks/{id}/transfer"},
	{"POST", "/v1/tasks/{id}/cancel"},
	{"GET", "/v1/conversations"},
	{"GET", "/v1/conversations/{id}"},
	{"GET", "/v1/conversations/{id}/messages"},
	{"POST", "/v1/conversations/{id}/close"},
	{"GET", "/v1/contacts/{id}"},
	{"POST", "/v1/contacts/{id}/link"},
	{"GET", "/v1/executions/{id}"},
	{"GET", "/v1/dead-letters"},
	{"GET", "/v1/router/stats"},
	{"GET", "/v1/router/events"},
	{"GET", "/v1/queues"},
	{"GET", "/v1/tokens"},
	{"POST", "/v1/tokens"},
	{"DELETE", "/v1/tokens/{id}"},
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
		path := strings.ReplaceAll(rt.path, "{id}", url.PathEscape(id))
		if id == "" && strings.Contains(rt.path, "{id}") {
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
		if resp.StatusCode >= 300 {
			var e struct {
				Error string `json:"error"`
			}
			if json.Unmarshal(b, &e) != nil || e.Error == "" {
				t.Fatalf("%s %.200s %.200q: %d with body %q, want a JSON error", rt.method, path, body, resp.StatusCode, b)
			}
		}
	})
}
