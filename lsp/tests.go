package lsp

import (
	"sort"

	"github.com/switchboard-dev/switchboard/compiler"
	"github.com/switchboard-dev/switchboard/lang"
)

// Test files name the program's flows, steps and workflows: `flow NAME`
// in a test, `mock KIND STEP` for a step of that flow, `expect enqueue
// WORKFLOW`. They are references like the ones in .flow files, so a
// rename reaches the tests and go to definition works from them.

// testRefs finds the references in one test file's text.
func testRefs(x *compiler.SymbolIndex, path, src string) []compiler.Ref {
	toks, _ := lang.Lex(path, []byte(src))
	var out []compiler.Ref
	add := func(kind compiler.SymbolKind, flow string, t lang.Token) {
		if t.Kind != lang.Ident {
			return
		}
		if s := x.Lookup(kind, flow, t.Text); s != nil {
			out = append(out, compiler.Ref{Sym: s, Span: t.Span})
		}
	}
	flow := ""
	lineStart := true
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		if t.Kind == lang.Comment {
			continue
		}
		if t.Kind == lang.Newline {
			lineStart = true
			continue
		}
		if !lineStart {
			continue
		}
		lineStart = false
		next := func(k int) lang.Token {
			if i+k < len(toks) {
				return toks[i+k]
			}
			return lang.Token{}
		}
		switch {
		case t.Is("test"):
			flow = ""
		case t.Is("flow"):
			flow = next(1).Text
			add(compiler.SymFlow, "", next(1))
		case t.Is("mock"):
			add(compiler.SymStep, flow, next(2))
		case t.Is("expect") && next(1).Is("enqueue"):
			add(compiler.SymWorkflow, "", next(2))
		}
	}
	return out
}

// refAt returns the reference at off in a program's .flow or test file.
func (p *program) refAt(path string, off int) (compiler.Ref, bool) {
	if !isFlowTest(path) {
		return p.symbols().At(path, off)
	}
	for _, r := range p.testRefs()[path] {
		if r.Span.Start.Offset <= off && off <= r.Span.End.Offset {
			return r, true
		}
	}
	return compiler.Ref{}, false
}

// refsTo returns the references to a symbol in the .flow files, its
// declaration first, then in the test files.
func (p *program) refsTo(s *compiler.Symbol) []compiler.Ref {
	out := p.symbols().RefsTo(s)
	refs := p.testRefs()
	paths := make([]string, 0, len(refs))
	for path := range refs {
		paths = append(paths, path)
	}
	sort.Strings(paths)
	for _, path := range paths {
		for _, r := range refs[path] {
			if r.Sym == s {
				out = append(out, r)
			}
		}
	}
	return out
}

// testRefs returns the references of the program's test files, by path,
// found once per analysis.
func (p *program) testRefs() map[string][]compiler.Ref {
	x := p.symbols()
	p.testOnce.Do(func() {
		p.testIndex = map[string][]compiler.Ref{}
		for _, f := range p.tests {
			p.testIndex[f.path] = testRefs(x, f.path, f.text.src)
		}
	})
	return p.testIndex
}
