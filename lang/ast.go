package lang

import (
	"strings"
	"unicode/utf8"

	"github.com/alecthomas/participle/v2"
	"github.com/alecthomas/participle/v2/lexer"

	"github.com/switchboard-dev/switchboard/diag"
)

// The AST is the participle grammar itself. Structure (declarations, blocks,
// steps, lines, arrows) is parsed here; what a line means (a property, an
// outcome, a guard) depends on the step kind, so lines stay generic token
// runs and the compiler decodes them against the kind's table, the way HCL
// parses blocks before a schema gives them meaning.

// File is one parsed .flow file.
type File struct {
	Name     string
	Src      []byte
	Decls    []*Decl
	Comments []Token // every comment, in source order
}

// Decl is a top-level declaration: flow, queue, workflow, hours, or the
// worker schema. The worker schema has no name of its own (a program
// describes its workers once); Parse gives it its keyword for a Name, at
// the keyword, so every Decl of a parsed File has one.
type Decl struct {
	Pos     lexer.Position
	EndPos  lexer.Position
	Keyword string `parser:"@(\"flow\" | \"queue\" | \"workflow\" | \"hours\" | \"worker\")"`
	Name    *Name  `parser:"@@?"`
	Body    *Block `parser:"@@ Newline*"`
}

// Name is an identifier with its position. It parses itself: names are
// the most frequent node, and a hand-written match costs a fraction of a
// reflected one.
type Name struct {
	Pos    lexer.Position
	EndPos lexer.Position
	Value  string
}

// Parse implements participle.Parseable.
func (n *Name) Parse(lex *lexer.PeekingLexer) error {
	t := lex.Peek()
	if t.Type != tIdent {
		return errNoMatch
	}
	lex.Next()
	n.Value, n.Pos = t.Value, t.Pos
	n.EndPos = t.Pos
	n.EndPos.Offset += len(t.Value)
	n.EndPos.Column += utf8.RuneCountInString(t.Value)
	return nil
}

// Block is a brace-delimited list of items, one per line:
//
//	Block = "{" <newline>* (Item (<newline>+ | &"}"))* "}" .
//	Item  = Step | Line .
//	Step  = Name ":" Name ArgRun? Block? ("->" Name)? .
//	Line  = Run ("->" Run)? .
//
// Blocks parse themselves (participle.Parseable), like Name and Run:
// participle's reflective matching costs about 5µs a line, which a
// 5,000-step program cannot afford; the hand-written loop below does the
// same work with two tokens of lookahead.
type Block struct {
	Pos    lexer.Position
	EndPos lexer.Position
	Items  []*Item
}

// Item is a step (`name: kind …`) or a generic line.
type Item struct {
	Step *Step
	Line *Line
}

// Step is `NAME: KIND ARGS [{ LINES }] [-> TARGET]`.
type Step struct {
	Pos    lexer.Position
	EndPos lexer.Position
	Name   *Name
	Kind   *Name
	Args   *ArgRun
	Block  *Block
	Next   *Name
}

// Line is a run of tokens, optionally followed by `-> TAIL`.
type Line struct {
	Pos    lexer.Position
	EndPos lexer.Position
	Head   *Run
	Tail   *Run
}

const endOfLineExpected = "expected the end of the line"

func isPunct(t *lexer.Token, s string) bool { return t.Type == tPunct && t.Value == s }

func tokenEnd(t *lexer.Token) lexer.Position {
	p := t.Pos
	p.Offset += len(t.Value)
	p.Column += utf8.RuneCountInString(t.Value)
	return p
}

// unexpected phrases an error the way participle does, so translate
// explains it like any other.
func unexpected(t *lexer.Token, expected string) error {
	return participle.Errorf(t.Pos, "unexpected token %q (expected %s)", t.Value, expected)
}

// Parse implements participle.Parseable.
func (b *Block) Parse(lex *lexer.PeekingLexer) error {
	t := lex.Peek()
	if !isPunct(t, "{") {
		return errNoMatch
	}
	b.Pos = t.Pos
	lex.Next()
	if err := parseItems(lex, &b.Items, true); err != nil {
		return err
	}
	t = lex.Peek()
	if !isPunct(t, "}") {
		return unexpected(t, `"}"`)
	}
	b.EndPos = tokenEnd(lex.Next())
	return nil
}

// parseItems reads items up to a closing brace (inBlock) or the end of
// the input, which it leaves unread.
func parseItems(lex *lexer.PeekingLexer, items *[]*Item, inBlock bool) error {
	for {
		for lex.Peek().Type == tNewline {
			lex.Next()
		}
		t := lex.Peek()
		if t.EOF() || (inBlock && isPunct(t, "}")) {
			return nil
		}
		item, err := parseItem(lex)
		if err != nil {
			return err
		}
		*items = append(*items, item)
		t = lex.Peek()
		if !t.EOF() && !isPunct(t, "}") && t.Type != tNewline {
			return participle.Errorf(t.Pos, endOfLineExpected)
		}
	}
}

func parseItem(lex *lexer.PeekingLexer) (*Item, error) {
	// A step starts `name:`; anything else is a line.
	cp := lex.MakeCheckpoint()
	first := lex.Next()
	second := lex.Peek()
	lex.LoadCheckpoint(cp)
	if first.Type == tIdent && isPunct(second, ":") {
		s, err := parseStep(lex)
		return &Item{Step: s}, err
	}
	if isPunct(first, "{") {
		return nil, participle.Errorf(first.Pos, blockOnItsOwnLine)
	}
	l, err := parseLine(lex)
	return &Item{Line: l}, err
}

const blockOnItsOwnLine = "a block must open on the line of its step"

func parseStep(lex *lexer.PeekingLexer) (*Step, error) {
	s := &Step{Name: &Name{}, Kind: &Name{}}
	s.Pos = lex.Peek().Pos
	_ = s.Name.Parse(lex)
	end := tokenEnd(lex.Next()) // ':'
	if err := s.Kind.Parse(lex); err != nil {
		return s, unexpected(lex.Peek(), "Name")
	}
	end = s.Kind.EndPos
	args := &ArgRun{}
	if args.Parse(lex) == nil {
		s.Args = args
		end = args.endPos()
	}
	block := &Block{}
	switch err := block.Parse(lex); err {
	case nil:
		s.Block = block
		end = block.EndPos
	case errNoMatch:
	default:
		return s, err
	}
	if t := lex.Peek(); t.Type == tArrow {
		lex.Next()
		s.Next = &Name{}
		if err := s.Next.Parse(lex); err != nil {
			return s, unexpected(lex.Peek(), "Name")
		}
		end = s.Next.EndPos
	}
	s.EndPos = end
	return s, nil
}

func parseLine(lex *lexer.PeekingLexer) (*Line, error) {
	l := &Line{Head: &Run{}}
	t := lex.Peek()
	l.Pos = t.Pos
	if err := l.Head.Parse(lex); err != nil {
		return l, unexpected(t, "Run")
	}
	l.EndPos = l.Head.endPos()
	if t := lex.Peek(); t.Type == tArrow {
		lex.Next()
		l.Tail = &Run{}
		if err := l.Tail.Parse(lex); err != nil {
			return l, unexpected(lex.Peek(), "Run")
		}
		l.EndPos = l.Tail.endPos()
	}
	return l, nil
}

// Run is a balanced run of tokens that ends at the end of the line, at
// `->`, or at a closing bracket it did not open. Commas are part of it.
type Run struct {
	Tokens []Token
}

// ArgRun is a Run that also ends at `{` outside brackets: a step's
// argument, which a block may follow.
type ArgRun struct {
	Run
}

// Span helpers. They exist so no package outside lang handles participle's
// position type.

func span(file string, pos, end lexer.Position) diag.Span {
	if file == "" {
		file = pos.Filename
	}
	return diag.Span{File: file, Start: toDiagPos(pos), End: toDiagPos(end)}
}

// Span covers the whole declaration.
func (d *Decl) Span() diag.Span { return span("", d.Pos, d.EndPos) }

// KeywordSpan covers the declaration's keyword.
func (d *Decl) KeywordSpan() diag.Span {
	end := d.Pos
	end.Offset += len(d.Keyword)
	end.Column += len(d.Keyword)
	return span("", d.Pos, end)
}

// Span covers the name.
func (n *Name) Span() diag.Span { return span("", n.Pos, n.EndPos) }

// Span covers the block, braces included.
func (b *Block) Span() diag.Span { return span("", b.Pos, b.EndPos) }

// Span covers the whole step.
func (s *Step) Span() diag.Span { return span("", s.Pos, s.EndPos) }

// HeadSpan covers the step from its name to the end of its argument.
func (s *Step) HeadSpan() diag.Span {
	sp := s.Name.Span().Join(s.Kind.Span())
	if s.Args != nil {
		sp = sp.Join(s.Args.Span())
	}
	return sp
}

// Span covers the whole line.
func (l *Line) Span() diag.Span { return span("", l.Pos, l.EndPos) }

// Span covers the run's tokens.
func (r *Run) Span() diag.Span {
	if r == nil || len(r.Tokens) == 0 {
		return diag.Span{}
	}
	return r.Tokens[0].Span.Join(r.Tokens[len(r.Tokens)-1].Span)
}

// Text is the run's tokens joined by single spaces, for messages.
func (r *Run) Text() string { return RunText(r.Tokens) }

// RunText joins tokens by single spaces, for messages.
func RunText(toks []Token) string {
	var b strings.Builder
	for i, t := range toks {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(t.Text)
	}
	return b.String()
}

// Parse implements participle.Parseable.
func (r *Run) Parse(lex *lexer.PeekingLexer) error { return r.parse(lex, false) }

func (r *Run) endPos() lexer.Position {
	last := r.Tokens[len(r.Tokens)-1]
	return toLexerPos(last.Span.File, last.Span.End)
}

// Parse implements participle.Parseable.
func (r *ArgRun) Parse(lex *lexer.PeekingLexer) error { return r.parse(lex, true) }

const (
	tNewline = lexer.TokenType(Newline)
	tIdent   = lexer.TokenType(Ident)
	tArrow   = lexer.TokenType(Arrow)
	tPunct   = lexer.TokenType(Punct)
	tComment = lexer.TokenType(Comment)
)

func (r *Run) parse(lex *lexer.PeekingLexer, stopAtBrace bool) error {
	// Count first, so the run's tokens are allocated once.
	cp := lex.MakeCheckpoint()
	r.Tokens = make([]Token, 0, r.scan(lex, stopAtBrace, false))
	lex.LoadCheckpoint(cp)
	r.scan(lex, stopAtBrace, true)
	if len(r.Tokens) == 0 {
		return errNoMatch
	}
	return nil
}

// scan reads the run's tokens, keeping them when keep is set, and returns
// how many there are.
func (r *Run) scan(lex *lexer.PeekingLexer, stopAtBrace, keep bool) int {
	depth, n := 0, 0
	for {
		t := lex.Peek()
		if t.EOF() {
			break
		}
		if depth == 0 {
			if t.Type == tNewline || t.Type == tArrow {
				break
			}
			if t.Type == tPunct && (t.Value == "}" || t.Value == ")" || t.Value == "]") {
				break
			}
			if stopAtBrace && t.Type == tPunct && t.Value == "{" {
				break
			}
		}
		if t.Type == tPunct {
			switch t.Value {
			case "(", "[", "{":
				depth++
			case ")", "]", "}":
				depth--
			}
		}
		lex.Next()
		if t.Type == tNewline {
			continue // inside brackets a line break is only space
		}
		n++
		if keep {
			r.Tokens = append(r.Tokens, Token{Kind: TokenKind(t.Type), Text: t.Value,
				Span: diag.Span{File: t.Pos.Filename, Start: toDiagPos(t.Pos), End: endOf(t)}})
		}
	}
	return n
}
