package messaging_test

import (
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/switchboard-dev/switchboard/connectors/twilio/messaging"
)

func TestSplit(t *testing.T) {
	for _, tc := range []struct {
		name  string
		text  string
		limit int
		want  []string
	}{
		{"empty", "", 10, nil},
		{"fits", "hello world", 11, []string{"hello world"}},
		{"at the last space", "hello brave new world", 12, []string{"hello brave", "new world"}},
		{"runs of spaces dropped at the cut", "hello    world again", 12, []string{"hello", "world again"}},
		{"newline is a boundary", "first line\nsecond line", 15, []string{"first line", "second line"}},
		{"a long word is cut", "abcdefghijklmnop", 5, []string{"abcde", "fghij", "klmno", "p"}},
		{"a space early in the part is not used", "a bcdefghijkl", 6, []string{"a bcde", "fghijk", "l"}},
		{"a cut before a space", "aaaaa bbb", 5, []string{"aaaaa", "bbb"}},
		{"emoji count two", "😀😀😀 😀😀", 6, []string{"😀😀😀", "😀😀"}},
		{"accents count one", "ééééé ééééé", 6, []string{"ééééé", "ééééé"}},
		{"no empty parts", "a" + strings.Repeat(" ", 20) + "b", 8, []string{"a", "b"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := messaging.Split(tc.text, tc.limit)
			if strings.Join(got, "|") != strings.Join(tc.want, "|") || len(got) != len(tc.want) {
				t.Errorf("Split(%q, %d) = %q, want %q", tc.text, tc.limit, got, tc.want)
			}
		})
	}
}

// TestSplitLimit: every part of a long text fits Twilio's limit counted
// in UTF-16, and the parts keep every word in order.
func TestSplitLimit(t *testing.T) {
	var b strings.Builder
	for i := range 900 {
		b.WriteString([]string{"order ", "pedido😀 ", "注文 ", "x\n"}[i%4])
	}
	text := strings.TrimSpace(b.String())
	parts := messaging.Split(text, messaging.MaxBody)
	if len(parts) < 2 {
		t.Fatalf("%d parts", len(parts))
	}
	for i, p := range parts {
		if n := len(utf16.Encode([]rune(p))); n > messaging.MaxBody || p == "" {
			t.Errorf("part %d: %d UTF-16 units", i, n)
		}
	}
	if strings.Join(strings.Fields(strings.Join(parts, " ")), " ") != strings.Join(strings.Fields(text), " ") {
		t.Error("the parts do not keep the words in order")
	}
}
