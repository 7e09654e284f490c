package lang

import (
	"unicode"
	"unicode/utf8"

	"github.com/switchboard-dev/switchboard/diag"
)

// scanner turns source bytes into tokens. It is hand-written rather than
// regexp-driven because the language needs a little context that regular
// rules express badly (nested ${...} in strings, '#' meaning different
// things inside and outside brackets) and because it runs on every keystroke
// of an editor integration.
type scanner struct {
	file  string
	src   []byte
	text  string // src as a string: token texts are slices of it, not copies
	off   int
	line  int
	col   int
	stack []byte // open brackets, innermost last
	diags diag.List
}

// Lex splits src into tokens, ending with an EOF token. Comments are
// returned as tokens too; the parser elides them. Lexical errors are
// reported and lexing goes on, so later errors are found in the same run.
func Lex(file string, src []byte) ([]Token, diag.List) {
	s := &scanner{file: file, src: src, text: string(src), line: 1, col: 1}
	toks := make([]Token, 0, len(src)/4+1)
	for {
		t := s.next()
		toks = append(toks, t)
		if t.Kind == EOF {
			return toks, s.diags
		}
	}
}

func (s *scanner) pos() diag.Pos { return diag.Pos{Offset: s.off, Line: s.line, Col: s.col} }

func (s *scanner) peekByte(i int) byte {
	if s.off+i < len(s.src) {
		return s.src[s.off+i]
	}
	return 0
}

// advance moves over n bytes that contain no newline except possibly as the
// last byte handled by newline().
func (s *scanner) advance(n int) {
	for i := 0; i < n && s.off < len(s.src); {
		r, size := utf8.DecodeRune(s.src[s.off:])
		if r == '\n' {
			s.line++
			s.col = 1
		} else {
			s.col++
		}
		s.off += size
		i += size
	}
}

func (s *scanner) tok(kind TokenKind, start diag.Pos) Token {
	return Token{Kind: kind, Text: s.text[start.Offset:s.off], Span: diag.Span{File: s.file, Start: start, End: s.pos()}}
}

func (s *scanner) errorf(code string, start diag.Pos, format string, args ...any) *diag.Diagnostic {
	return s.diags.Errorf(code, diag.Span{File: s.file, Start: start, End: s.pos()}, format, args...)
}

func (s *scanner) inExprBrackets() bool {
	return len(s.stack) > 0 && s.stack[len(s.stack)-1] != '{'
}

func (s *scanner) next() Token {
	// Skip horizontal space.
	for s.off < len(s.src) {
		c := s.src[s.off]
		if c == ' ' || c == '\t' || c == '\r' || c == '\f' {
			s.advance(1)
			continue
		}
		break
	}
	start := s.pos()
	if s.off >= len(s.src) {
		return Token{Kind: EOF, Span: diag.Span{File: s.file, Start: start, End: start}}
	}
	c := s.src[s.off]
	switch {
	case c == '\n':
		s.advance(1)
		return s.tok(Newline, start)
	case c == ';' && !s.inExprBrackets():
		s.advance(1)
		return s.tok(Newline, start)
	case c == '#' && !s.inExprBrackets(), c == '/' && s.peekByte(1) == '/':
		for s.off < len(s.src) && s.src[s.off] != '\n' {
			s.advance(1)
		}
		return s.tok(Comment, start)
	case c == '"':
		return s.scanString(start)
	case c == '\'' || c == '`':
		return s.scanRawString(start, c)
	case c >= '0' && c <= '9':
		return s.scanNumberLike(start)
	case c == '.' && isIdentStart(s.runeAt(1)):
		s.advance(1)
		s.scanIdentRest()
		return s.tok(DotName, start)
	case c == '?' && s.peekByte(1) == '.' && isIdentStart(s.runeAt(2)):
		s.advance(2)
		s.scanIdentRest()
		return s.tok(DotName, start)
	case c == '.' && s.peekByte(1) >= '0' && s.peekByte(1) <= '9':
		return s.scanNumberLike(start)
	}
	r, _ := utf8.DecodeRune(s.src[s.off:])
	if isIdentStart(r) {
		s.scanIdentRest()
		return s.tok(Ident, start)
	}
	if p := punct(s.src[s.off:]); p != "" {
		s.advance(len(p))
		switch p {
		case "(", "[", "{":
			s.stack = append(s.stack, p[0])
		case ")", "]", "}":
			if len(s.stack) > 0 {
				s.stack = s.stack[:len(s.stack)-1]
			}
		case "->":
			return s.tok(Arrow, start)
		}
		return s.tok(Punct, start)
	}
	s.advance(1)
	s.errorf("E0101", start, "unexpected character %q", r)
	return s.tok(Invalid, start)
}

func (s *scanner) runeAt(i int) rune {
	if s.off+i >= len(s.src) {
		return 0
	}
	r, _ := utf8.DecodeRune(s.src[s.off+i:])
	return r
}

func isIdentStart(r rune) bool { return r == '_' || r == '$' || unicode.IsLetter(r) }

func isIdentPart(r rune) bool {
	return r == '_' || r == '$' || unicode.IsLetter(r) || unicode.IsDigit(r)
}

func (s *scanner) scanIdentRest() {
	for s.off < len(s.src) {
		r, size := utf8.DecodeRune(s.src[s.off:])
		if !isIdentPart(r) {
			return
		}
		s.off += size
		s.col++
	}
}

// Longest first within each leading character.
var puncts = []string{
	"->", "...", "..", "?.", "??", "==", "!=", "<=", ">=", "&&", "||", "**",
	"+", "-", "*", "/", "%", "^", "<", ">", "=", "!", "?", ":", ",", ".", "|",
	"(", ")", "[", "]", "{", "}", "#", "~", "&", ";", "@",
}

func punct(b []byte) string {
	for _, p := range puncts {
		if len(b) >= len(p) && string(b[:len(p)]) == p {
			return p
		}
	}
	return ""
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// scanNumberLike reads a date (2026-12-25), a time (08:00), a duration
// (1h30m, 500ms) or a number, in that order of preference.
func (s *scanner) scanNumberLike(start diag.Pos) Token {
	b := s.src[s.off:]
	digits := func(from int) int {
		n := 0
		for from+n < len(b) && isDigit(b[from+n]) {
			n++
		}
		return n
	}
	notIdentAfter := func(i int) bool {
		if i >= len(b) {
			return true
		}
		r, _ := utf8.DecodeRune(b[i:])
		return !isIdentPart(r)
	}
	lead := digits(0)
	// Date: 4 digits '-' 2 digits '-' 2 digits.
	if lead == 4 && len(b) >= 10 && b[4] == '-' && digits(5) == 2 && b[7] == '-' && digits(8) == 2 && notIdentAfter(10) && !(len(b) > 10 && isDigit(b[10])) {
		s.advance(10)
		return s.tok(Date, start)
	}
	// Time: 2 digits ':' 2 digits, not followed by another digit.
	if lead == 2 && len(b) >= 5 && b[2] == ':' && digits(3) == 2 && notIdentAfter(5) {
		s.advance(5)
		return s.tok(Time, start)
	}
	// Duration: (digits unit)+ with units ms, s, m, h.
	if lead > 0 {
		i := 0
		ok := false
		for {
			n := digits(i)
			if n == 0 {
				break
			}
			j := i + n
			unit := 0
			switch {
			case j+1 < len(b) && b[j] == 'm' && b[j+1] == 's':
				unit = 2
			case j < len(b) && (b[j] == 's' || b[j] == 'm' || b[j] == 'h'):
				unit = 1
			}
			if unit == 0 {
				break
			}
			i = j + unit
			ok = true
			if i < len(b) && isDigit(b[i]) {
				continue
			}
			break
		}
		if ok && notIdentAfter(i) {
			s.advance(i)
			return s.tok(Duration, start)
		}
	}
	// Number: hex, or decimal with optional fraction and exponent, '_' allowed.
	i := 0
	if len(b) > 1 && b[0] == '0' && (b[1] == 'x' || b[1] == 'X') {
		i = 2
		for i < len(b) && (isDigit(b[i]) || (b[i]|0x20 >= 'a' && b[i]|0x20 <= 'f') || b[i] == '_') {
			i++
		}
	} else {
		for i < len(b) && (isDigit(b[i]) || b[i] == '_') {
			i++
		}
		// A '.' followed by a digit is a fraction; '..' is a range.
		if i < len(b)-1 && b[i] == '.' && isDigit(b[i+1]) {
			i++
			for i < len(b) && (isDigit(b[i]) || b[i] == '_') {
				i++
			}
		}
		if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
			j := i + 1
			if j < len(b) && (b[j] == '+' || b[j] == '-') {
				j++
			}
			if j < len(b) && isDigit(b[j]) {
				i = j
				for i < len(b) && isDigit(b[i]) {
					i++
				}
			}
		}
	}
	s.advance(i)
	if r, _ := utf8.DecodeRune(s.src[s.off:]); s.off < len(s.src) && isIdentPart(r) {
		// "12abc": consume the rest so the error covers the whole word.
		end := s.pos()
		s.scanIdentRest()
		s.errorf("E0102", start, "malformed number or duration %q", string(s.src[start.Offset:s.off])).
			WithHint("durations use the units ms, s, m and h, as in 500ms, 30s, 5m, 1h30m")
		_ = end
		return s.tok(Invalid, start)
	}
	return s.tok(Number, start)
}

// scanString reads a double-quoted string. Inside ${...} the braces nest
// and strings may nest too, so the token ends at the quote that closes the
// outermost string.
func (s *scanner) scanString(start diag.Pos) Token {
	s.advance(1) // opening quote
	if !s.scanStringBody() {
		s.errorf("E0103", start, "string is not closed").
			WithHint("close it with `\"` on the same line; strings do not span lines (use \\n)")
		return s.tok(Invalid, start)
	}
	return s.tok(String, start)
}

// scanStringBody reads up to and including the closing quote. It reports
// false, stopping before the newline, when the line ends first.
func (s *scanner) scanStringBody() bool {
	for s.off < len(s.src) {
		c := s.src[s.off]
		switch {
		case c == '\n':
			return false
		case c == '\\':
			s.advance(1)
			if s.off < len(s.src) && s.src[s.off] != '\n' {
				s.advance(1)
			}
		case c == '"':
			s.advance(1)
			return true
		case c == '$' && s.peekByte(1) == '{':
			s.advance(2)
			if !s.scanInterpolation() {
				return false
			}
		default:
			s.advance(1)
		}
	}
	return false
}

// scanInterpolation reads an expression up to its matching '}'.
func (s *scanner) scanInterpolation() bool {
	depth := 1
	for s.off < len(s.src) {
		c := s.src[s.off]
		switch c {
		case '\n':
			return false
		case '{':
			depth++
			s.advance(1)
		case '}':
			depth--
			s.advance(1)
			if depth == 0 {
				return true
			}
		case '"':
			s.advance(1)
			if !s.scanStringBody() {
				return false
			}
		case '\'', '`':
			s.advance(1)
			for s.off < len(s.src) && s.src[s.off] != c && s.src[s.off] != '\n' {
				if s.src[s.off] == '\\' && c == '\'' {
					s.advance(1)
				}
				s.advance(1)
			}
			if s.off >= len(s.src) || s.src[s.off] != c {
				return false
			}
			s.advance(1)
		default:
			s.advance(1)
		}
	}
	return false
}

func (s *scanner) scanRawString(start diag.Pos, quote byte) Token {
	s.advance(1)
	for s.off < len(s.src) {
		c := s.src[s.off]
		if c == '\n' {
			break
		}
		s.advance(1)
		if c == quote {
			return s.tok(RawString, start)
		}
	}
	s.errorf("E0103", start, "string is not closed").
		WithHint("close it with %s on the same line; strings do not span lines", diag.Quote(string(quote)))
	return s.tok(Invalid, start)
}
