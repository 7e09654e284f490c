package compiler

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/switchboard-dev/switchboard/diag"
	"github.com/switchboard-dev/switchboard/lang"
)

// Options configure Compile. The zero value is the default.
type Options struct {
	// Functions, when not nil, lists the function names `function` steps
	// may call; others are errors. Nil accepts any name (the runtime's
	// registry decides).
	Functions []string
	// Channels, when not nil, replaces KnownChannels.
	Channels []string
}

// Source is one file to compile.
type Source struct {
	Name string
	Src  []byte
}

// CompileSources parses and compiles the files as one program. Syntax
// errors in any file stop the checking (all of them are reported).
func CompileSources(sources []Source, opts Options) (*Program, diag.List) {
	var files []*lang.File
	var diags diag.List
	for _, s := range sources {
		f, d := lang.Parse(s.Name, s.Src)
		diags.Append(d)
		files = append(files, f)
	}
	if diags.HasErrors() {
		diags.Sort()
		return nil, diags
	}
	return Compile(files, opts)
}

// Compile checks the parsed files as one program and lowers them to a
// state machine. It returns every problem it finds, sorted; the Program is
// nil when any of them is an error.
func Compile(files []*lang.File, opts Options) (prog *Program, diags diag.List) {
	c := &compiler{
		opts:      opts,
		sources:   map[string][]byte{},
		lines:     map[string][]int{},
		texts:     map[string]string{},
		prog:      &Program{flows: map[string]*Flow{}, queues: map[string]*Queue{}, workflows: map[string]*Workflow{}, hours: map[string]*Hours{}},
		used:      map[string]bool{},
		usedDecls: map[string]bool{},
	}
	defer func() {
		if r := recover(); r != nil {
			var at diag.Span
			if len(files) > 0 {
				at = diag.Span{File: files[0].Name, Start: diag.Pos{Offset: 0, Line: 1, Col: 1}, End: diag.Pos{Offset: 0, Line: 1, Col: 1}}
			}
			c.diags.Errorf("E0100", at, "internal compiler error: %v", r).WithHint("please report this program as a bug")
			prog, diags = nil, c.diags
		}
	}()
	h := sha256.New()
	h.Write([]byte(Version))
	sorted := append([]*lang.File(nil), files...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Name < sorted[j].Name })
	for _, f := range sorted {
		c.sources[f.Name] = f.Src
		c.lines[f.Name] = lineStarts(f.Src)
		c.texts[f.Name] = string(f.Src)
		fmt.Fprintf(h, "\x00%s\x00%d\x00", f.Name, len(f.Src))
		h.Write(f.Src)
	}
	c.run(sorted)
	if c.diags.HasErrors() {
		// Warnings about unused or unreachable things are mostly echoes
		// of the errors (a misspelt target leaves its step unreachable);
		// they come back once the errors are fixed.
		errs := c.diags[:0]
		for _, d := range c.diags {
			if d.Severity == diag.Error {
				errs = append(errs, d)
			}
		}
		c.diags = errs
	}
	c.diags.Sort()
	if c.diags.HasErrors() {
		return nil, c.diags
	}
	c.prog.Version = hex.EncodeToString(h.Sum(nil))[:16]
	return c.prog, c.diags
}

type compiler struct {
	opts    Options
	diags   diag.List
	sources map[string][]byte
	lines   map[string][]int
	texts   map[string]string // sources as strings: expression sources are slices of them
	prog    *Program

	declared  map[string]map[string]diag.Span // keyword → name → where
	used      map[string]bool                 // identifiers read by any expression
	usedDecls map[string]bool                 // "queue:x", "hours:x", "workflow:x", "flow:x"
	hoursEnv  map[string]any
	worker    *workerSchema // nil: the program declares no worker schema

	low lowering // reused by compileStep
}

func lineStarts(src []byte) []int {
	starts := []int{0}
	for i, b := range src {
		if b == '\n' {
			starts = append(starts, i+1)
		}
	}
	return starts
}

func (c *compiler) posAt(file string, off int) diag.Pos {
	starts := c.lines[file]
	src := c.sources[file]
	line := sort.Search(len(starts), func(i int) bool { return starts[i] > off }) - 1
	if line < 0 {
		line = 0
	}
	col := 1 + len([]rune(string(src[starts[line]:min(off, len(src))])))
	return diag.Pos{Offset: off, Line: line + 1, Col: col}
}

func (c *compiler) span(file string, start, end int) diag.Span {
	return diag.Span{File: file, Start: c.posAt(file, start), End: c.posAt(file, end)}
}

func runSpan(toks []lang.Token) diag.Span {
	return toks[0].Span.Join(toks[len(toks)-1].Span)
}

func (c *compiler) run(files []*lang.File) {
	var flows, queues, workflows, hours, workers []*lang.Decl
	c.declared = map[string]map[string]diag.Span{}
	for _, f := range files {
		for _, d := range f.Decls {
			names := c.declared[d.Keyword]
			if names == nil {
				names = map[string]diag.Span{}
				c.declared[d.Keyword] = names
			}
			if first, dup := names[d.Name.Value]; dup {
				msg := d.Keyword + " " + diag.Quote(d.Name.Value) + " is declared twice"
				if d.Keyword == lang.KeywordWorker {
					msg = "the worker schema is declared twice"
				}
				c.diags.Errorf("E0201", d.Name.Span(), "%s", msg).WithRelated(first, "first declared here")
				continue
			}
			names[d.Name.Value] = d.Name.Span()
			switch d.Keyword {
			case "flow":
				flows = append(flows, d)
			case "queue":
				queues = append(queues, d)
			case "workflow":
				workflows = append(workflows, d)
			case "hours":
				hours = append(hours, d)
			case lang.KeywordWorker:
				workers = append(workers, d)
			}
		}
	}
	c.hoursEnv = map[string]any{}
	for _, d := range hours {
		if reservedNames[d.Name.Value] {
			c.diags.Errorf("E0208", d.Name.Span(), "%s is a reserved name", diag.Quote(d.Name.Value))
		}
		if h := c.hours(d); h != nil {
			c.prog.Hours = append(c.prog.Hours, h)
			c.prog.hours[h.Name] = h
		}
		c.hoursEnv[d.Name.Value] = HoursRef{Name: d.Name.Value}
	}
	for _, d := range workers {
		c.worker = c.workerSchema(d)
	}
	for _, d := range queues {
		if q := c.queue(d); q != nil {
			c.prog.Queues = append(c.prog.Queues, q)
			c.prog.queues[q.Name] = q
		}
	}
	for _, d := range workflows {
		if w := c.workflow(d); w != nil {
			c.prog.Workflows = append(c.prog.Workflows, w)
			c.prog.workflows[w.Name] = w
		}
	}
	// Flows in two passes: headers first, so a subflow step can check
	// the inputs of a flow declared later.
	drafts := make([]*flowDraft, 0, len(flows))
	byName := map[string]*flowDraft{}
	for _, d := range flows {
		fd := c.flowHeader(d)
		drafts = append(drafts, fd)
		byName[fd.flow.Name] = fd
	}
	c.flowBodies(drafts, byName)
	for _, fd := range drafts {
		c.prog.Flows = append(c.prog.Flows, fd.flow)
		c.prog.flows[fd.flow.Name] = fd.flow
	}
	c.checkSubflowRecursion(drafts, byName)
	c.checkAttributes(drafts)
	c.unused(drafts, queues, workflows, hours)
}

// flowBodies compiles the flows' steps, several at a time: a flow's body
// depends only on the declarations and the flow headers, so each runs on a
// compiler of its own whose findings are merged in declaration order.
func (c *compiler) flowBodies(drafts []*flowDraft, byName map[string]*flowDraft) {
	children := make([]*compiler, len(drafts))
	work := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < min(runtime.GOMAXPROCS(0), len(drafts)); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				child := &compiler{opts: c.opts, sources: c.sources, lines: c.lines, texts: c.texts, prog: c.prog,
					declared: c.declared, hoursEnv: c.hoursEnv, used: map[string]bool{}, usedDecls: map[string]bool{}}
				func() {
					defer func() {
						if r := recover(); r != nil {
							child.diags.Errorf("E0100", drafts[i].flow.Span, "internal compiler error: %v", r).
								WithHint("please report this program as a bug")
						}
					}()
					child.flowBody(drafts[i], byName)
				}()
				children[i] = child
			}
		}()
	}
	for i := range drafts {
		work <- i
	}
	close(work)
	wg.Wait()
	for _, child := range children {
		c.diags.Append(child.diags)
		for k := range child.used {
			c.used[k] = true
		}
		for k := range child.usedDecls {
			c.usedDecls[k] = true
		}
	}
}

// ---- helpers over token runs ----

// splitTop splits toks at commas outside brackets.
func splitTop(toks []lang.Token, sep string) [][]lang.Token {
	var out [][]lang.Token
	depth, start := 0, 0
	for i, t := range toks {
		depth += t.Nesting()
		if depth == 0 && t.Kind == lang.Punct && t.Text == sep {
			out = append(out, toks[start:i])
			start = i + 1
		}
	}
	return append(out, toks[start:])
}

// indexTop returns the index of the first name token in toks that is one
// of words, outside brackets, or -1.
func indexTop(toks []lang.Token, words ...string) int {
	depth := 0
	for i, t := range toks {
		depth += t.Nesting()
		if depth == 0 && t.Kind == lang.Ident {
			for _, w := range words {
				if t.Text == w {
					return i
				}
			}
		}
	}
	return -1
}

func (c *compiler) duration(toks []lang.Token, what string, at diag.Span) (time.Duration, bool) {
	if len(toks) == 0 {
		c.diags.Errorf("E0313", at, "%s needs a duration", what).WithHint("write it like 30s, 5m or 1h30m")
		return 0, false
	}
	if len(toks) != 1 || toks[0].Kind != lang.Duration {
		c.diags.Errorf("E0313", runSpan(toks), "%s must be a duration, not %s", what, diag.Quote(lang.RunText(toks))).
			WithHint("write it like 30s, 5m or 1h30m")
		return 0, false
	}
	d, err := time.ParseDuration(toks[0].Text)
	if err != nil || d <= 0 {
		c.diags.Errorf("E0313", toks[0].Span, "invalid duration %s", diag.Quote(toks[0].Text))
		return 0, false
	}
	return d, true
}

func (c *compiler) name(toks []lang.Token, what string, at diag.Span) (lang.Token, bool) {
	if len(toks) == 0 {
		c.diags.Errorf("E0309", at, "expected %s", what)
		return lang.Token{}, false
	}
	if len(toks) != 1 || toks[0].Kind != lang.Ident {
		c.diags.Errorf("E0309", runSpan(toks), "expected %s, found %s", what, diag.Quote(lang.RunText(toks)))
		return lang.Token{}, false
	}
	return toks[0], true
}

func (c *compiler) int(toks []lang.Token, what string, at diag.Span) (int, bool) {
	if len(toks) != 1 || toks[0].Kind != lang.Number {
		sp := at
		if len(toks) > 0 {
			sp = runSpan(toks)
		}
		c.diags.Errorf("E0309", sp, "%s must be a whole number", what)
		return 0, false
	}
	n, err := strconv.Atoi(strings.ReplaceAll(toks[0].Text, "_", ""))
	if err != nil || n < 0 {
		c.diags.Errorf("E0309", toks[0].Span, "%s must be a whole number", what)
		return 0, false
	}
	return n, true
}

func lineTokens(l *lang.Line) (head, tail []lang.Token) {
	head = l.Head.Tokens
	if l.Tail != nil {
		tail = l.Tail.Tokens
	}
	return
}

func (c *compiler) noTail(l *lang.Line, what string) bool {
	if l.Tail != nil {
		c.diags.Errorf("E0308", runSpan(l.Tail.Tokens), "%s takes no `-> target`", what)
		return false
	}
	return true
}
