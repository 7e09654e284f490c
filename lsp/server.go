// Package lsp is the language server of .flow programs (`switchboard lsp`):
// diagnostics as the user types, hover, go to definition, references,
// completion, rename, document symbols, formatting and quick fixes, spoken
// over the Language Server Protocol with glsp.
//
// It sits on top of the language: it parses with lang, checks with the
// compiler (the diagnostics are lint's, code for code) and finds names with
// the compiler's symbol index, and it reads .flowtest files with flowtest's
// parser. A document belongs to the program of its directory, all the .flow
// files directly in it, as `switchboard lint DIR` loads them: open
// documents as the editor holds them, the others from the disk.
//
// Requests run one at a time in the order they arrive (glsp's jsonrpc2
// connection reads them that way). Analyses are cached per directory and
// redone when a document of the directory changed; diagnostics are
// published from a timer a little after the last change, so a burst of
// keystrokes costs one compile.
package lsp

import (
	"fmt"
	"io"
	"log"
	"net/url"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"github.com/tliron/glsp"
	protocol "github.com/tliron/glsp/protocol_3_16"
	glspserver "github.com/tliron/glsp/server"
)

// Name is the server's name in the initialize answer.
const Name = "switchboard"

// Options configure a Server. The zero value is the default.
type Options struct {
	// Debounce is how long diagnostics wait after a change for the next
	// one. Zero is DefaultDebounce; a negative value publishes at once.
	Debounce time.Duration
	// Log receives a line per message from the client (its duration or
	// its error) and per analysis; nil discards them. It must not be the
	// protocol's stream.
	Log io.Writer
	// Version is reported in the initialize answer.
	Version string
}

// DefaultDebounce is the wait after a change before diagnostics: about
// the gap between two keystrokes of a fast typist.
const DefaultDebounce = 75 * time.Millisecond

// Server is a language server. Its methods are safe for concurrent use.
type Server struct {
	opts    Options
	log     *log.Logger
	handler protocol.Handler
	glsp    *glspserver.Server

	mu     sync.Mutex
	docs   map[string]*document // open documents by path
	dirs   map[string]*dirState // by directory
	notify glsp.NotifyFunc
	roots  []string               // the workspace's directories
	parsed map[string]*parsedFile // by path: the last parse of each file

	analyzing  sync.Mutex // one analysis at a time
	publishing sync.Mutex // one directory's diagnostics at a time
}

// document is an open document.
type document struct {
	path    string
	version int32
	text    *text
}

// dirState is what the server knows of one directory's program.
type dirState struct {
	gen       int      // bumped by every change to a file of the directory
	prog      *program // the last analysis, possibly older than gen
	timer     *time.Timer
	published int             // gen of the analysis last published
	files     map[string]bool // the .flow files it published
}

// New returns a server; serve it with RunStdio.
func New(opts Options) *Server {
	if opts.Debounce == 0 {
		opts.Debounce = DefaultDebounce
	}
	out := opts.Log
	if out == nil {
		out = io.Discard
	}
	s := &Server{opts: opts, log: log.New(out, "lsp: ", log.LstdFlags|log.Lmicroseconds),
		docs: map[string]*document{}, dirs: map[string]*dirState{}, parsed: map[string]*parsedFile{}}
	s.handler = protocol.Handler{
		Initialize:                 s.initialize,
		Initialized:                s.initialized,
		Shutdown:                   func(*glsp.Context) error { return nil },
		SetTrace:                   func(*glsp.Context, *protocol.SetTraceParams) error { return nil },
		TextDocumentDidOpen:        s.didOpen,
		TextDocumentDidChange:      s.didChange,
		TextDocumentDidClose:       s.didClose,
		TextDocumentDidSave:        func(*glsp.Context, *protocol.DidSaveTextDocumentParams) error { return nil },
		TextDocumentHover:          s.hover,
		TextDocumentDefinition:     s.definition,
		TextDocumentReferences:     s.references,
		TextDocumentCompletion:     s.completion,
		TextDocumentRename:         s.rename,
		TextDocumentPrepareRename:  s.prepareRename,
		TextDocumentFormatting:     s.formatting,
		TextDocumentCodeAction:     s.codeAction,
		TextDocumentDocumentSymbol: s.documentSymbol,
		WorkspaceDidChangeWatchedFiles: func(_ *glsp.Context, p *protocol.DidChangeWatchedFilesParams) error {
			for _, ch := range p.Changes {
				if path, err := uriPath(ch.URI); err == nil && (isFlow(path) || isFlowTest(path)) {
					s.changed(path) // a file changed on disk, or was created or deleted
				}
			}
			return nil
		},
	}
	s.glsp = glspserver.NewServer(guarded{s}, Name, false)
	return s
}

// guarded runs the protocol handler, logging each message with its
// duration and answering a panic with an error instead of ending the
// session.
type guarded struct{ s *Server }

func (g guarded) Handle(ctx *glsp.Context) (r any, validMethod, validParams bool, err error) {
	start := time.Now()
	defer func() {
		if p := recover(); p != nil {
			g.s.log.Printf("internal error in %s: %v\n%s", ctx.Method, p, debug.Stack())
			r, validMethod, validParams, err = nil, true, true, fmt.Errorf("internal error in %s: %v", ctx.Method, p)
		}
		if err != nil {
			g.s.log.Printf("%s: %v", ctx.Method, err)
		} else {
			g.s.log.Printf("%s in %v", ctx.Method, time.Since(start).Round(time.Microsecond))
		}
	}()
	return g.s.handler.Handle(ctx)
}

// RunStdio serves one client on standard input and output until it
// disconnects.
func (s *Server) RunStdio() error { return s.glsp.RunStdio() }

// serveWebSocket serves one client on a WebSocket: the tests' transport,
// which reaches the same handler as standard input and output.
func (s *Server) serveWebSocket(c *websocket.Conn) { s.glsp.ServeWebSocket(c) }

func (s *Server) initialize(ctx *glsp.Context, p *protocol.InitializeParams) (any, error) {
	var roots []string
	if p.RootURI != nil {
		if dir, err := uriPath(*p.RootURI); err == nil {
			roots = append(roots, dir)
		}
	}
	for _, f := range p.WorkspaceFolders {
		if dir, err := uriPath(f.URI); err == nil && !slices.Contains(roots, dir) {
			roots = append(roots, dir)
		}
	}
	s.mu.Lock()
	s.notify = ctx.Notify
	s.roots = roots
	s.mu.Unlock()
	caps := s.handler.CreateServerCapabilities()
	// Incremental: a keystroke in a large file costs its range, not the
	// JSON of the whole text both ways.
	incremental := protocol.TextDocumentSyncKindIncremental
	open := true
	caps.TextDocumentSync = protocol.TextDocumentSyncOptions{OpenClose: &open, Change: &incremental}
	caps.CompletionProvider = &protocol.CompletionOptions{TriggerCharacters: []string{".", ">", ":"}}
	caps.RenameProvider = protocol.RenameOptions{PrepareProvider: &open}
	caps.CodeActionProvider = protocol.CodeActionOptions{CodeActionKinds: []protocol.CodeActionKind{protocol.CodeActionKindQuickFix}}
	version := s.opts.Version
	return protocol.InitializeResult{Capabilities: caps,
		ServerInfo: &protocol.InitializeResultServerInfo{Name: Name, Version: &version}}, nil
}

// initialized publishes the diagnostics of the workspace's programs:
// the root's and each workspace folder's, when they hold .flow files, so
// the problems of a program show before any of its files is opened.
func (s *Server) initialized(ctx *glsp.Context, _ *protocol.InitializedParams) error {
	s.mu.Lock()
	roots := s.roots
	s.mu.Unlock()
	for _, dir := range roots {
		if files, _ := filepath.Glob(filepath.Join(dir, "*.flow")); len(files) > 0 {
			s.changed(files[0])
		}
	}
	return nil
}

func (s *Server) didOpen(ctx *glsp.Context, p *protocol.DidOpenTextDocumentParams) error {
	path, err := uriPath(p.TextDocument.URI)
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.notify = ctx.Notify
	s.docs[path] = &document{path: path, version: p.TextDocument.Version, text: newText(p.TextDocument.Text)}
	s.changedLocked(path)
	s.mu.Unlock()
	return nil
}

func (s *Server) didChange(ctx *glsp.Context, p *protocol.DidChangeTextDocumentParams) error {
	path, err := uriPath(p.TextDocument.URI)
	if err != nil {
		return err
	}
	s.mu.Lock()
	doc := s.docs[path]
	if doc == nil {
		s.mu.Unlock()
		return fmt.Errorf("%s is not open", p.TextDocument.URI)
	}
	for _, ch := range p.ContentChanges {
		switch ch := ch.(type) {
		case protocol.TextDocumentContentChangeEventWhole:
			doc.text = newText(ch.Text)
		case protocol.TextDocumentContentChangeEvent:
			start, end := doc.text.offset(ch.Range.Start), doc.text.offset(ch.Range.End)
			doc.text = newText(doc.text.src[:start] + ch.Text + doc.text.src[max(start, end):])
		}
	}
	doc.version = p.TextDocument.Version
	s.changedLocked(path)
	s.mu.Unlock()
	return nil
}

func (s *Server) didClose(ctx *glsp.Context, p *protocol.DidCloseTextDocumentParams) error {
	path, err := uriPath(p.TextDocument.URI)
	if err != nil {
		return err
	}
	s.mu.Lock()
	delete(s.docs, path)
	s.changedLocked(path)
	s.mu.Unlock()
	if isFlowTest(path) {
		s.publish(path, nil, nil, nil) // its diagnostics go with it
	}
	return nil
}

// openText returns the text of an open document, or nil.
func (s *Server) openText(path string) *text {
	s.mu.Lock()
	defer s.mu.Unlock()
	if d := s.docs[path]; d != nil {
		return d.text
	}
	return nil
}

// changed marks the program of path's directory stale and schedules its
// diagnostics.
func (s *Server) changed(path string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.changedLocked(path)
}

// changedLocked is changed with s.mu held. An editor's change and the
// new generation go together: an analysis that sees the new text never
// carries the old generation, so it is not published again under the
// new one.
func (s *Server) changedLocked(path string) {
	dir := filepath.Dir(path)
	st := s.dirs[dir]
	if st == nil {
		st = &dirState{}
		s.dirs[dir] = st
	}
	st.gen++
	if st.timer != nil {
		st.timer.Stop()
	}
	run := func() { s.publishDir(dir) }
	if s.opts.Debounce < 0 {
		st.timer = nil
		go run()
		return
	}
	st.timer = time.AfterFunc(s.opts.Debounce, run)
}

// publishDir analyzes a directory, unless a newer change is on its way,
// and publishes the diagnostics of its files and of its open test files.
func (s *Server) publishDir(dir string) {
	defer s.recoverTo("diagnostics of " + dir)
	prog := s.program(dir)
	// Publications of one directory go out whole and in order: an older
	// analysis that finishes late does not overwrite a newer one's. Nor is
	// one analysis published twice: a run scheduled by an earlier change
	// gets the cached analysis of a later one, already published, and its
	// copies would arrive after the editor's next change.
	s.publishing.Lock()
	defer s.publishing.Unlock()
	s.mu.Lock()
	st := s.dirs[dir]
	if prog.gen <= st.published {
		s.mu.Unlock()
		return
	}
	st.published = prog.gen
	gone := st.files
	st.files = map[string]bool{}
	for _, f := range prog.files {
		st.files[f.path] = true
		delete(gone, f.path)
	}
	var tests []*document
	for _, d := range s.docs {
		if filepath.Dir(d.path) == dir && isFlowTest(d.path) {
			tests = append(tests, &document{path: d.path, version: d.version, text: d.text}) // a change may follow
		}
	}
	s.mu.Unlock()
	slices.SortFunc(tests, func(a, b *document) int { return strings.Compare(a.path, b.path) })
	for _, f := range prog.files {
		s.publish(f.path, f.version, f.text, prog.diags[f.path])
	}
	for path := range gone {
		s.publish(path, nil, nil, nil) // deleted: its problems go with it
	}
	for _, d := range tests {
		v := d.version
		s.publish(d.path, &v, d.text, testDiagnostics(d))
	}
}

// recoverTo turns a panic of the server's own code into a log line: one
// bad document must not end the session.
func (s *Server) recoverTo(what string) {
	if r := recover(); r != nil {
		s.log.Printf("internal error in %s: %v\n%s", what, r, debug.Stack())
	}
}

func (s *Server) publish(path string, version *int32, t *text, list diagList) {
	s.mu.Lock()
	notify := s.notify
	s.mu.Unlock()
	if notify == nil {
		return
	}
	params := protocol.PublishDiagnosticsParams{URI: pathURI(path), Diagnostics: []protocol.Diagnostic{}}
	if version != nil {
		v := protocol.UInteger(*version)
		params.Version = &v
	}
	for _, d := range list {
		params.Diagnostics = append(params.Diagnostics, d.lsp(t))
	}
	notify(protocol.ServerTextDocumentPublishDiagnostics, params)
}

// ---- URIs ----

func uriPath(uri string) (string, error) {
	u, err := url.Parse(uri)
	if err != nil {
		return "", fmt.Errorf("bad document URI %q: %v", uri, err)
	}
	if u.Scheme != "file" {
		return "", fmt.Errorf("document URI %q: only file: URIs name a program's files", uri)
	}
	p := u.Path
	if runtime.GOOS == "windows" && len(p) > 2 && p[0] == '/' && p[2] == ':' {
		p = p[1:] // file:///C:/flows/a.flow
	}
	return filepath.FromSlash(p), nil
}

func pathURI(path string) string {
	p := filepath.ToSlash(path)
	if !strings.HasPrefix(p, "/") {
		p = "/" + p // a Windows drive letter
	}
	return (&url.URL{Scheme: "file", Path: p}).String()
}

func isFlowTest(path string) bool { return strings.HasSuffix(path, ".flowtest") }
func isFlow(path string) bool     { return strings.HasSuffix(path, ".flow") }
