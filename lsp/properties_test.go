package lsp

import (
	"os"
	"path/filepath"
	"testing"

	protocol "github.com/tliron/glsp/protocol_3_16"
)

// TestExampleFlows asks hover, definition and references at every name
// of the example program (flows/) and checks what must hold anywhere: no
// request fails; a definition lands on the same name, and the references
// of the name under the cursor hold the cursor's own place and the
// definition; a hover's range covers the cursor.
func TestExampleFlows(t *testing.T) {
	paths, _ := filepath.Glob("../flows/*.flow")
	if len(paths) == 0 {
		t.Fatal("no example flows")
	}
	dir := t.TempDir()
	texts := map[string]*text{}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		dst := filepath.Join(dir, filepath.Base(p))
		if err := os.WriteFile(dst, b, 0o644); err != nil {
			t.Fatal(err)
		}
		texts[dst] = newText(string(b))
	}
	c := startServer(t, Options{Debounce: -1}, dir)
	for p, tx := range texts {
		c.open(p, tx.src, 1)
		if d := c.diagnostics(p, 1); len(d.Diagnostics) != 0 && *d.Diagnostics[0].Severity == protocol.DiagnosticSeverityError {
			t.Fatalf("%s: %s", p, d.Diagnostics[0].Message)
		}
	}
	wordOf := func(path string, r protocol.Range) string {
		tx := texts[path]
		return tx.src[tx.offset(r.Start):tx.offset(r.End)]
	}
	names, defs := 0, 0
	for path, tx := range texts {
		doc := protocol.TextDocumentIdentifier{URI: pathURI(path)}
		for off := 0; off < len(tx.src); off++ {
			if off > 0 && isIdentRune(rune(tx.src[off-1])) || !isIdentRune(rune(tx.src[off])) {
				continue // not the start of a name
			}
			start, end := wordAt(tx.src, off)
			word := tx.src[start:end]
			pos := tx.position(off + 1)
			tdp := protocol.TextDocumentPositionParams{TextDocument: doc, Position: pos}
			names++
			var h *protocol.Hover
			if err := c.call(protocol.MethodTextDocumentHover, protocol.HoverParams{TextDocumentPositionParams: tdp}, &h); err != nil {
				t.Fatalf("hover %s:%d:%d: %v", filepath.Base(path), pos.Line, pos.Character, err)
			}
			if h != nil && h.Range != nil && (tx.offset(h.Range.Start) > off || tx.offset(h.Range.End) < off+1) {
				t.Errorf("hover %s:%d:%d (%s): range %s does not cover the cursor", filepath.Base(path), pos.Line, pos.Character, word, rangeText(*h.Range))
			}
			var locs []protocol.Location
			if err := c.call(protocol.MethodTextDocumentDefinition, protocol.DefinitionParams{TextDocumentPositionParams: tdp}, &locs); err != nil {
				t.Fatalf("definition %s:%d:%d: %v", filepath.Base(path), pos.Line, pos.Character, err)
			}
			if len(locs) == 0 {
				continue
			}
			defs++
			defPath, _ := uriPath(locs[0].URI)
			if got := wordOf(defPath, locs[0].Range); got != word {
				t.Errorf("definition of %s at %s:%d:%d is %q", word, filepath.Base(path), pos.Line, pos.Character, got)
			}
			var refs []protocol.Location
			if err := c.call(protocol.MethodTextDocumentReferences, protocol.ReferenceParams{TextDocumentPositionParams: tdp,
				Context: protocol.ReferenceContext{IncludeDeclaration: true}}, &refs); err != nil {
				t.Fatalf("references %s:%d:%d: %v", filepath.Base(path), pos.Line, pos.Character, err)
			}
			self, decl := false, false
			for _, r := range refs {
				rp, _ := uriPath(r.URI)
				if got := wordOf(rp, r.Range); got != word {
					t.Errorf("a reference of %s is %q", word, got)
				}
				if rp == path && tx.offset(r.Range.Start) == start {
					self = true
				}
				if r == locs[0] {
					decl = true
				}
			}
			if !self || !decl {
				t.Errorf("references of %s at %s:%d:%d miss the cursor (%v) or the declaration (%v)", word, filepath.Base(path), pos.Line, pos.Character, self, decl)
			}
		}
	}
	if defs < 100 {
		t.Errorf("only %d of %d names have a definition: the index misses most names", defs, names)
	}
	t.Logf("%d names, %d with a definition", names, defs)
}
