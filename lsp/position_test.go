package lsp

import (
	"testing"

	protocol "github.com/tliron/glsp/protocol_3_16"

	"github.com/switchboard-dev/switchboard/diag"
	"github.com/switchboard-dev/switchboard/lang"
)

func pos(line, char int) protocol.Position {
	return protocol.Position{Line: protocol.UInteger(line), Character: protocol.UInteger(char)}
}

// TestPositions checks the mapping between byte offsets and LSP positions,
// whose columns count UTF-16 code units: é is two bytes and one unit, 🙂
// four bytes and two units (a surrogate pair), 中 three bytes and one unit.
func TestPositions(t *testing.T) {
	src := "ab\né🙂x\r\n中\n"
	// Offsets: a0 b1 \n2 | é3-4 🙂5-8 x9 \r10 \n11 | 中12-14 \n15 | 16 (end)
	tests := []struct {
		off  int
		want protocol.Position
	}{
		{0, pos(0, 0)},
		{2, pos(0, 2)},  // the line break ends line 0
		{3, pos(1, 0)},  // é
		{5, pos(1, 1)},  // 🙂 starts after one unit
		{9, pos(1, 3)},  // x: the emoji took two units
		{10, pos(1, 4)}, // \r
		{12, pos(2, 0)}, // 中
		{15, pos(2, 1)}, // after 中: one unit
		{16, pos(3, 0)}, // the end, on the empty last line
		{99, pos(3, 0)}, // past the end: the end
		{-1, pos(0, 0)}, // before the start: the start
		{4, pos(1, 0)},  // inside é: its start
		{7, pos(1, 1)},  // inside 🙂: its start
		{13, pos(2, 0)}, // inside 中: its start
		{11, pos(1, 5)}, // \n after \r
		{14, pos(2, 0)}, // last byte of 中
		{8, pos(1, 1)},  // last byte of 🙂
	}
	tx := newText(src)
	for _, tt := range tests {
		if got := tx.position(tt.off); got != tt.want {
			t.Errorf("position(%d) = %d:%d, want %d:%d", tt.off, got.Line, got.Character, tt.want.Line, tt.want.Character)
		}
	}

	back := []struct {
		p    protocol.Position
		want int
	}{
		{pos(0, 0), 0},
		{pos(0, 2), 2},
		{pos(0, 9), 2},  // past the end of the line: its end
		{pos(1, 1), 5},  // before 🙂
		{pos(1, 2), 5},  // between its two units: its start
		{pos(1, 3), 9},  // x
		{pos(1, 4), 10}, // the end of the line is before \r\n
		{pos(1, 5), 10}, // \r is not a column
		{pos(2, 1), 15},
		{pos(3, 0), 16},
		{pos(7, 3), 16}, // past the last line: the end
	}
	for _, tt := range back {
		if got := tx.offset(tt.p); got != tt.want {
			t.Errorf("offset(%d:%d) = %d, want %d", tt.p.Line, tt.p.Character, got, tt.want)
		}
	}

	// Every character boundary survives the round trip.
	for off := 0; off <= len(src); off++ {
		if p := tx.position(off); tx.offset(p) != off && isBoundary(src, off) && src[max(off-1, 0)] != '\r' {
			t.Errorf("offset(position(%d)) = %d", off, tx.offset(p))
		}
	}
}

func isBoundary(s string, off int) bool { return off == len(s) || s[off]&0xC0 != 0x80 }

// TestDiagnosticRanges checks a diagnostic's span, which lang positions
// with rune columns, lands on the same text in UTF-16 columns.
func TestDiagnosticRanges(t *testing.T) {
	src := "flow f {\n  s: send \"🙂🙂 é\" -> nowhere\n}\n"
	toks, _ := lang.Lex("f.flow", []byte(src))
	var sp diag.Span
	for _, tok := range toks {
		if tok.Text == "nowhere" {
			sp = tok.Span
		}
	}
	if sp.Start.Col != 21 {
		t.Fatalf("lang counts %d runes before `nowhere`, want 20", sp.Start.Col-1)
	}
	r := newText(src).rangeOf(sp)
	if want := (protocol.Range{Start: pos(1, 22), End: pos(1, 29)}); r != want {
		t.Errorf("range %v, want %v (two surrogate pairs add two units to the rune column)", r, want)
	}
}
