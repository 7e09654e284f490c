package lang

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/txtar"
)

// Golden files live in testdata/fmt as pairs: NAME.in.flow is formatted
// and compared with NAME.golden.flow. Regenerate the goldens with
// FLOW_UPDATE=1 go test ./lang, then read the diff.
const goldenDir = "testdata/fmt"

func TestFormatGolden(t *testing.T) {
	inputs, err := filepath.Glob(filepath.Join(goldenDir, "*.in.flow"))
	if err != nil || len(inputs) == 0 {
		t.Fatalf("no golden inputs in %s (%v)", goldenDir, err)
	}
	update := os.Getenv("FLOW_UPDATE") != ""
	for _, in := range inputs {
		name := strings.TrimSuffix(filepath.Base(in), ".in.flow")
		t.Run(name, func(t *testing.T) {
			src := readFile(t, in)
			got, diags := FormatSource(in, src)
			if diags.HasErrors() {
				t.Fatalf("input does not parse: %v", diags)
			}
			goldenPath := filepath.Join(goldenDir, name+".golden.flow")
			if update {
				if err := os.WriteFile(goldenPath, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want := readFile(t, goldenPath)
			if !bytes.Equal(got, want) {
				t.Errorf("output differs from %s (FLOW_UPDATE=1 regenerates it):\n%s", goldenPath, lineDiff(string(want), string(got)))
			}
			// A golden is canonical, so formatting it changes nothing.
			if again, _ := FormatSource(goldenPath, want); !bytes.Equal(again, want) {
				t.Errorf("%s is not a fixed point:\n%s", goldenPath, lineDiff(string(want), string(again)))
			}
		})
	}
}

// formatCases pin single decisions of the canonical form.
var formatCases = []struct {
	name, in, want string
}{
	{"empty file", "", ""},
	{"only blank lines", "\n\n\n", ""},
	{"only a comment", "# hello   \n\n\n", "# hello\n"},
	{"no final newline", "queue q { workers true }", "queue q { workers true }\n"},
	{"crlf", "flow f {\r\n  trigger api # c\r\n}\r\n", "flow f {\n  trigger api  # c\n}\n"},
	{"tabs", "flow f {\n\ttrigger api\n\ta: send \"x\" {\n\t\tto y\n\t}\n}\n",
		"flow f {\n  trigger api\n  a: send \"x\" {\n    to y\n  }\n}\n"},
	{"empty declaration block", "flow f {\n\n}\n", "flow f {}\n"},
	{"empty step block dropped", "flow f { a: send \"x\" {} -> b }\n", "flow f { a: send \"x\" -> b }\n"},
	{"multi-line empty step block dropped", "flow f {\n  a: send \"x\" {\n  } -> b\n}\n", "flow f {\n  a: send \"x\" -> b\n}\n"},
	{"step block with only a comment kept", "flow f {\n  a: send \"x\" { # why\n  }\n}\n", "flow f {\n  a: send \"x\" {  # why\n  }\n}\n"},
	{"one-line block kept", "queue vip { workers worker.vip == true  order worker.level desc }\n",
		"queue vip { workers worker.vip == true order worker.level desc }\n"},
	{"one-line block with two items expanded", "queue q { workers true; order least_busy }\n",
		"queue q {\n  workers true\n  order least_busy\n}\n"},
	{"one-line block around a block that expands", "flow f { a: s { b; c } }\n",
		"flow f {\n  a: s {\n    b\n    c\n  }\n}\n"},
	{"nested one-line blocks", "flow f { a: s { b: t { c } -> d } -> e }\n", "flow f { a: s { b: t { c } -> d } -> e }\n"},
	{"multi-line block with one item expanded", "queue q { workers true\n}\n", "queue q {\n  workers true\n}\n"},
	{"semicolons", "flow f {\n  trigger api; channels sms;\n}\n", "flow f {\n  trigger api\n  channels sms\n}\n"},
	{"blank lines collapse", "flow f {\n\n  trigger api\n\n\n\n  channels sms\n\n}\n", "flow f {\n  trigger api\n\n  channels sms\n}\n"},
	{"declarations separated", "queue a { workers true }\n\n\n\nqueue b { workers true }\nqueue c { workers true }\n",
		"queue a { workers true }\n\nqueue b { workers true }\n\nqueue c { workers true }\n"},
	{"comment attached to the next declaration", "queue a { workers true }\n# b\nqueue b { workers true }\n",
		"queue a { workers true }\n\n# b\nqueue b { workers true }\n"},
	{"trailing comment after semicolon", "flow f {\n  trigger api;  # c\n}\n", "flow f {\n  trigger api  # c\n}\n"},
	{"comment before closing brace", "flow f {\n  trigger api\n\n      # end\n\n}\n", "flow f {\n  trigger api\n\n  # end\n}\n"},
	{"step", "flow f {\n  a:send  \"x\"{to y}->b\n}\n", "flow f {\n  a: send \"x\" { to y } -> b\n}\n"},
	{"line", "flow f {\n  s: switch {\n    x==1->a\n  }\n}\n", "flow f {\n  s: switch {\n    x == 1 -> a\n  }\n}\n"},
	{"var", "flow f {\n  var x : string=\"a\"\n}\n", "flow f {\n  var x: string = \"a\"\n}\n"},
	{"map literal", "flow f {\n  s: set m = ({ a : 1 , b:{ } }) -> done\n}\n", "flow f {\n  s: set m = ({a: 1, b: {}}) -> done\n}\n"},
	{"ternary inside map", "flow f {\n  h: http {\n    json {a: b?c:d, e: f}\n  }\n}\n", "flow f {\n  h: http {\n    json {a: b ? c : d, e: f}\n  }\n}\n"},
	{"unary", "flow f {\n  s: set a = - b, c = ! d, e = not d, g = -(1) -> done\n}\n",
		"flow f {\n  s: set a = -b, c = !d, e = not d, g = -(1) -> done\n}\n"},
	{"binary minus", "flow f {\n  s: set a = b-1, c = d - 1, e = (f)-g -> done\n}\n",
		"flow f {\n  s: set a = b - 1, c = d - 1, e = (f) - g -> done\n}\n"},
	{"sign after a property", "flow f {\n  e: enqueue w {\n    priority -1\n    priority - 1\n  }\n}\n",
		"flow f {\n  e: enqueue w {\n    priority -1\n    priority - 1\n  }\n}\n"},
	{"calls and grouping", "flow f {\n  s: switch {\n    when (a) -> b\n    open(h) -> b\n    f (x) -> b\n  }\n}\n",
		"flow f {\n  s: switch {\n    when (a) -> b\n    open(h) -> b\n    f (x) -> b\n  }\n}\n"},
	{"members", "flow f {\n  s: set a = b .c, d = f().g, e = all(xs, .ok and .vip) -> done\n}\n",
		"flow f {\n  s: set a = b.c, d = f().g, e = all(xs, .ok and .vip) -> done\n}\n"},
	{"hours ranges", "hours h {\n  mon - fri 08:00 - 17:00\n  sat 09:00-12:00,13:00-15:00\n}\n",
		"hours h {\n  mon-fri 08:00-17:00\n  sat 09:00-12:00, 13:00-15:00\n}\n"},
	{"tokens that would merge stay apart", "flow f {\n  s: switch {\n    a = - > b -> c\n  }\n}\n",
		"flow f {\n  s: switch {\n    a = - > b -> c\n  }\n}\n"},
	{"tokens that would make a time stay apart", "flow f {\n  s: set a = xs[00 : 00] -> done\n}\n",
		"flow f {\n  s: set a = xs[00: 00] -> done\n}\n"},
	{"multi-line map", "flow f {\n  h: http {\n    json {\n         a: 1,\n  b: 2\n              }\n  }\n}\n",
		"flow f {\n  h: http {\n    json {\n      a: 1,\n      b: 2\n    }\n  }\n}\n"},
	{"strings verbatim", "flow f {\n  s: send \"a  ${ x ?? \"b\" }  c\" -> done\n}\n", "flow f {\n  s: send \"a  ${ x ?? \"b\" }  c\" -> done\n}\n"},
}

func TestFormatCases(t *testing.T) {
	for _, c := range formatCases {
		t.Run(c.name, func(t *testing.T) {
			got, diags := FormatSource("case.flow", []byte(c.in))
			if diags.HasErrors() {
				t.Fatalf("does not parse: %v", diags)
			}
			if string(got) != c.want {
				t.Errorf("got:\n%s\nwant:\n%s", got, c.want)
			}
			checkFormat(t, []byte(c.in))
		})
	}
}

func TestFormatSourceError(t *testing.T) {
	out, diags := FormatSource("bad.flow", []byte("flow f {\n  a: send \"x\n}\n"))
	if out != nil || !diags.HasErrors() {
		t.Fatalf("FormatSource of a broken file = %q, %v; want nil and errors", out, diags)
	}
}

// TestFormatProperties checks idempotency, comments and tokens on every
// golden input and on the repository's own flows and test files.
func TestFormatProperties(t *testing.T) {
	for _, c := range corpus(t) {
		t.Run(c.name, func(t *testing.T) {
			if _, diags := Parse(c.name, c.src); diags.HasErrors() {
				t.Skipf("does not parse: %v", diags)
			}
			checkFormat(t, c.src)
		})
	}
}

type sample struct {
	name string
	src  []byte
}

// corpus gathers the golden inputs, the .flow files under ../flows and
// ../testdata, and the .flow files inside the txtar archives there.
func corpus(t testing.TB) []sample {
	var out []sample
	for _, root := range []string{goldenDir, "../flows", "../testdata"} {
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				if path == root && errors.Is(err, fs.ErrNotExist) {
					return fs.SkipDir
				}
				return err
			}
			switch {
			case d.IsDir():
			case strings.HasSuffix(path, ".flow"):
				out = append(out, sample{path, readFile(t, path)})
			case strings.HasSuffix(path, ".txtar"):
				ar, err := txtar.ParseFile(path)
				if err != nil {
					return err
				}
				for _, f := range ar.Files {
					if strings.HasSuffix(f.Name, ".flow") {
						out = append(out, sample{path + "/" + f.Name, f.Data})
					}
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// FuzzFormat checks, for every input that parses, that Format does not
// panic, keeps the program and the comments, and is idempotent.
func FuzzFormat(f *testing.F) {
	for _, c := range corpus(f) {
		f.Add(c.src)
	}
	for _, c := range formatCases {
		f.Add([]byte(c.in))
	}
	gen := newGenerator(2)
	for range 200 {
		f.Add([]byte(gen.file()))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		if _, diags := Parse("fuzz.flow", src); diags.HasErrors() {
			return
		}
		checkFormat(t, src)
	})
}

// TestFormatGenerated checks the formatter's promises on random programs
// with random layout: spacing, `;`, blank lines, comments everywhere a
// comment may go, one-line and multi-line blocks and literals. It reaches
// combinations that mutating the goldens rarely does.
func TestFormatGenerated(t *testing.T) {
	gen := newGenerator(1)
	parsed := 0
	for i := range 3000 {
		src := gen.file()
		if _, diags := Parse("gen.flow", []byte(src)); diags.HasErrors() {
			continue
		}
		parsed++
		t.Run(fmt.Sprint(i), func(t *testing.T) { checkFormat(t, []byte(src)) })
	}
	if parsed < 1000 {
		t.Errorf("only %d of 3000 generated programs parse: the generator has drifted from the grammar", parsed)
	}
}

// generator writes random programs. Their layout is random; their grammar
// mostly right, and what does not parse is skipped.
type generator struct {
	r     *rand.Rand
	b     strings.Builder
	depth []byte // brackets open in the expression being written
	n     int    // comments written, to make each one unique
}

func newGenerator(seed uint64) *generator {
	return &generator{r: rand.New(rand.NewPCG(seed, 0))}
}

func (g *generator) pick(xs ...string) string { return xs[g.r.IntN(len(xs))] }

func (g *generator) chance(percent int) bool { return g.r.IntN(100) < percent }

func (g *generator) comment() string {
	g.n++
	return fmt.Sprintf("%s c%d%s", g.pick("#", "//"), g.n, g.pick("", "  ", " #x"))
}

// file is one to three declarations with comments and blank lines around.
func (g *generator) file() string {
	g.b.Reset()
	for range 1 + g.r.IntN(3) {
		g.gap(0)
		if g.chance(10) {
			// The worker schema, the declaration without a name.
			g.b.WriteString("worker" + g.pick(" ", "  ", "\t"))
		} else {
			g.b.WriteString(g.pick("flow", "queue", "workflow", "hours"))
			g.b.WriteString(" d" + fmt.Sprint(g.r.IntN(9)) + g.pick(" ", "  ", "\t"))
		}
		g.block(1)
		g.trailing()
		g.b.WriteString("\n")
	}
	g.gap(0)
	return g.b.String()
}

// gap writes blank lines and own-line comments at an item's place.
func (g *generator) gap(level int) {
	for g.chance(30) {
		if g.chance(50) {
			g.b.WriteString("\n")
			continue
		}
		g.b.WriteString(strings.Repeat(g.pick("  ", "\t", " "), level) + g.comment() + "\n")
	}
}

// trailing maybe ends the line with a comment.
func (g *generator) trailing() {
	if g.chance(20) {
		g.b.WriteString(g.pick(" ", "   ", "") + g.comment())
	}
}

func (g *generator) block(level int) {
	g.b.WriteString("{")
	items := g.r.IntN(4)
	if g.chance(35) {
		// On one line.
		for i := range items {
			if i > 0 {
				g.b.WriteString(g.pick("; ", ";", " ; "))
			}
			g.b.WriteString(g.pick(" ", ""))
			g.item(level, true)
		}
		g.b.WriteString(g.pick(" }", "}", ";}"))
		return
	}
	g.trailing()
	g.b.WriteString("\n")
	for range items {
		g.gap(level)
		g.b.WriteString(strings.Repeat(g.pick("  ", "\t", "   "), level))
		g.item(level, false)
		if g.chance(15) {
			g.b.WriteString("; ")
			g.item(level, false)
		}
		g.trailing()
		g.b.WriteString("\n")
	}
	g.gap(level)
	g.b.WriteString(strings.Repeat("  ", level-1) + "}")
}

func (g *generator) item(level int, oneLine bool) {
	if g.chance(40) {
		g.b.WriteString(g.pick("a", "step", "s2") + g.pick(": ", ":", " : ") + g.pick("send", "ask", "switch", "set", "http", "wait", "hangup"))
		if g.chance(70) {
			g.b.WriteString(" ")
			g.expr(3, oneLine, true)
		}
		if g.chance(50) {
			g.b.WriteString(" ")
			g.block(level + 1)
		}
		if g.chance(50) {
			g.b.WriteString(g.pick(" -> ", "->", " ->  ") + g.pick("next", "done"))
		}
		return
	}
	g.b.WriteString(g.pick("to", "timeout", "json", "when", "mon", "sat", "priority", "var x:", "order") + g.pick(" ", "  ", ""))
	g.expr(3, oneLine, false)
	if g.chance(40) {
		g.b.WriteString(g.pick(" -> ", "->", " ->  "))
		g.expr(2, oneLine, false)
	}
}

// expr writes a random expression. Inside brackets it may break lines and
// hold comments, unless oneLine. A step argument (arg) avoids a `{` at the
// top, which would start the block.
func (g *generator) expr(budget int, oneLine, arg bool) {
	sp := func() string {
		if len(g.depth) > 0 && !oneLine && g.chance(15) {
			s := ""
			if g.chance(40) {
				if g.depth[len(g.depth)-1] == '{' {
					s = " " + g.comment()
				} else {
					g.n++
					s = fmt.Sprintf(" // c%d", g.n)
				}
			}
			return s + "\n" + g.pick("", "    ", "\t  ", "          ")
		}
		return g.pick("", " ", " ", "  ")
	}
	if budget <= 0 || g.chance(30) {
		g.b.WriteString(g.pick("x", "contact.name", "worker.vip", "1", "2.5", `"s ${a ?? "b"}"`, "'r'", "5m", "08:00", "2026-12-25",
			"true", "nil", "fri", ".ok", "#", "#.name", "a?.b", "xs"))
		return
	}
	wrap := func(open, close byte, body func()) {
		g.b.WriteByte(open)
		g.depth = append(g.depth, open)
		g.b.WriteString(sp())
		body()
		g.b.WriteString(sp())
		g.depth = g.depth[:len(g.depth)-1]
		g.b.WriteByte(close)
	}
	switch g.r.IntN(10) {
	case 0, 1:
		g.expr(budget-1, oneLine, arg)
		g.b.WriteString(sp() + g.pick("==", "&&", "and", "??", "+", "-", "*", "in", "matches", "=", "..", "|", "<=") + sp())
		g.expr(budget-1, oneLine, arg)
	case 2:
		g.b.WriteString(g.pick("!", "-", "not ", "- ", "+"))
		g.expr(budget-1, oneLine, arg)
	case 3:
		wrap('(', ')', func() { g.expr(budget-1, oneLine, false) })
	case 4:
		wrap('[', ']', func() { g.list(budget, oneLine, false, sp) })
	case 5:
		if arg && len(g.depth) == 0 {
			g.b.WriteString("x")
			return
		}
		wrap('{', '}', func() { g.list(budget, oneLine, true, sp) })
	case 6:
		g.b.WriteString(g.pick("f", "open", "filter", "len") + g.pick("", " "))
		wrap('(', ')', func() { g.list(budget, oneLine, false, sp) })
	case 7:
		g.expr(budget-1, oneLine, arg)
		g.b.WriteString(sp() + "?" + sp())
		g.expr(budget-1, oneLine, arg)
		g.b.WriteString(sp() + ":" + sp())
		g.expr(budget-1, oneLine, arg)
	case 8:
		g.expr(budget-1, oneLine, arg)
		wrap('[', ']', func() {
			g.expr(budget-1, oneLine, false)
			if g.chance(30) {
				g.b.WriteString(sp() + ":" + sp())
				g.expr(budget-1, oneLine, false)
			}
		})
	case 9:
		g.b.WriteString(g.pick("mon-fri", "08:00-17:00", "mon - sun", "09:00 -12:00", "x -1", "a-b", "2026-12-24-2026-12-26"))
	}
}

// list writes comma-separated expressions, or key: value pairs.
func (g *generator) list(budget int, oneLine, pairs bool, sp func() string) {
	for i := range g.r.IntN(4) {
		if i > 0 {
			g.b.WriteString(sp() + "," + sp())
		}
		if pairs {
			g.b.WriteString(g.pick("k", `"k"`, "vip") + sp() + ":" + sp())
		}
		g.expr(budget-1, oneLine, false)
	}
	if g.chance(10) {
		g.b.WriteString(",")
	}
}

// checkFormat checks the formatter's promises on src, which parses.
func checkFormat(t *testing.T, src []byte) {
	t.Helper()
	f, diags := Parse("in.flow", src)
	if diags.HasErrors() {
		t.Fatalf("input does not parse: %v", diags)
	}
	out, err := format(f)
	if err != nil {
		t.Fatalf("format: %v\ninput:\n%s", err, src)
	}
	g, diags := Parse("out.flow", out)
	if diags.HasErrors() {
		t.Fatalf("output does not parse: %v\ninput:\n%s\noutput:\n%s", diags, src, out)
	}
	if got, want := dump(g), dump(f); got != want {
		t.Fatalf("output parses differently:\n%s\ninput:\n%s\noutput:\n%s", lineDiff(want, got), src, out)
	}
	if got, want := codeSeq(g), codeSeq(f); got != want {
		t.Fatalf("output has other tokens:\n%s\ninput:\n%s\noutput:\n%s", lineDiff(want, got), src, out)
	}
	if got, want := commentSeq(g), commentSeq(f); got != want {
		t.Fatalf("output has other comments:\n%s\ninput:\n%s\noutput:\n%s", lineDiff(want, got), src, out)
	}
	again, err := format(g)
	if err != nil {
		t.Fatalf("format of the output: %v", err)
	}
	if !bytes.Equal(again, out) {
		t.Fatalf("not idempotent:\n%s\ninput:\n%s", lineDiff(string(out), string(again)), src)
	}
	if len(out) > 0 && (out[len(out)-1] != '\n' || bytes.HasSuffix(out, []byte("\n\n")) || out[0] == '\n') {
		t.Fatalf("output does not end with exactly one newline or starts with a blank line: %q", out)
	}
	for i, line := range strings.Split(string(out), "\n") {
		if strings.TrimRight(line, " \t") != line || strings.HasPrefix(line, "\t") {
			t.Fatalf("output line %d has trailing space or a tab indent: %q", i+1, line)
		}
	}
}

// codeSeq lists f's tokens that are code, one per line as kind and text,
// leaving out line breaks, `;`, comments and the braces of empty step
// blocks that hold no comment (the one thing Format removes).
func codeSeq(f *File) string {
	dropped := map[int]bool{}
	toks, _ := Lex(f.Name, f.Src)
	var walk func(items []*Item)
	walk = func(items []*Item) {
		for _, it := range items {
			if it.Step == nil || it.Step.Block == nil {
				continue
			}
			b := it.Step.Block
			if len(b.Items) > 0 {
				walk(b.Items)
				continue
			}
			// The block is `{`, then only line breaks and comments, then `}`.
			for i, t := range toks {
				if t.Span.Start.Offset != b.Pos.Offset {
					continue
				}
				j := i + 1
				for toks[j].Kind == Newline {
					j++
				}
				if toks[j].Is("}") {
					dropped[i], dropped[j] = true, true
				}
			}
		}
	}
	for _, d := range f.Decls {
		walk(d.Body.Items)
	}
	var b strings.Builder
	for i, t := range toks {
		if t.Kind == Newline || t.Kind == Comment || t.Kind == EOF || dropped[i] {
			continue
		}
		fmt.Fprintf(&b, "%v %s\n", t.Kind, t.Text)
	}
	return b.String()
}

// commentSeq lists f's comments, trailing spaces trimmed.
func commentSeq(f *File) string {
	var b strings.Builder
	for _, c := range f.Comments {
		b.WriteString(strings.TrimRight(c.Text, " \t\r\f"))
		b.WriteByte('\n')
	}
	return b.String()
}

// dump renders f's syntax tree without positions. An empty step block
// dumps as no block.
func dump(f *File) string {
	var b strings.Builder
	run := func(r *Run) {
		if r == nil {
			b.WriteString("<nil>")
			return
		}
		b.WriteString("[")
		for i, t := range r.Tokens {
			if i > 0 {
				b.WriteString(" ")
			}
			fmt.Fprintf(&b, "%q", t.Text)
		}
		b.WriteString("]")
	}
	var block func(bl *Block, depth int)
	block = func(bl *Block, depth int) {
		for _, it := range bl.Items {
			b.WriteString(strings.Repeat("  ", depth))
			if s := it.Step; s != nil {
				fmt.Fprintf(&b, "step %s: %s ", s.Name.Value, s.Kind.Value)
				if s.Args != nil {
					run(&s.Args.Run)
				} else {
					run(nil)
				}
				if s.Next != nil {
					fmt.Fprintf(&b, " -> %s", s.Next.Value)
				}
				b.WriteString("\n")
				if s.Block != nil {
					block(s.Block, depth+1)
				}
				continue
			}
			b.WriteString("line ")
			run(it.Line.Head)
			b.WriteString(" -> ")
			run(it.Line.Tail)
			b.WriteString("\n")
		}
	}
	for _, d := range f.Decls {
		fmt.Fprintf(&b, "%s %s\n", d.Keyword, d.Name.Value)
		block(d.Body, 1)
	}
	return b.String()
}

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// lineDiff shows the lines of want and got from the first that differs.
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	i := 0
	for i < len(w) && i < len(g) && w[i] == g[i] {
		i++
	}
	var b strings.Builder
	fmt.Fprintf(&b, "first difference at line %d\n", i+1)
	for j := i; j < len(w) && j < i+8; j++ {
		fmt.Fprintf(&b, "-%s\n", w[j])
	}
	for j := i; j < len(g) && j < i+8; j++ {
		fmt.Fprintf(&b, "+%s\n", g[j])
	}
	return b.String()
}

func ExampleFormatSource() {
	src := []byte("queue vip{workers worker.vip==true  order worker.level desc}\nhours h { mon - fri 08:00 - 17:00 ; closed 2026-12-25,2027-01-01 }\n")
	out, diags := FormatSource("example.flow", src)
	if diags.HasErrors() {
		fmt.Println(diags)
		return
	}
	fmt.Print(string(out))
	// Output:
	// queue vip { workers worker.vip == true order worker.level desc }
	//
	// hours h {
	//   mon-fri 08:00-17:00
	//   closed 2026-12-25, 2027-01-01
	// }
}
