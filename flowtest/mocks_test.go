package flowtest_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/switchboard-dev/switchboard/compiler"
	"github.com/switchboard-dev/switchboard/flowtest"
	"github.com/switchboard-dev/switchboard/runtime/engine"
)

// The mock lines of a test file, for switchboard simulate: in file order,
// answering requests as the runner does.
func TestMocks(t *testing.T) {
	src := []byte(`test "one" {
  flow f
  mock http bot {status: 503, json: {a: 1}, headers: {X: 2}}
  say "hi"
  mock function lookup {value: {id: 7}}
}

test "two" {
  flow f
  mock http bot {json: {reply: "late"}, latency: 4s}
  mock function lookup {error: "boom", latency: 1s}
  mock dial sales {}
  mock record vm {url: "http://rec.test/1", duration: 30, transcript: "hello", id: "RE1", key: "#"}
  mock send hello {error: "blocked"}
}
`)
	mocks, list := flowtest.ParseMocks("f.flowtest", src)
	if list.HasErrors() {
		t.Fatal(list)
	}
	var keys []string
	for _, m := range mocks {
		keys = append(keys, m.Key()+"@"+m.Test)
	}
	want := []string{"http/bot@one", "function/lookup@one", "http/bot@two", "function/lookup@two", "dial/sales@two", "record/vm@two", "send/hello@two"}
	if !reflect.DeepEqual(keys, want) {
		t.Fatalf("mocks %v, want %v", keys, want)
	}
	if got := mocks[0].Span.Start.Line; got != 3 {
		t.Errorf("first mock at line %d, want 3", got)
	}

	httpReq := engine.Effect{Kind: engine.EffectHTTP, HTTP: &engine.HTTPEffect{Method: "GET", URL: "http://bot.test", Timeout: 3 * time.Second}}
	fnReq := engine.Effect{Kind: engine.EffectFunction, Function: &engine.FunctionEffect{Name: "lookup", Timeout: 10 * time.Second}}
	cases := []struct {
		m       *flowtest.Mock
		req     engine.Effect
		res     engine.Result
		elapsed time.Duration
	}{
		{mocks[0], httpReq, engine.Result{Status: 503, Body: `{"a":1}`, Headers: map[string]string{"X": "2"}}, 0},
		{mocks[1], fnReq, engine.Result{Value: map[string]any{"id": float64(7)}}, 0},
		{mocks[2], httpReq, engine.Result{Err: "timeout"}, 3 * time.Second}, // latency over the step's timeout
		{mocks[3], fnReq, engine.Result{Err: "boom"}, time.Second},
		{mocks[4], engine.Effect{}, engine.Result{DialStatus: "answered"}, 0},
		{mocks[5], engine.Effect{}, engine.Result{RecordingURL: "http://rec.test/1", Duration: 30, Transcript: "hello", RecordingID: "RE1", Digits: "#"}, 0},
		{mocks[6], engine.Effect{}, engine.Result{Err: "blocked"}, 0},
	}
	for _, c := range cases {
		res, elapsed := c.m.Answer(c.req)
		if !reflect.DeepEqual(res, c.res) || elapsed != c.elapsed {
			t.Errorf("%s: answer %+v after %s, want %+v after %s", c.m, res, elapsed, c.res, c.elapsed)
		}
	}

	if _, list := flowtest.ParseMocks("bad.flowtest", []byte("test \"x\" {\n  flow f\n  mock smtp a {}\n}\n")); !list.HasErrors() {
		t.Error("a bad mock line: no error")
	}
}

func TestMockKind(t *testing.T) {
	for _, c := range []struct {
		w    engine.WaitKind
		k    compiler.Kind
		want string
	}{
		{engine.WaitHTTP, compiler.KindHTTP, "http"},
		{engine.WaitFunction, compiler.KindFunction, "function"},
		{engine.WaitSend, compiler.KindSend, "send"},
		{engine.WaitVoice, compiler.KindRecord, "record"},
		{engine.WaitVoice, compiler.KindDial, "dial"},
		{engine.WaitVoice, compiler.KindGather, ""},
		{engine.WaitReply, compiler.KindAsk, ""},
		{engine.WaitTask, compiler.KindEnqueue, ""},
	} {
		if got := flowtest.MockKind(c.w, c.k); got != c.want {
			t.Errorf("MockKind(%s, %v) = %q, want %q", c.w, c.k, got, c.want)
		}
	}
}
