package admin

import (
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/switchboard-dev/switchboard/compiler"
)

// Graph is a flow's state machine laid out for drawing: boxes with their
// place and size, and arrows as polylines, in pixels from the top left.
// The console draws it as SVG and writes the live counts on the boxes.
type Graph struct {
	Flow   string  `json:"flow"`
	Width  float64 `json:"width"`
	Height float64 `json:"height"`
	Nodes  []Node  `json:"nodes"`
	Edges  []Edge  `json:"edges"`
}

// Node is a step's box, or the "done" circle where the flow ends.
type Node struct {
	ID    string  `json:"id"`    // "s3" for state 3, or "done"
	State int     `json:"state"` // the state's index; -1 for done
	Name  string  `json:"name"`
	Kind  string  `json:"kind"` // the step's kind; "" for done
	X     float64 `json:"x"`
	Y     float64 `json:"y"`
	W     float64 `json:"w"`
	H     float64 `json:"h"`
	// Waiting is how many executions wait at the step now (filled by the
	// server, not the layout).
	Waiting int `json:"waiting"`
}

// Edge is an arrow from one node to another.
type Edge struct {
	From  string `json:"from"`
	To    string `json:"to"`
	Label string `json:"label"` // cut to maxLabel runes
	Title string `json:"title"` // the whole label, on one line
	// Back: the arrow goes up, to a step that runs earlier (a loop); it
	// is routed round the right of the boxes it passes.
	Back   bool         `json:"back,omitempty"`
	Points [][2]float64 `json:"points"`
	// LabelX and LabelY center the label on the arrow's last segment,
	// where the arrows leaving one step have spread apart.
	LabelX float64 `json:"label_x"`
	LabelY float64 `json:"label_y"`
}

// Sizes, in pixels.
const (
	margin   = 24.0
	nodeH    = 46.0
	gapX     = 36.0
	gapY     = 84.0
	charW    = 7.4  // an average character of the 13px label font
	dummyW   = 16.0 // a long arrow's bend between layers
	doneSize = 46.0
	maxLabel = 26 // runes of a condition shown; the console shows the rest on hover
)

// Layout lays out a flow as layers, in the manner of Sugiyama: each step
// one layer below the steps that lead to it (loops set aside), arrows
// longer than one layer bent through invisible points on the layers
// between, the order in each layer chosen to cross fewer arrows (a few
// sweeps of the barycenter heuristic), and each box placed under the
// steps that lead to it where there is room. Enough for flows of tens of
// steps; it is deterministic, so the same flow is drawn the same way.
func Layout(f *compiler.Flow) Graph {
	n := len(f.States)
	type arc struct {
		from, to     int
		label, title string
	}
	done := n // the index of the done node
	var arcs []arc
	usesDone := false
	outs := make([]int, n)
	for _, e := range f.Edges() {
		to := int(e.To)
		if e.To == compiler.End {
			to, usesDone = done, true
		}
		title := strings.Join(strings.Fields(e.Label), " ")
		arcs = append(arcs, arc{e.From, to, shorten(title), title})
		outs[e.From]++
	}
	// A step that handles none of its outcomes ends the execution after it.
	for i := range n {
		if outs[i] == 0 {
			arcs = append(arcs, arc{from: i, to: done})
			usesDone = true
		}
	}
	total := n
	if usesDone {
		total++
	}
	succ := make([][]int, total)
	for i, a := range arcs {
		succ[a.from] = append(succ[a.from], i)
	}

	// Back arcs: those a depth-first search from the start meets to a step
	// still on its path. What is left is acyclic.
	back := make([]bool, len(arcs))
	state := make([]uint8, total) // 0 unseen, 1 on the path, 2 done
	var order []int               // reverse postorder: a topological order of the rest
	var visit func(v int)
	visit = func(v int) {
		state[v] = 1
		for _, ai := range succ[v] {
			w := arcs[ai].to
			switch state[w] {
			case 0:
				visit(w)
			case 1:
				back[ai] = true
			}
		}
		state[v] = 2
		order = append(order, v)
	}
	for v := range total {
		if state[v] == 0 && (v != done || !usesDone) {
			visit(v)
		}
	}
	if usesDone && state[done] == 0 {
		visit(done)
	}
	slices.Reverse(order)

	// Layers: the longest path from a source; done goes below everything.
	layer := make([]int, total)
	for _, v := range order {
		for _, ai := range succ[v] {
			if a := arcs[ai]; !back[ai] && layer[a.to] < layer[v]+1 {
				layer[a.to] = layer[v] + 1
			}
		}
	}
	deepest := 0
	for v := range n {
		deepest = max(deepest, layer[v])
	}
	if usesDone {
		layer[done] = deepest + 1
		deepest++
	}

	// Vertices: the nodes, then one bend per layer crossed by a long arc.
	type vertex struct {
		node  int // -1 for a bend
		layer int
		w     float64
		x     float64
	}
	verts := make([]vertex, total)
	for v := range total {
		w := doneSize
		if v < n {
			s := f.States[v]
			w = max(float64(max(utf8.RuneCountInString(s.Name), utf8.RuneCountInString(s.Kind.String())+2))*charW+28, 84)
		}
		verts[v] = vertex{node: v, layer: layer[v], w: w}
	}
	// chains[i] are the vertices arc i passes, from its start to its end.
	chains := make([][]int, len(arcs))
	for i, a := range arcs {
		chain := []int{a.from}
		if !back[i] {
			for l := layer[a.from] + 1; l < layer[a.to]; l++ {
				verts = append(verts, vertex{node: -1, layer: l, w: dummyW})
				chain = append(chain, len(verts)-1)
			}
		}
		chains[i] = append(chain, a.to)
	}
	up := make([][]int, len(verts)) // neighbours one layer up, and down
	down := make([][]int, len(verts))
	for i, c := range chains {
		if back[i] {
			continue
		}
		for k := 1; k < len(c); k++ {
			up[c[k]] = append(up[c[k]], c[k-1])
			down[c[k-1]] = append(down[c[k-1]], c[k])
		}
	}

	// Order within the layers: first met first, then barycenter sweeps.
	layers := make([][]int, deepest+1)
	seen := make([]bool, len(verts))
	var place func(v int)
	place = func(v int) {
		if seen[v] {
			return
		}
		seen[v] = true
		layers[verts[v].layer] = append(layers[verts[v].layer], v)
		for _, w := range down[v] {
			place(w)
		}
	}
	for _, v := range order {
		place(v)
	}
	for v := range verts {
		place(v)
	}
	pos := make([]float64, len(verts))
	index := func() {
		for _, l := range layers {
			for i, v := range l {
				pos[v] = float64(i)
			}
		}
	}
	index()
	bary := make([]float64, len(verts)) // by vertex, refilled per layer
	sweep := func(l []int, nbrs [][]int) {
		for _, v := range l {
			if len(nbrs[v]) == 0 {
				bary[v] = pos[v]
				continue
			}
			sum := 0.0
			for _, w := range nbrs[v] {
				sum += pos[w]
			}
			bary[v] = sum / float64(len(nbrs[v]))
		}
		slices.SortStableFunc(l, func(a, b int) int {
			switch {
			case bary[a] < bary[b]:
				return -1
			case bary[a] > bary[b]:
				return 1
			}
			return 0 // stable: ties keep their order
		})
		for i, v := range l {
			pos[v] = float64(i)
		}
	}
	for range 4 {
		for i := 1; i < len(layers); i++ {
			sweep(layers[i], up)
		}
		for i := len(layers) - 2; i >= 0; i-- {
			sweep(layers[i], down)
		}
	}

	// A box with one labelled arrow coming in gets the label just above
	// it, so its slot is at least as wide as the label; labels of arrows
	// into a box several come into sit halfway along their arrows.
	labelsIn := make([]int, len(verts))
	slot := make([]float64, len(verts))
	for v := range verts {
		slot[v] = verts[v].w
	}
	for i, a := range arcs {
		if !back[i] && a.label != "" {
			labelsIn[a.to]++
			slot[a.to] = max(slot[a.to], labelWidth(a.label))
		}
	}
	for v := range verts {
		if labelsIn[v] > 1 {
			slot[v] = verts[v].w
		}
	}

	// Places: packed left to right, then each vertex pulled under the
	// vertices above it as far as its left neighbour allows.
	center := func(v int) float64 { return verts[v].x + verts[v].w/2 }
	for _, l := range layers {
		left := margin
		for _, v := range l {
			verts[v].x = left + slot[v]/2 - verts[v].w/2
			left += slot[v] + gapX
		}
	}
	for range 2 {
		for li := 1; li < len(layers); li++ {
			left := margin
			for _, v := range layers[li] {
				c := center(v)
				if len(up[v]) > 0 {
					sum := 0.0
					for _, w := range up[v] {
						sum += center(w)
					}
					c = sum / float64(len(up[v]))
				}
				c = max(c, left+slot[v]/2)
				verts[v].x = c - verts[v].w/2
				left = c + slot[v]/2 + gapX
			}
		}
	}

	g := Graph{Flow: f.Name}
	y := func(l int) float64 { return margin + float64(l)*(nodeH+gapY) }
	right := 0.0
	for _, v := range verts {
		right = max(right, v.x+v.w)
	}
	id := func(v int) string {
		if v == done {
			return "done"
		}
		return "s" + strconv.Itoa(v)
	}
	for v := range total {
		nd := Node{ID: id(v), State: v, X: verts[v].x, Y: y(layer[v]), W: verts[v].w, H: nodeH}
		if v == done {
			nd.State, nd.Name = -1, "done"
		} else {
			nd.Name, nd.Kind = f.States[v].Name, f.States[v].Kind.String()
		}
		g.Nodes = append(g.Nodes, nd)
	}
	// Back arcs run down the right of everything, one lane each.
	lane := right + gapX/2
	for i, a := range arcs {
		e := Edge{From: id(a.from), To: id(a.to), Label: a.label, Title: a.title, Back: back[i]}
		from, to := verts[a.from], verts[a.to]
		if back[i] {
			sy, ty := y(from.layer)+nodeH/2, y(to.layer)+nodeH/2
			if a.from == a.to {
				sy, ty = y(from.layer)+nodeH*0.7, y(from.layer)+nodeH*0.3
			}
			e.Points = [][2]float64{{from.x + from.w, sy}, {lane, sy}, {lane, ty}, {to.x + to.w, ty}}
			e.LabelX, e.LabelY = lane+4, (sy+ty)/2
			lane += 14
		} else {
			e.Points = append(e.Points, [2]float64{center(a.from), y(from.layer) + nodeH})
			for _, b := range chains[i][1 : len(chains[i])-1] {
				e.Points = append(e.Points, [2]float64{center(b), y(verts[b].layer) + nodeH/2})
			}
			e.Points = append(e.Points, [2]float64{center(a.to), y(to.layer)})
			p, q := e.Points[len(e.Points)-2], e.Points[len(e.Points)-1]
			t := 0.5
			if labelsIn[a.to] == 1 {
				t = max(0.5, 1-14/(q[1]-p[1])) // just above the box
			}
			e.LabelX, e.LabelY = p[0]+(q[0]-p[0])*t, p[1]+(q[1]-p[1])*t+4
		}
		g.Edges = append(g.Edges, e)
	}
	g.Width = max(lane, right+margin)
	g.Height = y(deepest) + nodeH + margin
	return g
}

// labelWidth is the room a label takes in the 11px font, with a margin.
func labelWidth(s string) float64 { return float64(utf8.RuneCountInString(s))*6.4 + 12 }

// shorten cuts a long condition to maxLabel runes.
func shorten(s string) string {
	if utf8.RuneCountInString(s) <= maxLabel {
		return s
	}
	r := []rune(s)
	return string(r[:maxLabel-1]) + "…"
}
