package compiler

import (
	"fmt"
	"strings"
)

// Disassemble renders the program as text: every flow's states with their
// transitions by index, and the routing declarations. Golden tests compare
// it; `switchboard graph` and debugging read it.
func (p *Program) Disassemble() string {
	var b strings.Builder
	for _, f := range p.Flows {
		fmt.Fprintf(&b, "flow %s trigger=%s", f.Name, f.Trigger)
		if len(f.Channels) > 0 {
			fmt.Fprintf(&b, " channels=%s", strings.Join(f.Channels, ","))
		}
		b.WriteByte('\n')
		for _, group := range []struct {
			label string
			vars  []Var
		}{{"var", f.Vars}, {"input", f.Inputs}, {"output", f.Outputs}} {
			for _, v := range group.vars {
				fmt.Fprintf(&b, "  %s %s: %s", group.label, v.Name, v.Type)
				if v.Init != nil {
					fmt.Fprintf(&b, " = %s", v.Init.Source)
				}
				b.WriteByte('\n')
			}
		}
		for i, s := range f.States {
			fmt.Fprintf(&b, "  %d %s: %s", i, s.Name, s.Kind)
			head, lines := s.Op.disasm()
			b.WriteString(head)
			b.WriteByte('\n')
			for _, l := range lines {
				fmt.Fprintf(&b, "      %s\n", l)
			}
			for _, g := range s.Guards {
				fmt.Fprintf(&b, "      if %s -> %s\n", g.Cond.Source, targetName(f, g.Target))
			}
			for o, t := range s.Next {
				if t != NoTarget {
					fmt.Fprintf(&b, "      %s -> %s\n", Outcome(o), targetName(f, t))
				}
			}
		}
	}
	for _, q := range p.Queues {
		fmt.Fprintf(&b, "queue %s workers=%s order=%s", q.Name, q.Workers.Source, q.Strategy)
		if q.OrderBy != nil {
			dir := "asc"
			if q.Descending {
				dir = "desc"
			}
			fmt.Fprintf(&b, "(%s %s)", q.OrderBy.Source, dir)
		}
		b.WriteByte('\n')
	}
	for _, w := range p.Workflows {
		fmt.Fprintf(&b, "workflow %s\n", w.Name)
		for _, f := range w.Filters {
			fmt.Fprintf(&b, "  when %s -> %s\n", f.When.Source, targetsString(f.Targets))
		}
		fmt.Fprintf(&b, "  default %s\n", targetsString([]Target{w.Default}))
	}
	for _, h := range p.Hours {
		fmt.Fprintf(&b, "hours %s tz=%s closed=%d\n", h.Name, h.TimeZone, len(h.Closed))
	}
	return b.String()
}

func targetName(f *Flow, t int32) string {
	switch t {
	case End:
		return "done"
	case NoTarget:
		return "(none)"
	}
	return fmt.Sprintf("%d %s", t, f.States[t].Name)
}

func targetsString(ts []Target) string {
	parts := make([]string, len(ts))
	for i, t := range ts {
		s := t.Queue
		if t.Worker != nil {
			s = "worker " + t.Worker.Source
		}
		if t.Timeout != 0 {
			s += fmt.Sprintf(" timeout=%s", t.Timeout)
		}
		if t.Priority != nil {
			s += " priority=" + t.Priority.Source
		}
		parts[i] = s
	}
	return strings.Join(parts, ", then ")
}
