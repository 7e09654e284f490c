package compiler_test

import (
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/switchboard-dev/switchboard/compiler"
)

// TestKindTable keeps the summary table of docs/LANGUAGE.md's step
// reference in step with the kinds' descriptions, one row per kind in the
// order of the kinds' own sections (### NAME), which every kind must have.
// FLOW_UPDATE=1 rewrites the table.
func TestKindTable(t *testing.T) {
	const path = "../docs/LANGUAGE.md"
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	const header = "| kind | argument | properties | outcomes | outputs |\n|---|---|---|---|---|\n"
	start := strings.Index(doc, header)
	if start < 0 {
		t.Fatalf("%s has no step table (%q)", path, header)
	}
	start += len(header)
	end := start + strings.Index(doc[start:], "\n\n") + 1

	// A section may hold several kinds: `### say and play`.
	at := map[string]int{}
	for _, m := range regexp.MustCompile("(?m)^### (.*)$").FindAllStringSubmatchIndex(doc, -1) {
		for i, w := range strings.Fields(doc[m[2]:m[3]]) {
			if _, seen := at[w]; !seen {
				at[w] = m[0] + i
			}
		}
	}
	kinds := compiler.Kinds()
	for _, k := range kinds {
		if _, ok := at[k.String()]; !ok {
			t.Errorf("%s has no section `### %s`", path, k)
			at[k.String()] = len(doc)
		}
	}
	// Each kind's section names its properties and outcomes.
	for _, k := range kinds {
		from := at[k.String()]
		if from >= len(doc) {
			continue
		}
		to := len(doc)
		if next := strings.Index(doc[from+1:], "\n#"); next >= 0 {
			to = from + 1 + next
		}
		section := doc[from:to]
		names := []string{}
		for _, p := range k.Spec().Props {
			names = append(names, p.Name)
		}
		for _, o := range k.Outcomes() {
			names = append(names, o.String())
		}
		for _, n := range names {
			if !strings.Contains(section, "`"+n) && !strings.Contains(section, "**"+n+"**") && !strings.Contains(section, "/"+n) {
				t.Errorf("the section of %s in %s does not name %s", k, path, n)
			}
		}
	}
	sortByPos := func(i, j int) bool { return at[kinds[i].String()] < at[kinds[j].String()] }
	sortSlice(kinds, sortByPos)
	var rows strings.Builder
	for _, k := range kinds {
		rows.WriteString(kindRow(k.Spec()))
	}
	if got := doc[start:end]; got != rows.String() {
		if update {
			doc = doc[:start] + rows.String() + doc[end:]
			if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
				t.Fatal(err)
			}
			return
		}
		t.Errorf("the step table of %s is out of date (FLOW_UPDATE=1 rewrites it):\ngot\n%swant\n%s", path, got, rows.String())
	}
}

func kindRow(s *compiler.KindSpec) string {
	arg := s.Arg.Doc
	if s.Arg.Kind == compiler.ArgNone {
		arg = "—"
	}
	required := map[compiler.Outcome]bool{}
	for _, o := range s.Outcomes {
		required[o.Outcome] = o.Required
	}
	var props []string
	groups := map[string]int{}
	for _, p := range s.Props {
		name := "`" + p.Name + "`"
		if i, ok := groups[p.Group]; ok && p.Group != "" {
			props[i] += "/" + name
			continue
		}
		if p.HasOutcome && !p.ArrowOptional && required[p.Outcome] {
			name += " (required)"
		}
		groups[p.Group] = len(props)
		props = append(props, name)
	}
	var outs []string
	outcome := func(o compiler.OutcomeSpec) string {
		if o.Required {
			return "*" + o.Outcome.String() + "*"
		}
		return o.Outcome.String()
	}
	for _, o := range s.Outcomes {
		if o.Primary {
			outs = append(outs, outcome(o))
		}
	}
	if s.Guards {
		outs = append(outs, "guards")
	}
	for _, o := range s.Outcomes {
		if !o.Primary {
			outs = append(outs, outcome(o))
		}
	}
	var fields []string
	if s.Output != nil {
		typ := reflect.TypeOf(s.Output)
		for i := 0; i < typ.NumField(); i++ {
			fields = append(fields, "`"+typ.Field(i).Tag.Get("expr")+"`")
		}
	}
	return "| `" + s.Name + "` | " + arg + " | " + list(props) + " | " + strings.Join(orDash(outs), ", ") + " | " + list(fields) + " |\n"
}

func list(xs []string) string { return strings.Join(orDash(xs), ", ") }

func orDash(xs []string) []string {
	if len(xs) == 0 {
		return []string{"—"}
	}
	return xs
}

func sortSlice[T any](xs []T, less func(i, j int) bool) {
	for i := 1; i < len(xs); i++ {
		for j := i; j > 0 && less(j, j-1); j-- {
			xs[j], xs[j-1] = xs[j-1], xs[j]
		}
	}
}
