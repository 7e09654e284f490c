package flowtest

import (
	"encoding/json"
	"time"

	"github.com/switchboard-dev/switchboard/compiler"
	"github.com/switchboard-dev/switchboard/diag"
	"github.com/switchboard-dev/switchboard/runtime/engine"
)

// Mock is a `mock` line of a test file, for tools other than the runner
// (switchboard simulate) that answer requests the way the tests do.
type Mock struct {
	Kind  string         // http, function, send, record or dial
	Step  string         // the step whose requests it answers
	Value map[string]any // the mock's fields
	Test  string         // the test it comes from
	Span  diag.Span      // the mock line
}

// Key is what the mock answers: "KIND/STEP".
func (m *Mock) Key() string { return m.Kind + "/" + m.Step }

func (m *Mock) String() string {
	if len(m.Value) == 0 {
		return "mock " + m.Kind + " " + m.Step
	}
	return "mock " + m.Kind + " " + m.Step + " " + jsonText(m.Value)
}

// Mocks returns the mock lines of the file's tests, in file order.
func (f *File) Mocks() []*Mock {
	var out []*Mock
	for _, t := range f.Tests {
		for _, s := range t.Steps {
			if s.Op == "mock" {
				out = append(out, &Mock{Kind: s.What, Step: s.Name, Value: s.Value, Test: t.Name, Span: s.Span})
			}
		}
	}
	return out
}

// MockKind is the kind of mock that answers the wait of an execution at a
// step of that kind ("" when no mock can: replies, tasks, timers and the
// caller's input at a gather).
func MockKind(w engine.WaitKind, k compiler.Kind) string {
	switch w {
	case engine.WaitSend:
		return "send"
	case engine.WaitHTTP:
		return "http"
	case engine.WaitFunction:
		return "function"
	case engine.WaitVoice:
		switch k {
		case compiler.KindRecord:
			return "record"
		case compiler.KindDial:
			return "dial"
		}
	}
	return ""
}

// Answer is the result the mock gives to a request (req is the effect that
// made it: its timeout decides whether the mock's latency times it out),
// and how long the answer took: the latency, or the request's timeout when
// the latency reaches it.
func (m *Mock) Answer(req engine.Effect) (res engine.Result, elapsed time.Duration) {
	latency := func(timeout time.Duration) bool {
		d, ok := m.Value["latency"].(time.Duration)
		if !ok || d <= 0 {
			return false
		}
		if timeout > 0 && d >= timeout {
			elapsed = timeout
			return true
		}
		elapsed = d
		return false
	}
	switch m.Kind {
	case "send":
		res.Err = str(m.Value["error"])
	case "http":
		res.Status = 200
		if v, ok := m.Value["status"]; ok {
			res.Status = int(num(v))
		}
		if v, ok := m.Value["json"]; ok {
			b, _ := json.Marshal(v)
			res.Body = string(b)
		}
		if v, ok := m.Value["body"]; ok {
			res.Body = str(v)
		}
		if h, ok := m.Value["headers"].(map[string]any); ok {
			res.Headers = map[string]string{}
			for k, v := range h {
				res.Headers[k] = compiler.Stringify(v)
			}
		}
		if v, ok := m.Value["error"]; ok {
			res = engine.Result{Err: str(v)}
		}
		if req.HTTP != nil && latency(req.HTTP.Timeout) {
			res = engine.Result{Err: "timeout"}
		}
	case "function":
		res.Value = m.Value["value"]
		if v, ok := m.Value["error"]; ok {
			res.Err = str(v)
		}
		if req.Function != nil && latency(req.Function.Timeout) {
			res = engine.Result{Err: "timeout"}
		}
	case "record":
		res.RecordingURL = str(m.Value["url"])
		res.Duration = num(m.Value["duration"])
		res.Transcript = str(m.Value["transcript"])
		res.RecordingID = str(m.Value["id"])
		res.Digits = str(m.Value["key"])
		res.Err = str(m.Value["error"])
	case "dial":
		res.DialStatus = "answered"
		if v, ok := m.Value["status"]; ok {
			res.DialStatus = str(v)
		}
		res.Duration = num(m.Value["duration"])
	}
	return res, elapsed
}

// DescribeEffect renders an effect the way test failures show it: `send
// "Hi"`, `enqueue WORKFLOW {attributes: …}`, `http POST URL`, `end`…
func DescribeEffect(e engine.Effect) string { return describeEffect(e) }

// DescribeRequest renders a request with what it carries: the body of an
// http request, the arguments of a function call.
func DescribeRequest(e engine.Effect) string { return describeRequest(e) }

// JSON renders a value as compact JSON, as failures show values.
func JSON(v any) string { return jsonText(v) }

// ParseMocks parses a test file and returns its mock lines.
func ParseMocks(name string, src []byte) ([]*Mock, diag.List) {
	f, list := Parse(name, src)
	if list.HasErrors() {
		return nil, list
	}
	return f.Mocks(), list
}

// Defaults of a conversation with no setup, as the runner plays them.
const (
	DefaultContactID      = "contact-1"
	DefaultContactName    = "Test Customer"
	DefaultConversationID = "conversation-1"
	DefaultFrom           = "customer-1"
)

// DefaultChannel is the channel of a test with no `channel` line.
func DefaultChannel(f *compiler.Flow) string {
	switch {
	case f.Trigger == compiler.TriggerCall:
		return "voice"
	case len(f.Channels) > 0:
		return f.Channels[0]
	}
	return "webchat"
}
