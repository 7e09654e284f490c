package flowtest

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/switchboard-dev/switchboard/compiler"
	"github.com/switchboard-dev/switchboard/diag"
)

// Suite is the tests of one directory and the program they test: all the
// .flow files of the directory.
type Suite struct {
	Dir     string
	Prog    *compiler.Program
	Files   []*File
	Sources diag.Sources // every file read, for rendering diagnostics
}

// Load compiles the .flow files of dir and parses the given test files
// (all the *.flowtest files of dir when tests is nil). Problems in either
// are returned as diagnostics; the suite is usable only without errors.
func Load(dir string, tests []string) (*Suite, diag.List, error) {
	s := &Suite{Dir: dir, Sources: diag.Sources{}}
	flows, err := filepath.Glob(filepath.Join(dir, "*.flow"))
	if err != nil {
		return nil, nil, err
	}
	if tests == nil {
		if tests, err = filepath.Glob(filepath.Join(dir, "*"+Ext)); err != nil {
			return nil, nil, err
		}
	}
	sort.Strings(flows)
	sort.Strings(tests)
	var srcs []compiler.Source
	for _, f := range flows {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, nil, err
		}
		s.Sources[f] = b
		srcs = append(srcs, compiler.Source{Name: f, Src: b})
	}
	var all diag.List
	if len(srcs) == 0 {
		return nil, nil, fmt.Errorf("%s: no .flow files: the tests have no program to test", dir)
	}
	prog, list := compiler.CompileSources(srcs, compiler.Options{})
	all.Append(list)
	s.Prog = prog
	for _, t := range tests {
		b, err := os.ReadFile(t)
		if err != nil {
			return nil, nil, err
		}
		s.Sources[t] = b
		f, list := Parse(t, b)
		all.Append(list)
		s.Files = append(s.Files, f)
	}
	if prog == nil && !all.HasErrors() {
		all.Errorf("T0000", diag.Span{File: dir}, "the program does not compile")
	}
	return s, all, nil
}

// Options configure a run.
type Options struct {
	Run   *regexp.Regexp // only the tests whose name matches
	Cover *Coverage      // when set, records what the tests exercised
	// StepBudget is the steps an execution may run without a message from
	// the customer, as serve --step-budget sets it (0: the engine's default).
	StepBudget int
}

// Run plays the suite's tests in file order.
func (s *Suite) Run(opts Options) []Result {
	var out []Result
	for _, f := range s.Files {
		for _, t := range f.Tests {
			if opts.Run != nil && !opts.Run.MatchString(t.Name) {
				continue
			}
			out = append(out, run(s.Prog, f.Name, t, opts.Cover, opts.StepBudget))
		}
	}
	return out
}

// ---- coverage ----

// Coverage records which steps and which outcomes of a program's flows
// the tests exercised.
type Coverage struct {
	prog *compiler.Program
	hit  map[visit]bool
}

// NewCoverage starts recording coverage for prog.
func NewCoverage(prog *compiler.Program) *Coverage {
	return &Coverage{prog: prog, hit: map[visit]bool{}}
}

func (c *Coverage) record(vs []visit) {
	for _, v := range vs {
		c.hit[v] = true
	}
}

// FlowCoverage is the coverage of one flow.
type FlowCoverage struct {
	Flow        string
	Steps       int
	StepsHit    int
	Branches    int // outcomes and guards
	BranchesHit int
	Missed      []string // what no test exercised, in step order
}

// Percent is the share of steps and branches exercised.
func (f FlowCoverage) Percent() float64 {
	total := f.Steps + f.Branches
	if total == 0 {
		return 100
	}
	return 100 * float64(f.StepsHit+f.BranchesHit) / float64(total)
}

// branches lists the outcomes of a step that count for coverage: its
// guards, the outcomes it handles, and the outcomes that can happen
// unhandled (they end the execution): an enqueue's task outcomes, a
// dial's results, an http or function error, the primary outcome.
func branches(st *compiler.State) []string {
	var out []string
	for i := range st.Guards {
		out = append(out, guardKey(i))
	}
	for j, o := range st.Kind.Outcomes() {
		handled := st.Next[o] != compiler.NoTarget
		possible := j == 0 || st.Kind == compiler.KindEnqueue && o != compiler.OutTimeout || st.Kind == compiler.KindDial
		if st.Kind == compiler.KindSend && o == compiler.OutFailed && !handled {
			possible = false
		}
		if st.Kind == compiler.KindGather {
			possible = o == compiler.OutTimeout || handled || o == compiler.OutSpeech && st.Op.(*compiler.GatherOp).ListensForSpeech
		}
		if handled || possible {
			out = append(out, o.String())
		}
	}
	return out
}

func branchLabel(st *compiler.State, b string) string {
	if strings.HasPrefix(b, "g") {
		var i int
		fmt.Sscanf(b[1:], "%d", &i)
		if i < len(st.Guards) {
			return fmt.Sprintf("step %s: when `%s`", st.Name, st.Guards[i].Cond.Source)
		}
	}
	return fmt.Sprintf("step %s: outcome %s", st.Name, b)
}

// Report returns the coverage per flow, in the program's order.
func (c *Coverage) Report() []FlowCoverage {
	var out []FlowCoverage
	for _, f := range c.prog.Flows {
		fc := FlowCoverage{Flow: f.Name}
		for i, st := range f.States {
			fc.Steps++
			if c.hit[visit{f.Name, int32(i), ""}] {
				fc.StepsHit++
			} else {
				fc.Missed = append(fc.Missed, fmt.Sprintf("step %s (%s) never ran", st.Name, st.Span))
			}
			for _, b := range branches(st) {
				fc.Branches++
				if c.hit[visit{f.Name, int32(i), b}] {
					fc.BranchesHit++
				} else {
					fc.Missed = append(fc.Missed, branchLabel(st, b)+" never taken")
				}
			}
		}
		out = append(out, fc)
	}
	return out
}
