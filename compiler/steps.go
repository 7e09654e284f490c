package compiler

import (
	"strings"

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
	spelled := map[string]string{}
	for _, v := range fd.varList {
		if v.spelled != string(v.v.Type) {
			spelled[v.v.Name] = v.spelled
		}
	}
	initScope := &scope{values: map[string]any{}, spelled: spelled}
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
	for name := range fd.broken {
		base[name] = nil // any: the declaration's error is the one to fix
	}
	for _, v := range fd.varList {
		if v.init != nil {
			v.v.Init = c.compileTyped(v.init, initScope, v.v.Type, v.spelled, "the initial value of "+diag.Quote(v.v.Name))
			c.markUsed(v.v.Init)
		}
	}
	// One scope holds every step's outputs; each step's expressions are
	// then checked for reads of steps that cannot have run before it.
	for _, other := range fd.steps {
		switch {
		case other.spec == nil:
			base[other.state.Name] = nil // a step of an unknown kind: its outputs are unknown too
		case other.spec.Output != nil:
			base[other.state.Name] = other.spec.Output
		}
	}
	flowScope := &scope{values: base, spelled: spelled}
	outputIndex := map[string]int{}
	for j, other := range fd.steps {
		if other.spec != nil && other.spec.Output != nil {
			outputIndex[other.state.Name] = j
		}
	}
	guardScopes := map[*KindSpec]*scope{} // one per kind whose guards see more names
	for i, sd := range fd.steps {
		if sd.spec == nil {
			continue
		}
		before := ancestors[i]
		notYet := func(name string) bool {
			j, ok := outputIndex[name]
			return ok && !before[j]
		}
		if !fd.reached[i] {
			// The step never runs (W0001 says so): which steps ran
			// before it is moot.
			notYet = nil
		}
		guards := flowScope
		if names := sd.spec.GuardNames; names != nil {
			if guardScopes[sd.spec] == nil {
				guardScopes[sd.spec] = flowScope.with(names)
			}
			guards = guardScopes[sd.spec]
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
	kindName := spec.Name
	if spec.Voice && fd.flow.Trigger != TriggerCall && !fd.triggerUnknown {
		// One missing `trigger call` is one error, however many voice
		// steps the flow has: the others are its notes.
		if fd.voiceErr != nil {
			fd.voiceErr.WithRelated(s.Kind.Span(), diag.Quote(kindName)+" is a voice step too")
		} else {
			fd.voiceErr = c.diags.Errorf("E0310", s.Kind.Span(), "%s is a voice step; flow %s is not triggered by a call", diag.Quote(kindName), diag.Quote(fd.flow.Name)).
				WithHint("add `trigger call` to the flow, or use `send` for messages")
		}
	}
	if fc, ok := kinds[sd.state.Kind].(flowChecker); ok {
		fc.checkFlow(c, fd, sd)
	}
	// Argument.
	var args []lang.Token
	if s.Args != nil {
		args = s.Args.Tokens
	}
	switch {
	case spec.Arg.Kind == ArgNone && len(args) > 0:
		c.diags.Errorf("E0309", runSpan(args), "%s takes no argument", diag.Quote(kindName)).
			WithHint("put settings inside `{ … }` on their own lines")
	case spec.Arg.Kind != ArgNone && len(args) == 0:
		c.diags.Errorf("E0309", s.Kind.Span(), "%s needs %s", diag.Quote(kindName), spec.Arg.What)
	}
	// Trailing -> target.
	if s.Next != nil {
		tok := lang.Token{Kind: lang.Ident, Text: s.Next.Value, Span: s.Next.Span()}
		if !spec.hasPrim {
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
			sd.poisoned = true // the line may have been an outcome
		}
	}()
	spec := sd.spec
	kindName := spec.Name
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
		if o, ok := outcomeNamed(key.Text); ok && spec.allows(o) {
			if l.Tail == nil {
				c.diags.Errorf("E0307", key.Span, "expected `-> step` after outcome %s", diag.Quote(key.Text))
				return
			}
			c.setOutcome(sd, o, key, target)
			return
		}
	}
	if p, ok := spec.props[key.Text]; ok && key.Kind == lang.Ident && !(spec.Guards && looksLikeGuard(head)) {
		if l.Tail != nil && !p.HasOutcome {
			c.diags.Errorf("E0308", target.Span, "%s takes no `-> target`", diag.Quote(key.Text))
			return
		}
		if p.HasOutcome && l.Tail == nil && !p.ArrowOptional {
			c.diags.Errorf("E0307", runSpan(head), "expected `-> step` after %s", diag.Quote(key.Text)).
				WithHint("the step goes there when the time is up, e.g. `timeout 5m -> handoff`")
			return
		}
		if first, dup := sd.props[key.Text]; dup {
			c.diags.Errorf("E0306", key.Span, "%s is set twice", diag.Quote(key.Text)).WithRelated(first.key.Span, "first set here")
			return
		}
		sd.props[key.Text] = propLine{key: key, val: head[1:], line: l}
		if p.HasOutcome && l.Tail != nil {
			c.setOutcome(sd, p.Outcome, key, target)
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
		} else if spec.LineHint != "" {
			d.WithHint("%s", spec.LineHint)
		} else if spec.Guards {
			d.WithHint("a condition needs `-> step` after it")
		} else if len(spec.Props) > 0 {
			d.WithHint("%s takes %s", diag.Quote(kindName), strings.Join(quoteAll(spec.propNames()), ", "))
		} else {
			d.WithHint("%s takes no properties", diag.Quote(kindName))
		}
		return
	}
	// A guard.
	if !spec.Guards {
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
		if sd.node.Next != nil && sd.spec.hasPrim && sd.spec.primary == o {
			d.WithHint("the trailing `-> %s` of the step already sets %s", first.Text, diag.Quote(o.String()))
		}
		return
	}
	sd.outcomes[o] = target
}

func propAndOutcomeNames(spec *KindSpec) []string {
	return append(spec.propNames(), outcomeStrings(spec)...)
}

func outcomeStrings(spec *KindSpec) []string {
	out := make([]string, 0, len(spec.Outcomes))
	for _, o := range spec.Outcomes {
		out = append(out, o.Outcome.String())
	}
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
			} else if sd.state.Next[o] == NoTarget {
				sd.poisoned = true
			}
		}
		for _, g := range sd.guards {
			idx := resolve(g.target)
			sd.state.Guards = append(sd.state.Guards, Guard{Target: idx, Span: g.span})
			if idx >= 0 {
				sd.succ = append(sd.succ, int(idx))
			} else if idx == NoTarget {
				sd.poisoned = true
			}
		}
		for _, o := range sd.spec.required() {
			if _, ok := sd.outcomes[o]; ok || sd.broken {
				continue
			}
			hint := "add `" + o.String() + " -> STEP` inside the step's block"
			if p := sd.spec.props[o.String()]; p != nil && p.HasOutcome && !p.ArrowOptional {
				hint = "add `" + o.String() + " 5m -> STEP` inside the step's block"
			} else if sd.spec.hasPrim && o == sd.spec.primary {
				hint = "add `-> STEP` after the step, or `" + o.String() + " -> STEP` inside its block"
			}
			c.diags.Errorf("E0304", sd.node.Name.Span(), "%s step %s has no %s outcome", sd.spec.Name, diag.Quote(sd.state.Name), diag.Quote(o.String())).
				WithHint("%s", hint)
		}
	}
}
