package connectors_test

import (
	"strings"
	"testing"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/switchboard-dev/switchboard/connectors"
)

// bytes counts UTF-8 bytes, as Instagram does.
func bytes(r rune) int { return utf8.RuneLen(r) }

func TestSplitText(t *testing.T) {
	for _, tc := range []struct {
		name  string
		text  string
		limit int
		size  func(rune) int
		want  []string
	}{
		{"empty", "", 10, nil, nil},
		{"white space only", " \n ", 10, nil, nil},
		{"fits", "hello world", 11, nil, []string{"hello world"}},
		{"a text within the limit is unchanged", "  hello world \n", 20, nil, []string{"  hello world \n"}},
		{"white space the text starts with, at a cut", "      abcdefghijk", 8, nil, []string{"abcdefgh", "ijk"}},
		{"white space the text ends with, in the last part", "hello world again ", 12, nil, []string{"hello world", "again "}},
		{"white space only, longer than the limit", strings.Repeat(" ", 30), 8, nil, nil},
		{"at the last space", "hello brave new world", 12, nil, []string{"hello brave", "new world"}},
		{"at the last space, then the rest", "hello there world", 12, nil, []string{"hello there", "world"}},
		{"the limit just before a space", "hello world again", 11, nil, []string{"hello world", "again"}},
		{"the limit before a space beats an earlier space", "aaa a bbb", 5, nil, []string{"aaa a", "bbb"}},
		{"a cut before a space", "aaaaa bbb", 5, nil, []string{"aaaaa", "bbb"}},
		{"runs of spaces dropped at the cut", "hello    world again", 12, nil, []string{"hello", "world again"}},
		{"a line break is a boundary", "first line\nsecond line", 15, nil, []string{"first line", "second line"}},
		{"a line break short of the limit", "first line\nsecond", 12, nil, []string{"first line", "second"}},
		{"a long word is cut", "abcdefghijklmnop", 5, nil, []string{"abcde", "fghij", "klmno", "p"}},
		{"a space early in the part is not used", "a bcdefghijkl", 6, nil, []string{"a bcde", "fghijk", "l"}},
		{"no space in the second half: cut", "abcdefghij klm", 8, nil, []string{"abcdefgh", "ij klm"}},
		{"no empty parts", "a" + strings.Repeat(" ", 20) + "b", 8, nil, []string{"a", "b"}},
		{"UTF-16: an emoji counts two", "ab😀cd", 4, nil, []string{"ab😀", "cd"}},
		{"UTF-16: emoji at a space", "😀😀😀 😀😀", 6, nil, []string{"😀😀😀", "😀😀"}},
		{"UTF-16: an emoji is never halved", "😀😀😀", 4, nil, []string{"😀😀", "😀"}},
		{"UTF-16: accents count one", "ééééé ééééé", 6, nil, []string{"ééééé", "ééééé"}},
		{"UTF-16: a character wider than the limit goes alone", "😀😀", 1, nil, []string{"😀", "😀"}},
		{"UTF-16: alone, then the rest", "😀ab", 1, nil, []string{"😀", "a", "b"}},
		{"bytes: é is two", "éééé ab", 8, bytes, []string{"éééé", "ab"}},
		{"bytes: never inside a character", "ééé", 3, bytes, []string{"é", "é", "é"}},
		{"bytes: an emoji is four", "a😀 b", 4, bytes, []string{"a", "😀", "b"}},
		{"no limit", "anything at all", 0, nil, []string{"anything at all"}},
		{"a size below one counts one", "abcd", 2, func(rune) int { return 0 }, []string{"ab", "cd"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := connectors.SplitText(tc.text, tc.limit, tc.size)
			if strings.Join(got, "|") != strings.Join(tc.want, "|") || len(got) != len(tc.want) {
				t.Errorf("SplitText(%q, %d) = %q, want %q", tc.text, tc.limit, got, tc.want)
			}
		})
	}
}

// TestSplitTextLong: on a long text of mixed scripts, every part fits the
// limit, none is empty, and the parts keep
// every character but white space in order.
func TestSplitTextLong(t *testing.T) {
	var b strings.Builder
	for i := range 3000 {
		b.WriteString([]string{"order ", "pedido😀 ", "注文 ", "x\n", "supercalifragilisticexpialidocious "}[i%5])
	}
	text := b.String()
	for _, tc := range []struct {
		name  string
		limit int
		size  func(rune) int
		count func(string) int
	}{
		{"UTF-16", 1600, nil, func(s string) int { return len(utf16.Encode([]rune(s))) }},
		{"bytes", 999, bytes, func(s string) int { return len(s) }},
		{"narrow", 7, nil, func(s string) int { return len(utf16.Encode([]rune(s))) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			parts := connectors.SplitText(text, tc.limit, tc.size)
			if len(parts) < 2 {
				t.Fatalf("%d parts", len(parts))
			}
			for i, p := range parts {
				if n := tc.count(p); n > tc.limit || strings.TrimSpace(p) == "" {
					t.Fatalf("part %d %q: %d units", i, p, n)
				}
			}
			if got, want := strings.Join(strings.Fields(strings.Join(parts, " ")), ""), strings.Join(strings.Fields(text), ""); got != want {
				t.Error("the parts do not keep the text in order")
			}
		})
	}
}

func TestExcerpt(t *testing.T) {
	for _, tc := range []struct {
		name string
		body string
		max  int
		want string
	}{
		{"empty", "", 200, ""},
		{"blank", " \r\n\t", 200, ""},
		{"on one line", "<html>\n  <body>Bad Gateway</body>\n</html>\n", 200, "<html> <body>Bad Gateway</body> </html>"},
		{"exactly max", "abcde", 5, "abcde"},
		{"cut", "abcdefgh", 5, "abcde…"},
		{"cut on a character boundary", "abcdé", 5, "abcd…"},
		{"cut before a four-byte character", "ab😀cd", 5, "ab…"},
		{"invalid UTF-8 shown as U+FFFD", "ok \xff\xfe", 200, "ok \uFFFD"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := connectors.Excerpt([]byte(tc.body), tc.max); got != tc.want {
				t.Errorf("Excerpt(%q, %d) = %q, want %q", tc.body, tc.max, got, tc.want)
			}
		})
	}
}
