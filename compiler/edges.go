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
// Unhandled outcomes are left out, except the kind's primary one (an
// enqueue without `-> target`: the execution ends with the task), drawn
// to End: without it a step the execution goes through would look like a
// dead end.
func (f *Flow) Edges() []Edge {
	var out []Edge
	for i, s := range f.States {
		for _, g := range s.Guards {
			if g.Target == NoTarget || g.Cond == nil {
				continue
			}
			out = append(out, Edge{From: i, To: g.Target, Label: g.Cond.Source, Guard: true})
		}
		primary := NumOutcomes
		for _, o := range s.Kind.Spec().Outcomes {
			if o.Primary {
				primary = o.Outcome
			}
		}
		for o, t := range s.Next {
			if t == NoTarget {
				if Outcome(o) != primary {
					continue
				}
				t = End
			}
			out = append(out, Edge{From: i, To: t, Label: Outcome(o).String()})
		}
	}
	return out
}
