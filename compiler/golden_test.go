package compiler_test

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/txtar"

	"github.com/switchboard-dev/switchboard/compiler"
	"github.com/switchboard-dev/switchboard/diag"
)

// update rewrites the expected outputs of the golden tests.
var update = os.Getenv("FLOW_UPDATE") != ""

// compileArchive compiles the `in/*.flow` files of an archive as one
// program and renders its diagnostics and disassembly.
func compileArchive(ar *txtar.Archive) (diags, program string) {
	var srcs []compiler.Source
	files := diag.Sources{}
	for _, f := range ar.Files {
		if strings.HasPrefix(f.Name, "in/") {
			srcs = append(srcs, compiler.Source{Name: f.Name, Src: f.Data})
			files[f.Name] = f.Data
		}
	}
	prog, list := compiler.CompileSources(srcs, compiler.Options{})
	var b bytes.Buffer
	if err := diag.Write(&b, list, files, diag.Options{}); err != nil {
		panic(err)
	}
	if prog != nil {
		program = prog.Disassemble()
	}
	return b.String(), program
}

// TestGolden checks every testdata/check/*.txtar: the rendered diagnostics
// (carets included) and, for programs that compile, the state machine.
// FLOW_UPDATE=1 rewrites the expectations.
func TestGolden(t *testing.T) {
	paths, _ := filepath.Glob("../testdata/check/*.txtar")
	if len(paths) == 0 {
		t.Fatal("no golden files found")
	}
	for _, path := range paths {
		t.Run(strings.TrimSuffix(filepath.Base(path), ".txtar"), func(t *testing.T) {
			ar, err := txtar.ParseFile(path)
			if err != nil {
				t.Fatal(err)
			}
			gotDiags, gotProg := compileArchive(ar)
			want := map[string]string{"out/diagnostics": gotDiags, "out/program": gotProg}
			if update {
				var files []txtar.File
				for _, f := range ar.Files {
					if strings.HasPrefix(f.Name, "in/") {
						files = append(files, f)
					}
				}
				for _, name := range []string{"out/diagnostics", "out/program"} {
					if want[name] != "" {
						files = append(files, txtar.File{Name: name, Data: []byte(want[name])})
					}
				}
				ar.Files = files
				if err := os.WriteFile(path, txtar.Format(ar), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			for _, name := range []string{"out/diagnostics", "out/program"} {
				var expected string
				for _, f := range ar.Files {
					if f.Name == name {
						expected = string(f.Data)
					}
				}
				if expected != want[name] {
					t.Errorf("%s differs\n--- want\n%s--- got\n%s", name, expected, want[name])
				}
			}
		})
	}
}

// TestChunks checks the small cases of testdata/check/*.flow. A file holds
// chunks separated by lines of `---`; a comment `### "regexp"` on a line
// expects a diagnostic on that line whose "code: message" matches. Every
// diagnostic must be expected and every expectation met.
func TestChunks(t *testing.T) {
	paths, _ := filepath.Glob("../testdata/check/*.flow")
	if len(paths) == 0 {
		t.Fatal("no chunk files found")
	}
	expectRE := regexp.MustCompile(`###\s*"((?:[^"\\]|\\.)*)"`)
	for _, path := range paths {
		src, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.SplitAfter(string(src), "\n")
		var chunk []string
		first := 1
		flush := func(startLine int) {
			if len(chunk) == 0 {
				return
			}
			// Pad with empty lines so positions match the whole file.
			body := strings.Repeat("\n", startLine-1) + strings.Join(chunk, "")
			checkChunk(t, path, body, expectRE)
			chunk = nil
		}
		for i, l := range lines {
			if strings.TrimSpace(l) == "---" {
				flush(first)
				first = i + 2
				continue
			}
			chunk = append(chunk, l)
		}
		flush(first)
	}
}

func checkChunk(t *testing.T, path, body string, expectRE *regexp.Regexp) {
	t.Helper()
	type expectation struct {
		line int
		re   *regexp.Regexp
		met  bool
	}
	var expects []*expectation
	for i, l := range strings.Split(body, "\n") {
		for _, m := range expectRE.FindAllStringSubmatch(l, -1) {
			re, err := regexp.Compile(strings.ReplaceAll(m[1], `\"`, `"`))
			if err != nil {
				t.Fatalf("%s:%d: bad expectation: %v", path, i+1, err)
			}
			expects = append(expects, &expectation{line: i + 1, re: re})
		}
	}
	_, list := compiler.CompileSources([]compiler.Source{{Name: path, Src: []byte(body)}}, compiler.Options{})
	for _, d := range list {
		text := d.Code + ": " + d.Msg
		found := false
		for _, e := range expects {
			if !e.met && e.line == d.Span.Start.Line && e.re.MatchString(text) {
				e.met, found = true, true
				break
			}
		}
		if !found {
			t.Errorf("%s:%d:%d: unexpected %s", path, d.Span.Start.Line, d.Span.Start.Col, text)
		}
	}
	for _, e := range expects {
		if !e.met {
			t.Errorf("%s:%d: expected a diagnostic matching %q", path, e.line, e.re)
		}
	}
}
