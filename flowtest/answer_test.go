package flowtest_test

import (
	"reflect"
	"testing"

	"github.com/switchboard-dev/switchboard/flowtest"
	"github.com/switchboard-dev/switchboard/runtime/engine"
)

func TestParseAnswer(t *testing.T) {
	ok := []struct {
		kind, line string
		want       engine.Result
	}{
		{"http", `200 {"reply":"hi"}`, engine.Result{Status: 200, Body: `{"reply":"hi"}`}},
		{"http", "error refused", engine.Result{Err: "refused"}},
		{"function", `{"id":7}`, engine.Result{Value: map[string]any{"id": float64(7)}}},
		{"function", "error", engine.Result{Err: "error"}},
		{"record", "http://rec/1 30", engine.Result{RecordingURL: "http://rec/1", Duration: 30}},
		{"dial", "busy", engine.Result{DialStatus: "busy"}},
	}
	for _, c := range ok {
		got, err := flowtest.ParseAnswer(c.kind, c.line)
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s %q: %+v %v, want %+v", c.kind, c.line, got, err, c.want)
		}
	}
	for _, c := range [][2]string{{"http", "OK"}, {"http", "200 {"}, {"function", "nope"}, {"record", ""}, {"record", "u x"}, {"dial", "error x"}} {
		if _, err := flowtest.ParseAnswer(c[0], c[1]); err == nil {
			t.Errorf("%s %q: no error", c[0], c[1])
		}
		if flowtest.AnswerFormat(c[0]) == "" {
			t.Errorf("%s: no format to ask with", c[0])
		}
	}
}
