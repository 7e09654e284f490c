package compiler

import (
	"reflect"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/switchboard-dev/switchboard/diag"
	"github.com/switchboard-dev/switchboard/lang"
)

// This file is the program's symbol index for tools (the language server):
// every declared name and every place that names it, with positions.
//
// It reads the AST, not a compiled Program, so it works on a program with
// errors, and it decodes lines with the same tables the checker uses (the
// kinds' arguments, properties and outcomes), so a property key is never
// taken for a name and a new kind needs nothing here. Names inside
// expressions are found by their tokens, interpolations included: an
// identifier that is not a map key resolves, as the checker's scopes do, to
// a var or step of its flow, then to business hours.

// SymbolKind says what a declared name is.
type SymbolKind uint8

// Symbol kinds.
const (
	SymFlow SymbolKind = iota + 1
	SymQueue
	SymWorkflow
	SymHours
	SymStep
	SymVar // a flow's var, input or output
)

var symbolKindNames = map[SymbolKind]string{SymFlow: "flow", SymQueue: "queue", SymWorkflow: "workflow",
	SymHours: "hours", SymStep: "step", SymVar: "var"}

func (k SymbolKind) String() string { return symbolKindNames[k] }

// Symbol is a declared name.
type Symbol struct {
	Kind SymbolKind
	Name string
	Flow string    // the flow of a step or var; "" for declarations
	Span diag.Span // the name where it is declared
	// Decl is the declaration (for a step or var, its flow's); Step the
	// step of a SymStep.
	Decl *lang.Decl
	Step *lang.Step
	// Role ("var", "input" or "output") and Type of a SymVar.
	Role string
	Type Type
}

// Ref is one place that names a symbol: its declaration or a use.
type Ref struct {
	Sym  *Symbol
	Span diag.Span
	Decl bool // the declaring occurrence
}

// SymbolIndex holds a program's symbols and their references.
type SymbolIndex struct {
	// Symbols in declaration order; Refs sorted by file and offset.
	Symbols []*Symbol
	Refs    []Ref

	byKey map[symKey]*Symbol
}

type symKey struct {
	kind       SymbolKind
	flow, name string
}

// IndexSymbols builds the index of the parsed files of one program. Files
// with syntax errors contribute the declarations that parsed.
func IndexSymbols(files []*lang.File) *SymbolIndex {
	size := 0
	for _, f := range files {
		size += len(f.Src)
	}
	// About one name every 12 bytes in real flows: growing the slice of
	// references cost more than filling it.
	x := &SymbolIndex{byKey: map[symKey]*Symbol{}, Refs: make([]Ref, 0, size/12)}
	for _, f := range files {
		for _, d := range f.Decls {
			if d == nil || d.Name == nil || d.Body == nil {
				continue
			}
			kind, named := map[string]SymbolKind{"flow": SymFlow, "queue": SymQueue, "workflow": SymWorkflow, "hours": SymHours}[d.Keyword]
			if !named {
				continue // the worker schema declares no name
			}
			x.declare(&Symbol{Kind: kind, Name: d.Name.Value, Span: d.Name.Span(), Decl: d})
			if kind == SymFlow {
				x.declareFlowNames(d)
			}
		}
	}
	for _, f := range files {
		for _, d := range f.Decls {
			if d == nil || d.Name == nil || d.Body == nil {
				continue
			}
			switch d.Keyword {
			case "flow":
				x.flowRefs(d)
			case "queue":
				for _, it := range d.Body.Items {
					if it.Line != nil && len(it.Line.Head.Tokens) > 1 {
						x.expr("", it.Line.Head.Tokens[1:])
					}
				}
			case "workflow":
				x.workflowRefs(d)
			}
		}
	}
	// Mostly in order already; pdqsort makes short work of that.
	slices.SortFunc(x.Refs, func(a, b Ref) int {
		if c := strings.Compare(a.Span.File, b.Span.File); c != 0 {
			return c
		}
		return a.Span.Start.Offset - b.Span.Start.Offset
	})
	return x
}

// declare adds a symbol; a name declared twice keeps its first symbol, and
// the second declaration counts as a reference to it.
func (x *SymbolIndex) declare(s *Symbol) {
	k := symKey{s.Kind, s.Flow, s.Name}
	if first, dup := x.byKey[k]; dup {
		x.Refs = append(x.Refs, Ref{Sym: first, Span: s.Span, Decl: true})
		return
	}
	x.byKey[k] = s
	x.Symbols = append(x.Symbols, s)
	x.Refs = append(x.Refs, Ref{Sym: s, Span: s.Span, Decl: true})
}

func (x *SymbolIndex) declareFlowNames(d *lang.Decl) {
	flow := d.Name.Value
	for _, it := range d.Body.Items {
		if s := it.Step; s != nil && s.Name != nil {
			x.declare(&Symbol{Kind: SymStep, Name: s.Name.Value, Flow: flow, Span: s.Name.Span(), Decl: d, Step: s})
			continue
		}
		head := it.Line.Head.Tokens
		if len(head) >= 4 && (head[0].Is("var") || head[0].Is("input") || head[0].Is("output")) &&
			head[1].Kind == lang.Ident && head[2].Is(":") {
			x.declare(&Symbol{Kind: SymVar, Name: head[1].Text, Flow: flow, Span: head[1].Span, Decl: d,
				Role: head[0].Text, Type: Type(head[3].Text)})
		}
	}
}

// Lookup returns the symbol of that kind and name (flow: the flow of a
// step or var), or nil.
func (x *SymbolIndex) Lookup(kind SymbolKind, flow, name string) *Symbol {
	return x.byKey[symKey{kind, flow, name}]
}

// At returns the reference whose span holds the byte offset of file, its
// end included (a cursor just after a name is on it).
func (x *SymbolIndex) At(file string, offset int) (Ref, bool) {
	i := sort.Search(len(x.Refs), func(i int) bool {
		s := x.Refs[i].Span
		return s.File > file || s.File == file && s.End.Offset >= offset
	})
	if i < len(x.Refs) {
		s := x.Refs[i].Span
		if s.File == file && s.Start.Offset <= offset && offset <= s.End.Offset {
			return x.Refs[i], true
		}
	}
	return Ref{}, false
}

// RefsTo returns the references to s, its declaration first.
func (x *SymbolIndex) RefsTo(s *Symbol) []Ref {
	var out []Ref
	for _, r := range x.Refs {
		if r.Sym == s {
			out = append(out, r)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Span == s.Span && out[j].Span != s.Span })
	return out
}

// FlowSymbols returns the steps and vars of a flow, in declaration order.
func (x *SymbolIndex) FlowSymbols(flow string) []*Symbol {
	var out []*Symbol
	for _, s := range x.Symbols {
		if s.Flow == flow && (s.Kind == SymStep || s.Kind == SymVar) {
			out = append(out, s)
		}
	}
	return out
}

func (x *SymbolIndex) ref(kind SymbolKind, flow string, t lang.Token) {
	if s := x.Lookup(kind, flow, t.Text); s != nil {
		x.Refs = append(x.Refs, Ref{Sym: s, Span: t.Span})
	}
}

func (x *SymbolIndex) flowRefs(d *lang.Decl) {
	flow := d.Name.Value
	for _, it := range d.Body.Items {
		if it.Line != nil {
			head := it.Line.Head.Tokens
			if len(head) > 5 && head[0].Kind == lang.Ident && head[4].Is("=") {
				x.expr(flow, head[5:]) // a var's initial value
			}
			continue
		}
		s := it.Step
		if s.Next != nil {
			x.ref(SymStep, flow, nameToken(s.Next))
		}
		k, ok := KindNamed(s.Kind.Value)
		if !ok {
			continue
		}
		spec := k.Spec()
		if s.Args != nil {
			x.argRefs(flow, k, spec, s.Args.Tokens)
		}
		if s.Block == nil {
			continue
		}
		for _, bi := range s.Block.Items {
			if bi.Line == nil {
				continue
			}
			head, tail := lineTokens(bi.Line)
			if len(tail) == 1 && tail[0].Kind == lang.Ident {
				x.ref(SymStep, flow, tail[0])
			}
			key := head[0]
			_, isOutcome := outcomeNamed(key.Text)
			p, isProp := spec.props[key.Text]
			switch {
			case key.Kind == lang.Ident && isProp && !(spec.Guards && looksLikeGuard(head)):
				if p.Kind != PropDuration {
					x.expr(flow, head[1:])
				}
			case key.Kind == lang.Ident && isOutcome && len(head) == 1:
			default:
				x.expr(flow, head) // a guard
			}
		}
	}
}

func (x *SymbolIndex) argRefs(flow string, k Kind, spec *KindSpec, args []lang.Token) {
	switch spec.Arg.Kind {
	case ArgName:
		if len(args) == 1 && args[0].Kind == lang.Ident {
			switch k {
			case KindEnqueue:
				x.ref(SymWorkflow, "", args[0])
			case KindSubflow:
				x.ref(SymFlow, "", args[0])
			}
		}
	case ArgExpr:
		x.expr(flow, args)
	case ArgAssign:
		for _, part := range splitTop(args, ",") {
			if len(part) > 0 && part[0].Kind == lang.Ident {
				x.ref(SymVar, flow, part[0])
			}
			if len(part) > 2 && part[1].Is("=") {
				x.expr(flow, part[2:])
			}
		}
	}
}

func (x *SymbolIndex) workflowRefs(d *lang.Decl) {
	for _, it := range d.Body.Items {
		if it.Line == nil {
			continue
		}
		head, tail := lineTokens(it.Line)
		var targets []lang.Token
		switch {
		case head[0].Is("when"):
			x.expr("", head[1:])
			targets = tail
		case head[0].Is("default"):
			targets = head[1:]
		}
		for i, part := range splitTop(targets, ",") {
			if i > 0 && len(part) > 0 && part[0].Is("then") {
				part = part[1:]
			}
			if len(part) == 0 {
				continue
			}
			if part[0].Is("worker") {
				x.expr("", part[1:])
				continue
			}
			x.ref(SymQueue, "", part[0])
			for j := 1; j+1 < len(part); j++ {
				if part[j].Is("priority") {
					x.expr("", part[j+1:])
				}
			}
		}
	}
}

// expr records the names an expression's tokens read: vars and steps of
// flow (none outside flows), business hours, `vars.NAME`, and the same
// inside the interpolations of its strings.
func (x *SymbolIndex) expr(flow string, toks []lang.Token) {
	var open []string // brackets open at each token, to tell map keys
	for i, t := range toks {
		switch {
		case t.Nesting() > 0:
			open = append(open, t.Text)
		case t.Nesting() < 0 && len(open) > 0:
			open = open[:len(open)-1]
		case t.Kind == lang.Ident:
			if i+1 < len(toks) && toks[i+1].Is(":") && len(open) > 0 && open[len(open)-1] == "{" {
				continue // a map key
			}
			if flow != "" {
				if s := x.Lookup(SymVar, flow, t.Text); s != nil {
					x.Refs = append(x.Refs, Ref{Sym: s, Span: t.Span})
					continue
				}
				if s := x.Lookup(SymStep, flow, t.Text); s != nil {
					x.Refs = append(x.Refs, Ref{Sym: s, Span: t.Span})
					continue
				}
			}
			x.ref(SymHours, "", t)
		case t.Kind == lang.DotName && flow != "" && i > 0 && toks[i-1].Is(NameVars):
			name := strings.TrimLeft(t.Text, "?.")
			skip := len(t.Text) - len(name)
			sp := t.Span
			sp.Start.Offset += skip
			sp.Start.Col += skip
			x.ref(SymVar, flow, lang.Token{Kind: lang.Ident, Text: name, Span: sp})
		case t.Kind == lang.String && strings.Contains(t.Text, "${"):
			for _, inner := range Interpolations(t) {
				x.expr(flow, inner)
			}
		}
	}
}

// Interpolations returns the tokens of each `${…}` inside a string token,
// positioned in the file.
func Interpolations(t lang.Token) [][]lang.Token {
	var out [][]lang.Token
	text := t.Text
	for i := 0; i+1 < len(text); i++ {
		if text[i] == '\\' {
			i++
			continue
		}
		if text[i] != '$' || text[i+1] != '{' {
			continue
		}
		start := i + 2
		depth, j := 1, start
		for ; j < len(text) && depth > 0; j++ {
			switch text[j] {
			case '{':
				depth++
			case '}':
				depth--
			case '"', '\'', '`':
				q := text[j]
				for j++; j < len(text) && text[j] != q; j++ {
					if text[j] == '\\' {
						j++
					}
				}
			}
		}
		if depth != 0 {
			break
		}
		toks, _ := lang.Lex(t.Span.File, []byte(text[start:j-1]))
		base := t.Span.Start
		base.Offset += start
		base.Col += utf8.RuneCountInString(text[:start])
		var run []lang.Token
		for _, in := range toks {
			if in.Kind == lang.EOF || in.Kind == lang.Newline || in.Kind == lang.Comment {
				continue
			}
			in.Span.Start, in.Span.End = shift(in.Span.Start, base), shift(in.Span.End, base)
			run = append(run, in)
		}
		out = append(out, run)
		i = j - 1
	}
	return out
}

// shift moves p, a position in a text that starts at base, into the file.
func shift(p, base diag.Pos) diag.Pos {
	if p.Line == 1 {
		p.Col += base.Col - 1
	}
	p.Line += base.Line - 1
	p.Offset += base.Offset
	return p
}

func nameToken(n *lang.Name) lang.Token {
	return lang.Token{Kind: lang.Ident, Text: n.Value, Span: n.Span()}
}

// ---- the environment, as tools show it ----

// Field is a field of an environment value as expressions see it.
type Field struct {
	Name string
	Type string // as the language names it: string, number, bool, list, map, time or a record
	// Value is the zero value of a record field, whose own fields
	// FieldsOf lists; nil for other types.
	Value any
}

// Environment returns the names every flow expression sees, each with a
// zero value of its type (`message`, `contact`, `conversation`, `env`,
// `vars`, `now`, `open`).
func Environment() map[string]any {
	out := make(map[string]any, len(baseFlowValues))
	for k, v := range baseFlowValues {
		out[k] = v
	}
	return out
}

// FieldsOf lists the fields of a record value (a message, a step's
// output, …) in declaration order; nil when v is no record.
func FieldsOf(v any) []Field {
	t := reflect.TypeOf(v)
	if t == nil || t.Kind() != reflect.Struct || t == reflect.TypeOf(time.Time{}) {
		return nil
	}
	var out []Field
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name := f.Tag.Get("expr")
		if name == "" || !f.IsExported() {
			continue
		}
		fv := reflect.Zero(f.Type).Interface()
		field := Field{Name: name, Type: TypeName(fv)}
		if FieldsOf(fv) != nil {
			field.Value = fv
		}
		out = append(out, field)
	}
	return out
}

// TypeName names the type of an environment value as the language does.
func TypeName(v any) string {
	t := reflect.TypeOf(v)
	if t == nil {
		return "any"
	}
	switch {
	case t == reflect.TypeOf(time.Time{}):
		return "time"
	case t == reflect.TypeOf(HoursRef{}):
		return "hours"
	}
	switch t.Kind() {
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "bool"
	case reflect.Int, reflect.Int64, reflect.Int32, reflect.Float64, reflect.Float32:
		return "number"
	case reflect.Slice, reflect.Array:
		return "list"
	case reflect.Map:
		return "map"
	case reflect.Func:
		return "function"
	case reflect.Struct:
		return "record"
	}
	return "any"
}
