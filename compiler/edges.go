package compiler

// Edge is one transition of a flow's state machine, as drawn: from a
// state to a state index or End, labelled with the guard's condition or
// the outcome's name.
type Edge struct {
	From  int
	To    int32
	Label string
	// Guard: the label is a condition, tested in the order of the edges.
	Guard bool
}

// Edges returns a flow's transitions: for each state, its guards in the
// order they are tested, then its outcomes in the order of Outcome.
// Unhandled outcomes are left out.
func (f *Flow) Edges() []Edge {
	var out []Edge
	for i, s := range f.States {
		for _, g := range s.Guards {
			if g.Target == NoTarget || g.Cond == nil {
				continue
			}
			out = append(out, Edge{From: i, To: g.Target, Label: g.Cond.Source, Guard: true})
		}
		for o, t := range s.Next {
			if t == NoTarget {
				continue
			}
			out = append(out, Edge{From: i, To: t, Label: Outcome(o).String()})
		}
	}
	return out
}
