package compiler

import (
	"sort"
	"strings"

	"github.com/expr-lang/expr/ast"

	"github.com/switchboard-dev/switchboard/diag"
	"github.com/switchboard-dev/switchboard/lang"
)

func (c *compiler) flowBody(fd *flowDraft, flows map[string]*flowDraft) {
	for _, sd := range fd.steps {
		if sd.spec != nil {
			c.decodeStep(fd, sd)
		}
	}
	c.resolveTargets(fd)
	if c.diags.HasErrors() && len(fd.steps) == 0 {
		return
	}
	ancestors := c.graph(fd)

	flowUsed := c.used // a flow body runs on its own compiler (see run)

	base := map[string]any{}
	for k, v := range baseFlowValues {
		base[k] = v
	}
	for k, v := range c.hoursEnv {
		base[k] = v
	}
	initScope := &scope{values: map[string]any{}}
	for k, v := range base {
		initScope.values[k] = v
	}
	for _, v := range fd.varList {
		if v.role == "input" {
			initScope.values[v.v.Name] = ZeroOf(v.v.Type)
		}
	}
	for _, v := range fd.varList {
		base[v.v.Name] = ZeroOf(v.v.Type)
	}
	for _, v := range fd.varList {
		if v.init != nil {
			v.v.Init = c.compileRun(v.init, initScope, v.v.Type, "the initial value of "+diag.Quote(v.v.Name))
			c.markUsed(v.v.Init)
		}
	}
	// One scope holds every step's outputs; each step's expressions are
	// then checked for reads of steps that cannot have run before it.
	for _, other := range fd.steps {
		if out := OutputOf(other.state.Kind); out != nil && other.spec != nil {
			base[other.state.Name] = out
		}
	}
	flowScope := &scope{values: base}
	outputIndex := map[string]int{}
	for j, other := range fd.steps {
		if other.spec != nil && OutputOf(other.state.Kind) != nil {
			outputIndex[other.state.Name] = j
		}
	}
	var askScope, gatherScope *scope
	for i, sd := range fd.steps {
		if sd.spec == nil {
			continue
		}
		before := ancestors[i]
		notYet := func(name string) bool {
			j, ok := outputIndex[name]
			return ok && !before[j]
		}
		guards := flowScope
		switch sd.spec.kind {
		case KindAsk:
			if askScope == nil {
				askScope = flowScope.with(map[string]any{NameReply: Message{}})
			}
			guards = askScope
		case KindGather:
			if gatherScope == nil {
				gatherScope = flowScope.with(map[string]any{NameDigits: "", NameSpeech: ""})
			}
			guards = gatherScope
		}
		c.compileStep(fd, sd, flowScope.at(notYet), guards.at(notYet), flows)
	}
	for _, v := range fd.varList {
		switch v.role {
		case "var":
			fd.flow.Vars = append(fd.flow.Vars, v.v)
		case "input":
			fd.flow.Inputs = append(fd.flow.Inputs, v.v)
		case "output":
			fd.flow.Outputs = append(fd.flow.Outputs, v.v)
		}
		if v.role != "output" && !flowUsed[v.v.Name] {
			c.diags.Warnf("W0002", v.v.Span, "%s %s is never read", v.role, diag.Quote(v.v.Name)).
				WithHint("remove it, or use it in an expression")
		}
	}
}

// decodeStep sorts a step's argument and lines into properties, outcomes
// and guards, per its kind's table.
func (c *compiler) decodeStep(fd *flowDraft, sd *stepDraft) {
	s, spec := sd.node, sd.spec
	kindName := spec.kind.String()
	if spec.voice && fd.flow.Trigger != TriggerCall {
		c.diags.Errorf("E0310", s.Kind.Span(), "%s is a voice step; flow %s is not triggered by a call", diag.Quote(kindName), diag.Quote(fd.flow.Name)).
			WithHint("add `trigger call` to the flow, or use `send` for messages")
	}
	if spec.kind == KindAsk && fd.flow.Trigger == TriggerCall {
		c.diags.Errorf("E0310", s.Kind.Span(), "`ask` waits for a message; flow %s is triggered by a call", diag.Quote(fd.flow.Name)).
			WithHint("use `gather` to collect keypresses or speech on a call")
	}
	// Argument.
	var args []lang.Token
	if s.Args != nil {
		args = s.Args.Tokens
	}
	switch {
	case spec.args == argNone && len(args) > 0:
		c.diags.Errorf("E0309", runSpan(args), "%s takes no argument", diag.Quote(kindName)).
			WithHint("put settings inside `{ … }` on their own lines")
	case spec.args != argNone && len(args) == 0:
		c.diags.Errorf("E0309", s.Kind.Span(), "%s needs %s", diag.Quote(kindName), spec.argWhat)
	}
	// Trailing -> target.
	if s.Next != nil {
		tok := lang.Token{Kind: lang.Ident, Text: s.Next.Value, Span: s.Next.Span()}
		if !spec.hasPrimary {
			c.diags.Errorf("E0303", tok.Span, "%s has no outcome that a trailing `->` could mean", diag.Quote(kindName)).
				WithHint("name the outcome inside the block, e.g. `timeout -> %s`", tok.Text)
		} else {
			sd.outcomes[spec.primary] = tok
		}
	}
	if s.Block == nil {
		return
	}
	for _, it := range s.Block.Items {
		if it.Step != nil {
			c.diags.Errorf("E0301", it.Step.Name.Span(), "steps cannot be nested inside step %s", diag.Quote(s.Name.Value)).
				WithHint("close the block of %s before this line", diag.Quote(s.Name.Value))
			continue
		}
		c.decodeLine(sd, it.Line)
	}
}

func (c *compiler) decodeLine(sd *stepDraft, l *lang.Line) {
	n := len(c.diags)
	defer func() {
		if len(c.diags) > n {
			sd.broken = true
		}
	}()
	spec := sd.spec
	kindName := spec.kind.String()
	head, tail := lineTokens(l)
	key := head[0]
	var target lang.Token
	if l.Tail != nil {
		if len(tail) != 1 || tail[0].Kind != lang.Ident {
			c.diags.Errorf("E0309", runSpan(tail), "expected one step name after `->`, found %s", diag.Quote(lang.RunText(tail)))
			return
		}
		target = tail[0]
	}
	// A bare name: an outcome, a property with an outcome twin (gather's
	// `timeout -> t`), or a one-word guard.
	if len(head) == 1 && key.Kind == lang.Ident {
		if o, ok := outcomeNamed(key.Text); ok && (spec.allows(o) || (o == OutDefault && spec.kind == KindSwitch)) {
			if l.Tail == nil {
				c.diags.Errorf("E0307", key.Span, "expected `-> step` after outcome %s", diag.Quote(key.Text))
				return
			}
			c.setOutcome(sd, o, key, target)
			return
		}
	}
	if p, ok := spec.props[key.Text]; ok && key.Kind == lang.Ident && !(spec.guards && looksLikeGuard(head)) {
		if l.Tail != nil && !p.hasOutcome {
			c.diags.Errorf("E0308", target.Span, "%s takes no `-> target`", diag.Quote(key.Text))
			return
		}
		if p.hasOutcome && l.Tail == nil && spec.kind != KindEnqueue && spec.kind != KindGather {
			c.diags.Errorf("E0307", runSpan(head), "expected `-> step` after %s", diag.Quote(key.Text)).
				WithHint("the step goes there when the time is up, e.g. `timeout 5m -> handoff`")
			return
		}
		if first, dup := sd.props[key.Text]; dup {
			c.diags.Errorf("E0306", key.Span, "%s is set twice", diag.Quote(key.Text)).WithRelated(first.key.Span, "first set here")
			return
		}
		sd.props[key.Text] = propLine{key: key, val: head[1:], line: l}
		if p.hasOutcome && l.Tail != nil {
			c.setOutcome(sd, p.outcome, key, target)
		}
		return
	}
	if l.Tail == nil {
		// Not a property; perhaps an outcome without its arrow or a typo.
		if o, ok := outcomeNamed(key.Text); ok && spec.allows(o) {
			c.diags.Errorf("E0307", key.Span, "expected `-> step` after outcome %s", diag.Quote(key.Text))
			return
		}
		d := c.diags.Errorf("E0302", key.Span, "unknown property %s for %s", diag.Quote(key.Text), diag.Quote(kindName))
		if d.DidYouMean(key.Text, propAndOutcomeNames(spec)) {
		} else if spec.kind == KindSet {
			d.WithHint("a map value goes in parentheses: `set %s = ({…})`", "NAME")
		} else if spec.guards {
			d.WithHint("a condition needs `-> step` after it")
		} else if len(spec.props) > 0 {
			d.WithHint("%s takes %s", diag.Quote(kindName), strings.Join(quoteAll(sortedKeys(spec.props)), ", "))
		} else {
			d.WithHint("%s takes no properties", diag.Quote(kindName))
		}
		return
	}
	// A guard.
	if !spec.guards {
		d := c.diags.Errorf("E0303", runSpan(head), "%s is not an outcome of %s", diag.Quote(lang.RunText(head)), diag.Quote(kindName))
		if s := diag.Suggest(key.Text, outcomeStrings(spec)); s != "" && len(head) == 1 {
			d.WithHint("did you mean %s?", diag.Quote(s))
		} else {
			d.WithHint("%s has the outcomes %s", diag.Quote(kindName), strings.Join(quoteAll(outcomeStrings(spec)), ", "))
		}
		return
	}
	if len(head) == 1 && key.Kind == lang.Ident {
		// One word that names nothing in scope is more likely a misspelt
		// outcome than a condition; the expression check will say which.
		if s := diag.Suggest(key.Text, outcomeStrings(spec)); s != "" {
			c.diags.Errorf("E0303", key.Span, "unknown outcome %s for %s", diag.Quote(key.Text), diag.Quote(kindName)).
				WithHint("did you mean %s?", diag.Quote(s))
			return
		}
	}
	sd.guards = append(sd.guards, guardDraft{cond: head, target: target, span: l.Span()})
}

// looksLikeGuard tells `speech -> t` (an outcome) and `speech true` (a
// property) from `speech contains "agent" -> t` (a condition on speech).
func looksLikeGuard(head []lang.Token) bool {
	if len(head) < 2 {
		return false
	}
	switch head[1].Kind {
	case lang.DotName:
		return true
	case lang.Punct:
		return head[1].Text != "(" && head[1].Text != "[" && head[1].Text != "{"
	case lang.Ident:
		switch head[1].Text {
		case "matches", "contains", "startsWith", "endsWith", "in", "and", "or", "not":
			return true
		}
	}
	return false
}

func (c *compiler) setOutcome(sd *stepDraft, o Outcome, key, target lang.Token) {
	if first, dup := sd.outcomes[o]; dup {
		msg := "outcome %s is given twice"
		d := c.diags.Errorf("E0306", key.Span, msg, diag.Quote(o.String()))
		if sd.node.Next != nil && sd.spec.primary == o {
			d.WithHint("the trailing `-> %s` of the step already sets %s", first.Text, diag.Quote(o.String()))
		}
		return
	}
	sd.outcomes[o] = target
}

func propAndOutcomeNames(spec *kindSpec) []string {
	out := sortedKeys(spec.props)
	return append(out, outcomeStrings(spec)...)
}

func outcomeStrings(spec *kindSpec) []string {
	out := make([]string, 0, len(spec.outcomes)+1)
	for _, o := range spec.outcomes {
		out = append(out, o.String())
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	out := keys(m)
	sortStrings(out)
	return out
}

// resolveTargets turns target names into state indexes and checks required
// outcomes.
func (c *compiler) resolveTargets(fd *flowDraft) {
	resolve := func(t lang.Token) int32 {
		if t.Text == "done" {
			return End
		}
		if i, ok := fd.flow.index[t.Text]; ok {
			return int32(i)
		}
		d := c.diags.Errorf("E0203", t.Span, "unknown step %s", diag.Quote(t.Text))
		if !d.DidYouMean(t.Text, append(keys(fd.flow.index), "done")) {
			d.WithHint("flow %s has no step of that name; `-> done` ends the execution", diag.Quote(fd.flow.Name))
		}
		return NoTarget
	}
	for _, sd := range fd.steps {
		if sd.spec == nil {
			continue
		}
		for o, t := range sd.outcomes {
			sd.state.Next[o] = resolve(t)
			if sd.state.Next[o] >= 0 {
				sd.succ = append(sd.succ, int(sd.state.Next[o]))
			}
		}
		for _, g := range sd.guards {
			idx := resolve(g.target)
			sd.state.Guards = append(sd.state.Guards, Guard{Target: idx, Span: g.span})
			if idx >= 0 {
				sd.succ = append(sd.succ, int(idx))
			}
		}
		for _, o := range sd.spec.required {
			if _, ok := sd.outcomes[o]; ok || sd.broken {
				continue
			}
			hint := "add `" + o.String() + " -> STEP` inside the step's block"
			if o == OutTimeout && (sd.spec.kind == KindAsk) {
				hint = "add `timeout 5m -> STEP` inside the step's block"
			} else if sd.spec.hasPrimary && o == sd.spec.primary {
				hint = "add `-> STEP` after the step, or `" + o.String() + " -> STEP` inside its block"
			}
			c.diags.Errorf("E0304", sd.node.Name.Span(), "%s step %s has no %s outcome", sd.spec.kind, diag.Quote(sd.state.Name), diag.Quote(o.String())).
				WithHint("%s", hint)
		}
	}
}

// compileStep compiles a decoded step's expressions and checks what
// depends on other declarations.
func (c *compiler) compileStep(fd *flowDraft, sd *stepDraft, sc, guardScope *scope, flows map[string]*flowDraft) {
	st, spec, s := sd.state, sd.spec, sd.node
	var args []lang.Token
	if s.Args != nil {
		args = s.Args.Tokens
	}
	what := "the argument of " + diag.Quote(spec.kind.String())
	switch spec.args {
	case argExpr:
		if len(args) > 0 {
			st.Text = c.compileRun(args, sc, spec.argWant, what)
		}
	case argDuration:
		if len(args) > 0 {
			st.Timeout, _ = c.duration(args, "wait", s.Kind.Span())
		}
	case argName:
		if len(args) > 0 {
			if t, ok := c.name(args, spec.argWhat, s.Kind.Span()); ok {
				st.Target = t.Text
				c.checkStepTarget(fd, sd, t, flows)
			}
		}
	case argAssign:
		c.assignments(fd, sd, args, sc)
	}
	c.markUsed(st.Text)

	for i, g := range sd.guards {
		st.Guards[i].Cond = c.compileRun(g.cond, guardScope, TypeBool, "a condition")
		c.markUsed(st.Guards[i].Cond)
		if spec.kind == KindGather && reads(st.Guards[i].Cond, NameSpeech) {
			st.ListensForSpeech = true
		}
	}
	if spec.kind == KindGather && st.Next[OutSpeech] != NoTarget {
		st.ListensForSpeech = true
	}

	names := keys(sd.props)
	sort.Slice(names, func(i, j int) bool {
		return sd.props[names[i]].key.Span.Start.Offset < sd.props[names[j]].key.Span.Start.Offset
	})
	for _, name := range names {
		p := sd.props[name]
		spec := spec.props[name]
		if spec.kind != propDuration && len(p.val) == 0 {
			c.diags.Errorf("E0309", p.key.Span, "%s needs a value", diag.Quote(name))
			continue
		}
		var e *Expr
		switch spec.kind {
		case propDuration:
			if len(p.val) == 0 && st.Kind == KindEnqueue {
				c.diags.Errorf("E0313", p.key.Span, "timeout needs a duration").WithHint("e.g. `timeout 10m -> sorry`")
				continue
			}
			if len(p.val) == 0 && st.Kind == KindGather {
				continue // gather's default timeout
			}
			d, ok := c.duration(p.val, name, p.key.Span)
			if !ok {
				continue
			}
			if name == "max_length" {
				st.MaxLength = d
			} else {
				st.Timeout = d
			}
			continue
		case propChannel:
			// `channel whatsapp` names a channel; anything else is an expression.
			if len(p.val) == 1 && p.val[0].Kind == lang.Ident && sc.values[p.val[0].Text] == nil {
				e = c.constant(p.val[0])
				break
			}
			fallthrough
		default:
			e = c.compileRun(p.val, sc, spec.want, diag.Quote(name))
			c.markUsed(e)
		}
		switch name {
		case "to":
			st.To = e
		case "channel":
			st.Channel = e
		case "media":
			st.Media = e
		case "get", "post", "put", "patch", "delete":
			if st.Method != "" {
				c.diags.Errorf("E0306", p.key.Span, "http has more than one method (%s and %s)", diag.Quote(strings.ToLower(st.Method)), diag.Quote(name))
				continue
			}
			st.Method, st.URL = strings.ToUpper(name), e
		case "headers":
			st.Headers = e
		case "json", "form", "body":
			if st.BodyAs != "" {
				c.diags.Errorf("E0306", p.key.Span, "http has two bodies (%s and %s)", diag.Quote(st.BodyAs), diag.Quote(name)).
					WithHint("send one of json, form or body")
				continue
			}
			st.Body, st.BodyAs = e, name
		case "args", "inputs":
			st.Args = e
		case "attributes":
			st.Attributes = e
		case "priority":
			st.Priority = e
		case "voice":
			st.Voice = e
		case "language":
			st.Language = e
		case "loop":
			st.Loop = e
		case "prompt":
			st.Text = e
		case "digits":
			st.Digits = e
		case "finish_on":
			st.FinishOn = e
		case "speech":
			st.Speech = e
		case "transcribe", "record":
			st.Record = e
		case "caller_id":
			st.CallerID = e
		}
	}
	if st.Kind == KindHTTP && st.Method == "" {
		if _, dup := sd.props["get"]; !dup {
			c.diags.Errorf("E0305", s.Name.Span(), "http step %s has no method and URL", diag.Quote(st.Name)).
				WithHint("add a line like `post \"${env.BOT_URL}/reply\"` (get, post, put, patch or delete)")
		}
	}
	if st.Kind == KindAsk && st.Timeout == 0 {
		if _, ok := sd.outcomes[OutTimeout]; ok {
			c.diags.Errorf("E0305", s.Name.Span(), "ask step %s has a timeout outcome but no duration", diag.Quote(st.Name))
		}
	}
	if st.Kind == KindEnqueue && st.Timeout == 0 {
		if t, ok := sd.outcomes[OutTimeout]; ok && sd.props["timeout"].line == nil {
			c.diags.Errorf("E0313", t.Span, "the timeout outcome needs a duration").WithHint("write `timeout 10m -> %s`", t.Text)
		}
	}
	if st.Kind == KindSubflow && st.Args != nil {
		c.checkSubflowInputs(sd, flows[st.Target])
	}
}

func (c *compiler) assignments(fd *flowDraft, sd *stepDraft, args []lang.Token, sc *scope) {
	for _, part := range splitTop(args, ",") {
		if len(part) < 3 || part[0].Kind != lang.Ident || !part[1].Is("=") {
			sp := sd.node.Kind.Span()
			if len(part) > 0 {
				sp = runSpan(part)
			}
			c.diags.Errorf("E0309", sp, "expected `NAME = VALUE`").WithHint("e.g. `set language = \"id\", tries = tries + 1`")
			continue
		}
		name := part[0]
		v, ok := fd.vars[name.Text]
		if !ok || v.role == "input" {
			d := c.diags.Errorf("E0207", name.Span, "cannot set %s: it is not a var of flow %s", diag.Quote(name.Text), diag.Quote(fd.flow.Name))
			if ok {
				d.Msg = "cannot set input " + diag.Quote(name.Text)
				d.WithHint("inputs are read-only; copy it into a var")
			} else if !d.DidYouMean(name.Text, keys(fd.vars)) {
				d.WithHint("declare it first: `var %s: string`", name.Text)
			}
			continue
		}
		e := c.compileRun(part[2:], sc, v.v.Type, "the value of "+diag.Quote(name.Text)+" ("+string(v.v.Type)+")")
		c.markUsed(e)
		sd.state.Assign = append(sd.state.Assign, Assign{Name: name.Text, Value: e, Span: runSpan(part)})
	}
}

func (c *compiler) checkStepTarget(fd *flowDraft, sd *stepDraft, t lang.Token, flows map[string]*flowDraft) {
	switch sd.spec.kind {
	case KindEnqueue:
		c.usedDecls["workflow:"+t.Text] = true
		if _, ok := c.declared["workflow"][t.Text]; !ok {
			d := c.diags.Errorf("E0204", t.Span, "unknown workflow %s", diag.Quote(t.Text))
			if !d.DidYouMean(t.Text, keys(c.declared["workflow"])) {
				d.WithHint("declare it: `workflow %s { default QUEUE }`", t.Text)
			}
		}
	case KindSubflow:
		sub, ok := flows[t.Text]
		if !ok {
			d := c.diags.Errorf("E0205", t.Span, "unknown flow %s", diag.Quote(t.Text))
			d.DidYouMean(t.Text, keys(flows))
			return
		}
		if sub.flow.Trigger != TriggerSubflow {
			c.diags.Errorf("E0205", t.Span, "flow %s cannot run as a subflow", diag.Quote(t.Text)).
				WithRelated(sub.flow.Span, "declared here").WithHint("add `trigger subflow` to flow %s", t.Text)
		}
		if sd.props["inputs"].line == nil {
			for _, v := range sub.varList {
				if v.role == "input" && !v.hasDef {
					c.diags.Errorf("E0305", t.Span, "subflow %s needs input %s", diag.Quote(t.Text), diag.Quote(v.v.Name)).
						WithHint("add `inputs {%s: …}`", v.v.Name)
				}
			}
		}
	case KindFunction:
		if c.opts.Functions != nil && !contains(c.opts.Functions, t.Text) {
			d := c.diags.Errorf("E0213", t.Span, "unknown function %s", diag.Quote(t.Text))
			d.DidYouMean(t.Text, c.opts.Functions)
		}
	}
}

// checkSubflowInputs checks a literal `inputs {…}` map against the
// subflow's declared inputs.
func (c *compiler) checkSubflowInputs(sd *stepDraft, sub *flowDraft) {
	if sub == nil || sd.state.Args == nil || sd.state.Args.Program == nil {
		return
	}
	m, ok := sd.state.Args.Program.Node().(*ast.MapNode)
	if !ok {
		return
	}
	given := map[string]bool{}
	for _, p := range m.Pairs {
		pair, ok := p.(*ast.PairNode)
		if !ok {
			continue
		}
		k, ok := pair.Key.(*ast.StringNode)
		if !ok {
			continue
		}
		given[k.Value] = true
		if v := sub.vars[k.Value]; v == nil || v.role != "input" {
			var inputs []string
			for _, v := range sub.varList {
				if v.role == "input" {
					inputs = append(inputs, v.v.Name)
				}
			}
			d := c.diags.Errorf("E0303", sd.state.Args.Span, "subflow %s has no input %s", diag.Quote(sub.flow.Name), diag.Quote(k.Value))
			d.DidYouMean(k.Value, inputs)
		}
	}
	for _, v := range sub.varList {
		if v.role == "input" && !v.hasDef && !given[v.v.Name] {
			c.diags.Errorf("E0305", sd.state.Args.Span, "subflow %s needs input %s", diag.Quote(sub.flow.Name), diag.Quote(v.v.Name))
		}
	}
}
