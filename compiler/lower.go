package compiler

import (
	"sort"
	"time"

	"github.com/switchboard-dev/switchboard/diag"
	"github.com/switchboard-dev/switchboard/lang"
)

// lowering is a decoded step whose argument, guards and properties are
// compiled, handed to its kind's lower to build the State's payload.
type lowering struct {
	c     *compiler
	fd    *flowDraft
	sd    *stepDraft
	st    *State
	spec  *KindSpec
	sc    *scope // the step's scope, without the names only guards see
	flows map[string]*flowDraft

	arg    *Expr         // ArgExpr
	argDur time.Duration // ArgDuration
	args   []lang.Token  // the argument as written (ArgAssign)
	name   lang.Token    // ArgName, when it is one name
	named  bool

	exprs map[string]*Expr         // compiled expression properties
	durs  map[string]time.Duration // duration properties
	bare  map[string]bool          // Bare properties written without a value
	order []string                 // the properties written, in source order
}

// expr returns the compiled value of an expression property, or nil.
func (l *lowering) expr(name string) *Expr { return l.exprs[name] }

// dur returns a duration property, or 0.
func (l *lowering) dur(name string) time.Duration { return l.durs[name] }

// has reports whether the property was written, valid or not.
func (l *lowering) has(name string) bool { _, ok := l.sd.props[name]; return ok }

// argName returns an ArgName argument when it is one name.
func (l *lowering) argName() (lang.Token, bool) { return l.name, l.named }

// compileStep compiles a decoded step's argument, guards and properties,
// then lets its kind lower them to the state's payload.
func (c *compiler) compileStep(fd *flowDraft, sd *stepDraft, sc, guardScope *scope, flows map[string]*flowDraft) {
	st, spec, s := sd.state, sd.spec, sd.node
	// One lowering per compiler, its maps cleared for each step: a
	// compile lowers thousands of steps, and no kind keeps them.
	l := &c.low
	if l.exprs == nil {
		l.exprs, l.durs, l.bare = map[string]*Expr{}, map[string]time.Duration{}, map[string]bool{}
	}
	clear(l.exprs)
	clear(l.durs)
	clear(l.bare)
	*l = lowering{c: c, fd: fd, sd: sd, st: st, spec: spec, sc: sc, flows: flows,
		exprs: l.exprs, durs: l.durs, bare: l.bare, order: l.order[:0]}
	if s.Args != nil {
		l.args = s.Args.Tokens
	}
	if len(l.args) > 0 {
		switch spec.Arg.Kind {
		case ArgExpr:
			l.arg = c.compileRun(l.args, sc, spec.Arg.Want, "the argument of "+diag.Quote(spec.Name))
			c.markUsed(l.arg)
		case ArgDuration:
			l.argDur, _ = c.duration(l.args, spec.Name, s.Kind.Span())
		case ArgName:
			if t, ok := c.name(l.args, spec.Arg.What, s.Kind.Span()); ok {
				l.name, l.named, sd.target = t, true, t.Text
			}
		}
	}
	for i, g := range sd.guards {
		st.Guards[i].Cond = c.compileRun(g.cond, guardScope, TypeBool, "a condition")
		c.markUsed(st.Guards[i].Cond)
	}
	for name := range sd.props {
		l.order = append(l.order, name)
	}
	sort.Slice(l.order, func(i, j int) bool {
		return sd.props[l.order[i]].key.Span.Start.Offset < sd.props[l.order[j]].key.Span.Start.Offset
	})
	for _, name := range l.order {
		c.compileProp(l, name)
	}
	st.Op = kinds[st.Kind].lower(l)
}

func (c *compiler) compileProp(l *lowering, name string) {
	p, prop := l.sd.props[name], l.spec.props[name]
	if len(p.val) == 0 && prop.Bare {
		l.bare[name] = true
		return
	}
	if prop.Kind != PropDuration && len(p.val) == 0 {
		c.diags.Errorf("E0309", p.key.Span, "%s needs a value", diag.Quote(name))
		return
	}
	switch prop.Kind {
	case PropDuration:
		if d, ok := c.duration(p.val, name, p.key.Span); ok {
			l.durs[name] = d
		}
		return
	case PropChannel:
		// `channel whatsapp` names a channel; anything else is an expression.
		if len(p.val) == 1 && p.val[0].Kind == lang.Ident && l.sc.values[p.val[0].Text] == nil {
			l.exprs[name] = c.constant(p.val[0])
			return
		}
	}
	e := c.compileRun(p.val, l.sc, prop.Want, diag.Quote(name))
	c.markUsed(e)
	l.exprs[name] = e
}
