package flowtest_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/switchboard-dev/switchboard/flowtest"
)

// The shipped flows come with tests that pass and exercise every step and
// every outcome.
func TestShippedFlows(t *testing.T) {
	s, list, err := flowtest.Load("../flows", nil)
	if err != nil {
		t.Fatal(err)
	}
	if list.HasErrors() {
		t.Fatalf("flows/: %v", list)
	}
	cov := flowtest.NewCoverage(s.Prog)
	results := s.Run(flowtest.Options{Cover: cov})
	if len(results) == 0 {
		t.Fatal("no tests in flows/")
	}
	for _, r := range results {
		if r.Failure != nil {
			t.Errorf("%s: %s: %s", r.File, r.Test.Name, strings.Join(r.Failure.Lines(), "\n\t"))
		}
	}
	for _, f := range cov.Report() {
		if f.StepsHit != f.Steps || f.BranchesHit != f.Branches {
			t.Errorf("flow %s: coverage %.1f%%; never exercised:\n\t%s", f.Flow, f.Percent(), strings.Join(f.Missed, "\n\t"))
		}
	}
}

const prog = `
flow greet {
  channels webchat
  var tries: number = 0

  start: ask "Hello ${contact.name}, what is your order number?" {
    timeout 10m -> bye
    reply.text matches "^[0-9]+$" -> lookup
    reply -> again
  }
  again: switch {
    tries < 1 -> count
    default -> human
  }
  count: set tries = tries + 1 -> start
  lookup: function order_status {
    args {order: start.reply.text}
    timeout 2s
    ok -> tell
    error -> human
  }
  tell: send "Your order is ${lookup.result}." -> done
  human: enqueue orders {
    attributes {topic: "order", tries: tries}
    priority 2
    timeout 5m -> bye
    canceled -> done
  }
  bye: send "Goodbye" -> done
}

queue agents {
  workers worker.team == "orders"
}

workflow orders {
  default agents
}
`

// runPassing runs the suite, which must hold want tests that all pass, and
// returns its coverage.
func runPassing(t *testing.T, s *flowtest.Suite, want int) []flowtest.FlowCoverage {
	t.Helper()
	cov := flowtest.NewCoverage(s.Prog)
	results := s.Run(flowtest.Options{Cover: cov})
	if len(results) != want {
		t.Fatalf("%d results, want %d", len(results), want)
	}
	for _, r := range results {
		if r.Failure != nil {
			t.Errorf("%s: %s", r.Test.Name, strings.Join(r.Failure.Lines(), "\n\t"))
		}
	}
	return cov.Report()
}

func load(t testing.TB, tests string) *flowtest.Suite {
	t.Helper()
	return loadFiles(t, "greet", prog, tests)
}

// loadFiles writes NAME.flow and NAME.flowtest in a directory and loads them.
func loadFiles(t testing.TB, name, flows, tests string) *flowtest.Suite {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, name+".flow"), []byte(flows), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+flowtest.Ext), []byte(tests), 0o644); err != nil {
		t.Fatal(err)
	}
	s, list, err := flowtest.Load(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if list.HasErrors() {
		t.Fatalf("%v", list)
	}
	return s
}

func TestPassing(t *testing.T) {
	s := load(t, `
test "order found" {
  flow greet
  contact {name: "Ana"}
  say "hi"
  expect send "Hello Ana, what is your order number?"
  mock function lookup {value: "on its way", latency: 1s}
  say "1234"
  expect function lookup {args: {order: "1234"}}
  expect send "Your order is on its way."
  expect end
}
test "two wrong answers, then a person" {
  flow greet
  say "hi"
  expect send matches "order number"
  say "no idea"
  expect send matches "order number"
  say "really no idea"
  expect enqueue orders {attributes: {topic: "order", tries: 1}, priority: 2, channel: "chat"}
  task canceled
  expect end
}
test "the order system is slow" {
  flow greet
  mock function lookup {value: "late", latency: 3s}
  say "hi"
  expect send matches "order number"
  say "42"
  expect enqueue orders
  task timeout
  expect send "Goodbye"
  expect end
}
`)
	rep := runPassing(t, s, 3)
	if len(rep) != 1 || rep[0].StepsHit != rep[0].Steps {
		t.Fatalf("coverage %+v", rep)
	}
	missed := strings.Join(rep[0].Missed, "\n")
	for _, want := range []string{"step start: outcome timeout never taken", "step human: outcome completed never taken", "step human: outcome failed never taken"} {
		if !strings.Contains(missed, want) {
			t.Errorf("coverage does not list %q:\n%s", want, missed)
		}
	}
	if strings.Contains(missed, "step again") || strings.Contains(missed, "lookup: outcome") {
		t.Errorf("coverage misses what ran:\n%s", missed)
	}
}

func TestFailing(t *testing.T) {
	cases := []struct{ script, want string }{
		{`say "hi"
  expect send "Hello"`, `expect send "Hello": expected send "Hello", got send "Hello Test Customer, what is your order number?"; at flow greet, step start (ask) (`},
		{`say "hi"
  expect send matches "order"
  say "7"
  expect send "Your order is ready."`, `no mock answers the call of function order_status (add ` + "`mock function lookup {value: ...}`" + `)`},
		{`say "hi"`, `unexpected send "Hello Test Customer, what is your order number?" before the end of the test`},
		{`say "hi"
  expect send matches "order"
  expect end`, `expected end, got nothing: the flow waits at step start`},
		{`say "hi"
  expect send matches "order"
  task completed`, `the flow is not waiting for a routed task (an enqueue step); it waits at this step; at flow greet, step start (ask)`},
		{`press "1"`, `the execution has not started`},
		{`mock function lookup {error: "down"}
  say "hi"
  expect send matches "order"
  say "9"
  expect enqueue orders {attributes: {topic: "orders"}}`, `attribute "topic" is "order", want "orders"`},
		{`mock function lookup {value: "shipped"}
  say "hi"
  expect send matches "order"
  say "7"
  expect function lookup {args: {order: "8"}}`, `args.order is "7", want "8"`},
		{`say "hi"
  expect http lookup {url: "x"}`, `got no http request from step lookup so far`},
		{`say "hi"
  expect send matches "order"
  cancel
  expect end
  say "hello?"`, `the execution has already ended (ended)`},
	}
	for _, c := range cases {
		wantFailure(t, load(t, "test \"t\" {\n  flow greet\n  "+c.script+"\n}\n"), c.script, c.want)
	}
}

// wantFailure runs the suite's one test and checks that it fails with a
// summary containing want; what names the case in the errors.
func wantFailure(t *testing.T, s *flowtest.Suite, what, want string) {
	t.Helper()
	res := s.Run(flowtest.Options{})
	if len(res) != 1 || res[0].Failure == nil {
		t.Errorf("%s: passed, want a failure", what)
		return
	}
	if got := res[0].Failure.Summary(); !strings.Contains(got, want) {
		t.Errorf("%s:\ngot  %s\nwant %s", what, got, want)
	}
}

func TestParseErrors(t *testing.T) {
	cases := []struct{ src, want string }{
		{`tset "x" {}`, "1:1: error[T0001]: expected `test \"NAME\" {`"},
		{`test "x" {
  flow greet
  advance 5
}`, "3:11: error[T0001]: expected a duration"},
		{`test "x" {
  flow greet
  mock http bot {stauts: 200}
}`, `unknown field "stauts"`},
		{`test "x" {
  say "hi"
}`, "names no flow"},
		{`test "x" {
  flow greet
  expect send matches "("
}`, "bad regular expression"},
		{`test "x" {
  flow greet
  task done
}`, "unknown task outcome `done`"},
		{`test "x" {
  flow greet
}
test "x" {
  flow greet
}`, `duplicate test name "x"`},
		{`test "x" {
  flow greet
  say "hi"`, "is not closed"},
	}
	for _, c := range cases {
		_, list := flowtest.Parse("t.flowtest", []byte(c.src))
		if !list.HasErrors() {
			t.Errorf("%q: no error", c.src)
			continue
		}
		if got := list.Error(); !strings.Contains(got, c.want) {
			t.Errorf("%q:\ngot  %s\nwant %s", c.src, got, c.want)
		}
	}
}

// BenchmarkRunner plays the tests of the shipped flows and reports the
// scripted test steps (lines) played per second.
func BenchmarkRunner(b *testing.B) {
	s, list, err := flowtest.Load("../flows", nil)
	if err != nil || list.HasErrors() {
		b.Fatal(err, list)
	}
	steps := 0
	b.ResetTimer()
	for b.Loop() {
		for _, r := range s.Run(flowtest.Options{}) {
			if r.Failure != nil {
				b.Fatal(r.Failure.Summary())
			}
			steps += r.Steps
		}
	}
	b.ReportMetric(float64(steps)/b.Elapsed().Seconds(), "steps/s")
}

func TestMockLoop(t *testing.T) {
	dir := t.TempDir()
	src := `flow poll {
  fetch: http {
    get "http://status.test"
    ok -> done
    error -> fetch
  }
}
`
	if err := os.WriteFile(filepath.Join(dir, "poll.flow"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	test := "test \"loops\" {\n  flow poll\n  mock http fetch {status: 500}\n  start\n}\n"
	if err := os.WriteFile(filepath.Join(dir, "poll"+flowtest.Ext), []byte(test), 0o644); err != nil {
		t.Fatal(err)
	}
	s, list, err := flowtest.Load(dir, nil)
	if err != nil || list.HasErrors() {
		t.Skipf("the compiler rejects the loop: %v %v", err, list)
	}
	// The engine's step budget ends the loop; with a budget larger than
	// the requests mocks answer for one line, the runner does.
	for _, c := range []struct {
		budget int
		want   string
	}{
		{0, "failed: flow poll, step fetch: step budget exceeded: 1000 steps"},
		{5, "failed: flow poll, step fetch: step budget exceeded: 5 steps"},
		{5000, "the mocks answered 1000 requests in a row: the flow loops on them"},
	} {
		res := s.Run(flowtest.Options{StepBudget: c.budget})
		if len(res) != 1 || res[0].Failure == nil || !strings.Contains(res[0].Failure.Summary(), c.want) {
			t.Fatalf("budget %d: got %+v, want a failure with %q", c.budget, res, c.want)
		}
	}
}
