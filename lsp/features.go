package lsp

import (
	"fmt"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/tliron/glsp"
	protocol "github.com/tliron/glsp/protocol_3_16"

	"github.com/switchboard-dev/switchboard/compiler"
	"github.com/switchboard-dev/switchboard/diag"
	"github.com/switchboard-dev/switchboard/lang"
)

// fileOf returns the fresh analysis of a document's program and the
// document's file in it; fi is nil for a document that is not a .flow file
// of the program.
func (s *Server) fileOf(uri string) (prog *program, fi *fileInfo, err error) {
	path, err := uriPath(uri)
	if err != nil {
		return nil, nil, err
	}
	prog = s.program(filepath.Dir(path))
	return prog, prog.byPath[path], nil
}

// at is fileOf with the byte offset of pos in the file.
func (s *Server) at(uri string, pos protocol.Position) (prog *program, fi *fileInfo, off int, err error) {
	prog, fi, err = s.fileOf(uri)
	if err != nil || fi == nil {
		return prog, nil, 0, err
	}
	return prog, fi, fi.text.offset(pos), nil
}

// openFlow is an open .flow document's path and text; t is nil for a
// document that is not open or not a .flow file.
func (s *Server) openFlow(uri string) (path string, t *text, err error) {
	path, err = uriPath(uri)
	if err != nil || !isFlow(path) {
		return path, nil, err
	}
	return path, s.openText(path), nil
}

// refUnder is the name under pos in a document, with its program and
// file; ok is false where no name is there, fi nil where the document is
// not a .flow file of the program.
func (s *Server) refUnder(uri string, pos protocol.Position) (prog *program, fi *fileInfo, ref compiler.Ref, ok bool, err error) {
	prog, fi, off, err := s.at(uri, pos)
	if err != nil || fi == nil {
		return nil, nil, ref, false, err
	}
	ref, ok = prog.refAt(fi.path, off)
	return prog, fi, ref, ok, nil
}

func (p *program) location(sp diag.Span) (protocol.Location, bool) {
	fi := p.byPath[sp.File]
	if fi == nil {
		return protocol.Location{}, false
	}
	return protocol.Location{URI: pathURI(sp.File), Range: fi.text.rangeOf(sp)}, true
}

func (s *Server) definition(_ *glsp.Context, p *protocol.DefinitionParams) (any, error) {
	prog, _, ref, ok, err := s.refUnder(p.TextDocument.URI, p.Position)
	if !ok {
		return nil, err
	}
	loc, ok := prog.location(ref.Sym.Span)
	if !ok {
		return nil, nil
	}
	return []protocol.Location{loc}, nil
}

func (s *Server) references(_ *glsp.Context, p *protocol.ReferenceParams) ([]protocol.Location, error) {
	prog, _, ref, ok, err := s.refUnder(p.TextDocument.URI, p.Position)
	if !ok {
		return nil, err
	}
	out := []protocol.Location{}
	for _, r := range prog.refsTo(ref.Sym) {
		if r.Decl && !p.Context.IncludeDeclaration {
			continue
		}
		if loc, ok := prog.location(r.Span); ok {
			out = append(out, loc)
		}
	}
	return out, nil
}

var identifier = regexp.MustCompile(`^[\p{L}_$][\p{L}\p{N}_$]*$`)

func (s *Server) prepareRename(_ *glsp.Context, p *protocol.PrepareRenameParams) (any, error) {
	_, fi, ref, ok, err := s.refUnder(p.TextDocument.URI, p.Position)
	if !ok {
		return nil, err
	}
	r := fi.text.rangeOf(ref.Span)
	return &r, nil
}

func (s *Server) rename(_ *glsp.Context, p *protocol.RenameParams) (*protocol.WorkspaceEdit, error) {
	prog, fi, ref, ok, err := s.refUnder(p.TextDocument.URI, p.Position)
	if err != nil || fi == nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("there is no flow, step, var, queue, workflow or hours name here to rename")
	}
	if !identifier.MatchString(p.NewName) || isKeyword(p.NewName) {
		return nil, fmt.Errorf("%s is not a name a %s can have", diag.Quote(p.NewName), ref.Sym.Kind)
	}
	if clash := prog.clash(ref.Sym, p.NewName); clash != nil {
		return nil, fmt.Errorf("%s %s is already declared at %s:%d:%d", clash.Kind, diag.Quote(p.NewName),
			filepath.Base(clash.Span.File), clash.Span.Start.Line, clash.Span.Start.Col)
	}
	edit := &protocol.WorkspaceEdit{Changes: map[protocol.DocumentUri][]protocol.TextEdit{}}
	for _, r := range prog.refsTo(ref.Sym) {
		if loc, ok := prog.location(r.Span); ok {
			edit.Changes[loc.URI] = append(edit.Changes[loc.URI], protocol.TextEdit{Range: loc.Range, NewText: p.NewName})
		}
	}
	return edit, nil
}

// clash returns the symbol a rename of sym to name would collide with:
// steps and vars share their flow's namespace, each declaration keyword
// has its own.
func (p *program) clash(sym *compiler.Symbol, name string) *compiler.Symbol {
	kinds := []compiler.SymbolKind{sym.Kind}
	if sym.Kind == compiler.SymStep || sym.Kind == compiler.SymVar {
		kinds = []compiler.SymbolKind{compiler.SymStep, compiler.SymVar}
	}
	for _, k := range kinds {
		if c := p.symbols().Lookup(k, sym.Flow, name); c != nil && c != sym {
			return c
		}
	}
	return nil
}

func isKeyword(name string) bool {
	switch name {
	case "flow", "queue", "workflow", "hours", "done", "true", "false", "nil", "and", "or", "not", "in":
		return true
	}
	_, env := compiler.Environment()[name]
	return env
}

func (s *Server) formatting(_ *glsp.Context, p *protocol.DocumentFormattingParams) ([]protocol.TextEdit, error) {
	path, t, err := s.openFlow(p.TextDocument.URI)
	if t == nil {
		return nil, err
	}
	out, list := lang.FormatSource(path, []byte(t.src))
	if list.HasErrors() {
		return nil, nil // as `switchboard fmt`: a file that does not parse is left alone
	}
	if string(out) == t.src {
		return []protocol.TextEdit{}, nil
	}
	return []protocol.TextEdit{{Range: protocol.Range{End: t.position(len(t.src))}, NewText: string(out)}}, nil
}

func (s *Server) codeAction(_ *glsp.Context, p *protocol.CodeActionParams) (any, error) {
	prog, fi, err := s.fileOf(p.TextDocument.URI)
	if fi == nil {
		return nil, err
	}
	from, to := fi.text.offset(p.Range.Start), fi.text.offset(p.Range.End)
	out := []protocol.CodeAction{}
	for _, l := range prog.diags[fi.path] {
		d := l.d
		m := didYouMean.FindStringSubmatch(d.Hint)
		if m == nil || d.Span.End.Offset < from || d.Span.Start.Offset > to {
			continue
		}
		old := fi.text.src[d.Span.Start.Offset:d.Span.End.Offset]
		if old == "" || strings.ContainsAny(old, " \t\n\"'`") {
			continue // the span is more than the misspelt word
		}
		kind := protocol.CodeActionKindQuickFix
		preferred := true
		r := fi.text.rangeOf(d.Span)
		out = append(out, protocol.CodeAction{
			Title:       fmt.Sprintf("Change %s to %s", diag.Quote(old), diag.Quote(m[1])),
			Kind:        &kind,
			Diagnostics: []protocol.Diagnostic{l.lsp(fi.text)},
			IsPreferred: &preferred,
			Edit: &protocol.WorkspaceEdit{Changes: map[protocol.DocumentUri][]protocol.TextEdit{
				p.TextDocument.URI: {{Range: r, NewText: m[1]}}}},
		})
	}
	return out, nil
}

func (s *Server) documentSymbol(_ *glsp.Context, p *protocol.DocumentSymbolParams) (any, error) {
	prog, fi, err := s.fileOf(p.TextDocument.URI)
	if fi == nil || fi.file == nil {
		return nil, err
	}
	out := []protocol.DocumentSymbol{}
	kinds := map[string]protocol.SymbolKind{"flow": protocol.SymbolKindModule, "queue": protocol.SymbolKindStruct,
		"workflow": protocol.SymbolKindClass, "hours": protocol.SymbolKindObject, lang.KeywordWorker: protocol.SymbolKindInterface}
	for _, d := range fi.file.Decls {
		if d == nil || d.Name == nil || d.Body == nil {
			continue
		}
		kw := d.Keyword
		whole := d.Span() // to the closing brace, not the blank lines after it
		whole.End = d.Body.Span().End
		sym := protocol.DocumentSymbol{Name: d.Name.Value, Detail: &kw, Kind: kinds[d.Keyword],
			Range: fi.text.rangeOf(whole), SelectionRange: fi.text.rangeOf(d.Name.Span())}
		for _, x := range prog.symbols().FlowSymbols(d.Name.Value) {
			if d.Keyword != "flow" || x.Decl != d {
				continue
			}
			child := protocol.DocumentSymbol{Name: x.Name, SelectionRange: fi.text.rangeOf(x.Span)}
			if x.Kind == compiler.SymStep {
				detail := x.Step.Kind.Value
				child.Detail, child.Kind, child.Range = &detail, protocol.SymbolKindFunction, fi.text.rangeOf(x.Step.Span())
			} else {
				detail := x.Role + " " + string(x.Type)
				child.Detail, child.Kind, child.Range = &detail, protocol.SymbolKindVariable, fi.text.rangeOf(x.Span)
			}
			sym.Children = append(sym.Children, child)
		}
		out = append(out, sym)
	}
	return out, nil
}
