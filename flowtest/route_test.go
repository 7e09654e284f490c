package flowtest_test

import (
	"strings"
	"testing"

	"github.com/switchboard-dev/switchboard/diag"
	"github.com/switchboard-dev/switchboard/flowtest"
)

const routeProg = `
flow help {
  channels webchat

  human: enqueue help_routing {
    attributes {vip: contact.attributes.vip ?? false}
    priority (contact.attributes.vip ?? false) ? 5 : 0
    timeout 10m -> sorry
    canceled -> bye
  } -> thanks
  thanks: send "Thanks, ${human.task.worker} in ${human.task.queue}" -> done
  sorry: send "Sorry" -> done
  bye: send "Bye" -> done
}

queue vip {
  workers worker.vip == true
  order worker.level desc
}

queue agents {
  workers worker.team == "help"
}

workflow help_routing {
  when task.last_worker != nil -> worker task.last_worker timeout 1m, then agents
  when task.vip == true -> vip timeout 30s, then agents priority 9
  default agents
}
`

func loadRoute(t testing.TB, tests string) *flowtest.Suite {
	t.Helper()
	return loadFiles(t, "help", routeProg, tests)
}

const workers = `
  worker ana {attributes: {vip: true, level: 2, team: "help"}}
  worker bob {attributes: {vip: true, level: 5}, capacity: {chat: 2}}
  worker cid {attributes: {team: "help"}, activity: "break"}
`

func TestRoutingPassing(t *testing.T) {
	s := loadRoute(t, `
test "the senior VIP agent, then the next one" {
  flow help
  contact {attributes: {vip: true}}`+workers+`
  start
  expect enqueue help_routing {attributes: {vip: true}, priority: 5}
  expect route queue vip worker bob priority 5
  reject bob
  expect route queue vip worker ana
  accept ana
  expect route worker ana
  complete ana
  expect send "Thanks, ana in vip"
  expect end
}
test "escalation to the agents at priority 9" {
  flow help
  contact {attributes: {vip: true}}`+workers+`
  start
  expect enqueue help_routing
  timeout bob
  timeout ana
  expect route queue vip worker none
  advance 30s
  expect route queue agents worker none priority 9
  activity cid "available"
  expect route queue agents worker cid
  accept
  task completed {queue: "agents", worker: "cid"}
  expect send "Thanks, cid in agents"
  expect end
}
test "an offer not answered in 30s goes to the next worker, as serve's reservation timeout" {
  flow help`+workers+`
  start
  expect enqueue help_routing
  expect route queue agents worker ana
  advance 29s
  expect route worker ana
  activity cid available
  advance 1s
  expect route queue agents worker cid
  accept cid
  advance 5m
  expect route worker cid
  complete cid
  expect send "Thanks, cid in agents"
  expect end
}
test "a known worker" {
  flow help
  last_worker cid`+workers+`
  start
  expect enqueue help_routing {attributes: {vip: false}}
  expect route queue none worker none
  advance 1m
  expect route queue agents worker ana
  accept
  task canceled
  expect send "Bye"
  expect end
}
test "a known worker who is available" {
  flow help
  last_worker "bob"`+workers+`
  start
  expect enqueue help_routing
  expect route queue none worker bob
  accept bob
  complete
  expect send "Thanks, bob in "
  expect end
}
test "nobody at all: the flow's timeout cancels the task" {
  flow help
  start
  expect enqueue help_routing
  expect route queue agents worker none priority 0
  task timeout
  expect send "Sorry"
  expect end
}
test "the router fails the task" {
  flow help`+workers+`
  start
  expect enqueue help_routing
  expect route queue agents worker ana
  task failed
  expect end
}
test "the customer leaves" {
  flow help`+workers+`
  start
  expect enqueue help_routing
  accept ana
  cancel
  expect end
}
`)
	rep := runPassing(t, s, 8)
	if len(rep) != 1 || rep[0].StepsHit != rep[0].Steps || rep[0].BranchesHit != rep[0].Branches {
		t.Errorf("coverage %+v", rep)
	}
}

func TestRoutingFailing(t *testing.T) {
	cases := []struct{ script, want string }{
		{`start
  expect enqueue help_routing
  expect route queue vip`, `expect route queue vip: router: queued in agents (priority 0), offered to ana; expected queue vip, got queue agents, worker ana (offered), priority 0; at flow help, step human (enqueue) (`},
		{`start
  expect enqueue help_routing
  expect route worker none`, `expected worker none, got queue agents, worker ana (offered)`},
		{`start
  expect enqueue help_routing
  expect route priority 3`, `expected priority 3, got queue agents, worker ana (offered), priority 0`},
		{`start
  expect enqueue help_routing
  accept bob`, `expected a reservation offered to bob, got queue agents, worker ana (offered)`},
		{`start
  expect enqueue help_routing
  reject
  accept`, `accept: router: queued in agents (priority 0), offered to ana, rejected by ana; expected a reservation, got queue agents, worker none (waiting), priority 0`},
		{`start
  expect enqueue help_routing
  complete`, `expected a task accepted, got queue agents, worker ana (offered)`},
		{`start
  expect enqueue help_routing
  accept
  complete bob`, `expected a task accepted by bob, got queue agents, worker ana (accepted)`},
		{`start
  expect enqueue help_routing
  accept
  task completed {worker: "bob"}`, `expected worker bob, got queue agents, worker ana (accepted)`},
		{`activity zed "break"`, `activity zed "break": no worker "zed" (declare it with a ` + "`worker`" + ` line)`},
		{`expect route queue agents`, `the flow has enqueued no task yet`},
		{`start
  expect enqueue help_routing
  accept
  complete
  expect send matches "Thanks"
  expect end
  expect route queue agents`, `the task has ended (completed by ana)`},
		{`start
  accept`, `unexpected enqueue help_routing {attributes: {"vip":false}, priority: 0, channel: "chat"} before ` + "`accept`"},
	}
	for _, c := range cases {
		wantFailure(t, loadRoute(t, "test \"t\" {\n  flow help"+workers+"  "+c.script+"\n}\n"), c.script, c.want)
	}
}

// Without workers or routing lines a test does not use the router: `task`
// plays any outcome, with any queue and worker.
func TestNoRouter(t *testing.T) {
	s := loadRoute(t, `
test "t" {
  flow help
  start
  expect enqueue help_routing
  task completed {queue: "nowhere", worker: "w7"}
  expect send "Thanks, w7 in nowhere"
  expect end
}
`)
	res := s.Run(flowtest.Options{})
	if len(res) != 1 || res[0].Failure != nil {
		t.Fatalf("%+v", res[0].Failure)
	}
}

func TestRoutingParseErrors(t *testing.T) {
	cases := []struct{ src, want string }{
		{"worker ana {skills: 1}", `worker ana: unknown field "skills" (want attributes, activity, capacity)`},
		{"worker ana {capacity: {chat: 1.5}}", "worker ana: capacity chat must be a whole number"},
		{"worker ana {attributes: 3}", "worker ana: attributes must be a map"},
		{"worker ana\n  worker ana", `worker "ana" is declared twice`},
		{"expect route", "expect route needs `queue NAME`, `worker NAME` or `priority N`"},
		{"expect route queue", "expected a queue name, or `none`"},
		{"expect route queue a queue b", "expect route: queue given twice"},
		{"expect route lane a", "expect route: unexpected `lane` (want queue, worker or priority)"},
		{`expect route priority "high"`, "expect route: priority must be a number"},
		{"activity ana", "expected the activity"},
		{"accept ana bob", "unexpected `bob` at the end of the line"},
		// serve refuses these activities; a test must not silently give the
		// worker no offers.
		{`worker ana {activity: "avaliable"}`, "t.flowtest:3:3: error[T0004]: unknown activity \"avaliable\" (known: [\"available\",\"away\",\"break\",\"busy\",\"offline\"])\n  hint: did you mean `available`?"},
		{`activity ana avaliable`, "t.flowtest:3:16: error[T0004]: unknown activity \"avaliable\""},
		{`activity ana "lunch"`, "hint: declare it as serve's --activity flag does: `router {activities: {lunch: \"unavailable\"}}`"},
	}
	for _, c := range cases {
		src := "test \"x\" {\n  flow help\n  " + c.src + "\n}\n"
		_, list := flowtest.Parse("t.flowtest", []byte(src))
		if !list.HasErrors() {
			t.Errorf("%q: no error", c.src)
			continue
		}
		if got := diagText(list); !strings.Contains(got, c.want) {
			t.Errorf("%q:\ngot  %s\nwant %s", c.src, got, c.want)
		}
	}
}

// diagText renders diagnostics with their hints, one per line.
func diagText(list diag.List) string {
	var b strings.Builder
	for _, d := range list {
		b.WriteString(d.Error() + "\n")
		if d.Hint != "" {
			b.WriteString("  hint: " + d.Hint + "\n")
		}
	}
	return b.String()
}
