package cli

import (
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/switchboard-dev/switchboard/compiler"
	"github.com/switchboard-dev/switchboard/diag"
)

func newGraphCmd() *cobra.Command {
	format := &formatFlag{value: "mermaid", allowed: []string{"mermaid", "dot"}}
	cmd := &cobra.Command{
		Use:   "graph FLOW [paths...]",
		Short: "Draw a flow's state machine as a Mermaid or Graphviz diagram",
		Long: `Graph compiles the program in the given paths (default: the current
directory; all the .flow files named form one program) and prints the state
machine of the flow called FLOW:

  - one box per step, labelled "name: kind";
  - one arrow per outcome the step handles (next, reply, timeout, ok,
    error, ...), labelled with the outcome;
  - one arrow per condition of a switch (or of an ask or gather),
    labelled with the condition, in the order they are tested;
  - a "done" node where the flow ends.

Mermaid output (the default) renders in GitHub and GitLab Markdown inside a
` + "```mermaid" + ` block; DOT output is for Graphviz (dot -Tsvg).

Exit status: 0 on success, 1 when the program has errors (they are printed
to standard error), 2 when there is no flow called FLOW or on a usage error.`,
		Example: `  # Mermaid diagram of the "support" flow of the current directory
  switchboard graph support

  # SVG through Graphviz
  switchboard graph support flows/ --format dot | dot -Tsvg > support.svg`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usagef(cmd, "graph needs the name of a flow: switchboard graph FLOW [paths...]")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			return runGraph(cmd, args[0], args[1:], format.value)
		},
	}
	cmd.Flags().Var(format, "format", "output format: mermaid or dot")
	return cmd
}

func runGraph(cmd *cobra.Command, name string, paths []string, format string) error {
	stdout, stderr := cmd.OutOrStdout(), cmd.ErrOrStderr()
	if len(paths) == 0 {
		paths = []string{"."}
	}
	inputs, errs := expand(paths, loadOptions{})
	if len(errs) > 0 {
		return errs[0]
	}
	var (
		srcs    []compiler.Source
		sources = diag.Sources{}
	)
	for _, in := range inputs {
		if in.md {
			return fmt.Errorf("%s: graph reads .flow files, not Markdown", in.path)
		}
		src, err := os.ReadFile(in.path)
		if err != nil {
			return err
		}
		srcs = append(srcs, compiler.Source{Name: in.path, Src: src})
		sources[in.path] = src
	}
	prog, list := compiler.CompileSources(srcs, compiler.Options{})
	if list.HasErrors() {
		// Warnings are left out: they would be lost among the errors.
		var errors diag.List
		for _, d := range list {
			if d.Severity == diag.Error {
				errors = append(errors, d)
			}
		}
		wd, _ := os.Getwd()
		if err := diag.Write(stderr, errors, sources, diag.Options{Format: diag.Text, Cwd: wd}); err != nil {
			return err
		}
		return errProblems
	}
	flow := prog.Flow(name)
	if flow == nil {
		return unknownFlow(name, prog)
	}
	var b strings.Builder
	switch format {
	case "dot":
		writeDot(&b, flow)
	default:
		writeMermaid(&b, flow)
	}
	_, err := io.WriteString(stdout, b.String())
	return err
}

func unknownFlow(name string, prog *compiler.Program) error {
	var names []string
	for _, f := range prog.Flows {
		names = append(names, f.Name)
	}
	sort.Strings(names)
	if len(names) == 0 {
		return fmt.Errorf("unknown flow %s: the program has no flows", diag.Quote(name))
	}
	msg := fmt.Sprintf("unknown flow %s; the program's flows are: %s", diag.Quote(name), strings.Join(names, ", "))
	if s := diag.Suggest(name, names); s != "" {
		msg += fmt.Sprintf(" (did you mean %s?)", diag.Quote(s))
	}
	return fmt.Errorf("%s", msg)
}

// edge is one arrow of a flow's graph; to is a state index or compiler.End.
type edge struct {
	from  int
	to    int32
	label string
}

// edges returns a flow's transitions: for each state, its guards in the
// order they are tested, then its outcomes in the order of
// compiler.Outcome. Unhandled outcomes are left out.
func edges(f *compiler.Flow) (out []edge, usesEnd bool) {
	for i, s := range f.States {
		for _, g := range s.Guards {
			if g.Target == compiler.NoTarget || g.Cond == nil {
				continue
			}
			out = append(out, edge{i, g.Target, oneLine(g.Cond.Source)})
		}
		for o, t := range s.Next {
			if t == compiler.NoTarget {
				continue
			}
			out = append(out, edge{i, t, compiler.Outcome(o).String()})
		}
	}
	for _, e := range out {
		if e.to == compiler.End {
			usesEnd = true
		}
	}
	return out, usesEnd
}

// oneLine collapses the white space of a condition written over several
// lines.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// Node identifiers are s0, s1, … by state index, so no step name can clash
// with a keyword of the output language (Mermaid's `end`, DOT's `node`).
const endNode = "done"

func nodeID(to int32) string {
	if to == compiler.End {
		return endNode
	}
	return fmt.Sprintf("s%d", to)
}

// writeMermaid renders a flowchart. Labels are quoted strings in which
// the characters Mermaid would read as markup are written as entity codes
// (#quot; and the like).
func writeMermaid(b *strings.Builder, f *compiler.Flow) {
	es, usesEnd := edges(f)
	b.WriteString("flowchart TD\n")
	for i, s := range f.States {
		fmt.Fprintf(b, "  %s[\"%s\"]\n", nodeID(int32(i)), mermaidText(s.Name+": "+s.Kind.String()))
	}
	if usesEnd {
		fmt.Fprintf(b, "  %s([\"done\"])\n", endNode)
	}
	for _, e := range es {
		fmt.Fprintf(b, "  %s -->|\"%s\"| %s\n", nodeID(int32(e.from)), mermaidText(e.label), nodeID(e.to))
	}
}

var mermaidEscaper = strings.NewReplacer(
	"#", "#35;", // entity codes start with it
	`"`, "#quot;",
	"&", "#amp;",
	"<", "#lt;",
	">", "#gt;",
	"|", "#124;",
	"`", "#96;",
)

func mermaidText(s string) string { return mermaidEscaper.Replace(s) }

// writeDot renders a Graphviz digraph.
func writeDot(b *strings.Builder, f *compiler.Flow) {
	es, usesEnd := edges(f)
	fmt.Fprintf(b, "digraph %s {\n", dotString(f.Name))
	b.WriteString("  node [shape=box];\n")
	for i, s := range f.States {
		fmt.Fprintf(b, "  %s [label=%s];\n", nodeID(int32(i)), dotString(s.Name+": "+s.Kind.String()))
	}
	if usesEnd {
		fmt.Fprintf(b, "  %s [label=\"done\", shape=doublecircle];\n", endNode)
	}
	for _, e := range es {
		fmt.Fprintf(b, "  %s -> %s [label=%s];\n", nodeID(int32(e.from)), nodeID(e.to), dotString(e.label))
	}
	b.WriteString("}\n")
}

// dotString quotes s as a DOT string. Backslashes are doubled so Graphviz
// does not read them as its label escapes (\n, \l, \N).
var dotEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)

func dotString(s string) string { return `"` + dotEscaper.Replace(s) + `"` }
