package lang

import (
	"github.com/alecthomas/participle/v2/lexer"

	"github.com/switchboard-dev/switchboard/diag"
)

// TokenKind classifies a token.
type TokenKind int

// Token kinds. They double as participle token types, hence negative.
const (
	EOF       TokenKind = TokenKind(lexer.EOF)
	Newline   TokenKind = -2 - iota // a line break, or ';' outside brackets
	Comment                         // '#' or '//' to end of line
	Ident                           // name
	DotName                         // '.name' or '?.name': member access kept whole
	Number                          // 12, 1.5, 1e3, 0x1f
	Duration                        // 500ms, 3s, 1h30m
	Date                            // 2026-12-25
	Time                            // 08:00
	String                          // "..." with ${...} interpolation
	RawString                       // '...' or `...`: no interpolation
	Punct                           // operators and brackets
	Arrow                           // ->
	Invalid                         // a character no rule accepts
)

var kindNames = map[TokenKind]string{
	EOF: "end of file", Newline: "end of line", Comment: "comment", Ident: "name",
	DotName: "member", Number: "number", Duration: "duration", Date: "date", Time: "time",
	String: "string", RawString: "string", Punct: "symbol", Arrow: "`->`", Invalid: "invalid character",
}

func (k TokenKind) String() string { return kindNames[k] }

func symbols() map[string]lexer.TokenType {
	return map[string]lexer.TokenType{
		"EOF": lexer.EOF, "Newline": lexer.TokenType(Newline), "Comment": lexer.TokenType(Comment),
		"Ident": lexer.TokenType(Ident), "DotName": lexer.TokenType(DotName), "Number": lexer.TokenType(Number),
		"Duration": lexer.TokenType(Duration), "Date": lexer.TokenType(Date), "Time": lexer.TokenType(Time),
		"String": lexer.TokenType(String), "RawString": lexer.TokenType(RawString), "Punct": lexer.TokenType(Punct),
		"Arrow": lexer.TokenType(Arrow), "Invalid": lexer.TokenType(Invalid),
	}
}

// Token is one lexical token with its place in the source.
type Token struct {
	Kind TokenKind
	Text string
	Span diag.Span
}

// Nesting is +1 for an opening bracket, -1 for a closing one, else 0: the
// change of bracket depth the token makes.
func (t Token) Nesting() int {
	if t.Kind == Punct && len(t.Text) == 1 {
		switch t.Text[0] {
		case '(', '[', '{':
			return 1
		case ')', ']', '}':
			return -1
		}
	}
	return 0
}

// Is reports whether t is the punctuation or name s.
func (t Token) Is(s string) bool {
	return (t.Kind == Punct || t.Kind == Ident || t.Kind == Arrow) && t.Text == s
}

func toDiagPos(p lexer.Position) diag.Pos {
	return diag.Pos{Offset: p.Offset, Line: p.Line, Col: p.Column}
}

func toLexerPos(file string, p diag.Pos) lexer.Position {
	return lexer.Position{Filename: file, Offset: p.Offset, Line: p.Line, Column: p.Col}
}
