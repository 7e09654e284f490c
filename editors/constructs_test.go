package editors

import (
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/switchboard-dev/switchboard/compiler"
	"github.com/switchboard-dev/switchboard/flowtest"
)

// scoped is a piece of a source and the innermost scope each of its
// characters must have; nth picks among equal pieces (0: the first).
type scoped struct {
	text  string
	scope string
	nth   int
	after string // where to start looking for text
}

func checkScopes(t *testing.T, g *grammar, src string, want []scoped) {
	t.Helper()
	at := scopesAt(t, g, "snippet", src)
	for _, w := range want {
		off, start := -1, 0
		if w.after != "" {
			start = strings.Index(src, w.after)
			if start < 0 {
				t.Fatalf("%q not in %q", w.after, src)
			}
		}
		for i, from := 0, start; i <= w.nth; i++ {
			j := strings.Index(src[from:], w.text)
			if j < 0 {
				t.Fatalf("%q not in %q", w.text, src)
			}
			off, from = from+j, from+j+len(w.text)
		}
		for i := off; i < off+len(w.text); i++ {
			if got := innermost(at[i]); got != w.scope {
				t.Errorf("%q in %q: byte %d is %q (%s), want %q", w.text, src, i-off, got, strings.Join(at[i], " "), w.scope)
				break
			}
		}
	}
}

func TestFlowGrammarConstructs(t *testing.T) {
	flowG, _ := loadGrammars(t)
	tests := []struct {
		name string
		src  string
		want []scoped
	}{
		{"declarations", "flow hello {\n}\nqueue desk { workers true }\nworkflow routing {\n  default desk\n}\nhours open_hours {\n}\n", []scoped{
			{text: "flow", scope: "storage.type.flow.flow"},
			{text: "hello", scope: "entity.name.type.flow.flow"},
			{text: "{", scope: "punctuation.section.block.begin.flow"},
			{text: "}", scope: "punctuation.section.block.end.flow"},
			{text: "queue", scope: "storage.type.queue.flow"},
			{text: "desk", scope: "entity.name.type.queue.flow"},
			{text: "workflow", scope: "storage.type.workflow.flow"},
			{text: "routing", scope: "entity.name.type.workflow.flow"},
			{text: "hours", scope: "storage.type.hours.flow"},
			{text: "open_hours", scope: "entity.name.type.hours.flow"},
		}},
		{"worker schema", "worker {\n  attributes {languages: list, level: int, vip: flag}\n}\nqueue q { workers worker.vip }\n", []scoped{
			{text: "worker", scope: "storage.type.worker.flow"},
			{text: "attributes", scope: "keyword.other.property.flow"},
			{text: "languages", scope: "support.type.property-name.flow"},
			{text: "list", scope: "support.type.flow"},
			{text: "int", scope: "support.type.flow"},
			{text: "flag", scope: "entity.name.type.flow"},
			{text: "worker", scope: "variable.language.flow", after: " worker."},
		}},
		{"comments", "# top\nflow f { // after the brace\n  s: switch { # in a block\n    (len(filter(xs, # > 1)) > 0) -> s // slashes in brackets\n    default -> done\n  }\n}\n", []scoped{
			{text: "#", scope: "punctuation.definition.comment.flow"},
			{text: " top", scope: "comment.line.number-sign.flow"},
			{text: " after the brace", scope: "comment.line.double-slash.flow"},
			{text: " in a block", scope: "comment.line.number-sign.flow"},
			{text: "#", scope: "variable.language.pointer.flow", nth: 2},
			{text: " slashes in brackets", scope: "comment.line.double-slash.flow"},
		}},
		{"header", "flow f {\n  trigger call\n  channels sms, whatsapp, pager\n  var tries: number = 0\n  input who: string\n  output score: percent\n}\n", []scoped{
			{text: "trigger", scope: "keyword.other.trigger.flow"},
			{text: "call", scope: "constant.language.trigger.flow"},
			{text: "channels", scope: "keyword.other.channels.flow"},
			{text: "sms", scope: "support.constant.channel.flow"},
			{text: ",", scope: "punctuation.separator.comma.flow"},
			{text: "pager", scope: "variable.other.flow"},
			{text: "var", scope: "storage.type.var.flow"},
			{text: "tries", scope: "variable.other.declaration.flow"},
			{text: ":", scope: "punctuation.separator.type.flow"},
			{text: "number", scope: "support.type.flow"},
			{text: "=", scope: "keyword.operator.assignment.flow"},
			{text: "0", scope: "constant.numeric.decimal.flow"},
			{text: "input", scope: "storage.type.var.flow"},
			{text: "string", scope: "support.type.flow"},
			{text: "percent", scope: "entity.name.type.flow"},
		}},
		{"steps", "flow f {\n  greet: ask \"Hi?\" {\n    timeout 10m -> done\n    reply.text == \"yes\" -> to_person\n    reply -> greet\n  }\n  to_person: enqueue desk_routing -> done\n  verify: subflow check_customer\n  score: function fraud_score\n  oops: sned \"x\"\n  input: gather { digits 1; digits == \"1\" -> greet }\n}\n", []scoped{
			{text: "greet", scope: "entity.name.function.step.flow"},
			{text: ":", scope: "punctuation.separator.step.flow"},
			{text: "ask", scope: "keyword.control.kind.flow"},
			{text: "timeout", scope: "keyword.other.property.flow"},
			{text: "10m", scope: "constant.numeric.duration.flow"},
			{text: "->", scope: "keyword.operator.arrow.flow"},
			{text: "done", scope: "constant.language.done.flow"},
			{text: "reply", scope: "variable.language.flow"},
			{text: ".", scope: "punctuation.accessor.flow"},
			{text: "text", scope: "variable.other.property.flow"},
			{text: "==", scope: "keyword.operator.comparison.flow"},
			{text: "to_person", scope: "entity.name.function.step.flow"},
			{text: "reply", scope: "support.constant.outcome.flow", nth: 1},
			{text: "greet", scope: "entity.name.function.step.flow", nth: 1},
			{text: "enqueue", scope: "keyword.control.kind.flow"},
			{text: "desk_routing", scope: "entity.name.type.workflow.flow"},
			{text: "check_customer", scope: "entity.name.type.flow.flow"},
			{text: "fraud_score", scope: "entity.name.function.call.flow"},
			{text: "sned", scope: "invalid.illegal.unknown-kind.flow"},
			{text: "input", scope: "entity.name.function.step.flow"},
			{text: "digits", scope: "keyword.other.property.flow"},
			{text: ";", scope: "punctuation.terminator.statement.flow"},
			{text: "digits", scope: "variable.language.flow", nth: 1},
		}},
		{"properties and guards", "flow f {\n  s: enqueue w {\n    priority -1\n    attributes {vip: true, \"1\": x}\n  }\n  g: gather {\n    speech matches \"(?i)help\" -> s\n    speech -> s\n    timeout -> s\n  }\n}\n", []scoped{
			{text: "priority", scope: "keyword.other.property.flow"},
			{text: "attributes", scope: "keyword.other.property.flow"},
			{text: "vip", scope: "support.type.property-name.flow"},
			{text: ":", scope: "punctuation.separator.key-value.flow", nth: 2},
			{text: "true", scope: "constant.language.flow"},
			{text: "speech", scope: "variable.language.flow"},
			{text: "matches", scope: "keyword.operator.word.flow"},
			{text: "speech", scope: "support.constant.outcome.flow", nth: 1},
			{text: "timeout", scope: "support.constant.outcome.flow"},
		}},
		{"strings", "flow f {\n  s: send \"Hi ${contact.name ?? \"friend\"}\\n\\q\" { media 'raw \\d' ; to `x'y` } -> done\n}\n", []scoped{
			{text: "\"", scope: "punctuation.definition.string.begin.flow"},
			{text: "Hi ", scope: "string.quoted.double.flow"},
			{text: "${", scope: "punctuation.section.interpolation.begin.flow"},
			{text: "contact", scope: "variable.language.flow"},
			{text: "??", scope: "keyword.operator.nil-coalescing.flow"},
			{text: "friend", scope: "string.quoted.double.flow"},
			{text: "}", scope: "punctuation.section.interpolation.end.flow"},
			{text: "\\n", scope: "constant.character.escape.flow"},
			{text: "\\q", scope: "invalid.illegal.escape.flow"},
			{text: "raw \\d", scope: "string.quoted.single.flow"},
			{text: "x'y", scope: "string.quoted.other.backtick.flow"},
		}},
		{"literals", "hours h {\n  timezone \"Asia/Jakarta\"\n  mon-fri 08:00-17:00\n  closed 2026-12-25\n}\nflow f {\n  w: wait 1h30m -> n\n  n: set a = 0x1f + 1_000 + 1.5e3 + .5, b = 12abc\n}\n", []scoped{
			{text: "timezone", scope: "keyword.other.property.flow"},
			{text: "mon", scope: "support.constant.weekday.flow"},
			{text: "-", scope: "punctuation.separator.range.flow"},
			{text: "08:00", scope: "constant.numeric.time.flow"},
			{text: "closed", scope: "keyword.other.property.flow"},
			{text: "2026-12-25", scope: "constant.numeric.date.flow"},
			{text: "1h30m", scope: "constant.numeric.duration.flow"},
			{text: "0x1f", scope: "constant.numeric.hex.flow"},
			{text: "1_000", scope: "constant.numeric.decimal.flow"},
			{text: "1.5e3", scope: "constant.numeric.decimal.flow"},
			{text: ".5", scope: "constant.numeric.decimal.flow"},
			{text: "12abc", scope: "invalid.illegal.number.flow"},
		}},
		{"expressions", "flow f {\n  s: switch {\n    open(office) and not (x?.y ?? false) -> t\n    len(items[1:3]) > 0 || lower(a.B()) in [\"x\"] -> t\n    default -> t\n  }\n}\n", []scoped{
			{text: "open", scope: "support.function.builtin.flow"},
			{text: "(", scope: "punctuation.section.parens.begin.flow"},
			{text: "and", scope: "keyword.operator.word.flow"},
			{text: "not", scope: "keyword.operator.word.flow"},
			{text: "?.", scope: "punctuation.accessor.flow"},
			{text: "false", scope: "constant.language.flow"},
			{text: "[", scope: "punctuation.section.brackets.begin.flow"},
			{text: ":", scope: "keyword.operator.ternary.flow", nth: 1},
			{text: "||", scope: "keyword.operator.logical.flow"},
			{text: "B", scope: "entity.name.function.member.flow"},
			{text: "in", scope: "keyword.operator.word.flow"},
			{text: "default", scope: "support.constant.outcome.flow"},
		}},
		{"queues and workflows", "queue vip { workers worker.vip == true  order worker.level desc }\nqueue q {\n  order least_busy\n  max_reserved 2\n}\nworkflow w {\n  when task.vip -> vip timeout 30s priority 5, then worker task.last_worker\n  default q\n}\n", []scoped{
			{text: "workers", scope: "keyword.other.property.flow"},
			{text: "worker", scope: "variable.language.flow", nth: 1},
			{text: "order", scope: "keyword.other.property.flow"},
			{text: "desc", scope: "keyword.other.order.flow"},
			{text: "least_busy", scope: "support.constant.order.flow"},
			{text: "max_reserved", scope: "keyword.other.property.flow"},
			{text: "when", scope: "keyword.control.when.flow"},
			{text: "task", scope: "variable.language.flow"},
			{text: "vip", scope: "entity.name.type.queue.flow", after: "->"},
			{text: "timeout", scope: "keyword.other.property.flow"},
			{text: "priority", scope: "keyword.other.property.flow"},
			{text: "then", scope: "keyword.control.then.flow"},
			{text: "worker", scope: "keyword.other.worker.flow", after: "then"},
			{text: "default", scope: "keyword.control.default.flow"},
			{text: "q", scope: "entity.name.type.queue.flow", after: "default"},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { checkScopes(t, flowG, tc.src, tc.want) })
	}
}

func TestFlowtestGrammarConstructs(t *testing.T) {
	_, testG := loadGrammars(t)
	src := "# the support flow\ntest \"a live agent\" {\n  flow support\n  contact {name: \"Ana\", attributes: {vip: true}}\n  at 2026-11-24 09:30 \"Europe/London\"\n  say \"I want a live agent\"\n  expect send matches `^Which`\n  mock http bot {status: 503, latency: 4s}\n  advance 5m   // the ask times out\n  task timeout\n  expect enqueue support_routing {priority: 0}\n  expect route queue none\n}\n"
	checkScopes(t, testG, src, []scoped{
		{text: " the support flow", scope: "comment.line.number-sign.flow"},
		{text: "test", scope: "storage.type.test.flowtest"},
		{text: "a live agent", scope: "string.quoted.double.flow"},
		{text: "flow", scope: "keyword.control.command.flowtest", after: "{"},
		{text: "support", scope: "entity.name.type.flow.flowtest", after: "{"},
		{text: "contact", scope: "keyword.control.command.flowtest"},
		{text: "name", scope: "support.type.property-name.flowtest"},
		{text: "true", scope: "constant.language.flowtest"},
		{text: "2026-11-24", scope: "constant.numeric.date.flow"},
		{text: "09:30", scope: "constant.numeric.time.flow"},
		{text: "say", scope: "keyword.control.command.flowtest"},
		{text: "expect", scope: "keyword.control.command.flowtest"},
		{text: "send", scope: "keyword.other.expect.flowtest"},
		{text: "matches", scope: "keyword.operator.word.flowtest"},
		{text: "^Which", scope: "string.quoted.other.backtick.flow"},
		{text: "mock", scope: "keyword.control.command.flowtest"},
		{text: "http", scope: "keyword.other.mock.flowtest"},
		{text: "bot", scope: "entity.name.function.step.flowtest"},
		{text: "503", scope: "constant.numeric.decimal.flow"},
		{text: "4s", scope: "constant.numeric.duration.flow"},
		{text: " the ask times out", scope: "comment.line.double-slash.flow"},
		{text: "timeout", scope: "support.constant.outcome.flowtest"},
		{text: "support_routing", scope: "variable.other.flowtest"},
		{text: "route", scope: "keyword.other.expect.flowtest"},
		{text: "queue", scope: "keyword.other.flowtest", after: "route"},
		{text: "none", scope: "constant.language.flowtest"},
	})
}

// TestGrammarKnowsTheCompilersWords checks the grammar's word lists
// against the compiler's tables, both ways: every step kind, property,
// outcome, channel, trigger and type the compiler knows is scoped as one,
// and the grammar lists no word the compiler does not know.
func TestGrammarKnowsTheCompilersWords(t *testing.T) {
	flowG, _ := loadGrammars(t)
	var kinds, props, outcomes []string
	for _, k := range compiler.Kinds() {
		s := k.Spec()
		kinds = append(kinds, s.Name)
		for _, p := range s.Props {
			props = append(props, p.Name)
			checkScopes(t, flowG, "flow f {\n  s: "+s.Name+" {\n    "+p.Name+" x\n  }\n}\n",
				[]scoped{{text: s.Name, scope: "keyword.control.kind.flow"}, {text: p.Name, scope: "keyword.other.property.flow", after: "{\n "}})
		}
		for _, o := range s.Outcomes {
			outcomes = append(outcomes, o.Outcome.String())
			checkScopes(t, flowG, "flow f {\n  s: "+s.Name+" {\n    "+o.Outcome.String()+" -> s\n  }\n}\n",
				[]scoped{{text: o.Outcome.String(), scope: "support.constant.outcome.flow", after: "{\n "}})
		}
	}
	for _, ch := range compiler.KnownChannels {
		checkScopes(t, flowG, "flow f {\n  channels "+ch+"\n}\n", []scoped{{text: ch, scope: "support.constant.channel.flow", after: "channels "}})
	}
	triggers := []string{string(compiler.TriggerMessage), string(compiler.TriggerCall), string(compiler.TriggerAPI), string(compiler.TriggerSubflow)}
	for _, tr := range triggers {
		checkScopes(t, flowG, "flow f {\n  trigger "+tr+"\n}\n", []scoped{{text: tr, scope: "constant.language.trigger.flow", after: "trigger "}})
	}
	for _, ty := range types {
		checkScopes(t, flowG, "flow f {\n  var v: "+string(ty)+"\n}\n", []scoped{{text: string(ty), scope: "support.type.flow", after: ": "}})
	}

	// The other way: the alternatives of the grammar's own lists.
	repo := flowG.Repository
	same := func(what string, got, want []string) {
		t.Helper()
		got, want = uniqSorted(got), uniqSorted(want)
		if !slices.Equal(got, want) {
			t.Errorf("%s: the grammar lists %v, the compiler %v", what, got, want)
		}
	}
	var stepWords []string
	for _, g := range alternatives(repo["step"].Begin) {
		stepWords = append(stepWords, g...)
	}
	same("step kinds", stepWords, kinds)
	same("properties", alternatives(repo["step-block"].Patterns[3].Match)[0], props)
	same("outcomes", alternatives(repo["step-block"].Patterns[2].Match)[0], outcomes)
	same("channels", alternatives(repo["channels"].Patterns[1].Match)[0], compiler.KnownChannels)
	same("triggers", alternatives(repo["trigger"].Patterns[1].Match)[0], triggers)
	// Type names: the constants, and other names the compiler takes
	// (TypeNamed), which it does not list.
	typeWords := alternatives(repo["var"].Patterns[1].Match)[0]
	for _, ty := range types {
		if !slices.Contains(typeWords, string(ty)) {
			t.Errorf("types: the grammar does not list %s", ty)
		}
	}
	for _, w := range typeWords {
		if _, ok := compiler.TypeNamed(w); !ok {
			t.Errorf("types: the grammar lists %s, which the compiler does not take", w)
		}
	}
}

// alternatives returns the words of each of a pattern's groups of plain
// alternatives, `(a|b|c)`, and of its single-word groups, `(enqueue)`,
// in order.
func alternatives(pattern string) [][]string {
	out := [][]string{}
	for _, m := range regexp.MustCompile(`\(((?:[a-zA-Z_]+\|)*[a-zA-Z_]+)\)`).FindAllStringSubmatchIndex(pattern, -1) {
		if m[0] > 0 && pattern[m[0]-1] == '\\' {
			continue
		}
		out = append(out, strings.Split(pattern[m[2]:m[3]], "|"))
	}
	return out
}

func uniqSorted(xs []string) []string {
	out := append([]string(nil), xs...)
	sort.Strings(out)
	return slices.Compact(out)
}

// TestFlowtestGrammarKnowsTheParsersWords checks that every word the
// flowtest grammar calls a command, an expectation, a mock or a task
// outcome is one flowtest's parser takes in that place: a line with it
// draws no "unknown command", "cannot expect", "cannot mock" or "unknown
// task outcome" from the parser.
func TestFlowtestGrammarKnowsTheParsersWords(t *testing.T) {
	_, testG := loadGrammars(t)
	body := testG.Repository["test-body"].Patterns
	lists := []struct {
		what    string
		pattern string
		group   int
		line    func(w string) string
		refusal string
	}{
		{"expectations", body[2].Match, 1, func(w string) string { return "expect " + w }, "cannot expect"},
		{"mocks", body[3].Match, 1, func(w string) string { return "mock " + w + " s" }, "cannot mock"},
		{"task outcomes", body[4].Match, 1, func(w string) string { return "task " + w }, "unknown task outcome"},
		{"commands", body[6].Match, 0, func(w string) string { return w }, "unknown command"},
	}
	for _, l := range lists {
		words := alternatives(l.pattern)[l.group]
		if len(words) < 4 {
			t.Fatalf("%s: %v, from %s", l.what, words, l.pattern)
		}
		for _, w := range words {
			src := "test \"t\" {\n  flow f\n  " + l.line(w) + "\n}\n"
			_, diags := flowtest.Parse("t.flowtest", []byte(src))
			for _, d := range diags {
				if strings.Contains(d.Msg, l.refusal) {
					t.Errorf("%s: the grammar lists %q, the parser says %q", l.what, w, d.Msg)
				}
			}
		}
	}
}
