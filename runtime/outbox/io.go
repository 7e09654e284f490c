package outbox

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/switchboard-dev/switchboard/connectors"
	"github.com/switchboard-dev/switchboard/runtime/effect"
	"github.com/switchboard-dev/switchboard/runtime/engine"
)

// maxBody is how many bytes of an http step's response are kept.
const maxBody = 1 << 20

// serveIO is the effect.IO of a running node: the configured connectors,
// the HTTP client and the registered functions.
type serveIO struct{ cfg *Config }

func (s serveIO) Channel(r effect.Route) effect.Channel {
	if ch := s.cfg.Channels[r.Connector+"/"+r.Instance]; ch != nil {
		return ch
	}
	return nil // not a typed nil: effect.Perform tells "not configured" apart
}

// HTTP makes an http step's request.
func (s serveIO) HTTP(ctx context.Context, h *engine.HTTPEffect) engine.Result {
	ctx, cancel := context.WithTimeout(ctx, h.Timeout)
	defer cancel()
	var body io.Reader
	if h.Body != "" {
		body = strings.NewReader(h.Body)
	}
	req, err := http.NewRequestWithContext(ctx, h.Method, h.URL, body)
	if err != nil {
		return engine.Result{Err: err.Error()}
	}
	for k, v := range h.Headers {
		req.Header.Set(k, v)
	}
	if h.ContentType != "" && req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", h.ContentType)
	}
	resp, err := s.cfg.HTTP.Do(req)
	if err != nil {
		return engine.Result{Err: err.Error()}
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	if _, err := io.Copy(&buf, io.LimitReader(resp.Body, maxBody)); err != nil {
		return engine.Result{Status: resp.StatusCode, Err: err.Error()}
	}
	headers := make(map[string]string, len(resp.Header))
	for k := range resp.Header {
		headers[strings.ToLower(k)] = resp.Header.Get(k)
	}
	return engine.Result{Status: resp.StatusCode, Headers: headers, Body: buf.String()}
}

// Function calls a registered Go function, or a webhook function.
func (s serveIO) Function(ctx context.Context, f *engine.FunctionEffect) engine.Result {
	fn := s.cfg.Functions[f.Name]
	if fn == nil {
		if u := s.cfg.FunctionURLs[f.Name]; u != "" {
			return s.webhookFunction(ctx, u, f)
		}
		return engine.Result{Err: fmt.Sprintf("function %q is not registered", f.Name)}
	}
	ctx, cancel := context.WithTimeout(ctx, f.Timeout)
	defer cancel()
	v, err := fn(ctx, f.Args)
	if err != nil {
		return engine.Result{Err: err.Error()}
	}
	return engine.Result{Value: v}
}

// webhookFunction POSTs the args as JSON and takes the JSON answer (a
// 2xx) as the result.
func (s serveIO) webhookFunction(ctx context.Context, url string, f *engine.FunctionEffect) engine.Result {
	body, err := json.Marshal(f.Args)
	if err != nil {
		return engine.Result{Err: err.Error()}
	}
	res := s.HTTP(ctx, &engine.HTTPEffect{Method: http.MethodPost, URL: url, Body: string(body), ContentType: "application/json", Timeout: f.Timeout})
	if res.Err != "" {
		return res
	}
	if res.Status < 200 || res.Status > 299 {
		return engine.Result{Err: fmt.Sprintf("function %s answered %d: %.200s", f.Name, res.Status, res.Body)}
	}
	var v any
	if res.Body != "" {
		if err := json.Unmarshal([]byte(res.Body), &v); err != nil {
			return engine.Result{Err: fmt.Sprintf("function %s answered with invalid JSON: %v", f.Name, err)}
		}
	}
	return engine.Result{Value: v}
}

// Call has the connector of r perform a script on its call: the runtime's
// own verbs (an agent's connection) go through it.
func (o *Outbox) Call(ctx context.Context, r effect.Route, a connectors.CallAction) (connectors.CallResult, error) {
	cp, ok := o.io.Channel(r).(connectors.CallPerformer)
	if !ok {
		return connectors.CallResult{}, connectors.Permanent(fmt.Errorf("connector %s/%s does not carry calls", r.Connector, r.Instance))
	}
	return cp.PerformCall(ctx, &a)
}
