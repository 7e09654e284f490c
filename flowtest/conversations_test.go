package flowtest_test

import (
	"strings"
	"testing"
	"time"

	"github.com/switchboard-dev/switchboard/flowtest"
)

// Routing scenarios that need several conversations, transfers, wrap-up,
// serve's timeouts and workers that change: each test below fails without
// the runner playing that part as serve does.
func TestRoutingScenarios(t *testing.T) {
	s := loadRoute(t, `
test "several conversations: capacity, priority between tasks, a freed slot at once" {
  flow help
  worker cid {attributes: {team: "help"}}          # serve's capacity: 3 chats
  start
  expect enqueue help_routing
  accept cid
  customer bob
  start
  expect enqueue help_routing
  accept cid
  customer dan
  start
  expect enqueue help_routing
  accept cid
  customer eve
  start
  expect enqueue help_routing
  expect route queue agents worker none            # cid holds three chats
  expect worker cid {load: {chat: 3}}
  advance 10s
  customer vic {attributes: {vip: true}}
  start
  expect enqueue help_routing {priority: 5}
  advance 30s                                      # no VIP agent: on to the agents
  expect route queue agents worker none priority 9
  customer main
  complete cid
  expect send "Thanks, cid in agents"
  expect end
  customer vic
  expect route worker cid                          # the freed slot, at once, to the higher priority
  accept
  customer eve
  expect route worker none
}
test "idle times set before the first message" {
  flow help
  worker ana {attributes: {team: "help"}, activity: "break"}
  worker cid {attributes: {team: "help"}, activity: "break"}
  activity cid available
  advance 5m
  activity ana available
  start
  expect enqueue help_routing
  expect route queue agents worker cid             # the longest idle
}
test "a cold transfer to a queue" {
  flow help
  worker cid {attributes: {team: "help"}}
  worker bob {attributes: {vip: true, level: 5}}
  start
  expect enqueue help_routing
  accept cid
  transfer cold queue vip
  expect route queue vip worker bob
  expect worker cid {load: {chat: 0}}
  accept bob
  complete bob
  expect send "Thanks, bob in vip"
  expect end
}
test "a warm transfer to a worker, accepted" {
  flow help
  worker cid {attributes: {team: "help"}}
  worker bob {attributes: {vip: true, level: 5}}
  start
  expect enqueue help_routing
  accept cid
  transfer warm worker bob
  expect route worker cid                          # cid keeps it until bob accepts
  expect worker cid {load: {chat: 1}}
  accept bob
  expect route worker bob
  expect worker cid {load: {chat: 0}}
  complete bob
  expect send matches "^Thanks, bob"
  expect end
}
test "a warm transfer rejected, then one not answered: the task stays" {
  flow help
  worker cid {attributes: {team: "help"}}
  worker bob {attributes: {vip: true, level: 5}}
  start
  expect enqueue help_routing
  accept cid
  transfer warm worker bob
  reject bob
  expect route worker cid
  transfer warm queue vip
  expect route worker cid
  advance 30s                                      # serve's reservation timeout
  expect route worker cid
  complete cid
  expect send "Thanks, cid in agents"
  expect end
}
test "wrap-up holds the worker's capacity until the task is completed" {
  flow help
  worker cid {attributes: {team: "help"}, capacity: {chat: 1}}
  start
  expect enqueue help_routing
  accept cid
  wrapup cid
  customer bob
  start
  expect enqueue help_routing
  expect route worker none
  customer main
  complete cid
  expect send "Thanks, cid in agents"
  expect end
  customer bob
  expect route worker cid
}
test "serve's --wrap-up completes a wrapping task" {
  flow help
  router {wrap_up: 1m}
  worker cid {attributes: {team: "help"}}
  start
  expect enqueue help_routing
  accept cid
  wrapup
  advance 59s
  expect route worker cid
  advance 1s
  expect send "Thanks, cid in agents"
  expect end
}
test "missed offers set the worker away, as serve counts them" {
  flow help
  worker cid {attributes: {team: "help"}}
  start
  expect enqueue help_routing
  advance 30s
  expect route worker none
  customer bob
  start
  expect enqueue help_routing
  reject cid
  expect worker cid {activity: "available"}
  customer dan
  start
  expect enqueue help_routing
  timeout cid
  expect worker cid {activity: "away"}
  customer eve
  start
  expect enqueue help_routing
  expect route worker none
}
test "a worker's attributes, capacity and activity change" {
  flow help
  worker bob {attributes: {vip: true, level: 5}, activity: "break"}
  start
  expect enqueue help_routing
  expect route queue agents worker none
  update bob {attributes: {team: "help"}, capacity: {chat: 1}, activity: "available"}
  expect route worker bob
  expect worker bob {attributes: {team: "help"}, capacity: {chat: 1}, load: {chat: 1}, activity: "available"}
}
`)
	runPassing(t, s, 9)
}

func TestRoutingScenariosFailing(t *testing.T) {
	cases := []struct{ script, want string }{
		{`start
  expect enqueue help_routing
  transfer cold queue vip`, `transfer cold queue vip: router: queued in agents (priority 0), offered to ana; expected a task accepted, got queue agents, worker ana (offered)`},
		{`start
  expect enqueue help_routing
  accept
  transfer cold queue nowhere`, `the router refused: `},
		{`start
  expect enqueue help_routing
  accept
  transfer warm worker bob
  accept ana`, `expected a reservation offered to ana, got queue agents, worker ana (accepted), offered to bob (warm transfer)`},
		{`start
  expect enqueue help_routing
  expect worker ana {activity: "break"}`, `activity is "available", want "break"`},
		{`update zed {capacity: {chat: 1}}`, `no worker "zed"`},
		{`customer bob
  start
  customer main`, `customer bob: unexpected enqueue help_routing`},
		{`customer bob {flow: "nope"}`, `customer bob: the program has no flow "nope"`},
		{`customer bob
  customer main
  customer bob {name: "Bob"}`, "customer bob has already begun"},
		{`start
  expect enqueue help_routing
  accept
  wrapup
  wrapup`, `expected a task accepted, got queue agents, worker ana (wrapping up)`},
	}
	for _, c := range cases {
		wantFailure(t, loadRoute(t, "test \"t\" {\n  flow help"+workers+"  "+c.script+"\n}\n"), c.script, c.want)
	}
}

func TestRoutingScenarioParseErrors(t *testing.T) {
	cases := []struct{ src, want string }{
		{"transfer hot queue vip", "transfer: want `cold` or `warm`, found `hot`"},
		{"transfer warm team vip", "transfer: want `queue NAME` or `worker ID`, found `team`"},
		{"update ana {skills: 1}", `worker ana: unknown field "skills"`},
		{`update ana {activity: "avaliable"}`, "unknown activity \"avaliable\""},
		{`expect worker ana {activity: "of"}`, "unknown activity \"of\""},
		{"expect worker ana {mood: 1}", `expect worker: unknown field "mood"`},
		{"router {wrap_up: 3}", "router: wrap_up must be a duration such as 30s"},
		{"router {missed_offers: 0}", "router: missed_offers must be a whole number of offers, or -1 (never)"},
		{"router {reoffer_after: -1}", "router: reoffer_after must be a duration such as 2m, or 0s (never)"},
		{`router {activities: {lunch: "yes"}}`, `router: activity lunch must be "available" or "unavailable"`},
		{"router {speed: 1}", `router: unknown field "speed"`},
		{"router {wrap_up: 1m}\n  router {wrap_up: 2m}", "a second `router` line (one per test)"},
		{"worker ana\n  worker ana", "hint: change a worker during the test with `update ana {…}`"},
		{"customer {}", "expected the customer's name"},
		{"customer bob {nmae: \"Bob\"}", `customer bob: unknown field "nmae" (want name, attributes, addresses, flow)`},
		{"customer bob {flow: other}", "unexpected name `other` in a value"},
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
	// An activity a `router` line declares is known, wherever the line is.
	src := "test \"x\" {\n  flow help\n  worker ana {activity: \"lunch\"}\n  router {activities: {lunch: \"unavailable\"}}\n}\n"
	if _, list := flowtest.Parse("t.flowtest", []byte(src)); list.HasErrors() {
		t.Errorf("declared activity: %v", list)
	}
	// reoffer_after 0s is serve's --reoffer-after 0: never.
	for in, want := range map[string]time.Duration{"0s": -1, "5m": 5 * time.Minute} {
		f, list := flowtest.Parse("t.flowtest", []byte("test \"x\" {\n  flow help\n  router {reoffer_after: "+in+"}\n}\n"))
		if list.HasErrors() || len(f.Tests) != 1 || f.Tests[0].Policy().ReofferAfter != want {
			t.Errorf("reoffer_after %s: %v", in, list)
		}
	}
}

// A customer may play another flow of the program, on that flow's channel.
func TestCustomerOfAnotherFlow(t *testing.T) {
	s := loadFiles(t, "help", routeProg+`
flow notice {
  channels sms
  hi: send "Hi ${contact.name} on ${conversation.channel}" -> done
}
`, `
test "two flows" {
  flow help
  worker ana {attributes: {team: "help"}}
  start
  expect enqueue help_routing
  customer sue {flow: "notice", name: "Sue"}
  start
  expect send "Hi Sue on sms"
  expect end
  customer main
  accept ana
  complete
  expect send "Thanks, ana in agents"
  expect end
}
`)
	runPassing(t, s, 1)
}
