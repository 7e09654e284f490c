package lsp

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/txtar"

	"github.com/switchboard-dev/switchboard/compiler"
)

// TestSameAsLint opens each program of the compiler's golden corpus
// (testdata/check/*.txtar) and checks the published diagnostics are
// lint's, one for one: code, message, hint, related information and
// range.
func TestSameAsLint(t *testing.T) {
	paths, _ := filepath.Glob("../testdata/check/*.txtar")
	if len(paths) == 0 {
		t.Fatal("no golden programs")
	}
	c := startServer(t, Options{Debounce: -1}, t.TempDir())
	total := 0
	for _, path := range paths {
		ar, err := txtar.ParseFile(path)
		if err != nil {
			t.Fatal(err)
		}
		dir := filepath.Join(t.TempDir(), strings.TrimSuffix(filepath.Base(path), ".txtar"))
		var srcs []compiler.Source
		texts := map[string]*text{}
		for _, f := range ar.Files {
			if !strings.HasPrefix(f.Name, "in/") || strings.Contains(strings.TrimPrefix(f.Name, "in/"), "/") {
				continue
			}
			p := filepath.Join(dir, strings.TrimPrefix(f.Name, "in/"))
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, f.Data, 0o644); err != nil {
				t.Fatal(err)
			}
			srcs = append(srcs, compiler.Source{Name: p, Src: f.Data})
			texts[p] = newText(string(f.Data))
		}
		if len(srcs) == 0 {
			continue
		}
		_, list := compiler.CompileSources(srcs, compiler.Options{})
		want := map[string][]string{}
		for _, d := range list {
			line := fmt.Sprintf("%s %s[%s] %s", rangeText(texts[d.Span.File].rangeOf(d.Span)), d.Severity, d.Code, d.Msg)
			if d.Hint != "" {
				line += " / hint: " + d.Hint
			}
			for _, r := range d.Related {
				line += fmt.Sprintf(" / %s %s %s", filepath.Base(r.Span.File), rangeText(texts[r.Span.File].rangeOf(r.Span)), r.Msg)
			}
			want[d.Span.File] = append(want[d.Span.File], line)
		}
		for _, s := range srcs {
			c.open(s.Name, string(s.Src), 1)
		}
		for _, s := range srcs {
			var got []string
			sevs := map[int]string{1: "error", 2: "warning", 3: "info"}
			for _, d := range c.diagnostics(s.Name, 1).Diagnostics {
				msg, hint, _ := strings.Cut(d.Message, "\nhint: ")
				line := fmt.Sprintf("%s %s[%v] %s", rangeText(d.Range), sevs[int(*d.Severity)], d.Code, msg)
				if hint != "" {
					line += " / hint: " + hint
				}
				for _, r := range d.RelatedInformation {
					rp, _ := uriPath(r.Location.URI)
					line += fmt.Sprintf(" / %s %s %s", filepath.Base(rp), rangeText(r.Location.Range), r.Message)
				}
				got = append(got, line)
			}
			total += len(got)
			if !slices.Equal(got, want[s.Name]) {
				t.Errorf("%s: %s:\ngot  %q\nwant %q", filepath.Base(path), filepath.Base(s.Name), got, want[s.Name])
			}
		}
	}
	if total == 0 {
		t.Error("no diagnostics at all: the corpus is all errors")
	}
}
