package lsp

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/tliron/glsp"
	protocol "github.com/tliron/glsp/protocol_3_16"

	"github.com/switchboard-dev/switchboard/compiler"
	"github.com/switchboard-dev/switchboard/diag"
	"github.com/switchboard-dev/switchboard/lang"
)

func (s *Server) hover(_ *glsp.Context, p *protocol.HoverParams) (*protocol.Hover, error) {
	prog, fi, off, err := s.at(p.TextDocument.URI, p.Position)
	if err != nil || fi == nil {
		return nil, err
	}
	md, sp := prog.hoverAt(fi, off)
	if md == "" {
		return nil, nil
	}
	r := fi.text.rangeOf(sp)
	return &protocol.Hover{Contents: protocol.MarkupContent{Kind: protocol.MarkupKindMarkdown, Value: md}, Range: &r}, nil
}

// hoverAt is the hover text at off and the span it is about.
func (p *program) hoverAt(fi *fileInfo, off int) (string, diag.Span) {
	if ref, ok := p.refAt(fi.path, off); ok {
		return p.symbolDoc(ref.Sym), ref.Span
	}
	start, end := wordAt(fi.text.src, off)
	if start == end {
		return "", diag.Span{}
	}
	sp := diag.Span{File: fi.path, Start: diag.Pos{Offset: start, Line: 1}, End: diag.Pos{Offset: end, Line: 1}}
	word := fi.text.src[start:end]
	decl, step := enclosing(fi.file, off)
	if step != nil {
		if k, ok := compiler.KindNamed(step.Kind.Value); ok {
			spec := k.Spec()
			if step.Kind.Pos.Offset == start {
				return kindDoc(spec), sp
			}
			if key, member, ok := lineKey(step, off); ok && key.Span.Start.Offset == start && !(spec.Guards && member) {
				for _, pr := range spec.Props {
					if pr.Name == word {
						return fmt.Sprintf("**%s** `%s`: %s", spec.Name, pr.Name, pr.Doc), sp
					}
				}
				for _, o := range spec.Outcomes {
					if o.Outcome.String() == word {
						return fmt.Sprintf("**%s** outcome `%s`: %s", spec.Name, word, o.Doc), sp
					}
				}
			}
		}
	}
	// The names a step's guards see besides the flow's: ask's reply.
	env := compiler.Environment()
	if step != nil {
		if k, ok := compiler.KindNamed(step.Kind.Value); ok {
			for n, v := range k.Spec().GuardNames {
				env[n] = v
			}
		}
	}
	chain := memberChain(fi.text.src, start, end)
	if len(chain) < 2 {
		if v, ok := env[word]; ok {
			return fmt.Sprintf("`%s`: %s%s", word, compiler.TypeName(v), fieldList(v)), sp
		}
		return "", diag.Span{}
	}
	flow := ""
	if decl != nil && decl.Keyword == "flow" {
		flow = decl.Name.Value
	}
	typ, doc := p.memberType(flow, env, chain)
	if typ == "" {
		return "", diag.Span{}
	}
	return fmt.Sprintf("`%s`: %s%s", strings.Join(chain, "."), typ, doc), sp
}

// memberType is the type of a member chain such as message.text or
// bot.json, and the fields of a record.
func (p *program) memberType(flow string, env map[string]any, chain []string) (string, string) {
	var v any
	root := chain[0]
	switch {
	case root == compiler.NameTask || root == compiler.NameWorker:
		if len(chain) == 2 {
			typ := "any"
			for _, m := range p.attributes(root) {
				if m.Name == chain[1] {
					typ = m.Type
				}
			}
			return typ, fmt.Sprintf(" (a %s attribute)", root)
		}
		return "", ""
	case flow != "" && p.symbols().Lookup(compiler.SymStep, flow, root) != nil:
		st := p.symbols().Lookup(compiler.SymStep, flow, root).Step
		k, ok := compiler.KindNamed(st.Kind.Value)
		if !ok || k.Spec().Output == nil {
			return "", ""
		}
		v = k.Spec().Output
	default:
		var ok bool
		if v, ok = env[root]; !ok {
			return "", ""
		}
	}
	for _, name := range chain[1:] {
		var next any
		found := false
		for _, f := range compiler.FieldsOf(v) {
			if f.Name == name {
				next, found = f.Value, true
				if next == nil {
					if name == chain[len(chain)-1] {
						return f.Type, ""
					}
					if f.Type == "map" {
						// Maps hold what the channel or the admin put there.
						return "any", fmt.Sprintf(" (a key of `%s.%s`)", chain[0], name)
					}
					return "", ""
				}
			}
		}
		if !found {
			return "", ""
		}
		v = next
	}
	return compiler.TypeName(v), fieldList(v)
}

func fieldList(v any) string {
	fields := compiler.FieldsOf(v)
	if len(fields) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString("\n\nfields:")
	for _, f := range fields {
		fmt.Fprintf(&b, "\n- `%s` %s", f.Name, f.Type)
	}
	return b.String()
}

// symbolDoc describes a declared name.
func (p *program) symbolDoc(sym *compiler.Symbol) string {
	switch sym.Kind {
	case compiler.SymStep:
		k, ok := compiler.KindNamed(sym.Step.Kind.Value)
		head := fmt.Sprintf("step `%s` of flow `%s`", sym.Name, sym.Flow)
		if !ok {
			return head + ": unknown kind " + diag.Quote(sym.Step.Kind.Value)
		}
		return head + "\n\n" + kindDoc(k.Spec())
	case compiler.SymVar:
		return fmt.Sprintf("```flow\n%s %s: %s\n```\n%s of flow `%s`", sym.Role, sym.Name, sym.Type, sym.Role, sym.Flow)
	case compiler.SymFlow:
		trigger := "message"
		for _, it := range sym.Decl.Body.Items {
			if it.Line != nil && len(it.Line.Head.Tokens) == 2 && it.Line.Head.Tokens[0].Is("trigger") {
				trigger = it.Line.Head.Tokens[1].Text
			}
		}
		return fmt.Sprintf("flow `%s`, triggered by %s", sym.Name, trigger)
	}
	return fmt.Sprintf("%s `%s`", sym.Kind, sym.Name)
}

// kindDoc describes a step kind from its spec: what it does, its
// outcomes and what it leaves behind.
func kindDoc(spec *compiler.KindSpec) string {
	var b strings.Builder
	fmt.Fprintf(&b, "**%s**: %s", spec.Name, spec.Doc)
	if len(spec.Outcomes) > 0 {
		b.WriteString("\n\noutcomes:")
		for _, o := range spec.Outcomes {
			var tags []string
			if o.Primary {
				tags = append(tags, "after `->`")
			}
			if o.Required {
				tags = append(tags, "required")
			}
			tag := ""
			if len(tags) > 0 {
				tag = " (" + strings.Join(tags, ", ") + ")"
			}
			fmt.Fprintf(&b, "\n- `%s`%s: %s", o.Outcome, tag, o.Doc)
		}
	}
	if spec.Output != nil {
		b.WriteString("\n\noutputs:")
		for _, f := range compiler.FieldsOf(spec.Output) {
			fmt.Fprintf(&b, "\n- `.%s` %s", f.Name, f.Type)
		}
	}
	return b.String()
}

// enclosing returns the declaration and the step around off.
func enclosing(f *lang.File, off int) (*lang.Decl, *lang.Step) {
	if f == nil {
		return nil, nil
	}
	for _, d := range f.Decls {
		if d == nil || d.Body == nil || off < d.Pos.Offset || off > d.EndPos.Offset {
			continue
		}
		for _, it := range d.Body.Items {
			if st := it.Step; st != nil && st.Pos.Offset <= off && off <= st.EndPos.Offset {
				return d, st
			}
		}
		return d, nil
	}
	return nil, nil
}

// lineKey returns the first token of the step's block line around off,
// and whether a member follows it (`reply.text == "2"`: a condition on
// reply, not the outcome reply).
func lineKey(st *lang.Step, off int) (key lang.Token, member, ok bool) {
	if st.Block == nil {
		return lang.Token{}, false, false
	}
	for _, it := range st.Block.Items {
		if l := it.Line; l != nil && l.Pos.Offset <= off && off <= l.EndPos.Offset {
			toks := l.Head.Tokens
			return toks[0], len(toks) > 1 && toks[1].Kind == lang.DotName, true
		}
	}
	return lang.Token{}, false, false
}

func isIdentRune(r rune) bool {
	return r == '_' || r == '$' || unicode.IsLetter(r) || unicode.IsDigit(r)
}

// wordAt returns the bounds of the name around off (off may be just
// after it).
func wordAt(src string, off int) (int, int) {
	start, end := off, off
	for start > 0 {
		r, n := utf8.DecodeLastRuneInString(src[:start])
		if !isIdentRune(r) {
			break
		}
		start -= n
	}
	for end < len(src) {
		r, n := utf8.DecodeRuneInString(src[end:])
		if !isIdentRune(r) {
			break
		}
		end += n
	}
	return start, end
}

// memberChain returns the names of `a.b.c` ending with src[start:end]
// ("?." counts as "."); one name when no dot precedes it.
func memberChain(src string, start, end int) []string {
	chain := []string{src[start:end]}
	for {
		i := start
		if i > 0 && src[i-1] == '.' {
			i--
			if i > 0 && src[i-1] == '?' {
				i--
			}
		} else {
			return chain
		}
		s, e := wordAt(src, i)
		if s == e || e != i {
			return chain
		}
		chain = append([]string{src[s:e]}, chain...)
		start = s
	}
}
