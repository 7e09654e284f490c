package connectortest_test

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/switchboard-dev/switchboard/connectors"
	"github.com/switchboard-dev/switchboard/connectors/connectortest"
)

// recorder is a testing.TB that keeps failures instead of reporting them,
// so that the tests can check the helpers fail when they must.
type recorder struct {
	testing.TB
	mu       sync.Mutex
	failures []string
}

func (r *recorder) Helper() {}

func (r *recorder) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.failures = append(r.failures, fmt.Sprintf(format, args...))
}

func (r *recorder) Fatalf(format string, args ...any) {
	r.Errorf(format, args...)
	panic(r)
}

func (r *recorder) Fatal(args ...any) { r.Fatalf("%s", fmt.Sprint(args...)) }

// run calls f with a recorder and returns what it failed with.
func run(t *testing.T, f func(tb testing.TB)) string {
	r := &recorder{TB: t}
	func() {
		defer func() {
			if v := recover(); v != nil && v != r {
				panic(v)
			}
		}()
		f(r)
	}()
	return strings.Join(r.failures, "\n")
}

func write(t *testing.T, files map[string]string) string {
	dir := t.TempDir()
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

const sample = `A recorded text.
-- body --
{"id":"m1"}
-- want --
[{"PlatformID":"m1","Channel":"toy","From":"u1","Text":"hi","Media":null,"Attributes":{"n":1},"At":"0001-01-01T00:00:00Z"}]
`

func TestPayloads(t *testing.T) {
	for _, tc := range []struct {
		name     string
		files    map[string]string
		sections []string
		fail     string // "" for none, else a part of the failure
	}{
		{name: "ok", files: map[string]string{"text.txtar": sample}, sections: []string{"body"}},
		{name: "any section", files: map[string]string{"text.txtar": sample}},
		{name: "unknown section", files: map[string]string{"text.txtar": sample}, sections: []string{"query"}, fail: `text.txtar: unknown section "body"`},
		{name: "twice", files: map[string]string{"a.txtar": "-- body --\nx\n-- body --\ny\n-- want --\n[]\n"}, fail: `a.txtar: section "body" appears twice`},
		{name: "empty dir", files: map[string]string{"a.json": "{}"}, fail: "no payloads in"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := write(t, tc.files)
			var got []connectortest.Payload
			fail := run(t, func(tb testing.TB) { got = connectortest.Payloads(tb, dir, tc.sections...) })
			if tc.fail == "" && fail != "" || !strings.Contains(fail, tc.fail) {
				t.Fatalf("failed with %q, want %q", fail, tc.fail)
			}
			if tc.fail != "" {
				return
			}
			p := got[0]
			if p.Name != "text" || p.Path != filepath.Join(dir, "text.txtar") || string(p.Comment) != "A recorded text.\n" {
				t.Errorf("Name, Path, Comment = %q, %q, %q", p.Name, p.Path, p.Comment)
			}
			if string(p.Sections["body"]) != "{\"id\":\"m1\"}\n" || string(p.Trimmed("body")) != `{"id":"m1"}` {
				t.Errorf("body = %q, trimmed %q", p.Sections["body"], p.Trimmed("body"))
			}
		})
	}
}

// TestPayloadMarkers checks the txtar reading on the edges: a marker
// needs a line of its own, and a last section without a newline gets one.
func TestPayloadMarkers(t *testing.T) {
	dir := write(t, map[string]string{"m.txtar": "-- body --\nx -- y --\n--body--\n-- want --\n[]"})
	p := connectortest.PayloadNamed(t, dir, "m")
	if got := string(p.Sections["body"]); got != "x -- y --\n--body--\n" {
		t.Errorf("body = %q", got)
	}
	if got := string(p.Sections["want"]); got != "[]\n" {
		t.Errorf("want = %q", got)
	}
	if fail := run(t, func(tb testing.TB) { connectortest.PayloadNamed(tb, dir, "n") }); !strings.Contains(fail, "no payload n") {
		t.Errorf("missing payload failed with %q", fail)
	}
}

// TestCheckInboundsNoWant: a payload without a want section is read, and
// checking it fails whether or not Receive gave messages.
func TestCheckInboundsNoWant(t *testing.T) {
	dir := write(t, map[string]string{"refused.txtar": "-- body --\nx\n"})
	p := connectortest.PayloadNamed(t, dir, "refused", "body")
	for _, got := range [][]connectors.Inbound{nil, {{PlatformID: "m1"}}} {
		if fail := run(t, func(tb testing.TB) { p.CheckInbounds(tb, got, false) }); !strings.Contains(fail, "refused.txtar: no want section") {
			t.Errorf("CheckInbounds(%v) failed with %q", got, fail)
		}
	}
}

func TestCheckInbounds(t *testing.T) {
	msg := connectors.Inbound{PlatformID: "m1", Channel: "toy", From: "u1", Text: "hi", Attributes: map[string]any{"n": 1}}
	other := msg
	other.Text = "ho"
	sigRE := regexp.MustCompile(`sig=[0-9a-f]+`)
	withSig := msg
	withSig.Media = []string{"https://x.test/m?sig=0123abcd"}
	for _, tc := range []struct {
		name string
		want string // the want section
		got  []connectors.Inbound
		opts []connectortest.CheckOption
		fail bool
	}{
		{name: "equal", want: "[{\"PlatformID\":\"m1\",\"Channel\":\"toy\",\"From\":\"u1\",\"Text\":\"hi\",\"Attributes\":{\"n\":1}}]", got: []connectors.Inbound{msg}},
		{name: "differs", want: "[{\"PlatformID\":\"m1\",\"Channel\":\"toy\",\"From\":\"u1\",\"Text\":\"hi\",\"Attributes\":{\"n\":1}}]", got: []connectors.Inbound{other}, fail: true},
		{name: "nil is empty", want: "[]", got: nil},
		{name: "nil is not one", want: "[{\"PlatformID\":\"m1\"}]", got: nil, fail: true},
		{name: "bad want", want: "{", got: nil, fail: true},
		{name: "exact layout", want: "[ ]", got: nil, opts: []connectortest.CheckOption{connectortest.Exact()}, fail: true},
		{name: "exact", want: "[]\n", got: nil, opts: []connectortest.CheckOption{connectortest.Exact()}},
		{
			name: "normalized", got: []connectors.Inbound{withSig},
			want: `[{"PlatformID":"m1","Channel":"toy","From":"u1","Text":"hi","Media":["https://x.test/m?sig=SIG"],"Attributes":{"n":1}}]`,
			opts: []connectortest.CheckOption{connectortest.Normalize(func(b []byte) []byte { return sigRE.ReplaceAll(b, []byte("sig=SIG")) })},
		},
		{
			name: "not normalized", got: []connectors.Inbound{withSig}, fail: true,
			want: `[{"PlatformID":"m1","Channel":"toy","From":"u1","Text":"hi","Media":["https://x.test/m?sig=SIG"],"Attributes":{"n":1}}]`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := write(t, map[string]string{"p.txtar": "-- body --\nx\n-- want --\n" + tc.want})
			p := connectortest.PayloadNamed(t, dir, "p")
			fail := run(t, func(tb testing.TB) { p.CheckInbounds(tb, tc.got, false, tc.opts...) })
			if (fail != "") != tc.fail {
				t.Fatalf("failed with %q, want a failure: %v", fail, tc.fail)
			}
			if fail != "" && !strings.HasPrefix(fail, p.Path+": ") {
				t.Errorf("failure %q does not name the file", fail)
			}
		})
	}
}

// TestCheckInboundsUpdate checks that update rewrites only the want
// section, and that what it writes then passes.
func TestCheckInboundsUpdate(t *testing.T) {
	dir := write(t, map[string]string{"p.txtar": "Comment.\n-- query --\nq=1\n-- want --\n[]\n-- body --\nx\n"})
	got := []connectors.Inbound{{PlatformID: "m1", Channel: "toy", From: "u1"}}
	connectortest.PayloadNamed(t, dir, "p").CheckInbounds(t, got, true)
	data, err := os.ReadFile(filepath.Join(dir, "p.txtar"))
	if err != nil {
		t.Fatal(err)
	}
	want := "Comment.\n-- query --\nq=1\n-- want --\n[\n {\n  \"PlatformID\": \"m1\",\n"
	if !strings.HasPrefix(string(data), want) || !strings.HasSuffix(string(data), "]\n-- body --\nx\n") {
		t.Fatalf("rewritten file:\n%s", data)
	}
	p := connectortest.PayloadNamed(t, dir, "p")
	if fail := run(t, func(tb testing.TB) { p.CheckInbounds(tb, got, false, connectortest.Exact()) }); fail != "" {
		t.Errorf("the rewritten want fails: %s", fail)
	}
	if fail := run(t, func(tb testing.TB) { p.CheckInbounds(tb, nil, false) }); fail == "" {
		t.Errorf("the rewritten want accepts no message")
	}
}
