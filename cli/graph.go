package cli

import (
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/switchboard-dev/switchboard/compiler"
	"github.com/switchboard-dev/switchboard/diag"
)

func newGraphCmd() *cobra.Command {
	format := &formatFlag{value: "mermaid", allowed: []string{"mermaid", "dot"}}
	cmd := &cobra.Command{
		Use:   "graph [FLOW] [paths...]",
		Short: "Draw a flow's state machine as a Mermaid or Graphviz diagram",
		Long: `Graph compiles the program in the given paths (default: the current
directory; all the .flow files named form one program) and prints the state
machine of the flow called FLOW. Without FLOW (` + "`graph`, `graph flows/`" + `) it
draws every flow of the program in one diagram, a subgraph (a cluster in
DOT) per flow. The first argument is a path, not a flow, when it is not a
name (flows/, ./..., support.flow), or when it names an existing file or
directory and the program has no flow of that name.

  - one box per step, labelled "name: kind";
  - one arrow per outcome the step handles (next, reply, timeout, ok,
    error, ...), labelled with the outcome;
  - one arrow per condition of a switch (or of an ask or gather),
    labelled with the condition, in the order they are tested;
  - a "done" node where the flow ends; the main outcome of a step that
    leaves it unhandled (an enqueue without "-> target": the execution
    ends with the task) is drawn to it.

Mermaid output (the default) renders in GitHub and GitLab Markdown inside a
` + "```mermaid" + ` block; DOT output is for Graphviz (dot -Tsvg).

Exit status: 0 on success, 1 when the program has errors (they are printed
to standard error), 2 when there is no flow called FLOW or on a usage error.`,
		Example: `  # Mermaid diagram of the "support" flow of the current directory
  switchboard graph support

  # SVG through Graphviz
  switchboard graph support flows/ --format dot | dot -Tsvg > support.svg

  # Every flow of flows/
  switchboard graph flows/`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 || !isFlowName(args[0]) {
				return runGraph(cmd, "", args, format.value)
			}
			if len(args) == 1 {
				// A directory or file named like a flow (graph flows): a
				// path, unless the current directory has that flow.
				if _, err := os.Stat(args[0]); err == nil {
					prog, _, _, err := compileGraph([]string{"."})
					if err != nil || prog == nil || prog.Flow(args[0]) == nil {
						return runGraph(cmd, "", args, format.value)
					}
				}
			}
			return runGraph(cmd, args[0], args[1:], format.value)
		},
	}
	cmd.Flags().Var(format, "format", "output format: mermaid or dot")
	return cmd
}

// compileGraph compiles the program of paths (default: the current
// directory); prog is nil when it has errors, listed in list.
func compileGraph(paths []string) (prog *compiler.Program, list diag.List, sources diag.Sources, err error) {
	if len(paths) == 0 {
		paths = []string{"."}
	}
	inputs, errs := expand(paths, loadOptions{})
	if len(errs) > 0 {
		return nil, nil, nil, errs[0]
	}
	var srcs []compiler.Source
	sources = diag.Sources{}
	for _, in := range inputs {
		if in.md {
			return nil, nil, nil, fmt.Errorf("%s: graph reads .flow files, not Markdown", in.path)
		}
		src, err := os.ReadFile(in.path)
		if err != nil {
			return nil, nil, nil, err
		}
		srcs = append(srcs, compiler.Source{Name: in.path, Src: src})
		sources[in.path] = src
	}
	prog, list = compiler.CompileSources(srcs, compiler.Options{})
	if list.HasErrors() {
		prog = nil
	}
	return prog, list, sources, nil
}

func runGraph(cmd *cobra.Command, name string, paths []string, format string) error {
	stdout, stderr := cmd.OutOrStdout(), cmd.ErrOrStderr()
	prog, list, sources, err := compileGraph(paths)
	if err != nil {
		return err
	}
	if prog == nil {
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
	var b strings.Builder
	if name == "" {
		if len(prog.Flows) == 0 {
			return fmt.Errorf("the program has no flows to draw")
		}
		flows := slices.Clone(prog.Flows)
		slices.SortFunc(flows, func(a, b *compiler.Flow) int { return strings.Compare(a.Name, b.Name) })
		switch format {
		case "dot":
			writeDotAll(&b, flows)
		default:
			writeMermaidAll(&b, flows)
		}
		_, err = io.WriteString(stdout, b.String())
		return err
	}
	flow := prog.Flow(name)
	if flow == nil {
		return unknownFlow(name, prog)
	}
	switch format {
	case "dot":
		writeDot(&b, flow)
	default:
		writeMermaid(&b, flow)
	}
	_, err = io.WriteString(stdout, b.String())
	return err
}

// isFlowName reports whether arg can name a flow; otherwise it is a path.
func isFlowName(arg string) bool {
	for i, r := range arg {
		if !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || i > 0 && r >= '0' && r <= '9') {
			return false
		}
	}
	return arg != ""
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

// edges returns a flow's arrows as the compiler lists them
// (compiler.Flow.Edges), conditions on one line, and whether one goes to
// the end.
func edges(f *compiler.Flow) (out []compiler.Edge, usesEnd bool) {
	for _, e := range f.Edges() {
		if e.Guard {
			e.Label = oneLine(e.Label)
		}
		usesEnd = usesEnd || e.To == compiler.End
		out = append(out, e)
	}
	return out, usesEnd
}

// oneLine collapses the white space of a condition written over several
// lines.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// Node identifiers are s0, s1, … by state index, so no step name can clash
// with a keyword of the output language (Mermaid's `end`, DOT's `node`).
// In a diagram of several flows they carry the flow's prefix: f0s1,
// f0done.
const endNode = "done"

func nodeID(prefix string, to int32) string {
	if to == compiler.End {
		return prefix + endNode
	}
	return fmt.Sprintf("%ss%d", prefix, to)
}

// writeMermaid renders a flowchart. Labels are quoted strings in which
// the characters Mermaid would read as markup are written as entity codes
// (#quot; and the like).
func writeMermaid(b *strings.Builder, f *compiler.Flow) {
	b.WriteString("flowchart TD\n")
	mermaidFlow(b, f, "", "  ")
}

// writeMermaidAll renders the flows in one flowchart, a subgraph each.
func writeMermaidAll(b *strings.Builder, flows []*compiler.Flow) {
	b.WriteString("flowchart TD\n")
	for i, f := range flows {
		prefix := fmt.Sprintf("f%d", i)
		fmt.Fprintf(b, "  subgraph %s[\"%s\"]\n", prefix, mermaidText(f.Name))
		mermaidFlow(b, f, prefix, "    ")
		b.WriteString("  end\n")
	}
}

func mermaidFlow(b *strings.Builder, f *compiler.Flow, prefix, indent string) {
	es, usesEnd := edges(f)
	for i, s := range f.States {
		fmt.Fprintf(b, "%s%s[\"%s\"]\n", indent, nodeID(prefix, int32(i)), mermaidText(s.Name+": "+s.Kind.String()))
	}
	if usesEnd {
		fmt.Fprintf(b, "%s%s([\"done\"])\n", indent, nodeID(prefix, compiler.End))
	}
	for _, e := range es {
		fmt.Fprintf(b, "%s%s -->|\"%s\"| %s\n", indent, nodeID(prefix, int32(e.From)), mermaidText(e.Label), nodeID(prefix, e.To))
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
	fmt.Fprintf(b, "digraph %s {\n", dotString(f.Name))
	b.WriteString("  node [shape=box];\n")
	dotFlow(b, f, "", "  ")
	b.WriteString("}\n")
}

// writeDotAll renders the flows in one digraph, a cluster each (Graphviz
// draws a subgraph whose name starts with "cluster" in a box).
func writeDotAll(b *strings.Builder, flows []*compiler.Flow) {
	b.WriteString("digraph \"flows\" {\n")
	b.WriteString("  node [shape=box];\n")
	for i, f := range flows {
		prefix := fmt.Sprintf("f%d", i)
		fmt.Fprintf(b, "  subgraph cluster_%s {\n", prefix)
		fmt.Fprintf(b, "    label=%s;\n", dotString(f.Name))
		dotFlow(b, f, prefix, "    ")
		b.WriteString("  }\n")
	}
	b.WriteString("}\n")
}

func dotFlow(b *strings.Builder, f *compiler.Flow, prefix, indent string) {
	es, usesEnd := edges(f)
	for i, s := range f.States {
		fmt.Fprintf(b, "%s%s [label=%s];\n", indent, nodeID(prefix, int32(i)), dotString(s.Name+": "+s.Kind.String()))
	}
	if usesEnd {
		fmt.Fprintf(b, "%s%s [label=\"done\", shape=doublecircle];\n", indent, nodeID(prefix, compiler.End))
	}
	for _, e := range es {
		fmt.Fprintf(b, "%s%s -> %s [label=%s];\n", indent, nodeID(prefix, int32(e.From)), nodeID(prefix, e.To), dotString(e.Label))
	}
}

// dotString quotes s as a DOT string. Backslashes are doubled so Graphviz
// does not read them as its label escapes (\n, \l, \N).
var dotEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)

func dotString(s string) string { return `"` + dotEscaper.Replace(s) + `"` }
