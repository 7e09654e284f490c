package compiler

import (
	"strings"
	"time"

	"github.com/switchboard-dev/switchboard/diag"
)

// KindHTTP makes an HTTP request.
var KindHTTP = registerKind(httpKind{&KindSpec{
	Name: "http",
	Doc:  "makes an HTTP request",
	Props: []Prop{
		{Name: "get", Kind: PropMethod, Want: TypeString, Group: "method", Doc: "the method, with the URL as its value"},
		{Name: "post", Kind: PropMethod, Want: TypeString, Group: "method", Doc: "the method, with the URL as its value"},
		{Name: "put", Kind: PropMethod, Want: TypeString, Group: "method", Doc: "the method, with the URL as its value"},
		{Name: "patch", Kind: PropMethod, Want: TypeString, Group: "method", Doc: "the method, with the URL as its value"},
		{Name: "delete", Kind: PropMethod, Want: TypeString, Group: "method", Doc: "the method, with the URL as its value"},
		{Name: "headers", Kind: PropExpr, Want: TypeMap, Doc: "request headers"},
		{Name: "json", Kind: PropExpr, Want: TypeAny, Group: "body", Doc: "a value sent as JSON"},
		{Name: "form", Kind: PropExpr, Want: TypeMap, Group: "body", Doc: "a map sent as a form"},
		{Name: "body", Kind: PropExpr, Want: TypeString, Group: "body", Doc: "a raw text body"},
		{Name: "timeout", Kind: PropDuration, Doc: "how long the request may take; default 10s"},
	},
	Outcomes: []OutcomeSpec{
		{Outcome: OutOK, Primary: true, Doc: "a 2xx answer"},
		{Outcome: OutError, Required: true, Doc: "any other answer, a network error, a timeout or a failing expression"},
	},
	Waits:         true,
	CatchesErrors: true,
	Output:        HTTPOutput{},
}})

type httpKind struct{ *KindSpec }

// HTTPOutput is what an http step leaves behind.
type HTTPOutput struct {
	Status  int               `expr:"status" json:"status"`
	JSON    any               `expr:"json" json:"json,omitempty"`
	Body    string            `expr:"body" json:"body"`
	Headers map[string]string `expr:"headers" json:"headers,omitempty"`
}

// HTTPOp is an http step's request.
type HTTPOp struct {
	Method  string // GET, POST, PUT, PATCH, DELETE
	URL     *Expr
	Headers *Expr  // map
	Body    *Expr  // json value, form map or raw body
	BodyAs  string // "json", "form" or "body"
	Timeout time.Duration
}

func (httpKind) lower(l *lowering) Op {
	op := &HTTPOp{Headers: l.expr("headers"), Timeout: l.dur("timeout")}
	for _, name := range l.order {
		p := l.sd.props[name]
		switch l.spec.props[name].Group {
		case "method":
			if op.Method != "" {
				l.c.diags.Errorf("E0306", p.key.Span, "http has more than one method (%s and %s)", diag.Quote(strings.ToLower(op.Method)), diag.Quote(name))
				continue
			}
			op.Method, op.URL = strings.ToUpper(name), l.expr(name)
		case "body":
			if op.BodyAs != "" {
				l.c.diags.Errorf("E0306", p.key.Span, "http has two bodies (%s and %s)", diag.Quote(op.BodyAs), diag.Quote(name)).
					WithHint("send one of json, form or body")
				continue
			}
			op.Body, op.BodyAs = l.expr(name), name
		}
	}
	if op.Method == "" && !l.has("get") {
		l.c.diags.Errorf("E0305", l.sd.node.Name.Span(), "http step %s has no method and URL", diag.Quote(l.st.Name)).
			WithHint("add a line like `post \"${env.BOT_URL}/reply\"` (get, post, put, patch or delete)")
	}
	return op
}

func (o *HTTPOp) disasm() (string, []string) { return head("", nil, o.Method, o.URL, o.Timeout), nil }
