package admin

import (
	"reflect"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/switchboard-dev/switchboard/compiler"
)

func compileFlow(t *testing.T, src, name string) *compiler.Flow {
	t.Helper()
	prog, diags := compiler.CompileSources([]compiler.Source{{Name: "t.flow", Src: []byte(src)}}, compiler.Options{})
	if prog == nil {
		t.Fatal(diags)
	}
	return prog.Flow(name)
}

// TestLayout checks what makes the picture readable, on flows of
// different shapes: a box per step at its state's index (and done when
// the flow ends), arrows that go down except the loops' (marked back),
// boxes of one layer apart, arrows from box to box, labels cut short with
// the whole condition kept, everything inside the picture, and the same
// picture each time.
func TestLayout(t *testing.T) {
	for _, tc := range []struct {
		name, src string
		nodes     int            // steps, and done
		back      int            // arrows marked back
		labels    map[string]int // label → arrows with it
	}{
		{"straight line", `flow f {
  a: send "1" -> b
  b: send "2" -> c
  c: send "3" -> done
}`, 4, 0, map[string]int{"next": 3}},
		{"branches and a long arrow", `flow f {
  start: switch {
    message.text == "a long condition that does not fit in the picture" -> x
    default -> y
  }
  x: send "x" -> z
  y: send "y" -> done
  z: send "z" -> done
}`, 5, 0, map[string]int{`message.text == "a long c…`: 1, "default": 1, "next": 3}},
		{"a loop through an ask", `flow f {
  ask1: ask "1 or 2?" {
    timeout 1m -> done
    reply.text == "1" -> one
    reply -> again
  }
  again: send "Please answer 1 or 2" -> ask1
  one: send "ok" -> done
}`, 4, 1, map[string]int{"timeout": 1, `reply.text == "1"`: 1, "reply": 1, "next": 2}},
		{"a step that ends the flow by itself", `flow f {
  start: enqueue w
}
queue q { workers true }
workflow w { default q }`, 2, 0, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := compileFlow(t, tc.src, "f")
			g := Layout(f)
			if len(g.Nodes) != tc.nodes {
				t.Fatalf("%d nodes, want %d: %+v", len(g.Nodes), tc.nodes, g.Nodes)
			}
			byID := map[string]Node{}
			for i, n := range g.Nodes {
				byID[n.ID] = n
				if i < len(f.States) && (n.State != i || n.Name != f.States[i].Name || n.Kind != f.States[i].Kind.String()) {
					t.Errorf("node %d is %+v, want state %d (%s)", i, n, i, f.States[i].Name)
				}
				if n.X < 0 || n.Y < 0 || n.X+n.W > g.Width || n.Y+n.H > g.Height {
					t.Errorf("node %s %+v outside the picture %vx%v", n.ID, n, g.Width, g.Height)
				}
				for _, m := range g.Nodes[:i] {
					if m.Y == n.Y && m.X < n.X+n.W && n.X < m.X+m.W {
						t.Errorf("nodes %s and %s overlap", m.ID, n.ID)
					}
				}
			}
			back := 0
			labels := map[string]int{}
			for _, e := range g.Edges {
				from, to := byID[e.From], byID[e.To]
				if e.Back {
					back++
				} else if to.Y <= from.Y {
					t.Errorf("arrow %s→%s goes up without being marked back", e.From, e.To)
				}
				first, last := e.Points[0], e.Points[len(e.Points)-1]
				if !onBox(first, from) || !onBox(last, to) {
					t.Errorf("arrow %s→%s runs from %v to %v, not box to box", e.From, e.To, first, last)
				}
				if utf8.RuneCountInString(e.Label) > maxLabel || !strings.HasPrefix(e.Title, strings.TrimSuffix(e.Label, "…")) {
					t.Errorf("label %q of %q", e.Label, e.Title)
				}
				if e.Label != "" {
					labels[e.Label]++
				}
			}
			if back != tc.back {
				t.Errorf("%d back arrows, want %d", back, tc.back)
			}
			if tc.labels != nil && !reflect.DeepEqual(labels, tc.labels) {
				t.Errorf("labels %v, want %v", labels, tc.labels)
			}
			if again := Layout(f); !reflect.DeepEqual(again, g) {
				t.Error("a second layout differs")
			}
		})
	}
}

// onBox reports whether p lies on the border of n's box.
func onBox(p [2]float64, n Node) bool {
	in := p[0] >= n.X-0.01 && p[0] <= n.X+n.W+0.01 && p[1] >= n.Y-0.01 && p[1] <= n.Y+n.H+0.01
	edge := p[0] <= n.X+0.01 || p[0] >= n.X+n.W-0.01 || p[1] <= n.Y+0.01 || p[1] >= n.Y+n.H-0.01
	return in && edge
}

func BenchmarkLayout(b *testing.B) {
	var src strings.Builder
	src.WriteString("flow f {\n")
	for i := range 60 {
		src.WriteString("  s" + strconv.Itoa(i) + `: ask "q" {` + "\n    timeout 1m -> done\n")
		next := "done"
		if i+1 < 60 {
			next = "s" + strconv.Itoa(i+1)
		}
		src.WriteString("    reply.text == \"back\" -> s" + strconv.Itoa(max(i-3, 0)) + "\n    reply -> " + next + "\n")
		src.WriteString("  }\n")
	}
	src.WriteString("}\n")
	prog, diags := compiler.CompileSources([]compiler.Source{{Name: "b.flow", Src: []byte(src.String())}}, compiler.Options{})
	if prog == nil {
		b.Fatal(diags)
	}
	f := prog.Flow("f")
	b.ReportAllocs()
	for b.Loop() {
		Layout(f)
	}
}
