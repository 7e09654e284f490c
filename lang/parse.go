// Package lang is the front end of the flow language: a hand-written
// lexer, a participle grammar whose structs are the AST, the formatter, and
// parse errors phrased for the person who wrote the file.
//
// Parsing works in chunks so one run reports many errors: the token stream
// is split at top-level declarations (a keyword at the start of a line),
// brackets are matched with an eye on indentation so an unclosed `{` is
// reported where it was opened, and each chunk is parsed alone. A chunk that
// fails is split again at its step lines (`name:` at the start of a line)
// to find the errors in later steps.
package lang

import (
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/alecthomas/participle/v2"
	"github.com/alecthomas/participle/v2/lexer"

	"github.com/switchboard-dev/switchboard/diag"
)

var errNoMatch = participle.NextMatch

var debugParse = false

// definition adapts pre-lexed tokens to participle.
type definition struct{}

func (definition) Symbols() map[string]lexer.TokenType { return symbols() }

func (definition) Lex(string, io.Reader) (lexer.Lexer, error) {
	return nil, errors.New("lang: lex through Parse")
}

// sliceLexer feeds pre-lexed tokens to participle, converting each as it
// is read so the chunk's tokens are copied once (into the PeekingLexer).
type sliceLexer struct {
	toks []Token
	i    int
	eof  lexer.Token
}

func (l *sliceLexer) Next() (lexer.Token, error) {
	if l.i >= len(l.toks) {
		return l.eof, nil
	}
	t := l.toks[l.i]
	l.i++
	return lexer.Token{Type: lexer.TokenType(t.Kind), Value: t.Text, Pos: toLexerPos(t.Span.File, t.Span.Start)}, nil
}

var (
	declParser = participle.MustBuild[Decl](participle.Lexer(definition{}), participle.UseLookahead(2), participle.Elide("Comment"))
)

// Keywords that start a top-level declaration.
var declKeywords = map[string]bool{"flow": true, "queue": true, "workflow": true, "hours": true, "worker": true}

// declList names the declarations for messages.
const declList = "flow, queue, workflow, hours or worker"

// KeywordWorker starts the worker schema, the one declaration without a
// name.
const KeywordWorker = "worker"

// Parse parses one file. The returned File holds every declaration that
// parsed; the list holds every lexical and syntax error found.
func Parse(filename string, src []byte) (f *File, diags diag.List) {
	f = &File{Name: filename, Src: src}
	defer func() {
		if r := recover(); r != nil {
			diags.Errorf("E0100", diag.Span{File: filename, Start: diag.Pos{Offset: 0, Line: 1, Col: 1}},
				"internal parser error: %v", r).WithHint("please report this file as a bug")
		}
	}()
	toks, diags := Lex(filename, src)
	for _, t := range toks {
		if t.Kind == Comment {
			f.Comments = append(f.Comments, t)
		}
	}
	// Declarations parse independently, so large files use every core.
	chunks := splitDecls(toks)
	decls := make([]*Decl, len(chunks))
	errs := make([]diag.List, len(chunks))
	workers := min(runtime.GOMAXPROCS(0), len(chunks)/8+1)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() {
				if r := recover(); r != nil {
					errs[w] = append(errs[w], &diag.Diagnostic{Severity: diag.Error, Code: "E0100",
						Span: diag.Span{File: filename, Start: diag.Pos{Line: 1, Col: 1}},
						Msg:  fmt.Sprintf("internal parser error: %v", r), Hint: "please report this file as a bug"})
				}
			}()
			for i := w; i < len(chunks); i += workers {
				decls[i], errs[i] = parseChunk(chunks[i])
			}
		}()
	}
	wg.Wait()
	for i := range chunks {
		diags.Append(errs[i])
		if decls[i] != nil {
			f.Decls = append(f.Decls, decls[i])
		}
	}
	diags.Sort()
	return f, diags
}

// startsDecl reports whether toks[i] is a declaration keyword. `worker`
// is one only before `{`: elsewhere it is the name queues read, which may
// start a line inside brackets.
func startsDecl(toks []Token, i int) bool {
	t := toks[i]
	if t.Kind != Ident || !declKeywords[t.Text] {
		return false
	}
	return t.Text != KeywordWorker || (i+1 < len(toks) && toks[i+1].Is("{"))
}

// significant reports whether t matters for structure (not a comment).
func significant(t Token) bool { return t.Kind != Comment }

// splitDecls cuts the stream before every declaration keyword that starts a
// line in column 1, or at bracket depth 0. Tokens between declarations that
// are not newlines or comments end up in a chunk of their own and are
// reported by the parser as stray.
func splitDecls(toks []Token) [][]Token {
	var chunks [][]Token
	start, depth := 0, 0
	lineStart := true
	for i, t := range toks {
		if t.Kind == EOF {
			break
		}
		if lineStart && i > start && ((depth == 0 && t.Kind != Newline && t.Kind != Comment) || (startsDecl(toks, i) && t.Span.Start.Col == 1)) {
			chunks = append(chunks, toks[start:i])
			start, depth = i, 0
		}
		depth += t.Nesting()
		if significant(t) {
			lineStart = t.Kind == Newline
		}
	}
	chunks = append(chunks, toks[start:len(toks)-1])
	// Drop chunks that hold only newlines and comments.
	out := chunks[:0]
	for _, c := range chunks {
		for _, t := range c {
			if t.Kind != Newline && t.Kind != Comment {
				out = append(out, c)
				break
			}
		}
	}
	return out
}

func parseChunk(chunk []Token) (*Decl, diag.List) {
	var diags diag.List
	if bad := checkBrackets(chunk, &diags); bad {
		recoverItems(chunk, &diags)
		return nil, diags
	}
	first := firstSignificant(chunk)
	if first.Kind != Ident || !declKeywords[first.Text] {
		d := diags.Errorf("E0104", first.Span, "expected a declaration (%s), found %s", declList, describe(first))
		if s := diag.Suggest(first.Text, []string{"flow", "queue", "workflow", "hours", KeywordWorker}); s != "" && first.Kind == Ident {
			d.WithHint("did you mean %s?", diag.Quote(s))
		}
		return nil, diags
	}
	decl, err := declParser.ParseFromLexer(peeking(chunk))
	if err == nil {
		return nameDecl(decl, chunk, &diags), diags
	}
	diags.Append(translate(err, chunk))
	recoverItems(chunk, &diags)
	return nil, diags
}

// nameDecl checks that a declaration has a name if, and only if, it is
// not the worker schema, and gives the worker schema its keyword for a
// name. It returns nil when the declaration is wrong.
func nameDecl(d *Decl, chunk []Token, diags *diag.List) *Decl {
	switch {
	case d.Keyword == KeywordWorker && d.Name != nil:
		diags.Errorf("E0107", d.Name.Span(), "the worker schema has no name").
			WithHint("write `worker {`: a program describes its workers once")
		return nil
	case d.Keyword == KeywordWorker:
		end := d.Pos
		end.Offset += len(d.Keyword)
		end.Column += len(d.Keyword)
		d.Name = &Name{Pos: d.Pos, EndPos: end, Value: d.Keyword}
	case d.Name == nil:
		brace := tokenAt(chunk, d.Body.Pos.Offset)
		diags.Errorf("E0107", brace.Span, "expected a name after %s, found %s", diag.Quote(d.Keyword), describe(brace)).
			WithHint("write `%s NAME {`", d.Keyword)
		return nil
	}
	return d
}

// recoverItems parses a failed declaration again step by step to report
// errors past the first one.
func recoverItems(chunk []Token, diags *diag.List) {
	segs := splitSteps(chunk)
	if len(segs) < 2 {
		return
	}
	for _, seg := range segs[1:] {
		var items []*Item
		lex := peeking(seg)
		err := parseItems(lex, &items, false)
		if err == nil && !lex.Peek().EOF() {
			err = unexpected(lex.Peek(), "Item")
		}
		if err != nil {
			diags.Append(translate(err, seg))
		}
	}
}

// splitSteps cuts a declaration's body before each `name:` that starts a
// line at bracket depth 1. The first segment is the header and is not
// re-parsed. A segment stops at the declaration's closing brace.
func splitSteps(chunk []Token) [][]Token {
	var segs [][]Token
	start, depth := 0, 0
	lineStart := false
	for i := 0; i < len(chunk); i++ {
		t := chunk[i]
		if n := t.Nesting(); n != 0 {
			depth += n
			if n < 0 && depth == 0 {
				segs = append(segs, chunk[start:i])
				return segs
			}
		}
		if lineStart && depth == 1 && t.Kind == Ident && i+1 < len(chunk) && chunk[i+1].Is(":") {
			segs = append(segs, chunk[start:i])
			start = i
		}
		if significant(t) {
			lineStart = t.Kind == Newline || (t.Kind == Punct && t.Text == "{" && depth == 1)
		}
	}
	return append(segs, chunk[start:])
}

func firstSignificant(chunk []Token) Token {
	for _, t := range chunk {
		if t.Kind != Newline && t.Kind != Comment {
			return t
		}
	}
	return chunk[0]
}

// checkBrackets matches brackets, reporting closers without an opener and
// openers never closed. A closer that starts a line less indented than the
// line of the innermost open bracket means that bracket was left open: it is
// reported at the line that opened it.
func checkBrackets(chunk []Token, diags *diag.List) (bad bool) {
	if balanced(chunk) {
		return false // indentation only helps to find the culprit
	}
	type open struct {
		tok    Token
		indent int
	}
	var stack []open
	indent, lineStart := 1, true
	pair := map[string]string{")": "(", "]": "[", "}": "{"}
	closer := map[string]string{"(": ")", "[": "]", "{": "}"}
	reportOpen := func(o open) {
		bad = true
		diags.Errorf("E0105", o.tok.Span, "%s is not closed", diag.Quote(o.tok.Text)).
			WithHint("add the matching %s", diag.Quote(closer[o.tok.Text]))
	}
	for _, t := range chunk {
		if t.Kind == Newline {
			lineStart = true
			continue
		}
		if t.Kind == Comment {
			continue
		}
		first := lineStart
		if lineStart {
			indent = t.Span.Start.Col
			lineStart = false
		}
		if t.Kind != Punct {
			continue
		}
		switch t.Text {
		case "(", "[", "{":
			stack = append(stack, open{t, indent})
		case ")", "]", "}":
			if first {
				for len(stack) > 1 && stack[len(stack)-1].indent > t.Span.Start.Col && stack[len(stack)-1].tok.Text == pair[t.Text] {
					reportOpen(stack[len(stack)-1])
					stack = stack[:len(stack)-1]
				}
			}
			if len(stack) == 0 || stack[len(stack)-1].tok.Text != pair[t.Text] {
				bad = true
				d := diags.Errorf("E0106", t.Span, "unexpected %s", diag.Quote(t.Text))
				if len(stack) > 0 {
					d.WithHint("%s opened at line %d is still open", diag.Quote(stack[len(stack)-1].tok.Text), stack[len(stack)-1].tok.Span.Start.Line)
				} else {
					d.WithHint("there is no %s to close", diag.Quote(pair[t.Text]))
				}
				continue
			}
			stack = stack[:len(stack)-1]
		}
	}
	for i := len(stack) - 1; i >= 0; i-- {
		reportOpen(stack[i])
	}
	return bad
}

// balanced reports whether every bracket in chunk is closed by its pair.
func balanced(chunk []Token) bool {
	var stack []byte
	for _, t := range chunk {
		if t.Kind != Punct || len(t.Text) != 1 {
			continue
		}
		switch c := t.Text[0]; c {
		case '(', '[', '{':
			stack = append(stack, c)
		case ')', ']', '}':
			open := map[byte]byte{')': '(', ']': '[', '}': '{'}[c]
			if len(stack) == 0 || stack[len(stack)-1] != open {
				return false
			}
			stack = stack[:len(stack)-1]
		}
	}
	return len(stack) == 0
}

func peeking(chunk []Token) *lexer.PeekingLexer {
	var eofPos lexer.Position
	if n := len(chunk); n > 0 {
		eofPos = toLexerPos(chunk[n-1].Span.File, chunk[n-1].Span.End)
	}
	pl, _ := lexer.Upgrade(&sliceLexer{toks: chunk, eof: lexer.EOFToken(eofPos)}, lexer.TokenType(Comment))
	return pl
}

func endOf(t *lexer.Token) diag.Pos {
	return diag.Pos{Offset: t.Pos.Offset + len(t.Value), Line: t.Pos.Line, Col: t.Pos.Column + utf8.RuneCountInString(t.Value)}
}

// describe names a token the way a person would.
func describe(t Token) string {
	switch t.Kind {
	case EOF:
		return "the end of the file"
	case Newline:
		if t.Text == ";" {
			return "`;`"
		}
		return "the end of the line"
	case Ident:
		return "name " + diag.Quote(t.Text)
	case String, RawString:
		return "string " + t.Text
	case Number, Duration, Date, Time:
		return t.Kind.String() + " " + t.Text
	}
	return diag.Quote(t.Text)
}

// translate rewrites a participle error into the user's terms.
func translate(err error, chunk []Token) diag.List {
	var diags diag.List
	var perr participle.Error
	if !errors.As(err, &perr) {
		diags.Errorf("E0100", diag.Span{}, "%v", err)
		return diags
	}
	pos := perr.Position()
	tok := tokenAt(chunk, pos.Offset)
	sp := tok.Span
	if tok.Kind == EOF {
		sp = diag.Span{File: pos.Filename, Start: toDiagPos(pos), End: toDiagPos(pos)}
	}
	expect := ""
	if m := perr.Message(); strings.Contains(m, "(expected ") {
		expect = m[strings.Index(m, "(expected "):]
	}
	if debugParse {
		fmt.Printf("participle: %v (expect %q)\n", err, expect)
	}
	if prev := previous(chunk, tok); prev.Kind == Arrow && (tok.Kind == Newline || tok.Kind == EOF || tok.Is("}")) {
		sp = prev.Span // "expected a step name after `->`": point at the arrow
	}
	msg, hint := explain(tok, expect, chunk)
	d := diags.Errorf("E0107", sp, "%s", msg)
	if hint != "" {
		d.Hint = hint
	}
	return diags
}

func tokenAt(chunk []Token, off int) Token {
	for _, t := range chunk {
		if t.Span.Start.Offset == off && t.Kind != Comment {
			return t
		}
	}
	for _, t := range chunk {
		if t.Span.Start.Offset >= off && t.Kind != Comment {
			return t
		}
	}
	var end diag.Pos
	file := ""
	if n := len(chunk); n > 0 {
		end, file = chunk[n-1].Span.End, chunk[n-1].Span.File
	}
	return Token{Kind: EOF, Span: diag.Span{File: file, Start: end, End: end}}
}

// explain turns participle's "unexpected X (expected Y)" into a sentence
// about the construct being written, judged from the tokens around the error.
func explain(tok Token, expect string, chunk []Token) (msg, hint string) {
	prev := previous(chunk, tok)
	next := following(chunk, tok)
	found := describe(tok)
	switch {
	case prev.Kind == Ident && declKeywords[prev.Text] && tok.Kind != Ident:
		return fmt.Sprintf("expected a name after %s, found %s", diag.Quote(prev.Text), found),
			fmt.Sprintf("write `%s NAME {`", prev.Text)
	case tok.Kind == Arrow && (next.Kind == Newline || next.Kind == EOF || next.Is("}")),
		prev.Kind == Arrow && (tok.Kind == Newline || tok.Kind == EOF || tok.Is("}")):
		return "expected a step name after `->`", "write `-> done` to end the execution"
	case prev.Kind == Arrow && tok.Kind != Ident:
		return fmt.Sprintf("expected a step name after `->`, found %s", found), "write `-> done` to end the execution"
	case prev.Is(":") && tok.Kind != Ident:
		hint := "a step is `name: kind …`, e.g. `greet: send \"Hello\" -> done`"
		if tok.Kind != Arrow && tok.Kind != Newline && tok.Kind != EOF {
			hint = "a step is `name: kind …`; a map literal as a step's argument goes in parentheses: `set m = ({a: 1})`"
		}
		return fmt.Sprintf("expected a step kind after %s, found %s", diag.Quote(previous(chunk, prev).Text+":"), found), hint
	case tok.Kind == Arrow:
		return "expected something before `->`", "a line inside a block is `PROPERTY VALUE`, `OUTCOME -> step` or `CONDITION -> step`"
	case prev.Kind == Ident && previous(chunk, prev).Kind == Arrow:
		return fmt.Sprintf("unexpected %s after the target of `->`", found), "put each property or outcome on a line of its own (or separate them with `;`)"
	case strings.Contains(expect, `"{"`) || (strings.Contains(expect, "Block") && !strings.Contains(expect, "Name")):
		return fmt.Sprintf("expected `{` after %s, found %s", diag.Quote(prev.Text), found), ""
	case tok.Is("{") && prev.Kind == Newline:
		return "a block must open on the line of its step", "move `{` to the end of the step's line: `name: kind ARG {`"
	case tok.Kind == EOF:
		return "unexpected end of the file", ""
	case tok.Is("{") || tok.Is("}"):
		return fmt.Sprintf("unexpected %s", found), "a block opens at the end of its first line: `name: kind ARG {`"
	}
	return fmt.Sprintf("unexpected %s", found), "put each step, property or outcome on a line of its own"
}

func following(chunk []Token, tok Token) Token {
	for _, t := range chunk {
		if t.Span.Start.Offset > tok.Span.Start.Offset && t.Kind != Comment {
			return t
		}
	}
	return Token{Kind: EOF}
}

func previous(chunk []Token, tok Token) Token {
	var prev Token
	for _, t := range chunk {
		if t.Span.Start.Offset >= tok.Span.Start.Offset && tok.Kind != EOF {
			break
		}
		if t.Kind != Comment {
			prev = t
		}
	}
	return prev
}

// Grammar returns the grammar in EBNF, as participle builds it from the AST
// structs. Token runs (expressions, property values) are opaque here: they
// are balanced runs of tokens up to the end of the line, `->` or a closing
// bracket (an argument also stops at `{`).
func Grammar() string {
	return "// Generated from the participle grammar; see TestGrammar.\n" + declParser.String() + "\n" +
		"\n// Blocks, names and runs parse themselves (see Block):\n" +
		"Block = \"{\" <newline>* (Item (<newline>+ | &\"}\"))* \"}\" .\n" +
		"Item = Step | Line .\n" +
		"Step = Name \":\" Name ArgRun? Block? (\"->\" Name)? .\n" +
		"Line = Run (\"->\" Run)? .\n" +
		"Name = <ident> .\n" +
		"Run = balanced tokens up to <newline>, \"->\" or an unopened closer .\n" +
		"ArgRun = Run that also stops at \"{\" .\n"
}
