package studio

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/txtar"
	"github.com/switchboard-dev/switchboard/compiler"
	"github.com/switchboard-dev/switchboard/flowtest"
)

// TestVoiceWidgets converts the export of each testdata/*/*.txtar (in.json;
// voice/ for the voice widgets, messages/ for the message ones) and compares the result with out.flow, the warnings with
// warnings and the compiler's own warnings with diagnostics. The flow
// tests of test.flowtest, when there is one, run against the result: they
// check that the converted flow behaves as the Studio flow does.
// FLOW_UPDATE=1 rewrites the three outputs.
func TestVoiceWidgets(t *testing.T) {
	files, _ := filepath.Glob("testdata/*/*.txtar")
	if len(files) < 10 {
		t.Fatalf("found only %d archives", len(files))
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".txtar"), func(t *testing.T) {
			ar, err := txtar.ParseFile(file)
			if err != nil {
				t.Fatal(err)
			}
			sections := map[string][]byte{}
			for _, f := range ar.Files {
				sections[f.Name] = f.Data
			}
			in, ok := sections["in.json"]
			if !ok {
				t.Fatal("no in.json section")
			}
			src, warnings, err := Convert(in)
			if err != nil {
				t.Fatalf("Convert: %v\n%s", err, src)
			}
			var ws bytes.Buffer
			for _, w := range warnings {
				ws.WriteString(w.String() + "\n")
			}
			prog, diags := compiler.CompileSources([]compiler.Source{{Name: "out.flow", Src: src}}, compiler.Options{})
			if diags.HasErrors() {
				t.Fatalf("does not compile: %v\n%s", diags, src)
			}
			var ds bytes.Buffer
			for _, d := range diags {
				ds.WriteString(d.Code + " " + d.Msg + "\n")
			}
			got := map[string][]byte{"out.flow": src, "warnings": ws.Bytes(), "diagnostics": ds.Bytes()}
			if os.Getenv("FLOW_UPDATE") != "" {
				updateArchive(t, file, ar, got)
			} else {
				for _, name := range []string{"out.flow", "warnings", "diagnostics"} {
					if !bytes.Equal(got[name], sections[name]) {
						t.Errorf("%s differs (FLOW_UPDATE=1 rewrites it); got:\n%s", name, got[name])
					}
				}
			}
			if n := bytes.Count(src, []byte("# TODO:")); n > len(warnings) {
				t.Errorf("%d TODO comments but %d warnings", n, len(warnings))
			}
			if ft, ok := sections["test.flowtest"]; ok {
				runFlowTests(t, prog, ft)
			}
		})
	}
}

func runFlowTests(t *testing.T, prog *compiler.Program, src []byte) {
	t.Helper()
	file, diags := flowtest.Parse("test.flowtest", src)
	if diags.HasErrors() {
		t.Fatalf("test.flowtest: %v", diags)
	}
	if len(file.Tests) == 0 {
		t.Fatal("test.flowtest has no tests")
	}
	for _, ft := range file.Tests {
		if res := flowtest.Run(prog, "test.flowtest", ft, nil); res.Failure != nil {
			t.Errorf("flow test %q failed:\n  %s", ft.Name, strings.Join(res.Failure.Lines(), "\n  "))
		}
	}
}

// updateArchive rewrites the outputs of an archive, keeping its comment,
// its input and its flow tests.
func updateArchive(t *testing.T, file string, ar *txtar.Archive, got map[string][]byte) {
	t.Helper()
	out := &txtar.Archive{Comment: ar.Comment}
	var rest []txtar.File
	for _, f := range ar.Files {
		switch _, isOut := got[f.Name]; {
		case f.Name == "in.json":
			out.Files = append(out.Files, f)
		case !isOut:
			rest = append(rest, f)
		}
	}
	for _, name := range []string{"out.flow", "warnings", "diagnostics"} {
		out.Files = append(out.Files, txtar.File{Name: name, Data: got[name]})
	}
	out.Files = append(out.Files, rest...)
	if err := os.WriteFile(file, txtar.Format(out), 0o644); err != nil {
		t.Fatal(err)
	}
}
