package lsp

import (
	"sort"
	"unicode/utf8"

	protocol "github.com/tliron/glsp/protocol_3_16"

	"github.com/switchboard-dev/switchboard/diag"
)

// text is one version of a file with the starts of its lines, to move
// between byte offsets (what diag and lang count) and LSP positions (a
// line and a column in UTF-16 code units, as editors count).
type text struct {
	src   string
	lines []int // byte offset where each line starts
}

func newText(src string) *text {
	t := &text{src: src, lines: []int{0}}
	for i := 0; i < len(src); i++ {
		if src[i] == '\n' {
			t.lines = append(t.lines, i+1)
		}
	}
	return t
}

// position converts a byte offset. An offset inside a UTF-8 sequence
// counts as the start of its character.
func (t *text) position(off int) protocol.Position {
	off = max(0, min(off, len(t.src)))
	line := sort.Search(len(t.lines), func(i int) bool { return t.lines[i] > off }) - 1
	col := 0
	for i := t.lines[line]; i < off; {
		r, n := utf8.DecodeRuneInString(t.src[i:])
		if i+n > off {
			break
		}
		col += utf16Len(r)
		i += n
	}
	return protocol.Position{Line: protocol.UInteger(line), Character: protocol.UInteger(col)}
}

// offset converts an LSP position. A column past the end of its line is
// the end of the line, a line past the end of the text is its end, and a
// column in the middle of a surrogate pair is the character's start.
func (t *text) offset(p protocol.Position) int {
	line := int(p.Line)
	if line >= len(t.lines) {
		return len(t.src)
	}
	end := len(t.src)
	if line+1 < len(t.lines) {
		end = t.lines[line+1] - 1 // the '\n'
	}
	i, col := t.lines[line], 0
	for i < end {
		r, n := utf8.DecodeRuneInString(t.src[i:])
		if r == '\r' && i+1 == end {
			break
		}
		w := utf16Len(r)
		if col+w > int(p.Character) {
			break
		}
		col += w
		i += n
	}
	return i
}

func (t *text) rangeOf(s diag.Span) protocol.Range {
	end := s.End.Offset
	if !s.End.IsValid() || end < s.Start.Offset {
		end = s.Start.Offset
	}
	return protocol.Range{Start: t.position(s.Start.Offset), End: t.position(end)}
}

func utf16Len(r rune) int {
	if r >= 0x10000 && r <= utf8.MaxRune {
		return 2
	}
	return 1
}
