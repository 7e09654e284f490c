package lang

import (
	"strings"
	"testing"
)

// TestParseWorkerSchema pins how the one declaration without a name parses:
// its Name is its keyword, a name written after it is an error, and
// `worker` starts a declaration only before `{`.
func TestParseWorkerSchema(t *testing.T) {
	cases := []struct {
		name, src string
		keywords  []string // of the declarations parsed, in order
		err       string   // "CODE: message" of the only diagnostic, or ""
	}{
		{"schema", "worker {\n  attributes {languages: list}\n}\n", []string{"worker"}, ""},
		{"one line", "worker { attributes {vip: bool} }\n", []string{"worker"}, ""},
		{"named", "worker agents {\n  attributes {vip: bool}\n}\n", nil, "E0107: the worker schema has no name"},
		{"flow without a name", "flow {\n  s: send \"x\" -> done\n}\n", nil, "E0107: expected a name after `flow`, found `{`"},
		{
			"worker read at the start of a line inside brackets",
			"queue q { workers (\nworker.vip) }\nworker {\n  attributes {vip: bool}\n}\n",
			[]string{"queue", "worker"}, "",
		},
		{"misspelt keyword", "workr {\n}\n", nil, "E0104: expected a declaration (flow, queue, workflow, hours or worker), found name `workr`"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f, diags := Parse("w.flow", []byte(c.src))
			var got []string
			for _, d := range f.Decls {
				got = append(got, d.Keyword)
				if d.Name == nil {
					t.Fatalf("%s declaration without a Name", d.Keyword)
				}
				if d.Keyword == KeywordWorker && (d.Name.Value != KeywordWorker || d.Name.Span() != d.KeywordSpan()) {
					t.Errorf("worker schema Name = %q at %v, want its keyword at %v", d.Name.Value, d.Name.Span(), d.KeywordSpan())
				}
			}
			if strings.Join(got, " ") != strings.Join(c.keywords, " ") {
				t.Errorf("declarations = %v, want %v", got, c.keywords)
			}
			var errs []string
			for _, d := range diags {
				errs = append(errs, d.Code+": "+d.Msg)
			}
			if strings.Join(errs, "\n") != c.err {
				t.Errorf("diagnostics = %q, want %q", errs, c.err)
			}
		})
	}
}
