package lsp

import (
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/tliron/glsp"
	protocol "github.com/tliron/glsp/protocol_3_16"

	"github.com/switchboard-dev/switchboard/compiler"
	"github.com/switchboard-dev/switchboard/lang"
)

// Completion reads the text before the cursor, which is mid-edit and rarely
// parses, for what is being written (a target after `->`, a kind after
// `name:`, a block's first word, a member after `x.`), and takes the names
// from the program's last analysis: it does not wait for the analysis of
// the keystroke that triggered it.

var (
	stepHead  = regexp.MustCompile(`^\s*([\p{L}_$][\p{L}\p{N}_$]*)\s*:\s*([\p{L}_$][\p{L}\p{N}_$]*)`)
	declHead  = regexp.MustCompile(`^(flow|queue|workflow|hours|worker)\b\s*([\p{L}_$][\p{L}\p{N}_$]*)?`)
	kindSlot  = regexp.MustCompile(`^\s*[\p{L}_$][\p{L}\p{N}_$]*\s*:\s*$`)
	arrowSlot = regexp.MustCompile(`->\s*$`)
	typeSlot  = regexp.MustCompile(`^\s*(var|input|output)\s+[\p{L}_$][\p{L}\p{N}_$]*\s*:\s*$`)
)

func (s *Server) completion(_ *glsp.Context, p *protocol.CompletionParams) (any, error) {
	path, t, err := s.openFlow(p.TextDocument.URI)
	if t == nil {
		return nil, err
	}
	prog := s.latest(filepath.Dir(path))
	items := complete(prog, t, t.offset(p.Position))
	sort.SliceStable(items, func(i, j int) bool { return sortKey(items[i]) < sortKey(items[j]) })
	return items, nil
}

func sortKey(it protocol.CompletionItem) string {
	if it.SortText != nil {
		return *it.SortText
	}
	return it.Label
}

// cursorContext is where the cursor is, read from the text.
type cursorContext struct {
	line  string // the line up to the start of the word being typed
	decl  string // keyword of the declaration around the cursor
	flow  string // its name when it is a flow
	kind  string // the step whose block holds the cursor: its kind
	depth int    // brace depth at the start of the line
	start int    // offset of the declaration
}

func readContext(src string, off int) cursorContext {
	lineStart := strings.LastIndexByte(src[:off], '\n') + 1
	start, _ := wordAt(src, off)
	start = max(start, lineStart)
	c := cursorContext{line: src[lineStart:start]}
	// The declaration: the last line before the cursor that starts with a
	// keyword at column 1, as the parser splits declarations.
	declStart := 0
	for i := lineStart; ; {
		j := strings.LastIndexByte(src[:max(i-1, 0)], '\n') + 1
		if strings.IndexByte("fqwh", src[min(j, len(src)-1)]) >= 0 {
			if m := declHead.FindStringSubmatch(src[j:min(len(src), j+200)]); m != nil {
				c.decl, declStart, c.start = m[1], j, j
				if m[1] == "flow" {
					c.flow = m[2]
				}
				break
			}
		}
		if j == 0 {
			break
		}
		i = j
	}
	if c.decl == "" {
		return c
	}
	c.depth = braceDepth(src[declStart:lineStart])
	if c.depth == 2 && c.decl == "flow" {
		// The innermost step head above the line names the kind.
		for i := lineStart; i > declStart; {
			j := strings.LastIndexByte(src[:i-1], '\n') + 1
			if m := stepHead.FindStringSubmatch(src[j:i]); m != nil && strings.Contains(src[j:i], "{") {
				c.kind = m[2]
				break
			}
			i = j
		}
	}
	return c
}

// braceDepth counts the braces left open in src, outside strings and
// comments: a byte scan, since the text up to the cursor of a long flow is
// too long to lex on every keystroke.
func braceDepth(src string) int {
	depth := 0
	for i := 0; i < len(src); i++ {
		switch c := src[i]; c {
		case '{':
			depth++
		case '}':
			depth = max(0, depth-1)
		case '#':
			i = lineEnd(src, i)
		case '/':
			if i+1 < len(src) && src[i+1] == '/' {
				i = lineEnd(src, i)
			}
		case '"', '\'', '`':
			for i++; i < len(src) && src[i] != c && src[i] != '\n'; i++ {
				if src[i] == '\\' && c == '"' {
					i++
				}
			}
		}
	}
	return depth
}

func lineEnd(src string, i int) int {
	if j := strings.IndexByte(src[i:], '\n'); j >= 0 {
		return i + j
	}
	return len(src)
}

// lexLoose lexes text that may hold errors.
func lexLoose(src string) []lang.Token {
	toks, _ := lang.Lex("", []byte(src))
	return toks
}

func complete(prog *program, t *text, off int) []protocol.CompletionItem {
	c := readContext(t.src, off)
	var items []protocol.CompletionItem
	add := func(label string, kind protocol.CompletionItemKind, detail, doc string) {
		it := protocol.CompletionItem{Label: label, Kind: &kind}
		if detail != "" {
			it.Detail = &detail
		}
		if doc != "" {
			it.Documentation = protocol.MarkupContent{Kind: protocol.MarkupKindMarkdown, Value: doc}
		}
		items = append(items, it)
	}
	start, _ := wordAt(t.src, off)
	// A member: `message.`, `bot.`, `task.`.
	if start > 0 && t.src[start-1] == '.' {
		dot := start - 1
		if dot > 0 && t.src[dot-1] == '?' {
			dot-- // message?.
		}
		if s, e := wordAt(t.src, dot); s < e {
			for _, f := range prog.members(c, t.src, memberChain(t.src, s, e)) {
				add(f.Name, protocol.CompletionItemKindField, f.Type, "")
			}
		}
		return items
	}
	switch {
	case arrowSlot.MatchString(c.line):
		if c.decl == "workflow" {
			for _, n := range prog.declared("queue") {
				add(n, protocol.CompletionItemKindClass, "queue", "")
			}
			return items
		}
		add("done", protocol.CompletionItemKindKeyword, "ends the execution", "")
		for _, n := range prog.flowNames(c, t.src) {
			if n.kind != "" {
				add(n.name, protocol.CompletionItemKindFunction, n.kind, "")
			}
		}
		return items
	case c.decl == "flow" && c.depth == 1 && typeSlot.MatchString(c.line):
		for _, t := range []compiler.Type{compiler.TypeString, compiler.TypeNumber, compiler.TypeBool,
			compiler.TypeList, compiler.TypeMap, compiler.TypeAny} {
			add(string(t), protocol.CompletionItemKindTypeParameter, "type", "")
		}
		return items
	case c.decl == "flow" && c.depth == 1 && kindSlot.MatchString(c.line):
		for _, k := range compiler.Kinds() {
			spec := k.Spec()
			add(spec.Name, protocol.CompletionItemKindKeyword, spec.Doc, kindDoc(spec))
		}
		return items
	case strings.TrimSpace(c.line) == "":
		switch {
		case c.decl == "flow" && c.depth == 1:
			for _, w := range []string{"trigger", "channels", "var", "input", "output"} {
				add(w, protocol.CompletionItemKindKeyword, "flow setting", "")
			}
			return items
		case c.decl == "flow" && c.depth == 2 && c.kind != "":
			k, ok := compiler.KindNamed(c.kind)
			if !ok {
				return items
			}
			spec := k.Spec()
			for _, pr := range spec.Props {
				add(pr.Name, protocol.CompletionItemKindProperty, pr.Doc, "")
			}
			for _, o := range spec.Outcomes {
				add(o.Outcome.String(), protocol.CompletionItemKindEvent, "outcome: "+o.Doc, "")
			}
			if !spec.Guards {
				return items
			}
			for n, v := range spec.GuardNames {
				add(n, protocol.CompletionItemKindModule, compiler.TypeName(v), "")
			}
		case c.depth == 1 && c.decl == "queue":
			for _, w := range []string{"workers", "order", "max_reserved"} {
				add(w, protocol.CompletionItemKindKeyword, "queue setting", "")
			}
			return items
		case c.depth == 1 && c.decl == "workflow":
			for _, w := range []string{"when", "default"} {
				add(w, protocol.CompletionItemKindKeyword, "workflow line", "")
			}
			return items
		case c.depth == 1 && c.decl == lang.KeywordWorker:
			add("attributes", protocol.CompletionItemKindKeyword, "the workers' attributes and their types", "")
			return items
		case c.depth == 0:
			for _, w := range []string{"flow", "queue", "workflow", "hours", lang.KeywordWorker} {
				add(w, protocol.CompletionItemKindKeyword, "declaration", "")
			}
			return items
		}
	}
	// An expression: the names in scope.
	env := compiler.Environment()
	names := make([]string, 0, len(env))
	for n := range env {
		names = append(names, n)
	}
	switch c.decl {
	case "queue":
		names = []string{compiler.NameWorker, compiler.NameNow, compiler.NameOpen}
	case "workflow":
		names = []string{compiler.NameTask, compiler.NameNow, compiler.NameOpen}
	}
	sort.Strings(names)
	for _, n := range names {
		typ := "map" // task and worker
		if v, ok := env[n]; ok {
			typ = compiler.TypeName(v)
		}
		add(n, protocol.CompletionItemKindModule, typ, "")
	}
	if c.flow != "" {
		for _, n := range prog.flowNames(c, t.src) {
			if n.kind == "" {
				add(n.name, protocol.CompletionItemKindVariable, n.role+" "+n.typ, "")
			} else if k, ok := compiler.KindNamed(n.kind); ok && k.Spec().Output != nil {
				add(n.name, protocol.CompletionItemKindFunction, n.kind+" step", "")
			}
		}
	}
	for _, n := range prog.declared("hours") {
		add(n, protocol.CompletionItemKindConstant, "hours", "")
	}
	return items
}

// declared returns the names of the program's declarations of a keyword,
// from the parsed files: completion does not wait for the symbol index.
func (p *program) declared(keyword string) []string {
	var out []string
	for _, f := range p.parsed {
		for _, d := range f.Decls {
			if d != nil && d.Keyword == keyword && d.Name != nil {
				out = append(out, d.Name.Value)
			}
		}
	}
	return out
}

// member is a name completion offers after a dot.
type member struct{ Name, Type string }

// members lists what follows `chain.`: a record's fields, a step's
// outputs, or for `task.` and `worker.` the attribute names the program
// uses.
func (p *program) members(c cursorContext, src string, chain []string) []member {
	if len(chain) == 0 {
		return nil
	}
	root := chain[0]
	if len(chain) == 1 && (root == compiler.NameTask || root == compiler.NameWorker) {
		return p.attributes(root)
	}
	var v any
	env := compiler.Environment()
	if k, ok := compiler.KindNamed(c.kind); ok {
		for n, x := range k.Spec().GuardNames {
			env[n] = x
		}
	}
	if ev, ok := env[root]; ok {
		v = ev
	} else {
		for _, n := range p.flowNames(c, src) {
			if k, ok := compiler.KindNamed(n.kind); ok && n.name == root {
				v = k.Spec().Output
			}
		}
	}
	for _, name := range chain[1:] {
		var next any
		for _, f := range compiler.FieldsOf(v) {
			if f.Name == name {
				next = f.Value
			}
		}
		v = next
	}
	var out []member
	for _, f := range compiler.FieldsOf(v) {
		out = append(out, member{f.Name, f.Type})
	}
	return out
}

// attributes returns the fields tasks or workers are known to have: the
// names the program reads as `root.NAME`, the keys of the enqueue steps'
// attributes maps for tasks, and for workers the attributes of the worker
// schema, with their types, and the ones the router sets.
func (p *program) attributes(root string) []member {
	p.attrMu.Lock()
	defer p.attrMu.Unlock()
	if out, ok := p.attrs[root]; ok {
		return out
	}
	types := map[string]string{}
	if root == compiler.NameWorker {
		for _, n := range []string{"id", "name", "activity"} {
			types[n] = "string"
		}
		for n, t := range p.workerSchema() {
			types[n] = t
		}
	}
	for _, f := range p.files {
		toks := lexLoose(f.text.src)
		for i := 0; i+1 < len(toks); i++ {
			if toks[i].Is(root) && toks[i+1].Kind == lang.DotName {
				if n := strings.TrimLeft(toks[i+1].Text, "?."); types[n] == "" {
					types[n] = "any"
				}
			}
			if root == compiler.NameTask && toks[i].Is("attributes") && toks[i+1].Is("{") {
				for _, n := range mapKeys(toks[i+1:]) {
					if types[n] == "" {
						types[n] = "any"
					}
				}
			}
		}
	}
	out := make([]member, 0, len(types))
	for n, t := range types {
		out = append(out, member{n, t})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	p.attrs[root] = out
	return out
}

// mapKeys returns the keys of the map literal toks starts with.
func mapKeys(toks []lang.Token) []string {
	var out []string
	depth := 0
	for j, t := range toks {
		depth += t.Nesting()
		if depth == 0 {
			break
		}
		if depth == 1 && t.Kind == lang.Ident && j+1 < len(toks) && toks[j+1].Is(":") {
			out = append(out, t.Text)
		}
	}
	return out
}

// workerSchema returns the attributes the worker schema declares, with
// their types (`worker { attributes {languages: list} }`).
func (p *program) workerSchema() map[string]string {
	out := map[string]string{}
	for _, f := range p.parsed {
		for _, d := range f.Decls {
			if d == nil || d.Keyword != lang.KeywordWorker || d.Body == nil {
				continue
			}
			for _, it := range d.Body.Items {
				if it.Line == nil || !it.Line.Head.Tokens[0].Is("attributes") {
					continue
				}
				toks := it.Line.Head.Tokens[1:]
				depth := 0
				for j, t := range toks {
					depth += t.Nesting()
					if depth == 1 && t.Kind == lang.Ident && j+2 < len(toks) && toks[j+1].Is(":") && toks[j+2].Kind == lang.Ident {
						out[t.Text] = toks[j+2].Text
					}
				}
			}
		}
	}
	return out
}

// flowName is a step (kind set) or a var of a flow.
type flowName struct{ name, kind, role, typ string }

var varLine = regexp.MustCompile(`^\s*(var|input|output)\s+([\p{L}_$][\p{L}\p{N}_$]*)\s*:\s*(\w+)`)

// flowNames returns the steps and vars of the flow around the cursor:
// from the symbol index when a request has had it built and it holds the
// flow, else from the lines of the flow's text that declare them (the
// flow may not parse yet; and building the index of a large program for
// a keystroke would cost more than reading one flow).
func (p *program) flowNames(c cursorContext, src string) []flowName {
	var out []flowName
	if c.flow == "" {
		return nil
	}
	if x := p.index.Load(); x != nil && len(x.FlowSymbols(c.flow)) > 0 {
		syms := x.FlowSymbols(c.flow)
		for _, s := range syms {
			if s.Kind == compiler.SymStep {
				out = append(out, flowName{name: s.Name, kind: s.Step.Kind.Value})
			} else {
				out = append(out, flowName{name: s.Name, role: s.Role, typ: string(s.Type)})
			}
		}
		return out
	}
	rest := src[c.start:]
	for i, line := range strings.Split(rest, "\n") {
		if i > 0 && declHead.MatchString(line) {
			break
		}
		if m := varLine.FindStringSubmatch(line); m != nil {
			out = append(out, flowName{name: m[2], role: m[1], typ: m[3]})
		} else if m := stepHead.FindStringSubmatch(line); m != nil {
			if _, ok := compiler.KindNamed(m[2]); ok {
				out = append(out, flowName{name: m[1], kind: m[2]})
			}
		}
	}
	return out
}
