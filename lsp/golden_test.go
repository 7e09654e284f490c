package lsp

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/txtar"
	protocol "github.com/tliron/glsp/protocol_3_16"
)

// update rewrites the expected outputs of the golden tests: -update, or
// FLOW_UPDATE=1 as for the compiler's goldens.
var update = flag.Bool("update", os.Getenv("FLOW_UPDATE") != "", "rewrite the want sections of testdata/*.txtar")

// TestGolden runs each testdata/*.txtar through the protocol. An archive
// holds:
//
//   - files written into a fresh directory, the workspace's root, and
//     opened in the editor, with cursor markers ⟨name⟩ (removed before the
//     file is written); `disk/NAME` is written as NAME but not opened, and
//     `v2/NAME` is a later text of NAME for a `change`;
//   - `requests`: one per line, `METHOD FILE [MARKER] [ARG]`, where METHOD
//     is hover, definition, references, completion, rename (ARG: the new
//     name), prepareRename, formatting, codeAction, documentSymbol,
//     diagnostics, change (sends v2/FILE as the next version), insert
//     (ARG, the rest of the line, at MARKER as a ranged change, then
//     formatting shows the server's text) or delete (removes FILE from the
//     disk and tells the server, as a watcher does);
//   - `want`: each request's answer under a `### request` line, as the
//     render functions below print it. -update rewrites it.
func TestGolden(t *testing.T) {
	paths, _ := filepath.Glob("testdata/*.txtar")
	if len(paths) == 0 {
		t.Fatal("no golden files found")
	}
	for _, path := range paths {
		t.Run(strings.TrimSuffix(filepath.Base(path), ".txtar"), func(t *testing.T) {
			ar, err := txtar.ParseFile(path)
			if err != nil {
				t.Fatal(err)
			}
			got := runArchive(t, ar)
			if *update {
				for i := range ar.Files {
					if ar.Files[i].Name == "want" {
						ar.Files[i].Data = []byte(got)
					}
				}
				if err := os.WriteFile(path, txtar.Format(ar), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want := ""
			for _, f := range ar.Files {
				if f.Name == "want" {
					want = string(f.Data)
				}
			}
			if got != want {
				t.Errorf("answers differ (-update rewrites them)\n--- got\n%s\n--- want\n%s", got, want)
			}
		})
	}
}

var marker = regexp.MustCompile(`⟨(\w+)⟩`)

// stripMarkers removes the cursor markers and returns their offsets.
func stripMarkers(src string) (string, map[string]int) {
	at := map[string]int{}
	var b strings.Builder
	last := 0
	for _, m := range marker.FindAllStringSubmatchIndex(src, -1) {
		b.WriteString(src[last:m[0]])
		at[src[m[2]:m[3]]] = b.Len()
		last = m[1]
	}
	b.WriteString(src[last:])
	return b.String(), at
}

type goldenFile struct {
	path    string
	src     string
	markers map[string]int
	version int
}

func runArchive(t *testing.T, ar *txtar.Archive) string {
	dir := t.TempDir()
	files := map[string]*goldenFile{}
	v2 := map[string]string{}
	var requests []string
	var opened []string
	for _, f := range ar.Files {
		switch {
		case f.Name == "requests":
			requests = strings.Split(strings.TrimSpace(string(f.Data)), "\n")
		case f.Name == "want":
		case strings.HasPrefix(f.Name, "v2/"):
			v2[strings.TrimPrefix(f.Name, "v2/")] = string(f.Data)
		default:
			name := strings.TrimPrefix(f.Name, "disk/")
			src, at := stripMarkers(string(f.Data))
			path := filepath.Join(dir, filepath.FromSlash(name))
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
				t.Fatal(err)
			}
			files[name] = &goldenFile{path: path, src: src, markers: at}
			if !strings.HasPrefix(f.Name, "disk/") {
				opened = append(opened, name)
				files[name].version = 1
			}
		}
	}
	c := startServer(t, Options{Debounce: -1}, dir)
	// The workspace's program is published at start, from the disk.
	for name, f := range files {
		if isFlow(name) && !strings.Contains(name, "/") {
			c.diagnostics(f.path, 0)
		}
	}
	for _, name := range opened {
		c.open(files[name].path, files[name].src, 1)
	}
	for _, name := range opened {
		c.diagnostics(files[name].path, 1) // the server has seen every file
	}
	r := &renderer{dir: dir}
	var out strings.Builder
	for _, req := range requests {
		req = strings.TrimSpace(req)
		if req == "" || strings.HasPrefix(req, "#") {
			continue
		}
		fmt.Fprintf(&out, "### %s\n", req)
		words := strings.Fields(req)
		method, f := words[0], files[words[1]]
		if f == nil {
			t.Fatalf("%s: no file %s in the archive", req, words[1])
		}
		doc := protocol.TextDocumentIdentifier{URI: pathURI(f.path)}
		var pos protocol.Position
		if len(words) > 2 && method != "change" {
			off, ok := f.markers[words[2]]
			if !ok {
				t.Fatalf("%s: no marker ⟨%s⟩ in %s", req, words[2], words[1])
			}
			pos = newText(f.src).position(off)
		}
		tdp := protocol.TextDocumentPositionParams{TextDocument: doc, Position: pos}
		var err error
		switch method {
		case "change":
			src, ok := v2[words[1]]
			if !ok {
				t.Fatalf("%s: no v2/%s in the archive", req, words[1])
			}
			f.src, f.markers = stripMarkers(src)
			f.version++
			before := c.publishedCounts()
			c.change(f.path, f.src, f.version)
			r.diagnostics(&out, c.diagnostics(f.path, f.version), f.src)
			// A change republishes every open file of the directory:
			// the requests that follow see the new ones.
			for _, g := range files {
				if filepath.Dir(g.path) == filepath.Dir(f.path) && (isFlow(g.path) || g.version > 0) {
					c.diagnosticsAfter(g.path, g.version, before)
				}
			}
		case "insert":
			// A ranged change, as editors send them under the incremental
			// sync the server asks for: TEXT (\n for a line break) at the
			// marker.
			ins := strings.ReplaceAll(strings.Join(words[3:], " "), `\n`, "\n")
			off := f.markers[words[2]]
			rg := protocol.Range{Start: newText(f.src).position(off), End: newText(f.src).position(off)}
			f.src = f.src[:off] + ins + f.src[off:]
			for k, v := range f.markers {
				if v > off {
					f.markers[k] = v + len(ins)
				}
			}
			f.version++
			c.notify(protocol.MethodTextDocumentDidChange, protocol.DidChangeTextDocumentParams{
				TextDocument:   protocol.VersionedTextDocumentIdentifier{TextDocumentIdentifier: doc, Version: protocol.Integer(f.version)},
				ContentChanges: []any{protocol.TextDocumentContentChangeEvent{Range: &rg, Text: ins}}})
			r.diagnostics(&out, c.diagnostics(f.path, f.version), f.src)
			var edits []protocol.TextEdit
			if err = c.call(protocol.MethodTextDocumentFormatting, protocol.DocumentFormattingParams{TextDocument: doc}, &edits); err == nil {
				out.WriteString(applyEdits(f.src, edits)) // the server's text, as fmt prints it
			}
		case "delete":
			// The file leaves the disk; the editor's watcher says so.
			if err := os.Remove(f.path); err != nil {
				t.Fatal(err)
			}
			before := c.publishedCounts()
			c.notify(protocol.MethodWorkspaceDidChangeWatchedFiles, protocol.DidChangeWatchedFilesParams{
				Changes: []protocol.FileEvent{{URI: pathURI(f.path), Type: protocol.FileChangeTypeDeleted}}})
			r.diagnostics(&out, c.diagnosticsAfter(f.path, 0, before), "")
			for _, g := range files {
				if g != f && filepath.Dir(g.path) == filepath.Dir(f.path) && (isFlow(g.path) || g.version > 0) {
					c.diagnosticsAfter(g.path, g.version, before)
				}
			}
		case "diagnostics":
			r.diagnostics(&out, c.diagnostics(f.path, f.version), f.src)
		case "hover":
			var h *protocol.Hover
			if err = c.call(protocol.MethodTextDocumentHover, protocol.HoverParams{TextDocumentPositionParams: tdp}, &h); err == nil {
				r.hover(&out, h)
			}
		case "definition":
			var locs []protocol.Location
			if err = c.call(protocol.MethodTextDocumentDefinition, protocol.DefinitionParams{TextDocumentPositionParams: tdp}, &locs); err == nil {
				r.locations(&out, locs)
			}
		case "references":
			var locs []protocol.Location
			if err = c.call(protocol.MethodTextDocumentReferences, protocol.ReferenceParams{TextDocumentPositionParams: tdp,
				Context: protocol.ReferenceContext{IncludeDeclaration: true}}, &locs); err == nil {
				r.locations(&out, locs)
			}
		case "completion":
			var items []protocol.CompletionItem
			if err = c.call(protocol.MethodTextDocumentCompletion, protocol.CompletionParams{TextDocumentPositionParams: tdp}, &items); err == nil {
				r.completion(&out, items)
			}
		case "prepareRename":
			var rg *protocol.Range
			if err = c.call(protocol.MethodTextDocumentPrepareRename, protocol.PrepareRenameParams{TextDocumentPositionParams: tdp}, &rg); err == nil {
				if rg == nil {
					out.WriteString("null\n")
				} else {
					fmt.Fprintf(&out, "%s\n", rangeText(*rg))
				}
			}
		case "rename":
			var edit *protocol.WorkspaceEdit
			if err = c.call(protocol.MethodTextDocumentRename, protocol.RenameParams{TextDocumentPositionParams: tdp, NewName: words[3]}, &edit); err == nil {
				r.workspaceEdit(&out, edit)
			}
		case "formatting":
			var edits []protocol.TextEdit
			if err = c.call(protocol.MethodTextDocumentFormatting, protocol.DocumentFormattingParams{TextDocument: doc}, &edits); err == nil {
				if len(edits) == 0 {
					out.WriteString("(no edits)\n")
				}
				out.WriteString(applyEdits(f.src, edits))
			}
		case "codeAction":
			var actions []protocol.CodeAction
			rg := protocol.Range{Start: pos, End: pos}
			if err = c.call(protocol.MethodTextDocumentCodeAction, protocol.CodeActionParams{TextDocument: doc, Range: rg}, &actions); err == nil {
				if len(actions) == 0 {
					out.WriteString("(no actions)\n")
				}
				for _, a := range actions {
					fmt.Fprintf(&out, "%s [%s]\n", a.Title, *a.Kind)
					r.workspaceEdit(&out, a.Edit)
				}
			}
		case "documentSymbol":
			var syms []protocol.DocumentSymbol
			if err = c.call(protocol.MethodTextDocumentDocumentSymbol, protocol.DocumentSymbolParams{TextDocument: doc}, &syms); err == nil {
				r.symbols(&out, syms, "")
			}
		default:
			t.Fatalf("unknown request %q", req)
		}
		if err != nil {
			fmt.Fprintf(&out, "error: %v\n", err)
		}
	}
	return out.String()
}

// renderer prints answers for the goldens: ranges as LINE:COL-LINE:COL,
// zero-based as the protocol counts (COL in UTF-16 units), and URIs as
// paths relative to the archive's directory.
type renderer struct{ dir string }

func rangeText(r protocol.Range) string {
	return fmt.Sprintf("%d:%d-%d:%d", r.Start.Line, r.Start.Character, r.End.Line, r.End.Character)
}

func (r *renderer) rel(uri string) string {
	p, err := uriPath(uri)
	if err != nil {
		return uri
	}
	if rel, err := filepath.Rel(r.dir, p); err == nil {
		return filepath.ToSlash(rel)
	}
	return p
}

func (r *renderer) diagnostics(out *strings.Builder, p published, src string) {
	if len(p.Diagnostics) == 0 {
		out.WriteString("(no diagnostics)\n")
	}
	sevs := map[protocol.DiagnosticSeverity]string{1: "error", 2: "warning", 3: "info", 4: "hint"}
	t := newText(src)
	for _, d := range p.Diagnostics {
		code := fmt.Sprint(d.Code)
		s, e := t.offset(d.Range.Start), t.offset(d.Range.End)
		fmt.Fprintf(out, "%s %s[%s] %q: %s\n", rangeText(d.Range), sevs[*d.Severity], code, src[s:e],
			strings.ReplaceAll(d.Message, "\n", "\n    "))
		for _, ri := range d.RelatedInformation {
			fmt.Fprintf(out, "    related %s %s: %s\n", r.rel(ri.Location.URI), rangeText(ri.Location.Range), ri.Message)
		}
	}
}

func (r *renderer) hover(out *strings.Builder, h *protocol.Hover) {
	if h == nil {
		out.WriteString("null\n")
		return
	}
	var mc protocol.MarkupContent
	b, _ := json.Marshal(h.Contents)
	_ = json.Unmarshal(b, &mc)
	if h.Range != nil {
		fmt.Fprintf(out, "range %s\n", rangeText(*h.Range))
	}
	fmt.Fprintf(out, "%s\n", mc.Value)
}

func (r *renderer) locations(out *strings.Builder, locs []protocol.Location) {
	if len(locs) == 0 {
		out.WriteString("(none)\n")
	}
	for _, l := range locs {
		fmt.Fprintf(out, "%s %s\n", r.rel(l.URI), rangeText(l.Range))
	}
}

func (r *renderer) completion(out *strings.Builder, items []protocol.CompletionItem) {
	if len(items) == 0 {
		out.WriteString("(no items)\n")
	}
	for _, it := range items {
		detail := ""
		if it.Detail != nil {
			detail = " · " + *it.Detail
		}
		fmt.Fprintf(out, "%s%s\n", it.Label, detail)
	}
}

func (r *renderer) workspaceEdit(out *strings.Builder, e *protocol.WorkspaceEdit) {
	if e == nil {
		out.WriteString("null\n")
		return
	}
	var uris []string
	for u := range e.Changes {
		uris = append(uris, u)
	}
	sort.Strings(uris)
	for _, u := range uris {
		for _, te := range e.Changes[u] {
			fmt.Fprintf(out, "%s %s → %q\n", r.rel(u), rangeText(te.Range), te.NewText)
		}
	}
}

func (r *renderer) symbols(out *strings.Builder, syms []protocol.DocumentSymbol, indent string) {
	for _, s := range syms {
		detail := ""
		if s.Detail != nil {
			detail = *s.Detail
		}
		fmt.Fprintf(out, "%s%s (%s, kind %d) %s name %s\n", indent, s.Name, detail, s.Kind, rangeText(s.Range), rangeText(s.SelectionRange))
		r.symbols(out, s.Children, indent+"  ")
	}
}

// applyEdits applies non-overlapping edits to src.
func applyEdits(src string, edits []protocol.TextEdit) string {
	t := newText(src)
	sort.Slice(edits, func(i, j int) bool { return t.offset(edits[i].Range.Start) > t.offset(edits[j].Range.Start) })
	for _, e := range edits {
		src = src[:t.offset(e.Range.Start)] + e.NewText + src[t.offset(e.Range.End):]
	}
	return src
}
