package compiler

import (
	"sort"
	"strings"

	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/types"

	"github.com/switchboard-dev/switchboard/diag"
	"github.com/switchboard-dev/switchboard/lang"
)

// Attributes of tasks and workers are maps whose keys the program states in
// two places: the `attributes {…}` of the enqueue steps that route to a
// workflow say what `task.NAME` its filters can read, and the optional
// worker schema says what `worker.NAME` queues can read. A read of a name
// neither states is a warning, not an error: attributes are data (a worker
// without `languages` is simply not a member of a queue that asks for one),
// and the router treats a missing attribute as nil.

// Names the router gives every task and every worker besides their
// attributes.
var (
	taskBuiltins   = []string{"last_worker"}
	workerBuiltins = []string{"id", "name", "activity"}
)

// workerSchema is the decoded `worker { attributes {…} }` declaration.
type workerSchema struct {
	span  diag.Span       // the `worker` keyword
	attrs map[string]Type // declared attributes
	typed types.Map       // what queue expressions see as `worker`
}

// workerSchema decodes the worker schema: `attributes {NAME: TYPE, …}`.
func (c *compiler) workerSchema(d *lang.Decl) *workerSchema {
	ws := &workerSchema{span: d.KeywordSpan(), attrs: map[string]Type{}}
	seen := map[string]diag.Span{}
	var sawAttrs *lang.Token
	for _, it := range d.Body.Items {
		l := it.Line
		if l == nil {
			c.diags.Errorf("E0301", it.Step.Name.Span(), "the worker schema holds `attributes {…}`, not steps").
				WithHint("e.g. attributes {languages: list, department: string}")
			continue
		}
		if !c.noTail(l, "the worker schema") {
			continue
		}
		head := l.Head.Tokens
		key := head[0]
		if !key.Is("attributes") {
			c.unknownKey(key, "worker schema", []string{"attributes"})
			continue
		}
		if sawAttrs != nil {
			c.diags.Errorf("E0306", key.Span, "`attributes` is set twice in the worker schema").
				WithRelated(sawAttrs.Span, "first set here")
			continue
		}
		sawAttrs = &head[0]
		rest := head[1:]
		if len(rest) < 2 || !rest[0].Is("{") || !rest[len(rest)-1].Is("}") {
			sp := key.Span
			if len(rest) > 0 {
				sp = runSpan(rest)
			}
			c.diags.Errorf("E0309", sp, "attributes takes a map of names to types").
				WithHint("e.g. attributes {languages: list, department: string, level: number}")
			continue
		}
		for _, part := range splitTop(rest[1:len(rest)-1], ",") {
			if len(part) == 0 {
				continue // a trailing comma
			}
			if len(part) != 3 || part[0].Kind != lang.Ident || !part[1].Is(":") || part[2].Kind != lang.Ident {
				c.diags.Errorf("E0309", runSpan(part), "expected `NAME: TYPE`, found %s", diag.Quote(lang.RunText(part))).
					WithHint("types are %s", strings.Join(typeNames, ", "))
				continue
			}
			name, typ := part[0], part[2]
			if name.Text == "id" || name.Text == "activity" {
				c.diags.Errorf("E0208", name.Span, "%s is not an attribute: the router gives every worker one", diag.Quote(name.Text)).
					WithHint("remove it: `worker.%s` can always be read", name.Text)
				continue
			}
			if first, dup := seen[name.Text]; dup {
				c.diags.Errorf("E0306", name.Span, "attribute %s is declared twice", diag.Quote(name.Text)).
					WithRelated(first, "first declared here")
				continue
			}
			seen[name.Text] = name.Span
			t, ok := TypeNamed(typ.Text)
			if !ok {
				dd := c.diags.Errorf("E0211", typ.Span, "unknown type %s", diag.Quote(typ.Text))
				if !dd.DidYouMean(typ.Text, typeNames) {
					dd.WithHint("types are %s", strings.Join(typeNames, ", "))
				}
				t = TypeAny
			}
			ws.attrs[name.Text] = t
		}
	}
	// Queues see the declared attributes with their types, the router's
	// own fields as strings, and any other attribute as a value of any
	// type (the warnings below name those).
	ws.typed = types.Map{types.Extra: types.Any}
	for _, n := range workerBuiltins {
		ws.typed[n] = types.String
	}
	for n, t := range ws.attrs {
		if t == TypeAny {
			ws.typed[n] = types.Any
		} else {
			ws.typed[n] = types.TypeOf(ZeroOf(t))
		}
	}
	return ws
}

// checkAttributes warns of reads of task and worker attributes that nothing
// in the program sets or declares.
func (c *compiler) checkAttributes(drafts []*flowDraft) {
	if ws := c.worker; ws != nil {
		known := append(keys(ws.attrs), workerBuiltins...)
		for _, q := range c.prog.Queues {
			for _, e := range []*Expr{q.Workers, q.OrderBy} {
				c.attributeReads(e, NameWorker, func(name string, at diag.Span) {
					if contains(known, name) {
						return
					}
					d := c.diags.Warnf("W0008", at, "worker attribute %s is not in the worker schema", diag.Quote(name))
					if !d.DidYouMean(name, known) {
						d.WithHint("declare it in `worker { attributes {…} }`, e.g. `%s: string`", name)
					}
					d.WithRelated(ws.span, "the worker schema")
				})
			}
		}
	}

	// What each workflow's tasks carry: the keys of the literal
	// `attributes` maps of the enqueue steps that route to it. One
	// attributes value that is not a literal map makes its workflow's
	// keys unknown, and nothing is reported there.
	set := map[string]map[string]bool{}
	where := map[string]diag.Span{}
	unknown := map[string]bool{}
	for _, fd := range drafts {
		for _, st := range fd.flow.States {
			op, ok := st.Op.(*EnqueueOp)
			if !ok || op.Workflow == "" {
				continue
			}
			if set[op.Workflow] == nil {
				set[op.Workflow] = map[string]bool{}
				where[op.Workflow] = st.Span
				if op.Attributes != nil {
					where[op.Workflow] = op.Attributes.Span
				}
			}
			if op.Attributes == nil {
				continue
			}
			if !literalKeys(op.Attributes, set[op.Workflow]) {
				unknown[op.Workflow] = true
			}
		}
	}
	for _, w := range c.prog.Workflows {
		keysSet, routed := set[w.Name]
		if !routed || unknown[w.Name] {
			continue // no enqueue routes here (W0005 says so), or its keys are unknown
		}
		known := append(keys(keysSet), taskBuiltins...)
		sort.Strings(known)
		var exprs []*Expr
		for _, f := range append(w.Filters, Filter{Targets: []Target{w.Default}}) {
			exprs = append(exprs, f.When)
			for _, t := range f.Targets {
				exprs = append(exprs, t.Worker, t.Priority)
			}
		}
		for _, e := range exprs {
			c.attributeReads(e, NameTask, func(name string, at diag.Span) {
				if contains(known, name) {
					return
				}
				d := c.diags.Warnf("W0007", at, "no enqueue of workflow %s sets task attribute %s", diag.Quote(w.Name), diag.Quote(name))
				if !d.DidYouMean(name, known) {
					d.WithHint("its tasks have %s; add %s to the `attributes` of the enqueue steps", strings.Join(quoteAll(known), ", "), diag.Quote(name))
				}
				d.WithRelated(where[w.Name], "what an enqueue routing to "+diag.Quote(w.Name)+" sets")
			})
		}
	}
}

// literalKeys adds to keys the keys of an attributes expression that is a
// map literal, or a choice between map literals (`vip ? {…} : {…}`,
// `a ?? {…}`); it reports false when the keys cannot be known.
func literalKeys(e *Expr, keys map[string]bool) bool {
	if e.Program == nil {
		return false
	}
	var walk func(n ast.Node) bool
	walk = func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.MapNode:
			for _, p := range n.Pairs {
				pair, ok := p.(*ast.PairNode)
				if !ok {
					return false
				}
				k, ok := pair.Key.(*ast.StringNode)
				if !ok {
					return false
				}
				keys[k.Value] = true
			}
			return true
		case *ast.ConditionalNode:
			return walk(n.Exp1) && walk(n.Exp2)
		case *ast.ConstantNode:
			// The optimizer folds a literal map of constants into one.
			m, ok := n.Value.(map[string]any)
			for k := range m {
				keys[k] = true
			}
			return ok
		}
		return false
	}
	return walk(e.Program.Node())
}

// attributeReads calls found for every `root.NAME` (or `root?.NAME`,
// `root["NAME"]`) an expression reads, with the span of that read.
func (c *compiler) attributeReads(e *Expr, root string, found func(name string, at diag.Span)) {
	if e == nil {
		return
	}
	for _, t := range e.Templates {
		for _, p := range t.Parts {
			c.attributeReads(p.Expr, root, found)
		}
	}
	if e.Program == nil {
		return
	}
	src := []byte(e.Source)
	node := e.Program.Node()
	ast.Walk(&node, visitFunc(func(n *ast.Node) {
		m, ok := (*n).(*ast.MemberNode)
		if !ok {
			return
		}
		id, ok := m.Node.(*ast.IdentifierNode)
		if !ok || id.Value != root {
			return
		}
		prop, ok := m.Property.(*ast.StringNode)
		if !ok {
			return
		}
		// From the root's name to the end of the attribute's.
		from := runeToByte(src, id.Location().From)
		to := from + len(root)
		if i := strings.Index(e.Source[min(to, len(src)):], prop.Value); i >= 0 {
			to += i + len(prop.Value)
		}
		start := e.Span.Start.Offset
		found(prop.Value, c.span(e.Span.File, start+from, start+min(to, len(src))))
	}))
}
