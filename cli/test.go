package cli

import (
	"encoding/xml"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/switchboard-dev/switchboard/diag"
	"github.com/switchboard-dev/switchboard/flowtest"
	"github.com/switchboard-dev/switchboard/runtime/engine"
)

func newTestCmd() *cobra.Command {
	format := &formatFlag{value: "text", allowed: []string{"text", "github"}}
	var (
		run     string
		junit   string
		cover   bool
		verbose bool
		budget  int
	)
	cmd := &cobra.Command{
		Use:   "test [paths...]",
		Short: "Run the flow tests (*.flowtest files) next to the flows",
		Long: `Test plays the scripted conversations of *.flowtest files against the
program formed by the .flow files of the same directory, with the engine
the server runs. docs/TESTING.md describes the test file format.

Each path is a directory (its *.flowtest files), DIR/... (every directory
below DIR that has test files), or a .flowtest file. Default: the current
directory.

Output is like go test: a "--- FAIL" block per failed test with the script
line, the flow step and its .flow position, what was expected and what
happened; then "ok" or "FAIL" per directory.

Exit status: 0 when every test passes, 1 when a test fails, 2 on a usage
error, an unreadable path, or a test file or flow with errors.`,
		Example: `  # Run the tests of the flows directory
  switchboard test flows/

  # Run the tests whose name mentions "bot", with coverage
  switchboard test --run bot --cover flows/

  # In CI: annotations on the pull request and a JUnit report
  switchboard test --format github --junit report.xml ./...`,
		RunE: func(cmd *cobra.Command, args []string) error {
			var re *regexp.Regexp
			if run != "" {
				var err error
				if re, err = regexp.Compile(run); err != nil {
					return usagef(cmd, "--run: %v", err)
				}
			}
			if budget < 1 {
				return usagef(cmd, "--step-budget %d: want at least 1", budget)
			}
			return runTest(cmd, args, testOptions{run: re, junit: junit, cover: cover, verbose: verbose, format: format.value, budget: budget})
		},
	}
	cmd.Flags().StringVar(&run, "run", "", "run only the tests whose name matches the regular expression")
	cmd.Flags().StringVar(&junit, "junit", "", "write a JUnit XML report to `FILE`")
	cmd.Flags().BoolVar(&cover, "cover", false, "report which steps and outcomes of each flow the tests exercised")
	cmd.Flags().BoolVarP(&verbose, "verbose", "v", false, "list every test, passed or failed")
	cmd.Flags().Var(format, "format", "output format: text or github (annotations for GitHub Actions)")
	cmd.Flags().IntVar(&budget, "step-budget", engine.DefaultStepBudget, "steps an execution may run without a message from the customer before it fails, as serve --step-budget")
	return cmd
}

type testOptions struct {
	run     *regexp.Regexp
	junit   string
	cover   bool
	verbose bool
	format  string
	budget  int
}

// testGroup is a directory and the test files to run in it (nil: all).
type testGroup struct {
	dir   string
	files []string
}

func expandTests(args []string) ([]testGroup, []error) {
	var (
		groups []testGroup
		errs   []error
		index  = map[string]int{}
	)
	addDir := func(dir string, file string) {
		dir = displayPath(dir)
		i, ok := index[dir]
		if !ok {
			i = len(groups)
			index[dir] = i
			groups = append(groups, testGroup{dir: dir})
			if file == "" {
				return
			}
			groups[i].files = []string{}
		}
		if file == "" {
			groups[i].files = nil
			return
		}
		if groups[i].files != nil {
			groups[i].files = append(groups[i].files, displayPath(file))
		}
	}
	for _, arg := range args {
		if root, ok := recursivePattern(arg); ok {
			n, err := walkDirs(root, func(p string) (int, error) {
				if m, _ := filepath.Glob(filepath.Join(p, "*"+flowtest.Ext)); len(m) > 0 {
					addDir(p, "")
					return 1, nil
				}
				return 0, nil
			})
			if err != nil {
				errs = append(errs, err)
			} else if n == 0 {
				errs = append(errs, fmt.Errorf("%s: no %s files in %s or below it", arg, flowtest.Ext, root))
			}
			continue
		}
		fi, err := os.Stat(arg)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if fi.IsDir() {
			addDir(arg, "")
			continue
		}
		if !strings.HasSuffix(arg, flowtest.Ext) {
			errs = append(errs, fmt.Errorf("%s: not a test file (test files end in %s)", arg, flowtest.Ext))
			continue
		}
		addDir(filepath.Dir(arg), arg)
	}
	return groups, errs
}

func runTest(cmd *cobra.Command, args []string, opts testOptions) error {
	stdout, stderr := cmd.OutOrStdout(), cmd.ErrOrStderr()
	if len(args) == 0 {
		args = []string{"."}
	}
	groups, errs := expandTests(args)
	for _, err := range errs {
		fmt.Fprintf(stderr, "switchboard: %v\n", err)
	}
	broken := len(errs) > 0
	anyFailed := false
	wd, _ := os.Getwd()
	var report junitReport
	for _, g := range groups {
		suite, list, err := flowtest.Load(g.dir, g.files)
		if err != nil {
			fmt.Fprintf(stderr, "switchboard: %v\n", err)
			broken = true
			continue
		}
		if len(suite.Files) == 0 {
			fmt.Fprintf(stdout, "?   \t%s\t[no test files]\n", g.dir)
			continue
		}
		if list.HasErrors() {
			list.Sort()
			df := diag.Text
			if opts.format == "github" {
				df = diag.GitHub
			}
			if err := diag.Write(stdout, list, suite.Sources, diag.Options{Format: df, Cwd: wd}); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "FAIL\t%s\t[setup failed]\n", g.dir)
			report.setupFailed(g.dir, list.Error())
			broken = true
			continue
		}
		var cov *flowtest.Coverage
		if opts.cover {
			cov = flowtest.NewCoverage(suite.Prog)
		}
		start := time.Now()
		results := suite.Run(flowtest.Options{Run: opts.run, Cover: cov, StepBudget: opts.budget})
		elapsed := time.Since(start)
		failed := 0
		for _, r := range results {
			loc := fmt.Sprintf("%s:%d", r.File, r.Test.Span.Start.Line)
			if r.Failure == nil {
				if opts.verbose {
					fmt.Fprintf(stdout, "--- PASS: %s (%s)\n", r.Test.Name, loc)
				}
				continue
			}
			failed++
			fmt.Fprintf(stdout, "--- FAIL: %s (%s)\n", r.Test.Name, loc)
			for _, l := range r.Failure.Lines() {
				fmt.Fprintf(stdout, "    %s\n", l)
			}
			if opts.format == "github" {
				fmt.Fprintf(stdout, "::error file=%s,line=%d,col=%d,title=%s::%s\n",
					ghEscape(r.Failure.Span.File, true), r.Failure.Span.Start.Line, r.Failure.Span.Start.Col,
					ghEscape("flow test failed: "+r.Test.Name, true), ghEscape(r.Failure.Summary(), false))
			}
		}
		report.add(g.dir, results, elapsed)
		switch {
		case failed > 0:
			anyFailed = true
			fmt.Fprintf(stdout, "FAIL\t%s\t%d of %s failed\n", g.dir, failed, plural(len(results), "test"))
		case len(results) == 0:
			fmt.Fprintf(stdout, "ok  \t%s\t[no tests to run]\n", g.dir)
		default:
			fmt.Fprintf(stdout, "ok  \t%s\t%s passed\n", g.dir, plural(len(results), "test"))
		}
		if cov != nil {
			writeCoverage(stdout, cov.Report())
		}
	}
	if opts.junit != "" {
		if err := report.write(opts.junit); err != nil {
			fmt.Fprintf(stderr, "switchboard: %v\n", err)
			broken = true
		}
	}
	switch {
	case broken:
		return &silentError{code: exitUsage}
	case anyFailed:
		return errProblems
	}
	return nil
}

func writeCoverage(w io.Writer, flows []flowtest.FlowCoverage) {
	var hit, total int
	for _, f := range flows {
		hit += f.StepsHit + f.BranchesHit
		total += f.Steps + f.Branches
		fmt.Fprintf(w, "coverage: flow %s: %.1f%% (steps %d/%d, outcomes %d/%d)\n",
			f.Flow, f.Percent(), f.StepsHit, f.Steps, f.BranchesHit, f.Branches)
		for _, m := range f.Missed {
			fmt.Fprintf(w, "    %s\n", m)
		}
	}
	if len(flows) > 1 && total > 0 {
		fmt.Fprintf(w, "coverage: total: %.1f%% of steps and outcomes (%d/%d)\n", 100*float64(hit)/float64(total), hit, total)
	}
}

func ghEscape(s string, property bool) string {
	s = strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A").Replace(s)
	if property {
		s = strings.NewReplacer(":", "%3A", ",", "%2C").Replace(s)
	}
	return s
}

// ---- JUnit ----

type junitReport struct {
	XMLName xml.Name     `xml:"testsuites"`
	Suites  []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Time     string      `xml:"time,attr"`
	Cases    []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	File      string        `xml:"file,attr"`
	Line      int           `xml:"line,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitFailure `xml:"failure"`
}

type junitFailure struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",chardata"`
}

func (j *junitReport) add(dir string, results []flowtest.Result, elapsed time.Duration) {
	s := junitSuite{Name: dir, Tests: len(results), Time: fmt.Sprintf("%.3f", elapsed.Seconds())}
	for _, r := range results {
		c := junitCase{Name: r.Test.Name, Classname: strings.TrimSuffix(filepath.ToSlash(r.File), flowtest.Ext),
			File: r.File, Line: r.Test.Span.Start.Line, Time: fmt.Sprintf("%.3f", r.Duration.Seconds())}
		if f := r.Failure; f != nil {
			s.Failures++
			c.Failure = &junitFailure{Message: f.Summary(), Type: "failure", Text: strings.Join(f.Lines(), "\n")}
		}
		s.Cases = append(s.Cases, c)
	}
	j.Suites = append(j.Suites, s)
}

// setupFailed records a directory whose tests could not run.
func (j *junitReport) setupFailed(dir, detail string) {
	j.Suites = append(j.Suites, junitSuite{Name: dir, Tests: 1, Failures: 1, Time: "0.000", Cases: []junitCase{{
		Name: "setup", Classname: dir, Time: "0.000",
		Failure: &junitFailure{Message: "the test files or the flows have errors", Type: "error", Text: detail},
	}}})
}

func (j *junitReport) write(path string) error {
	b, err := xml.MarshalIndent(j, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append([]byte(xml.Header), append(b, '\n')...), 0o644)
}
