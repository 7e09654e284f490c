package lsp

import (
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	protocol "github.com/tliron/glsp/protocol_3_16"

	"github.com/switchboard-dev/switchboard/compiler"
	"github.com/switchboard-dev/switchboard/diag"
	"github.com/switchboard-dev/switchboard/flowtest"
	"github.com/switchboard-dev/switchboard/lang"
)

// program is one analysis of a directory's program.
type program struct {
	dir    string
	gen    int
	files  []*fileInfo          // the .flow files, sorted by path
	tests  []*fileInfo          // the .flowtest files, with no parsed file
	byPath map[string]*fileInfo // both
	parsed []*lang.File         // in the order of files
	diags  map[string]diagList  // by path of the file they are in

	indexMu   sync.Mutex
	index     atomic.Pointer[compiler.SymbolIndex] // nil until symbols builds it
	testOnce  sync.Once
	testIndex map[string][]compiler.Ref // references in the test files, by path

	// attrs caches the attribute names of tasks and workers, by root.
	attrMu sync.Mutex
	attrs  map[string][]member
}

// fileInfo is one .flow file as an analysis saw it.
type fileInfo struct {
	path    string
	version *int32 // nil: read from the disk
	text    *text
	file    *lang.File
}

// symbols returns the program's symbol index, built on the first request
// that needs it: diagnostics and completion do without, so typing does not
// pay for it.
func (p *program) symbols() *compiler.SymbolIndex {
	if x := p.index.Load(); x != nil {
		return x
	}
	p.indexMu.Lock()
	defer p.indexMu.Unlock()
	if x := p.index.Load(); x != nil {
		return x
	}
	x := compiler.IndexSymbols(p.parsed)
	p.index.Store(x)
	return x
}

// parsedFile caches the parse of one file's text: an edit reparses the
// edited file only.
type parsedFile struct {
	src   string
	file  *lang.File
	diags diag.List
}

// diagList is a file's diagnostics with the texts of the files their
// related information points into.
type diagList []located

type located struct {
	d     *diag.Diagnostic
	texts map[string]*text
}

// program returns the analysis of dir for the documents as they are now,
// computing it when a change made the last one stale.
func (s *Server) program(dir string) *program {
	s.analyzing.Lock()
	defer s.analyzing.Unlock()
	s.mu.Lock()
	st := s.dirs[dir]
	if st == nil {
		st = &dirState{}
		s.dirs[dir] = st
	}
	if st.prog != nil && st.prog.gen == st.gen {
		s.mu.Unlock()
		return st.prog
	}
	gen := st.gen
	open := map[string]*document{}
	for p, d := range s.docs {
		if filepath.Dir(p) == dir && (isFlow(p) || isFlowTest(p)) {
			open[p] = &document{path: d.path, version: d.version, text: d.text}
		}
	}
	s.mu.Unlock()

	start := time.Now()
	prog := s.analyze(dir, gen, open)
	s.log.Printf("analyzed %s: %d files in %v", dir, len(prog.files), time.Since(start).Round(time.Microsecond))
	s.mu.Lock()
	if st.prog == nil || st.prog.gen < gen {
		st.prog = prog
	}
	s.mu.Unlock()
	return prog
}

// latest returns the last analysis of dir without waiting for a new one,
// or a fresh one when there is none: completion answers from it while the
// user types.
func (s *Server) latest(dir string) *program {
	var p *program
	s.mu.Lock()
	if st := s.dirs[dir]; st != nil {
		p = st.prog
	}
	s.mu.Unlock()
	if p != nil {
		return p
	}
	return s.program(dir)
}

func (s *Server) analyze(dir string, gen int, open map[string]*document) *program {
	prog := &program{dir: dir, gen: gen, byPath: map[string]*fileInfo{}, diags: map[string]diagList{}, attrs: map[string][]member{}}
	paths := map[string]bool{}
	for p := range open {
		paths[p] = true
	}
	if entries, err := os.ReadDir(dir); err == nil {
		for _, e := range entries {
			if (isFlow(e.Name()) || isFlowTest(e.Name())) && !strings.HasPrefix(e.Name(), ".") && !e.IsDir() {
				paths[filepath.Join(dir, e.Name())] = true
			}
		}
	}
	var parseDiags diag.List
	var files []*lang.File
	for p := range paths {
		fi := &fileInfo{path: p}
		if d := open[p]; d != nil {
			v := d.version
			fi.version, fi.text = &v, d.text
		} else {
			b, err := os.ReadFile(p)
			if err != nil {
				s.log.Printf("%v", err)
				continue
			}
			fi.text = newText(string(b))
		}
		prog.byPath[p] = fi
		if isFlowTest(p) {
			prog.tests = append(prog.tests, fi) // read for their references
			continue
		}
		pf := s.parse(p, fi.text.src)
		fi.file = pf.file
		parseDiags.Append(pf.diags)
		prog.files = append(prog.files, fi)
	}
	sort.Slice(prog.files, func(i, j int) bool { return prog.files[i].path < prog.files[j].path })
	for _, f := range prog.files {
		files = append(files, f.file)
	}
	// As lint: syntax errors stop the checking.
	all := parseDiags
	if !parseDiags.HasErrors() {
		_, all = compiler.Compile(files, compiler.Options{})
	} else {
		all.Sort()
	}
	texts := map[string]*text{}
	for _, f := range prog.files {
		texts[f.path] = f.text
	}
	for _, d := range all {
		file := d.Span.File
		if (prog.byPath[file] == nil || isFlowTest(file)) && len(prog.files) > 0 {
			file = prog.files[0].path // a problem with no position
		}
		prog.diags[file] = append(prog.diags[file], located{d: d, texts: texts})
	}
	prog.parsed = files
	return prog
}

func (s *Server) parse(path, src string) *parsedFile {
	s.mu.Lock()
	pf := s.parsed[path]
	s.mu.Unlock()
	if pf != nil && pf.src == src {
		return pf
	}
	f, list := lang.Parse(path, []byte(src))
	pf = &parsedFile{src: src, file: f, diags: list}
	s.mu.Lock()
	s.parsed[path] = pf
	s.mu.Unlock()
	return pf
}

// testDiagnostics parses an open .flowtest document.
func testDiagnostics(d *document) diagList {
	_, list := flowtest.Parse(d.path, []byte(d.text.src))
	list.Sort()
	texts := map[string]*text{d.path: d.text}
	var out diagList
	for _, x := range list {
		out = append(out, located{d: x, texts: texts})
	}
	return out
}

// lsp converts a diagnostic. The hint, which LSP has no field for, ends the
// message on a line of its own, as lint prints it below the caret.
func (l located) lsp(t *text) protocol.Diagnostic {
	d := l.d
	sev := map[diag.Severity]protocol.DiagnosticSeverity{diag.Error: protocol.DiagnosticSeverityError,
		diag.Warning: protocol.DiagnosticSeverityWarning, diag.Info: protocol.DiagnosticSeverityInformation}[d.Severity]
	source := Name
	msg := d.Msg
	if d.Hint != "" {
		msg += "\nhint: " + d.Hint
	}
	out := protocol.Diagnostic{Range: t.rangeOf(d.Span), Severity: &sev, Code: &protocol.IntegerOrString{Value: d.Code},
		Source: &source, Message: msg}
	for _, r := range d.Related {
		rt := l.texts[r.Span.File]
		if rt == nil {
			continue
		}
		out.RelatedInformation = append(out.RelatedInformation, protocol.DiagnosticRelatedInformation{
			Location: protocol.Location{URI: pathURI(r.Span.File), Range: rt.rangeOf(r.Span)}, Message: r.Msg})
	}
	return out
}

// didYouMean finds the suggestion of a hint such as "did you mean `x`?".
var didYouMean = regexp.MustCompile("did you mean `([^`]+)`\\?")
