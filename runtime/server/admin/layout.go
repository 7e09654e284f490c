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
	l := &layout{f: f, n: len(f.States)}
	l.collectArcs()
	l.breakCycles()
	l.assignLayers()
	l.addVertices()
	l.orderLayers()
	l.sizeSlots()
	l.place()
	return l.graph()
}

// arc is one arrow of the flow, to the done node (layout.done) for an end.
type arc struct {
	from, to     int
	label, title string
}

// vertex is a box, the done node or a long arrow's bend (node -1).
type vertex struct {
	node  int
	layer int
	w     float64
	x     float64
}

// layout is the state of one Layout, phase by phase.
type layout struct {
	f        *compiler.Flow
	n        int // steps; the done node is index n
	total    int // steps, plus done when an arrow ends there
	usesDone bool
	arcs     []arc
	succ     [][]int // arcs leaving each node, by index
	back     []bool  // by arc: set aside to make the rest acyclic
	order    []int   // a topological order of the nodes without back arcs
	layer    []int   // by node
	deepest  int
	verts    []vertex
	chains   [][]int // the vertices each arc passes, from its start to its end
	up, down [][]int // by vertex: neighbours one layer up, and down
	layers   [][]int // the vertices of each layer, in order
	labelsIn []int   // by vertex: labelled arrows coming in
	slot     []float64
}

func (l *layout) done() int { return l.n }

// collectArcs reads the flow's arrows; a step that handles none of its
// outcomes ends the execution after it.
func (l *layout) collectArcs() {
	outs := make([]int, l.n)
	for _, e := range l.f.Edges() {
		to := int(e.To)
		if e.To == compiler.End {
			to, l.usesDone = l.done(), true
		}
		title := strings.Join(strings.Fields(e.Label), " ")
		l.arcs = append(l.arcs, arc{e.From, to, shorten(title), title})
		outs[e.From]++
	}
	for i := range l.n {
		if outs[i] == 0 {
			l.arcs = append(l.arcs, arc{from: i, to: l.done()})
			l.usesDone = true
		}
	}
	l.total = l.n
	if l.usesDone {
		l.total++
	}
	l.succ = make([][]int, l.total)
	for i, a := range l.arcs {
		l.succ[a.from] = append(l.succ[a.from], i)
	}
}

// breakCycles marks back arcs: those a depth-first search from the start
// meets to a step still on its path. What is left is acyclic.
func (l *layout) breakCycles() {
	l.back = make([]bool, len(l.arcs))
	state := make([]uint8, l.total) // 0 unseen, 1 on the path, 2 done
	var visit func(v int)
	visit = func(v int) {
		state[v] = 1
		for _, ai := range l.succ[v] {
			w := l.arcs[ai].to
			switch state[w] {
			case 0:
				visit(w)
			case 1:
				l.back[ai] = true
			}
		}
		state[v] = 2
		l.order = append(l.order, v) // reverse postorder, reversed below
	}
	for v := range l.total {
		if state[v] == 0 && (v != l.done() || !l.usesDone) {
			visit(v)
		}
	}
	if l.usesDone && state[l.done()] == 0 {
		visit(l.done())
	}
	slices.Reverse(l.order)
}

// assignLayers puts each node at the longest path from a source; done
// goes below everything.
func (l *layout) assignLayers() {
	l.layer = make([]int, l.total)
	for _, v := range l.order {
		for _, ai := range l.succ[v] {
			if a := l.arcs[ai]; !l.back[ai] && l.layer[a.to] < l.layer[v]+1 {
				l.layer[a.to] = l.layer[v] + 1
			}
		}
	}
	for v := range l.n {
		l.deepest = max(l.deepest, l.layer[v])
	}
	if l.usesDone {
		l.layer[l.done()] = l.deepest + 1
		l.deepest++
	}
}

// addVertices makes the nodes' vertices, then one bend per layer crossed
// by a long arc, and links each vertex to its neighbours.
func (l *layout) addVertices() {
	l.verts = make([]vertex, l.total)
	for v := range l.total {
		w := doneSize
		if v < l.n {
			s := l.f.States[v]
			w = max(float64(max(utf8.RuneCountInString(s.Name), utf8.RuneCountInString(s.Kind.String())+2))*charW+28, 84)
		}
		l.verts[v] = vertex{node: v, layer: l.layer[v], w: w}
	}
	l.chains = make([][]int, len(l.arcs))
	for i, a := range l.arcs {
		chain := []int{a.from}
		if !l.back[i] {
			for k := l.layer[a.from] + 1; k < l.layer[a.to]; k++ {
				l.verts = append(l.verts, vertex{node: -1, layer: k, w: dummyW})
				chain = append(chain, len(l.verts)-1)
			}
		}
		l.chains[i] = append(chain, a.to)
	}
	l.up = make([][]int, len(l.verts))
	l.down = make([][]int, len(l.verts))
	for i, c := range l.chains {
		if l.back[i] {
			continue
		}
		for k := 1; k < len(c); k++ {
			l.up[c[k]] = append(l.up[c[k]], c[k-1])
			l.down[c[k-1]] = append(l.down[c[k-1]], c[k])
		}
	}
}

// orderLayers orders each layer: first met first, then barycenter sweeps
// down and up to cross fewer arrows.
func (l *layout) orderLayers() {
	l.layers = make([][]int, l.deepest+1)
	seen := make([]bool, len(l.verts))
	var place func(v int)
	place = func(v int) {
		if seen[v] {
			return
		}
		seen[v] = true
		l.layers[l.verts[v].layer] = append(l.layers[l.verts[v].layer], v)
		for _, w := range l.down[v] {
			place(w)
		}
	}
	for _, v := range l.order {
		place(v)
	}
	for v := range l.verts {
		place(v)
	}
	pos := make([]float64, len(l.verts))
	for _, layer := range l.layers {
		for i, v := range layer {
			pos[v] = float64(i)
		}
	}
	bary := make([]float64, len(l.verts)) // by vertex, refilled per layer
	sweep := func(layer []int, nbrs [][]int) {
		for _, v := range layer {
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
		slices.SortStableFunc(layer, func(a, b int) int {
			switch {
			case bary[a] < bary[b]:
				return -1
			case bary[a] > bary[b]:
				return 1
			}
			return 0 // stable: ties keep their order
		})
		for i, v := range layer {
			pos[v] = float64(i)
		}
	}
	for range 4 {
		for i := 1; i < len(l.layers); i++ {
			sweep(l.layers[i], l.up)
		}
		for i := len(l.layers) - 2; i >= 0; i-- {
			sweep(l.layers[i], l.down)
		}
	}
}

// sizeSlots: a box with one labelled arrow coming in gets the label just
// above it, so its slot is at least as wide as the label; labels of
// arrows into a box several come into sit halfway along their arrows.
func (l *layout) sizeSlots() {
	l.labelsIn = make([]int, len(l.verts))
	l.slot = make([]float64, len(l.verts))
	for v := range l.verts {
		l.slot[v] = l.verts[v].w
	}
	for i, a := range l.arcs {
		if !l.back[i] && a.label != "" {
			l.labelsIn[a.to]++
			l.slot[a.to] = max(l.slot[a.to], labelWidth(a.label))
		}
	}
	for v := range l.verts {
		if l.labelsIn[v] > 1 {
			l.slot[v] = l.verts[v].w
		}
	}
}

func (l *layout) center(v int) float64 { return l.verts[v].x + l.verts[v].w/2 }

// place packs each layer left to right, then pulls each vertex under the
// vertices above it as far as its left neighbour allows.
func (l *layout) place() {
	for _, layer := range l.layers {
		left := margin
		for _, v := range layer {
			l.verts[v].x = left + l.slot[v]/2 - l.verts[v].w/2
			left += l.slot[v] + gapX
		}
	}
	for range 2 {
		for li := 1; li < len(l.layers); li++ {
			left := margin
			for _, v := range l.layers[li] {
				c := l.center(v)
				if len(l.up[v]) > 0 {
					sum := 0.0
					for _, w := range l.up[v] {
						sum += l.center(w)
					}
					c = sum / float64(len(l.up[v]))
				}
				c = max(c, left+l.slot[v]/2)
				l.verts[v].x = c - l.verts[v].w/2
				left = c + l.slot[v]/2 + gapX
			}
		}
	}
}

func (l *layout) y(layer int) float64 { return margin + float64(layer)*(nodeH+gapY) }

func (l *layout) id(v int) string {
	if v == l.done() {
		return "done"
	}
	return "s" + strconv.Itoa(v)
}

// graph draws the placed vertices: boxes, and arrows through their bends;
// back arcs run down the right of everything, one lane each.
func (l *layout) graph() Graph {
	g := Graph{Flow: l.f.Name}
	right := 0.0
	for _, v := range l.verts {
		right = max(right, v.x+v.w)
	}
	for v := range l.total {
		nd := Node{ID: l.id(v), State: v, X: l.verts[v].x, Y: l.y(l.layer[v]), W: l.verts[v].w, H: nodeH}
		if v == l.done() {
			nd.State, nd.Name = -1, "done"
		} else {
			nd.Name, nd.Kind = l.f.States[v].Name, l.f.States[v].Kind.String()
		}
		g.Nodes = append(g.Nodes, nd)
	}
	lane := right + gapX/2
	for i, a := range l.arcs {
		e := Edge{From: l.id(a.from), To: l.id(a.to), Label: a.label, Title: a.title, Back: l.back[i]}
		if l.back[i] {
			e.Points, e.LabelX, e.LabelY = l.backArc(a, lane)
			lane += 14
		} else {
			e.Points, e.LabelX, e.LabelY = l.downArc(i, a)
		}
		g.Edges = append(g.Edges, e)
	}
	g.Width = max(lane, right+margin)
	g.Height = l.y(l.deepest) + nodeH + margin
	return g
}

// backArc is a back arc's path in its lane, and its label's place.
func (l *layout) backArc(a arc, lane float64) ([][2]float64, float64, float64) {
	from, to := l.verts[a.from], l.verts[a.to]
	sy, ty := l.y(from.layer)+nodeH/2, l.y(to.layer)+nodeH/2
	if a.from == a.to {
		sy, ty = l.y(from.layer)+nodeH*0.7, l.y(from.layer)+nodeH*0.3
	}
	return [][2]float64{{from.x + from.w, sy}, {lane, sy}, {lane, ty}, {to.x + to.w, ty}}, lane + 4, (sy + ty) / 2
}

// downArc is arc i's path down through its bends, and its label's place.
func (l *layout) downArc(i int, a arc) ([][2]float64, float64, float64) {
	pts := [][2]float64{{l.center(a.from), l.y(l.verts[a.from].layer) + nodeH}}
	for _, b := range l.chains[i][1 : len(l.chains[i])-1] {
		pts = append(pts, [2]float64{l.center(b), l.y(l.verts[b].layer) + nodeH/2})
	}
	pts = append(pts, [2]float64{l.center(a.to), l.y(l.verts[a.to].layer)})
	p, q := pts[len(pts)-2], pts[len(pts)-1]
	t := 0.5
	if l.labelsIn[a.to] == 1 {
		t = max(0.5, 1-14/(q[1]-p[1])) // just above the box
	}
	return pts, p[0] + (q[0]-p[0])*t, p[1] + (q[1]-p[1])*t + 4
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
