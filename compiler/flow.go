package compiler

import (
	"strings"

	"github.com/expr-lang/expr/ast"

	"github.com/switchboard-dev/switchboard/diag"
	"github.com/switchboard-dev/switchboard/lang"
)

// flowDraft carries a flow between the passes.
type flowDraft struct {
	decl    *lang.Decl
	flow    *Flow
	steps   []*stepDraft
	vars    map[string]*varDraft // vars, inputs and outputs by name
	varList []*varDraft
	// broken are names whose declaration was reported as an error: they
	// stay in scope, of any type, so their uses are not reported again.
	broken  map[string]bool
	reached []bool // by step index: a path from the start leads there
	// voiceErr is the error of the first voice step of a flow not
	// triggered by a call; the others are its notes.
	voiceErr *diag.Diagnostic
	// triggerUnknown: the trigger is misspelt (and reported); the checks
	// that depend on the trigger are skipped rather than guess it.
	triggerUnknown bool
}

type varDraft struct {
	v       Var
	role    string // "var", "input", "output"
	spelled string // the type as written: `int` is a number, and messages say int
	init    []lang.Token
	hasDef  bool
	read    bool
}

// stepDraft is a step decoded against its kind, before expressions are
// compiled (they need to know which steps run before this one).
type stepDraft struct {
	node     *lang.Step
	spec     *KindSpec
	state    *State
	target   string // the ArgName argument, once compiled
	props    map[string]propLine
	outcomes map[Outcome]lang.Token // outcome → target name token
	guards   []guardDraft
	broken   bool  // a line could not be decoded: skip the missing-outcome checks
	succ     []int // successor state indexes, for the graph checks
	// poisoned: where the step leads is not fully known (a target that
	// names no step, a line or a kind that could not be read), so the
	// graph checks assume it may lead anywhere rather than report the
	// echoes of that one mistake.
	poisoned bool
}

type propLine struct {
	key  lang.Token
	val  []lang.Token
	line *lang.Line
}

type guardDraft struct {
	cond   []lang.Token
	target lang.Token
	span   diag.Span
}

var flowSettings = []string{"trigger", "channels", "var", "input", "output"}

func (c *compiler) flowHeader(d *lang.Decl) *flowDraft {
	f := &Flow{Name: d.Name.Value, Trigger: TriggerMessage, Span: d.Name.Span(), index: map[string]int{}}
	fd := &flowDraft{decl: d, flow: f, vars: map[string]*varDraft{}}
	seen := map[string]diag.Span{}
	stepItems := 0
	for _, it := range d.Body.Items {
		if it.Step != nil {
			stepItems++
			c.declareStep(fd, it.Step)
			continue
		}
		l := it.Line
		head := l.Head.Tokens
		key := head[0]
		if key.Kind == lang.Ident && (key.Text == "trigger" || key.Text == "channels") {
			if first, dup := seen[key.Text]; dup {
				c.diags.Errorf("E0306", key.Span, "%s is set twice in flow %s", diag.Quote(key.Text), diag.Quote(f.Name)).WithRelated(first, "first set here")
				continue
			}
			seen[key.Text] = key.Span
		}
		switch {
		case key.Is("trigger"):
			if !c.noTail(l, "trigger") {
				continue
			}
			t, ok := c.name(head[1:], "a trigger (message, call, api or subflow)", key.Span)
			if !ok {
				continue
			}
			switch Trigger(t.Text) {
			case TriggerMessage, TriggerCall, TriggerAPI, TriggerSubflow:
				f.Trigger = Trigger(t.Text)
			default:
				fd.triggerUnknown = true
				dd := c.diags.Errorf("E0210", t.Span, "unknown trigger %s", diag.Quote(t.Text))
				if !dd.DidYouMean(t.Text, []string{"message", "call", "api", "subflow"}) {
					dd.WithHint("a flow is triggered by message, call, api or subflow")
				}
			}
		case key.Is("channels"):
			if !c.noTail(l, "channels") {
				continue
			}
			known := c.opts.Channels
			if known == nil {
				known = KnownChannels
			}
			for _, part := range splitTop(head[1:], ",") {
				t, ok := c.name(part, "a channel name", key.Span)
				if !ok {
					continue
				}
				if !contains(known, t.Text) {
					dd := c.diags.Errorf("E0209", t.Span, "unknown channel %s", diag.Quote(t.Text))
					dd.DidYouMean(t.Text, known)
					continue
				}
				f.Channels = append(f.Channels, t.Text)
			}
		case key.Is("var"), key.Is("input"), key.Is("output"):
			if c.noTail(l, key.Text) {
				c.declareVar(fd, key, head[1:])
			}
		default:
			if c.unknownFlowLine(l, fd) {
				stepItems++
			}
		}
	}
	if stepItems == 0 {
		c.diags.Errorf("E0317", d.Name.Span(), "flow %s has no steps", diag.Quote(f.Name)).
			WithHint("add a step, e.g. `greet: send \"Hello\" -> done`")
	}
	for _, v := range fd.varList {
		if v.role != "var" && f.Trigger != TriggerSubflow && !fd.triggerUnknown {
			c.diags.Errorf("E0315", v.v.Span, "only flows with `trigger subflow` have %ss", v.role).
				WithHint("declare it with `var`, or add `trigger subflow`")
		}
	}
	return fd
}

// unknownFlowLine reports a line a flow does not take; it returns true when
// the line is a step written wrong.
func (c *compiler) unknownFlowLine(l *lang.Line, fd *flowDraft) bool {
	head := l.Head.Tokens
	key := head[0]
	// `name kind …` and `name: -> x` are steps written wrong.
	if key.Kind == lang.Ident && len(head) > 1 && head[1].Kind == lang.Ident && isKind(head[1].Text) {
		c.diags.Errorf("E0107", key.Span, "expected `:` after step name %s", diag.Quote(key.Text)).
			WithHint("a step is `%s: %s …`", key.Text, head[1].Text)
		return true
	}
	if key.Kind == lang.Ident && len(head) > 1 && head[1].Is(":") {
		c.diags.Errorf("E0107", head[1].Span, "expected a step kind after %s", diag.Quote(key.Text+":")).
			WithHint("the kinds are %s", strings.Join(sortedKinds(), ", "))
		return true
	}
	d := c.diags.Errorf("E0301", key.Span, "unexpected %s in flow %s", diag.Quote(lang.RunText(head[:1])), diag.Quote(fd.flow.Name))
	if s := diag.Suggest(key.Text, flowSettings); s != "" && key.Kind == lang.Ident {
		d.WithHint("did you mean %s?", diag.Quote(s))
	} else {
		d.WithHint("a flow holds settings (trigger, channels, var, input, output) and steps `name: kind …`")
	}
	return false
}

func (c *compiler) declareVar(fd *flowDraft, key lang.Token, rest []lang.Token) {
	if len(rest) < 3 || rest[0].Kind != lang.Ident || !rest[1].Is(":") || rest[2].Kind != lang.Ident {
		sp := key.Span
		if len(rest) > 0 {
			sp = runSpan(rest)
		}
		c.diags.Errorf("E0309", sp, "expected `%s NAME: TYPE`", key.Text).
			WithHint("e.g. `%s language: string = \"en\"`; types are %s", key.Text, strings.Join(typeNames, ", "))
		if len(rest) > 0 {
			c.brokenName(fd, rest[0])
		}
		return
	}
	name, typ := rest[0], rest[2]
	t, ok := TypeNamed(typ.Text)
	if !ok {
		d := c.diags.Errorf("E0211", typ.Span, "unknown type %s", diag.Quote(typ.Text))
		if !d.DidYouMean(typ.Text, typeNames) {
			d.WithHint("types are %s", strings.Join(typeNames, ", "))
		}
		// Of any type from here on: its uses are not errors of their own.
		t = TypeAny
	}
	v := &varDraft{v: Var{Name: name.Text, Type: t, Span: name.Span}, role: key.Text, spelled: typ.Text}
	if !ok {
		v.spelled = string(TypeAny)
	}
	if len(rest) > 3 {
		if !rest[3].Is("=") || len(rest) == 4 {
			c.diags.Errorf("E0309", rest[3].Span, "expected `= VALUE` after the type")
			c.brokenName(fd, name)
			return
		}
		v.init = rest[4:]
		v.hasDef = true
	}
	if !c.claimName(fd, name) {
		return
	}
	fd.vars[name.Text] = v
	fd.varList = append(fd.varList, v)
}

// brokenName keeps in scope, of any type, a name whose declaration was
// reported, unless the name is taken or reserved (which is reported when
// the declaration is right).
func (c *compiler) brokenName(fd *flowDraft, name lang.Token) {
	if name.Kind != lang.Ident || reservedNames[name.Text] || fd.vars[name.Text] != nil {
		return
	}
	if _, isStep := fd.flow.index[name.Text]; isStep {
		return
	}
	if fd.broken == nil {
		fd.broken = map[string]bool{}
	}
	fd.broken[name.Text] = true
}

// claimName enters a var or step name into the flow's namespace, which
// expressions share.
func (c *compiler) claimName(fd *flowDraft, name lang.Token) bool {
	if reservedNames[name.Text] || strings.HasPrefix(name.Text, "_t") {
		c.diags.Errorf("E0208", name.Span, "%s is a reserved name", diag.Quote(name.Text)).
			WithHint("expressions already use it; pick another name")
		return false
	}
	if _, isHours := c.hoursEnv[name.Text]; isHours {
		c.diags.Errorf("E0214", name.Span, "%s is already the name of business hours", diag.Quote(name.Text)).
			WithRelated(c.declared["hours"][name.Text], "hours declared here")
		return false
	}
	if v, ok := fd.vars[name.Text]; ok {
		c.diags.Errorf("E0214", name.Span, "%s is already declared in flow %s", diag.Quote(name.Text), diag.Quote(fd.flow.Name)).
			WithRelated(v.v.Span, "first declared here")
		return false
	}
	if i, ok := fd.flow.index[name.Text]; ok {
		code := "E0214"
		if fd.vars[name.Text] == nil {
			code = "E0202"
		}
		c.diags.Errorf(code, name.Span, "%s is already declared in flow %s", diag.Quote(name.Text), diag.Quote(fd.flow.Name)).
			WithRelated(fd.steps[i].node.Name.Span(), "first declared here")
		return false
	}
	return true
}

func (c *compiler) declareStep(fd *flowDraft, s *lang.Step) {
	name := lang.Token{Kind: lang.Ident, Text: s.Name.Value, Span: s.Name.Span()}
	kind, known := KindNamed(s.Kind.Value)
	var spec *KindSpec
	if known {
		spec = kind.Spec()
	} else {
		d := c.diags.Errorf("E0212", s.Kind.Span(), "unknown step kind %s", diag.Quote(s.Kind.Value))
		if sug := diag.Suggest(s.Kind.Value, kindNamesList()); sug != "" {
			d.WithHint("did you mean %s?", diag.Quote(sug))
		} else {
			d.WithHint("the kinds are %s", strings.Join(sortedKinds(), ", "))
		}
	}
	if !c.claimName(fd, name) {
		return
	}
	st := &State{Name: s.Name.Value, Span: s.HeadSpan()}
	for i := range st.Next {
		st.Next[i] = NoTarget
	}
	st.Kind = kind
	fd.flow.index[st.Name] = len(fd.flow.States)
	fd.flow.States = append(fd.flow.States, st)
	fd.steps = append(fd.steps, &stepDraft{node: s, spec: spec, state: st, props: map[string]propLine{}, outcomes: map[Outcome]lang.Token{}})
}

func sortedKinds() []string {
	out := kindNamesList()
	sortStrings(out)
	return out
}

func isKind(name string) bool { _, ok := KindNamed(name); return ok }

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if x == y {
			return true
		}
	}
	return false
}

// markUsed records the identifiers an expression reads, for the unused
// checks. `vars.x` counts as reading x.
func (c *compiler) markUsed(e *Expr) {
	if e == nil {
		return
	}
	for _, t := range e.Templates {
		for _, p := range t.Parts {
			c.markUsed(p.Expr)
		}
	}
	if e.Program == nil {
		return
	}
	node := e.Program.Node()
	ast.Walk(&node, usedVisitor{c.used})
}

// reads reports whether the expression reads the name.
func reads(e *Expr, name string) bool {
	if e == nil || e.Program == nil {
		return false
	}
	used := map[string]bool{}
	node := e.Program.Node()
	ast.Walk(&node, usedVisitor{used})
	return used[name]
}

type usedVisitor struct{ used map[string]bool }

func (v usedVisitor) Visit(n *ast.Node) {
	switch x := (*n).(type) {
	case *ast.IdentifierNode:
		v.used[x.Value] = true
	case *ast.MemberNode:
		if id, ok := x.Node.(*ast.IdentifierNode); ok && id.Value == NameVars {
			if s, ok := x.Property.(*ast.StringNode); ok {
				v.used[s.Value] = true
			}
		}
	}
}
