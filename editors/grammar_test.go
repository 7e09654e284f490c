package editors

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/rogpeppe/go-internal/txtar"

	"github.com/switchboard-dev/switchboard/compiler"
	"github.com/switchboard-dev/switchboard/flowtest"
	"github.com/switchboard-dev/switchboard/lang"
)

const (
	flowGrammar     = "vscode/syntaxes/flow.tmLanguage.json"
	flowtestGrammar = "vscode/syntaxes/flowtest.tmLanguage.json"
	markdownGrammar = "vscode/syntaxes/markdown-flow.tmLanguage.json"
)

var (
	grammarsOnce sync.Once
	grammars     map[string]*grammar
	grammarsErr  error
)

// loadGrammars loads both grammars once; the flowtest grammar includes
// the flow grammar's literals and strings.
func loadGrammars(t *testing.T) (flow, flowtest *grammar) {
	t.Helper()
	grammarsOnce.Do(func() {
		grammars = map[string]*grammar{}
		for _, p := range []string{flowGrammar, flowtestGrammar, markdownGrammar} {
			if _, err := loadGrammar(p, grammars); err != nil {
				grammarsErr = fmt.Errorf("%s: %v", p, err)
				return
			}
		}
	})
	if grammarsErr != nil {
		t.Fatal(grammarsErr)
	}
	return grammars["source.flow"], grammars["source.flowtest"]
}

// source is a shipped piece of flow or flow test text.
type source struct {
	name string // file, with the section or the line of its code block
	text string
}

// shippedSources finds every .flow and .flowtest text of the repository:
// the files, the sections of txtar archives named *.flow or *.flowtest,
// the ```flow blocks of Markdown files and their untagged blocks that are
// flow tests.
func shippedSources(t *testing.T) (flows, flowtests []source) {
	t.Helper()
	root := ".."
	block := regexp.MustCompile("(?ms)^```flow\n(.*?)^```")
	untagged := regexp.MustCompile("(?ms)^```\n(.*?)^```")
	testBlock := regexp.MustCompile(`\A(?:\s*#.*\n)*test "`)
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if n := d.Name(); n == ".git" || n == "node_modules" {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() {
			return nil
		}
		rel := filepath.ToSlash(strings.TrimPrefix(path, root+string(filepath.Separator)))
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		switch ext := filepath.Ext(path); ext {
		case ".flow":
			flows = append(flows, source{rel, string(data)})
		case ".flowtest":
			flowtests = append(flowtests, source{rel, string(data)})
		case ".txtar":
			for _, f := range txtar.Parse(data).Files {
				switch filepath.Ext(f.Name) {
				case ".flow":
					flows = append(flows, source{rel + ":" + f.Name, string(f.Data)})
				case ".flowtest":
					flowtests = append(flowtests, source{rel + ":" + f.Name, string(f.Data)})
				}
			}
		case ".md":
			for _, m := range block.FindAllStringSubmatchIndex(string(data), -1) {
				line := strings.Count(string(data[:m[2]]), "\n") + 1
				flows = append(flows, source{fmt.Sprintf("%s:%d", rel, line), string(data[m[2]:m[3]])})
			}
			// Flow tests in the docs are in untagged blocks; a test
			// block is one whose first line that is no comment opens a
			// test.
			for _, m := range untagged.FindAllStringSubmatchIndex(string(data), -1) {
				if body := string(data[m[2]:m[3]]); testBlock.MatchString(body) {
					line := strings.Count(string(data[:m[2]]), "\n") + 1
					flowtests = append(flowtests, source{fmt.Sprintf("%s:%d", rel, line), body})
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return flows, flowtests
}

// scopesAt returns the scope stack of each byte of src.
func scopesAt(t *testing.T, g *grammar, name, src string) [][]string {
	t.Helper()
	toks, err := g.tokenize(src)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	at := make([][]string, len(src))
	for _, tk := range toks {
		for i := tk.Start; i < tk.End; i++ {
			at[i] = tk.Scopes
		}
	}
	return at
}

func hasScope(stack []string, prefix string) bool {
	for _, s := range stack {
		if s == prefix || strings.HasPrefix(s, prefix+".") {
			return true
		}
	}
	return false
}

func innermost(stack []string) string {
	if len(stack) == 0 {
		return ""
	}
	return stack[len(stack)-1]
}

func innermostIs(stack []string, prefixes ...string) bool {
	in := innermost(stack)
	for _, p := range prefixes {
		if in == p || strings.HasPrefix(in, p+".") {
			return true
		}
	}
	return false
}

// checker compares a grammar's scopes with the lexer's tokens of one
// source, collecting every disagreement.
type checker struct {
	t      *testing.T
	name   string
	src    string
	scopes [][]string
	errs   []string
}

func (c *checker) position(off int) string {
	line := strings.Count(c.src[:off], "\n") + 1
	col := off - strings.LastIndex(c.src[:off], "\n")
	return fmt.Sprintf("%s:%d:%d", c.name, line, col)
}

func (c *checker) failf(off int, format string, args ...any) {
	c.errs = append(c.errs, c.position(off)+": "+fmt.Sprintf(format, args...))
}

// all checks that every byte of [from, to) satisfies ok.
func (c *checker) all(from, to int, what string, ok func([]string) bool) {
	for i := from; i < to; i++ {
		if !ok(c.scopes[i]) {
			c.failf(i, "%q: want %s, got %q", c.src[from:to], what, strings.Join(c.scopes[i], " "))
			return
		}
	}
}

// want checks that the token's innermost scope starts with one of the
// prefixes.
func (c *checker) want(tok lang.Token, base int, prefixes ...string) {
	from, to := base+tok.Span.Start.Offset, base+tok.Span.End.Offset
	c.all(from, to, strings.Join(prefixes, " or "), func(s []string) bool { return innermostIs(s, prefixes...) })
}

// identScopes are what a name may be scoped as, wherever it is.
var identScopes = []string{"keyword", "storage.type", "entity.name", "variable", "constant.language", "support", "invalid.illegal.unknown-kind"}

var (
	constants     = []string{"true", "false", "nil"}
	operatorWords = []string{"and", "or", "not", "in", "matches", "contains", "startsWith", "endsWith"}
)

// lexical checks every token of src (at base in c.src) against its kind:
// the lexer is the truth. Interpolations in strings are lexed and checked
// in turn. Tokens after the first lexical error are not checked: an
// unclosed string or bracket leaves the lexer and an editor's grammar in
// different states, by design.
func (c *checker) lexical(src string, base int) []lang.Token {
	toks, diags := lang.Lex(c.name, []byte(src))
	stop := len(src)
	if len(diags) > 0 {
		stop = diags[0].Span.Start.Offset
	}
	var out []lang.Token
	var open []string
	for _, tok := range toks {
		if tok.Span.Start.Offset >= stop || tok.Kind == lang.EOF {
			break
		}
		out = append(out, tok)
		from, to := base+tok.Span.Start.Offset, base+tok.Span.End.Offset
		switch tok.Kind {
		case lang.Comment:
			c.all(from, to, "comment.line", func(s []string) bool { return hasScope(s, "comment.line") })
		case lang.String:
			c.all(from, to, "string.quoted.double", func(s []string) bool { return hasScope(s, "string.quoted.double") })
			for _, in := range interpolations(tok.Text) {
				c.all(from+in[0]-2, from+in[0], "punctuation.section.interpolation.begin", func(s []string) bool {
					return innermostIs(s, "punctuation.section.interpolation.begin")
				})
				c.lexical(tok.Text[in[0]:in[1]], from+in[0])
			}
		case lang.RawString:
			c.all(from, to, "string.quoted", func(s []string) bool { return hasScope(s, "string.quoted") })
		case lang.Number:
			c.want(tok, base, "constant.numeric.decimal", "constant.numeric.hex")
		case lang.Duration:
			c.want(tok, base, "constant.numeric.duration")
		case lang.Date:
			c.want(tok, base, "constant.numeric.date")
		case lang.Time:
			c.want(tok, base, "constant.numeric.time")
		case lang.Arrow:
			c.want(tok, base, "keyword.operator.arrow")
		case lang.DotName:
			dot := 1
			if tok.Text[0] == '?' {
				dot = 2
			}
			c.all(from, from+dot, "punctuation.accessor", func(s []string) bool { return innermostIs(s, "punctuation.accessor") })
			c.all(from+dot, to, "a member", func(s []string) bool {
				return innermostIs(s, "variable.other.property", "entity.name.function.member")
			})
		case lang.Newline:
			if tok.Text == ";" {
				c.want(tok, base, "punctuation.terminator")
			}
		case lang.Punct:
			switch tok.Text {
			case "(", "[", "{":
				open = append(open, tok.Text)
				c.want(tok, base, "punctuation.section")
			case ")", "]", "}":
				// A closer the lexer has no opener for is an error the
				// grammar may show as one.
				if n := len(open); n > 0 && open[n-1] == map[string]string{")": "(", "]": "[", "}": "{"}[tok.Text] {
					open = open[:n-1]
					c.want(tok, base, "punctuation.section")
				} else {
					c.want(tok, base, "punctuation.section", "invalid.illegal")
				}
			case ",":
				c.want(tok, base, "punctuation.separator")
			case ":":
				c.want(tok, base, "punctuation.separator", "keyword.operator.ternary")
			case "#":
				c.want(tok, base, "variable.language.pointer")
			case ";":
				c.want(tok, base, "punctuation.terminator")
			case "-":
				c.want(tok, base, "keyword.operator", "punctuation.separator.range")
			case ".", "?.":
				c.want(tok, base, "punctuation.accessor")
			default:
				c.want(tok, base, "keyword.operator")
			}
		case lang.Ident:
			switch {
			case slices.Contains(constants, tok.Text):
				c.want(tok, base, "constant.language", "support.type.property-name")
			case slices.Contains(operatorWords, tok.Text):
				c.want(tok, base, "keyword.operator.word", "support.type.property-name")
			default:
				c.want(tok, base, identScopes...)
			}
		}
	}
	return out
}

// interpolations returns the byte ranges of the expressions inside the
// ${...} of a double-quoted string token, outermost only, as the lexer
// reads them (lang/lexer.go scanStringBody).
func interpolations(s string) [][2]int {
	var out [][2]int
	for i := 1; i < len(s)-1; i++ {
		switch {
		case s[i] == '\\':
			i++
		case s[i] == '$' && i+1 < len(s) && s[i+1] == '{':
			start, depth := i+2, 1
			j := start
			for ; j < len(s) && depth > 0; j++ {
				switch s[j] {
				case '{':
					depth++
				case '}':
					depth--
				case '"', '\'', '`':
					q := s[j]
					for j++; j < len(s) && s[j] != q; j++ {
						if s[j] == '\\' && q != '`' {
							j++
						}
					}
				}
			}
			out = append(out, [2]int{start, j - 1})
			i = j - 1
		}
	}
	return out
}

func (c *checker) report() {
	c.t.Helper()
	const most = 15
	for i, e := range c.errs {
		if i == most {
			c.t.Errorf("%s: and %d more", c.name, len(c.errs)-most)
			break
		}
		c.t.Error(e)
	}
}

// TestGrammarAgreesWithLexer tokenizes every shipped flow with the
// grammar and checks each lexer token's characters against the scope its
// kind calls for, then checks the names whose role the parser knows
// (declarations, steps, kinds, properties, outcomes, targets) against the
// scopes of those roles.
func TestGrammarAgreesWithLexer(t *testing.T) {
	flowG, _ := loadGrammars(t)
	flows, _ := shippedSources(t)
	if len(flows) < 40 {
		t.Fatalf("found %d flow sources, expected the shipped ones (flows/, bench/flows, testdata, docs)", len(flows))
	}
	checked, parsed := 0, 0
	for _, s := range flows {
		c := &checker{t: t, name: s.name, src: s.text, scopes: scopesAt(t, flowG, s.name, s.text)}
		toks := c.lexical(s.text, 0)
		checked += len(toks)
		if f, diags := lang.Parse(s.name, []byte(s.text)); !diags.HasErrors() {
			parsed++
			roles(c, f)
		}
		c.report()
	}
	t.Logf("%d sources, %d tokens; the roles of names checked in the %d that parse", len(flows), checked, parsed)
}

// roles checks the names whose role the parser and the compiler's kind
// table tell: what a declaration, a step head, a block line or a target
// is, the grammar must say too.
func roles(c *checker, f *lang.File) {
	name := func(n *lang.Name, prefixes ...string) {
		if n != nil {
			c.want(lang.Token{Span: n.Span()}, 0, prefixes...)
		}
	}
	tok := func(t lang.Token, prefixes ...string) { c.want(t, 0, prefixes...) }
	target := func(t lang.Token) {
		if t.Text == "done" {
			tok(t, "constant.language.done")
		} else {
			tok(t, "entity.name.function.step")
		}
	}
	for _, d := range f.Decls {
		tok(lang.Token{Span: d.KeywordSpan()}, "storage.type."+d.Keyword)
		if d.Keyword != "worker" { // the worker schema has no name
			name(d.Name, "entity.name.type."+d.Keyword)
		}
		if d.Body == nil {
			continue
		}
		for _, it := range d.Body.Items {
			if it.Step != nil {
				step(c, it.Step, name, tok, target)
				continue
			}
			head, tail := it.Line.Head.Tokens, []lang.Token(nil)
			if it.Line.Tail != nil {
				tail = it.Line.Tail.Tokens
			}
			switch d.Keyword {
			case "flow":
				headerLine(head, tok)
			case "queue":
				for _, t := range depthZero(head) {
					switch {
					case slices.Contains([]string{"workers", "order", "max_reserved"}, t.Text):
						tok(t, "keyword.other.property")
					case slices.Contains([]string{"longest_idle", "least_busy", "round_robin"}, t.Text):
						tok(t, "support.constant.order")
					case slices.Contains([]string{"asc", "desc"}, t.Text):
						tok(t, "keyword.other.order")
					}
				}
			case "workflow":
				switch head[0].Text {
				case "when":
					tok(head[0], "keyword.control.when")
				case "default":
					tok(head[0], "keyword.control.default")
					if len(head) > 1 {
						tok(head[1], "entity.name.type.queue")
					}
				}
				workflowTargets(tail, tok)
			case "worker":
				if head[0].Is("attributes") {
					tok(head[0], "keyword.other.property")
				}
				for i := 0; i+2 < len(head); i++ {
					if head[i].Kind == lang.Ident && head[i+1].Is(":") && head[i+2].Kind == lang.Ident {
						tok(head[i], "support.type.property-name")
						if _, ok := compiler.TypeNamed(head[i+2].Text); ok {
							tok(head[i+2], "support.type")
						} else {
							tok(head[i+2], "entity.name.type")
						}
					}
				}
			case "hours":
				if head[0].Is("timezone") || head[0].Is("closed") {
					tok(head[0], "keyword.other.property")
				}
				for _, t := range head {
					if t.Kind == lang.Ident && slices.Contains([]string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"}, t.Text) {
						tok(t, "support.constant.weekday")
					}
				}
			}
		}
	}
}

// depthZero returns the names of a run outside its brackets.
func depthZero(run []lang.Token) []lang.Token {
	var out []lang.Token
	depth := 0
	for _, t := range run {
		depth += t.Nesting()
		if depth == 0 && t.Kind == lang.Ident {
			out = append(out, t)
		}
	}
	return out
}

func headerLine(head []lang.Token, tok func(lang.Token, ...string)) {
	switch head[0].Text {
	case "trigger":
		tok(head[0], "keyword.other.trigger")
		for _, t := range head[1:] {
			if slices.Contains([]compiler.Trigger{compiler.TriggerMessage, compiler.TriggerCall, compiler.TriggerAPI, compiler.TriggerSubflow}, compiler.Trigger(t.Text)) {
				tok(t, "constant.language.trigger")
			}
		}
	case "channels":
		tok(head[0], "keyword.other.channels")
		for _, t := range head[1:] {
			if t.Kind == lang.Ident && slices.Contains(compiler.KnownChannels, t.Text) {
				tok(t, "support.constant.channel")
			}
		}
	case "var", "input", "output":
		tok(head[0], "storage.type.var")
		if len(head) > 1 && head[1].Kind == lang.Ident {
			tok(head[1], "variable.other.declaration")
		}
		if len(head) > 3 && head[2].Is(":") && head[3].Kind == lang.Ident {
			if _, ok := compiler.TypeNamed(head[3].Text); ok {
				tok(head[3], "support.type")
			} else {
				tok(head[3], "entity.name.type")
			}
		}
	}
}

var types = []compiler.Type{compiler.TypeString, compiler.TypeNumber, compiler.TypeBool, compiler.TypeList, compiler.TypeMap, compiler.TypeAny}

func workflowTargets(tail []lang.Token, tok func(lang.Token, ...string)) {
	depth := 0
	for i, t := range tail {
		depth += t.Nesting()
		if depth != 0 || t.Kind != lang.Ident {
			continue
		}
		first := i == 0 || (i >= 2 && tail[i-1].Is("then") && tail[i-2].Is(","))
		switch {
		case first && t.Text == "worker":
			tok(t, "keyword.other.worker")
		case first:
			tok(t, "entity.name.type.queue")
		case t.Text == "then" && i > 0 && tail[i-1].Is(","):
			tok(t, "keyword.control.then")
		case t.Text == "timeout" || t.Text == "priority":
			tok(t, "keyword.other.property")
		}
	}
}

// referenceScopes are the scopes of a step's argument that names a
// declaration or a function.
var referenceScopes = map[string]string{"enqueue": "entity.name.type.workflow", "subflow": "entity.name.type.flow", "function": "entity.name.function.call"}

func step(c *checker, s *lang.Step, name func(*lang.Name, ...string), tok func(lang.Token, ...string), target func(lang.Token)) {
	name(s.Name, "entity.name.function.step")
	k, known := compiler.KindNamed(s.Kind.Value)
	if !known {
		name(s.Kind, "invalid.illegal.unknown-kind")
		return
	}
	name(s.Kind, "keyword.control.kind")
	if sc, ok := referenceScopes[s.Kind.Value]; ok && s.Args != nil && s.Args.Tokens[0].Kind == lang.Ident {
		tok(s.Args.Tokens[0], sc)
	}
	if s.Next != nil {
		target(lang.Token{Text: s.Next.Value, Span: s.Next.Span()})
	}
	if s.Block == nil {
		return
	}
	spec := k.Spec()
	for _, it := range s.Block.Items {
		if it.Line == nil {
			continue
		}
		head := it.Line.Head.Tokens
		key := head[0]
		if it.Line.Tail != nil {
			if tail := it.Line.Tail.Tokens; len(tail) == 1 && tail[0].Kind == lang.Ident {
				target(tail[0])
			}
		}
		if key.Kind != lang.Ident {
			continue
		}
		// The compiler's reading of a line (compiler/steps.go decodeLine).
		isOutcome := slices.ContainsFunc(spec.Outcomes, func(o compiler.OutcomeSpec) bool { return o.Outcome.String() == key.Text })
		isProp := slices.ContainsFunc(spec.Props, func(p compiler.Prop) bool { return p.Name == key.Text })
		switch {
		case len(head) == 1 && isOutcome && it.Line.Tail != nil:
			tok(key, "support.constant.outcome")
		case isProp && !(spec.Guards && looksLikeGuard(head)):
			tok(key, "keyword.other.property")
		}
	}
}

// looksLikeGuard is compiler/steps.go's: a property name followed by an
// operator starts a condition.
func looksLikeGuard(head []lang.Token) bool {
	if len(head) < 2 {
		return false
	}
	switch head[1].Kind {
	case lang.DotName:
		return true
	case lang.Punct:
		return head[1].Text != "(" && head[1].Text != "[" && head[1].Text != "{"
	case lang.Ident:
		return slices.Contains(operatorWords, head[1].Text)
	}
	return false
}

// TestFlowtestGrammarAgreesWithLexer does the same for every shipped flow
// test: the lexer is the flow language's, and each line of a test starts
// with a command.
func TestFlowtestGrammarAgreesWithLexer(t *testing.T) {
	_, testG := loadGrammars(t)
	_, tests := shippedSources(t)
	if len(tests) < 5 {
		t.Fatalf("found %d flow test sources, expected the shipped ones (flows/*.flowtest, cli/testdata)", len(tests))
	}
	checked, parsed := 0, 0
	for _, s := range tests {
		c := &checker{t: t, name: s.name, src: s.text, scopes: scopesAt(t, testG, s.name, s.text)}
		toks := c.lexical(s.text, 0)
		checked += len(toks)
		if _, diags := flowtest.Parse(s.name, []byte(s.text)); !diags.HasErrors() {
			parsed++
			commands(c, toks)
		}
		c.report()
	}
	t.Logf("%d sources, %d tokens; commands checked in the %d that parse", len(tests), checked, parsed)
}

// commands checks the words of flow test lines whose role is fixed by
// their place (flowtest/parse.go): `test`, the command that starts each
// line of a test, what `expect` checks, what `mock` answers and for which
// step, a task's outcome and the flow under test.
func commands(c *checker, toks []lang.Token) {
	var line []lang.Token
	depth, lineDepth := 0, 0
	flush := func() {
		defer func() { line = line[:0] }()
		if len(line) == 0 || line[0].Kind != lang.Ident {
			return
		}
		first := line[0]
		if lineDepth == 0 {
			if first.Text == "test" {
				c.want(first, 0, "storage.type.test")
			}
			return
		}
		c.want(first, 0, "keyword.control.command")
		if len(line) < 2 || line[1].Kind != lang.Ident {
			return
		}
		switch first.Text {
		case "expect":
			c.want(line[1], 0, "keyword.other.expect")
			if len(line) > 2 && line[2].Is("matches") {
				c.want(line[2], 0, "keyword.operator.word")
			}
		case "mock":
			c.want(line[1], 0, "keyword.other.mock")
			if len(line) > 2 && line[2].Kind == lang.Ident {
				c.want(line[2], 0, "entity.name.function.step")
			}
		case "task":
			c.want(line[1], 0, "support.constant.outcome")
		case "flow":
			c.want(line[1], 0, "entity.name.type.flow")
		}
	}
	for _, t := range toks {
		switch {
		case t.Kind == lang.Comment:
		case t.Kind == lang.Newline:
			if depth == lineDepth {
				flush()
			}
		default:
			if len(line) == 0 {
				lineDepth = depth
			}
			if depth == lineDepth && !(t.Is("{") && len(line) > 0 && line[0].Is("test")) {
				line = append(line, t)
			}
			depth += t.Nesting()
			if t.Is("{") && len(line) > 0 && line[0].Is("test") && depth == 1 {
				// The test's block opens: its lines start after it.
				flush()
			}
		}
	}
	flush()
}
