package lang

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/switchboard-dev/switchboard/diag"
)

// Format returns the canonical text of f, which must come from Parse
// without errors (Format reads f.Src for the places of comments, braces and
// blank lines, which the AST does not keep).
//
// The canonical form, like gofmt's, is deterministic and idempotent and
// keeps every comment:
//
//   - Indentation is two spaces per block level. Declarations are separated
//     by one blank line; inside a block, one or more blank lines between
//     items (or comments) become one, and blank lines after `{` and before
//     `}` are dropped. A comment group written directly above a declaration
//     stays attached to it.
//   - Items go one per line: `;` becomes a line break. A block with exactly
//     one item that was written on one line stays on one line,
//     `queue vip { workers worker.vip == true order worker.level desc }`,
//     unless a block inside that item has to be expanded; every other
//     block is expanded. An empty declaration block prints as
//     `{}` on the declaration's line; an empty step block is dropped
//     (`s: send "x" {} -> t` is `s: send "x" -> t`). A block that holds only
//     comments is expanded and kept.
//   - A step is `name: kind ARGS {` … `} -> next`; a line is `HEAD -> TAIL`.
//   - Expressions and properties are reprinted token by token: one space
//     around binary operators (`==`, `and`, `??`, `?` and `:` of a ternary,
//     `=`, `in`, …), none after a unary `!` or `-`, none inside brackets, a
//     space after `,`, `key: value` in maps and `name: type` in
//     declarations, no space before a `.member`. A `-` between two names,
//     two times or two dates is kept tight in hours declarations
//     (`mon-fri 08:00-17:00`) and elsewhere when it was written tight.
//     Where spacing carries meaning
//     the source decides: `f(x)` versus `when (x)`, and `priority -1` (a
//     `-` written against its operand after a name is a sign, not a
//     subtraction).
//   - An expression that spans lines inside brackets keeps its line breaks;
//     continuation lines are indented one level more than the line that
//     opened the innermost bracket still open, and a line that starts with a
//     closing bracket is indented like the line that opened it.
//   - A comment on a line of its own stays on its own line before what
//     follows it, at that item's indentation (inside the block when it
//     precedes a closing `}`); a comment that ends a line of code stays at
//     the end of that line, two spaces after the code. Only trailing spaces
//     are trimmed from comments.
//   - Strings, numbers and other tokens are printed verbatim, and the output
//     ends with exactly one newline (an empty file stays empty).
//
// Format never changes the tokens of the program (other than line breaks
// and a dropped empty step block). It checks that on its output and, should
// a bug in the formatter ever break it, returns f.Src unchanged rather than
// damage the file.
func Format(f *File) []byte {
	out, err := format(f)
	if err != nil {
		return append([]byte(nil), f.Src...)
	}
	return out
}

// FormatSource parses src and returns its canonical text. When the source
// does not parse it returns nil and the diagnostics, since a formatter that
// guessed at broken code would rewrite it into something else.
func FormatSource(filename string, src []byte) ([]byte, diag.List) {
	f, diags := Parse(filename, src)
	if diags.HasErrors() {
		return nil, diags
	}
	out, err := format(f)
	if err != nil {
		diags.Errorf("E0100", diag.Span{File: filename, Start: diag.Pos{Offset: 0, Line: 1, Col: 1}},
			"internal formatter error: %v", err).WithHint("please report this file as a bug")
		return nil, diags
	}
	return out, diags
}

// format does the work of Format and reports, instead of hiding, a panic or
// an output whose tokens differ from the input, so tests and the fuzzer see
// formatter bugs that Format would paper over.
func format(f *File) (out []byte, err error) {
	defer func() {
		if r := recover(); r != nil {
			out, err = nil, fmt.Errorf("panic: %v", r)
		}
	}()
	p := newPrinter(f)
	p.file(f)
	out = p.bytes()
	if err := checkTokens(f, out); err != nil {
		return nil, err
	}
	return out, nil
}

// blankMode says whether a blank line may come before the next line printed.
type blankMode int

const (
	noBlank    blankMode = iota // first line of a block, or a closing bracket
	keepBlank                   // one blank line if the source had one or more
	forceBlank                  // always: between declarations
)

// outLine is one line of output before rendering.
type outLine struct {
	level   int    // indentation, in blocks
	text    string // code, or the comment of a comment-only line
	comment string // comment that ends a line of code
	isNote  bool   // the line is a comment on its own
}

// printer walks the AST and lays it out in lines. Comments are not in the
// AST; the printer holds them in source order and prints each one when it
// reaches the first line that starts after it, which places an own-line
// comment before what follows it and a trailing comment after the code that
// precedes it.
type printer struct {
	comments []Token
	trailing []bool // trailing[i]: comments[i] ends a line that has code
	next     int    // index of the first comment not yet printed
	closers  map[int]Token

	lines    []outLine
	cur      strings.Builder
	level    int  // indentation of the line being built
	lastLine int  // source line where the last printed token or comment ends
	hours    bool // printing an hours declaration
}

func newPrinter(f *File) *printer {
	p := &printer{closers: map[int]Token{}}
	// The AST keeps neither the closing braces of blocks nor the comments'
	// relation to code, so take both from the tokens.
	toks, _ := Lex(f.Name, f.Src)
	var open []Token
	lineHasCode := false
	for _, t := range toks {
		switch {
		case t.Kind == Comment:
			p.comments = append(p.comments, t)
			p.trailing = append(p.trailing, lineHasCode)
		case t.Kind == Newline:
			// A `;` ends an item but not the line: a comment after it
			// still trails the code before it.
			if t.Text != ";" {
				lineHasCode = false
			}
		default:
			lineHasCode = true
		}
		if t.Kind != Punct {
			continue
		}
		switch t.Text {
		case "(", "[", "{":
			open = append(open, t)
		case ")", "]", "}":
			if n := len(open); n > 0 {
				if open[n-1].Text == "{" {
					p.closers[open[n-1].Span.Start.Offset] = t
				}
				open = open[:n-1]
			}
		}
	}
	return p
}

// bytes renders the lines.
func (p *printer) bytes() []byte {
	p.endLine()
	var b bytes.Buffer
	for _, l := range p.lines {
		if l.text != "" {
			b.WriteString(strings.Repeat("  ", l.level))
			b.WriteString(l.text)
			if l.comment != "" {
				b.WriteString("  ")
				b.WriteString(l.comment)
			}
		}
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// write appends code to the current line.
func (p *printer) write(s string) { p.cur.WriteString(s) }

// endLine finishes the current line, if it has anything on it.
func (p *printer) endLine() {
	if p.cur.Len() == 0 {
		return
	}
	p.lines = append(p.lines, outLine{level: p.level, text: p.cur.String()})
	p.cur.Reset()
}

// flush ends the current line and prints the comments that come before
// source offset off: trailing ones at the end of the last line of code,
// the others on lines of their own at level. mode governs the blank line
// before the first of them; the mode for what follows is returned.
func (p *printer) flush(off, level int, mode blankMode) blankMode {
	p.endLine()
	for p.next < len(p.comments) && p.comments[p.next].Span.Start.Offset < off {
		c := p.comments[p.next]
		text := strings.TrimRight(c.Text, " \t\r\f")
		if p.trailing[p.next] && p.attach(text) {
			p.next++
			p.lastLine = c.Span.Start.Line
			continue
		}
		p.next++
		p.blank(c.Span.Start.Line, mode)
		p.lines = append(p.lines, outLine{level: level, text: text, isNote: true})
		p.lastLine = c.Span.Start.Line
		mode = keepBlank
	}
	return mode
}

// attach puts a trailing comment at the end of the last line of code. It
// fails when that line already has one, which would make two comments one.
func (p *printer) attach(text string) bool {
	n := len(p.lines)
	if n == 0 || p.lines[n-1].isNote || p.lines[n-1].text == "" || p.lines[n-1].comment != "" {
		return false
	}
	p.lines[n-1].comment = text
	return true
}

// blank adds a blank line before a line that starts at source line
// srcLine, as mode and the source ask.
func (p *printer) blank(srcLine int, mode blankMode) {
	if len(p.lines) == 0 {
		return
	}
	if mode == forceBlank || (mode == keepBlank && srcLine-p.lastLine >= 2) {
		p.lines = append(p.lines, outLine{})
	}
}

// open starts a line at level for code that starts at source line srcLine.
func (p *printer) open(srcLine, level int, mode blankMode) {
	p.endLine()
	p.blank(srcLine, mode)
	p.level = level
}

// startLine starts a line for an item or declaration at source offset off.
func (p *printer) startLine(off, srcLine, level int, mode blankMode) {
	p.open(srcLine, level, p.flush(off, level, mode))
}

func (p *printer) file(f *File) {
	mode := noBlank
	for _, d := range f.Decls {
		p.decl(d, mode)
		mode = forceBlank
	}
	p.flush(len(f.Src)+1, 0, mode)
}

func (p *printer) decl(d *Decl, mode blankMode) {
	p.startLine(d.Pos.Offset, d.Pos.Line, 0, mode)
	p.hours = d.Keyword == "hours"
	p.write(d.Keyword)
	if d.Keyword != KeywordWorker { // the worker schema's Name is its keyword
		p.write(" ")
		p.name(d.Name)
	}
	p.block(d.Body, false)
	p.hours = false
}

func (p *printer) name(n *Name) {
	p.write(n.Value)
	p.lastLine = n.Pos.Line
}

// block prints b, opened at the end of the current line. Its items go one
// level deeper than that line and its `}` level with it, even when the line
// continues a step's argument: the parser takes a `}` indented less than the
// line of its `{` for the sign of a brace left open. An empty step block
// prints nothing.
func (p *printer) block(b *Block, isStep bool) {
	level := p.level
	// Every block of a File from Parse has its closer. (Another File makes
	// the token check of format fail, so Format returns its Src.)
	closer := p.closers[b.Pos.Offset]
	closeOff, closeLine := closer.Span.Start.Offset, closer.Span.Start.Line
	hasComments := p.next < len(p.comments) && p.comments[p.next].Span.Start.Offset < closeOff
	switch {
	case len(b.Items) == 0 && !hasComments:
		if !isStep {
			p.write(" {}")
		}
		p.lastLine = closeLine
		return
	case !hasComments && p.oneLine(b):
		p.write(" { ")
		p.item(b.Items[0], level+1)
		p.write(" }")
		p.lastLine = closeLine
		return
	}
	p.write(" {")
	p.lastLine = b.Pos.Line
	mode := noBlank
	for _, it := range b.Items {
		pos := itemPos(it)
		p.startLine(pos.Offset, pos.Line, level+1, mode)
		p.item(it, level+1)
		mode = keepBlank
	}
	p.flush(closeOff, level+1, mode)
	p.open(closeLine, level, noBlank)
	p.write("}")
	p.lastLine = closeLine
}

// oneLine reports whether b stays on one line: it has one item and was
// written on one line, and so has any block of that item, which would
// otherwise break the line. (A block written on one line holds no comment.)
func (p *printer) oneLine(b *Block) bool {
	closer, ok := p.closers[b.Pos.Offset]
	if !ok || len(b.Items) != 1 || closer.Span.Start.Line != b.Pos.Line {
		return false
	}
	s := b.Items[0].Step
	return s == nil || s.Block == nil || len(s.Block.Items) == 0 || p.oneLine(s.Block)
}

// itemPos is where an item starts.
func itemPos(it *Item) diag.Pos {
	if it.Step != nil {
		return toDiagPos(it.Step.Name.Pos)
	}
	return it.Line.Head.Tokens[0].Span.Start
}

func (p *printer) item(it *Item, level int) {
	if s := it.Step; s != nil {
		p.name(s.Name)
		p.write(": ")
		p.name(s.Kind)
		if s.Args != nil {
			p.write(" ")
			p.run(s.Args.Tokens, level)
		}
		if s.Block != nil {
			p.block(s.Block, true)
		}
		if s.Next != nil {
			p.write(" -> ")
			p.name(s.Next)
		}
		return
	}
	p.run(it.Line.Head.Tokens, level)
	if it.Line.Tail != nil {
		p.write(" -> ")
		p.run(it.Line.Tail.Tokens, level)
	}
}

// run prints a token run that starts on the current line of an item at
// level, keeping the line breaks it had inside brackets.
func (p *printer) run(toks []Token, level int) {
	space := spacing(toks, p.hours)
	// openLevels holds, for each bracket open, the level of the line that
	// opened it: lines inside it go one deeper, and its closer goes there.
	var openLevels []int
	for i, t := range toks {
		if i > 0 {
			prev := toks[i-1]
			if t.Span.Start.Line > prev.Span.End.Line {
				inner := level
				if n := len(openLevels); n > 0 {
					inner = openLevels[n-1] + 1
				}
				mode := keepBlank
				if isOpener(prev) {
					mode = noBlank
				}
				mode = p.flush(t.Span.Start.Offset, inner, mode)
				lineLevel := inner
				if isCloser(t) {
					mode = noBlank
					if n := len(openLevels); n > 0 {
						lineLevel = openLevels[n-1]
					}
				}
				p.open(t.Span.Start.Line, lineLevel, mode)
			} else if space[i] {
				p.write(" ")
			}
		}
		p.write(t.Text)
		p.lastLine = t.Span.End.Line
		switch {
		case isOpener(t):
			openLevels = append(openLevels, p.level)
		case isCloser(t) && len(openLevels) > 0:
			openLevels = openLevels[:len(openLevels)-1]
		}
	}
}

func isOpener(t Token) bool {
	return t.Kind == Punct && (t.Text == "(" || t.Text == "[" || t.Text == "{")
}

func isCloser(t Token) bool {
	return t.Kind == Punct && (t.Text == ")" || t.Text == "]" || t.Text == "}")
}

// role is what a token does in an expression, as far as spacing cares.
type role uint8

const (
	roleOther        role = iota
	roleUnary             // `!x`, `-x`: no space after
	roleBinary            // `a == b`: a space on both sides
	roleTight             // `mon-fri`, `08:00-17:00`: no space on either side
	roleTernaryColon      // `c ? a : b`
	roleKeyColon          // `{key: v}`, `var name: type`
	roleSliceColon        // `xs[1:2]`
)

// binaryOps are the punctuation operators spaced on both sides. `-` and
// `+` are decided by position.
var binaryOps = map[string]bool{
	"==": true, "!=": true, "<": true, ">": true, "<=": true, ">=": true,
	"&&": true, "||": true, "**": true, "*": true, "/": true, "%": true, "^": true,
	"=": true, "??": true, "?": true, "|": true,
}

// operatorWords are the names expr-lang uses as operators. They are spaced
// like any name, but an operand, not an operator, follows them.
var operatorWords = map[string]bool{
	"and": true, "or": true, "not": true, "in": true, "matches": true,
	"contains": true, "startsWith": true, "endsWith": true,
}

// endsOperand reports whether t can end an operand, so that a `-` after it
// subtracts and a `.name` after it selects a member.
func endsOperand(t Token) bool {
	switch t.Kind {
	case Ident:
		return !operatorWords[t.Text]
	case DotName, Number, Duration, Date, Time, String, RawString:
		return true
	case Punct:
		return isCloser(t) || t.Text == "#"
	}
	return false
}

// gap reports whether the source had space between a and b.
func gap(a, b Token) bool { return a.Span.End.Offset != b.Span.Start.Offset }

// classify gives each token its role, tracking brackets to tell the colon
// of a ternary from that of a map or a slice.
func classify(toks []Token, hours bool) []role {
	roles := make([]role, len(toks))
	type frame struct {
		bracket string
		ternary int // `?` still waiting for their `:`
	}
	stack := []frame{{}}
	for i, t := range toks {
		if t.Kind != Punct {
			continue
		}
		top := &stack[len(stack)-1]
		switch {
		case isOpener(t):
			stack = append(stack, frame{bracket: t.Text})
		case isCloser(t):
			if len(stack) > 1 {
				stack = stack[:len(stack)-1]
			}
		case t.Text == "?":
			top.ternary++
			roles[i] = roleBinary
		case t.Text == ":":
			switch {
			case top.ternary > 0:
				top.ternary--
				roles[i] = roleTernaryColon
			case top.bracket == "[":
				roles[i] = roleSliceColon
			default:
				roles[i] = roleKeyColon
			}
		case t.Text == "-" || t.Text == "+":
			roles[i] = signRole(toks, i, hours)
		case t.Text == "!":
			roles[i] = roleUnary
		case binaryOps[t.Text]:
			roles[i] = roleBinary
		}
	}
	return roles
}

// signRole tells a unary `-`/`+` from a binary one, and finds the tight
// `-` of day and time ranges.
func signRole(toks []Token, i int, hours bool) role {
	t := toks[i]
	if i == 0 {
		return roleUnary
	}
	prev := toks[i-1]
	if t.Text == "-" && i+1 < len(toks) {
		next := toks[i+1]
		rangeKinds := prev.Kind == next.Kind && (prev.Kind == Ident || prev.Kind == Time || prev.Kind == Date)
		if rangeKinds && (hours || (!gap(prev, t) && !gap(t, next))) {
			return roleTight
		}
	}
	if !endsOperand(prev) {
		return roleUnary
	}
	// `priority -1`: after a name (a property, or a keyword such as
	// `timeout`), a sign written against its operand but not against the
	// name is a sign. Spacing is all that tells it from `a - 1` here.
	if prev.Kind == Ident && i+1 < len(toks) && gap(prev, t) && !gap(t, toks[i+1]) {
		return roleUnary
	}
	return roleBinary
}

// spacing reports for each token whether a space separates it from the
// previous one when both are on the same line.
func spacing(toks []Token, hours bool) []bool {
	roles := classify(toks, hours)
	space := make([]bool, len(toks))
	// Tokens written together may lex as other tokens: `-` `>` is `->`,
	// `00` `:` `00` is a time. So each stretch printed without spaces is
	// lexed again, in the brackets open where it starts, and where it
	// would not come back as the same tokens a space goes in.
	var brackets []byte // brackets open after the previous token
	start, prefix := 0, ""
	for i := 1; i < len(toks); i++ {
		prev, cur := toks[i-1], toks[i]
		switch {
		case isOpener(prev):
			brackets = append(brackets, prev.Text[0])
		case isCloser(prev) && len(brackets) > 0:
			brackets = brackets[:len(brackets)-1]
		}
		space[i] = spaceBetween(prev, cur, roles[i-1], roles[i])
		broken := cur.Span.Start.Line > prev.Span.End.Line
		if broken || space[i] || isBracketOrComma(prev) || isBracketOrComma(cur) {
			// Brackets and commas are never part of a longer token, so a
			// stretch can start again after them, or at a space.
			start, prefix = i, string(brackets)
			continue
		}
		if !lexesAs(prefix, toks[start:i+1]) {
			space[i] = true
			start, prefix = i, string(brackets)
		}
	}
	return space
}

// spaceBetween is the spacing rule for two adjacent tokens. The order of
// the cases matters: earlier ones win.
func spaceBetween(prev, cur Token, prevRole, curRole role) bool {
	punct := func(t Token, texts ...string) bool {
		if t.Kind != Punct {
			return false
		}
		for _, s := range texts {
			if t.Text == s {
				return true
			}
		}
		return false
	}
	switch {
	case prevRole == roleTight || curRole == roleTight:
		return false
	case punct(cur, ",", ";"), isCloser(cur), isOpener(prev):
		return false
	case prevRole == roleUnary && prev.Kind == Punct:
		return false
	case punct(prev, ",", ";"):
		return true
	case curRole == roleTernaryColon, prevRole == roleTernaryColon, prevRole == roleKeyColon:
		return true
	case curRole == roleKeyColon, curRole == roleSliceColon, prevRole == roleSliceColon:
		return false
	case curRole == roleBinary, prevRole == roleBinary, curRole == roleUnary:
		return true
	case punct(cur, ".", "?.", "..", "..."), punct(prev, ".", "?.", "..", "..."):
		return false
	case cur.Kind == DotName:
		// `contact.name`, `f().x`; but `and .ok` in a predicate is the
		// element's member, not a member of `and`.
		return !endsOperand(prev)
	case punct(cur, "(", "["):
		// A call or an index is written against its operand, a
		// parenthesized expression after a keyword is not: only the
		// source tells `f(x)` from `when (x)`.
		return !endsOperand(prev) || gap(prev, cur)
	case punct(cur, "{"):
		return true
	case prev.Kind == Punct || cur.Kind == Punct:
		// `#`, `#index` and symbols the language does not use.
		return gap(prev, cur)
	}
	return true
}

// lexesAs reports whether toks, written without spaces after the open
// brackets prefix, lex back as themselves.
func lexesAs(prefix string, toks []Token) bool {
	var b strings.Builder
	b.WriteString(prefix)
	for _, t := range toks {
		b.WriteString(t.Text)
	}
	got, diags := Lex("", []byte(b.String()))
	if len(diags) > 0 || len(got) != len(prefix)+len(toks)+1 {
		return false
	}
	for i, t := range toks {
		if g := got[len(prefix)+i]; g.Kind != t.Kind || g.Text != t.Text {
			return false
		}
	}
	return true
}

func isBracketOrComma(t Token) bool {
	return isOpener(t) || isCloser(t) || (t.Kind == Punct && t.Text == ",")
}

// checkTokens verifies that out lexes to the tokens of f, ignoring line
// breaks and comments, except for the empty step blocks Format drops.
func checkTokens(f *File, out []byte) error {
	want := codeTokens(f)
	got, diags := Lex(f.Name, out)
	if len(diags) > 0 {
		return fmt.Errorf("output does not lex: %v", diags)
	}
	i := 0
	for _, t := range got {
		if t.Kind == Newline || t.Kind == Comment || t.Kind == EOF {
			continue
		}
		if i >= len(want) || want[i].Kind != t.Kind || want[i].Text != t.Text {
			return fmt.Errorf("output changes the code at %d:%d (%q)", t.Span.Start.Line, t.Span.Start.Col, t.Text)
		}
		i++
	}
	if i != len(want) {
		return fmt.Errorf("output lost code after %d tokens", i)
	}
	return nil
}

// codeTokens returns the tokens of f's source that Format preserves: all
// but line breaks, `;`, comments and the braces of empty step blocks
// without comments.
func codeTokens(f *File) []Token {
	toks, _ := Lex(f.Name, f.Src)
	drop := map[int]bool{}
	p := newPrinter(f)
	var walk func(items []*Item)
	walk = func(items []*Item) {
		for _, it := range items {
			s := it.Step
			if s == nil || s.Block == nil {
				continue
			}
			if len(s.Block.Items) > 0 {
				walk(s.Block.Items)
				continue
			}
			closer, ok := p.closers[s.Block.Pos.Offset]
			if ok && !p.hasComment(s.Block.Pos.Offset, closer.Span.Start.Offset) {
				drop[s.Block.Pos.Offset] = true
				drop[closer.Span.Start.Offset] = true
			}
		}
	}
	for _, d := range f.Decls {
		walk(d.Body.Items)
	}
	out := toks[:0]
	for _, t := range toks {
		if t.Kind == Newline || t.Kind == Comment || t.Kind == EOF || (t.Kind == Punct && drop[t.Span.Start.Offset]) {
			continue
		}
		out = append(out, t)
	}
	return out
}

// hasComment reports whether a comment starts between offsets from and to.
func (p *printer) hasComment(from, to int) bool {
	for _, c := range p.comments {
		if o := c.Span.Start.Offset; o > from && o < to {
			return true
		}
	}
	return false
}
