package editors

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/switchboard-dev/switchboard/lang"
)

// TestVimSyntaxSnippet runs the Vim syntax file docs/EDITORS.md gives for
// Neovim and Vim on the shipped flows of flows/ and checks what it
// promises: Vim loads it without an error, and comments, strings,
// durations, arrows, operator words, declaration keywords, step names and
// kinds get their groups. (It takes every `#` for a
// comment, as the docs say, so `#` inside brackets is not checked.) It
// needs vim and is skipped without it.
func TestVimSyntaxSnippet(t *testing.T) {
	vim, err := exec.LookPath("vim")
	if err != nil {
		t.Skip("vim is not installed")
	}
	doc, err := os.ReadFile("../docs/EDITORS.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?ms)^```vim\n(if exists\\('b:current_syntax'\\).*?)^```").FindSubmatch(doc)
	if m == nil {
		t.Fatal("no Vim syntax file in docs/EDITORS.md")
	}
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "syntax"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "syntax", "flow.vim"), m[1], 0o644); err != nil {
		t.Fatal(err)
	}
	// The probe writes the syntax group of every byte, one line per line.
	probe := fmt.Sprintf(`set rtp^=%s
syntax on
set filetype=flow
let out = []
for l in range(1, line('$'))
  let groups = []
  for c in range(1, len(getline(l)))
    call add(groups, synIDattr(synID(l, c, 1), 'name'))
  endfor
  call add(out, join(groups, ' '))
endfor
call writefile(out, '%s')
redir! > %s
messages
redir END
qa!
`, dir, filepath.Join(dir, "out"), filepath.Join(dir, "messages"))
	if err := os.WriteFile(filepath.Join(dir, "probe.vim"), []byte(probe), 0o644); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob("../flows/*.flow")
	for _, path := range files {
		src, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		os.Remove(filepath.Join(dir, "out"))
		// Vim in Ex mode exits 1 after any error without saying which:
		// the probe records Vim's messages.
		stderr, _ := exec.Command(vim, "-Nu", "NONE", "-i", "NONE", "-es", "-S", filepath.Join(dir, "probe.vim"), path).CombinedOutput()
		messages, _ := os.ReadFile(filepath.Join(dir, "messages"))
		if regexp.MustCompile(`E\d+:`).Match(messages) {
			t.Fatalf("vim reports errors in the syntax file:\n%s", messages)
		}
		out, err := os.ReadFile(filepath.Join(dir, "out"))
		if err != nil {
			t.Fatalf("vim wrote nothing: %v\n%s", err, stderr)
		}
		if n, want := strings.Count(string(out), "\n"), strings.Count(string(src), "\n"); n != want {
			t.Fatalf("vim described %d lines of %s, which has %d", n, path, want)
		}
		// group[offset] is the group Vim gives the byte at that offset.
		group := make([]string, len(src))
		off := 0
		for _, line := range strings.Split(strings.TrimSuffix(string(out), "\n"), "\n") {
			cols := strings.Split(line, " ")
			for i, g := range cols {
				if line != "" && off+i < len(group) {
					group[off+i] = g
				}
			}
			if i := strings.IndexByte(string(src[off:]), '\n'); i >= 0 {
				off += i + 1
			} else {
				break
			}
		}
		check := func(tok lang.Token, groups ...string) {
			for i := tok.Span.Start.Offset; i < tok.Span.End.Offset; i++ {
				if !slices.Contains(groups, group[i]) {
					t.Errorf("%s:%d:%d: %q is %q in Vim, want %s", path, tok.Span.Start.Line, tok.Span.Start.Col, tok.Text, group[i], strings.Join(groups, " or "))
					return
				}
			}
		}
		toks, _ := lang.Lex(path, src)
		depth := 0 // of ( and [, where '#' is no comment
		for i, tok := range toks {
			switch tok.Kind {
			case lang.Comment:
				if depth == 0 {
					check(tok, "flowComment")
				}
			case lang.String:
				check(tok, "flowString", "flowInterpolation")
			case lang.RawString:
				check(tok, "flowRawString")
			case lang.Duration:
				check(tok, "flowDuration")
			case lang.Arrow:
				check(tok, "flowArrow")
			case lang.Punct:
				switch tok.Text {
				case "(", "[":
					depth++
				case ")", "]":
					depth--
				}
			case lang.Ident:
				switch {
				case slices.Contains(operatorWords, tok.Text):
					check(tok, "flowOperator")
				case i+1 < len(toks) && toks[i+1].Is(":") && (i == 0 || toks[i-1].Kind == lang.Newline) && i+2 < len(toks) && toks[i+2].Kind == lang.Ident:
					check(tok, "flowStep")
					check(toks[i+2], "flowKind")
				case slices.Contains([]string{"flow", "queue", "workflow", "hours"}, tok.Text) && (i == 0 || toks[i-1].Kind == lang.Newline || toks[i-1].Kind == lang.Comment):
					check(tok, "flowDeclaration")
				}
			}
		}
	}
}
