package lang_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/txtar"

	"github.com/switchboard-dev/switchboard/lang"
)

// FuzzParse checks that no input makes the lexer or parser panic and that
// every diagnostic and token lies inside the input.
func FuzzParse(f *testing.F) {
	paths, _ := filepath.Glob("../testdata/check/*.txtar")
	for _, p := range paths {
		ar, err := txtar.ParseFile(p)
		if err != nil {
			f.Fatal(err)
		}
		for _, file := range ar.Files {
			if strings.HasPrefix(file.Name, "in/") {
				f.Add(file.Data)
			}
		}
	}
	more, _ := filepath.Glob("../flows/*.flow")
	for _, p := range more {
		b, _ := os.ReadFile(p)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		toks, _ := lang.Lex("fuzz.flow", src)
		end := 0
		for _, tok := range toks {
			if tok.Span.Start.Offset < end || tok.Span.End.Offset > len(src) {
				t.Fatalf("token %q at %d..%d out of order or outside the input", tok.Text, tok.Span.Start.Offset, tok.Span.End.Offset)
			}
			end = tok.Span.End.Offset
		}
		_, list := lang.Parse("fuzz.flow", src)
		for _, d := range list {
			if d.Code == "E0100" {
				t.Fatalf("internal error: %s", d.Msg)
			}
			if d.Span.End.Offset > len(src) {
				t.Fatalf("diagnostic outside the input: %v", d)
			}
		}
	})
}
