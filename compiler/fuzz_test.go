package compiler_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/txtar"

	"github.com/switchboard-dev/switchboard/compiler"
	"github.com/switchboard-dev/switchboard/diag"
)

// seedPrograms returns every program the golden tests hold, and the
// shipped flows, as fuzz seeds.
func seedPrograms(tb testing.TB) [][]byte {
	var seeds [][]byte
	paths, _ := filepath.Glob("../testdata/check/*.txtar")
	for _, p := range paths {
		ar, err := txtar.ParseFile(p)
		if err != nil {
			tb.Fatal(err)
		}
		for _, f := range ar.Files {
			if strings.HasPrefix(f.Name, "in/") {
				seeds = append(seeds, f.Data)
			}
		}
	}
	more, _ := filepath.Glob("../flows/*.flow")
	chunks, _ := filepath.Glob("../testdata/check/*.flow")
	for _, p := range append(more, chunks...) {
		b, err := os.ReadFile(p)
		if err != nil {
			tb.Fatal(err)
		}
		seeds = append(seeds, b)
	}
	return seeds
}

// FuzzCompile checks that no input makes the compiler panic, that a
// program either compiles or says why, and that every diagnostic points
// inside the file.
func FuzzCompile(f *testing.F) {
	for _, s := range seedPrograms(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		prog, list := compiler.CompileSources([]compiler.Source{{Name: "fuzz.flow", Src: src}}, compiler.Options{})
		if prog == nil && !list.HasErrors() {
			t.Fatal("no program and no error")
		}
		for _, d := range list {
			if d.Code == "E0100" {
				t.Fatalf("internal error: %s", d.Msg)
			}
			if d.Span.Start.Offset > len(src) || d.Span.End.Offset > len(src) || d.Span.Start.Offset < 0 {
				t.Fatalf("diagnostic outside the file: %v", d)
			}
		}
		var sb strings.Builder
		if err := diag.Write(&sb, list, diag.Sources{"fuzz.flow": src}, diag.Options{}); err != nil {
			t.Fatal(err)
		}
		if prog != nil {
			_ = prog.Disassemble()
		}
	})
}
