package engine

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/url"
	"slices"

	"github.com/switchboard-dev/switchboard/compiler"
)

func init() { register("http", &executor{exec: execHTTP, result: resultHTTP}) }

func execHTTP(r *run, st *compiler.State) (compiler.Outcome, int32, bool, error) {
	h, err := r.httpEffect(st.Op.(*compiler.HTTPOp))
	if err != nil {
		return 0, -1, false, err
	}
	return r.emitAwaited(Effect{Kind: EffectHTTP, HTTP: h, NotBefore: r.backoff(st)}, WaitHTTP)
}

func resultHTTP(r *run, st *compiler.State, fr *Frame, res Result) compiler.Outcome {
	out := compiler.HTTPOutput{Status: res.Status, Body: res.Body, Headers: res.Headers}
	var v any
	if res.Body != "" && json.Unmarshal([]byte(res.Body), &v) == nil {
		out.JSON = v
	}
	fr.Outputs[st.Name] = output(st, out)
	failed := res.Err != "" || res.Status < 200 || res.Status > 299
	r.countFailure(fr, st, failed)
	if failed {
		return compiler.OutError
	}
	return compiler.OutOK
}

func (r *run) httpEffect(op *compiler.HTTPOp) (*HTTPEffect, error) {
	u, err := r.evalString(op.URL)
	if err != nil {
		return nil, err
	}
	h := &HTTPEffect{Method: op.Method, URL: u, Timeout: op.Timeout}
	if h.Timeout == 0 {
		h.Timeout = DefaultHTTPTimeout
	}
	headers, err := r.evalMap(op.Headers)
	if err != nil {
		return nil, err
	}
	h.Headers = stringMap(headers)
	switch op.BodyAs {
	case "json":
		v, err := r.eval(op.Body)
		if err != nil {
			return nil, err
		}
		b, err := json.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", op.Body.Span, err)
		}
		h.Body, h.ContentType = string(b), "application/json"
	case "form":
		m, err := r.evalMap(op.Body)
		if err != nil {
			return nil, err
		}
		h.Body, h.ContentType = formBody(m), "application/x-www-form-urlencoded"
	case "body":
		if h.Body, err = r.evalString(op.Body); err != nil {
			return nil, err
		}
		h.ContentType = "text/plain; charset=utf-8"
	}
	return h, nil
}

func stringMap(m map[string]any) map[string]string {
	if m == nil {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = compiler.Stringify(v)
	}
	return out
}

func formBody(m map[string]any) string {
	vals := url.Values{}
	keys := slices.Sorted(maps.Keys(m))
	for _, k := range keys {
		vals.Set(k, compiler.Stringify(m[k]))
	}
	return vals.Encode()
}
