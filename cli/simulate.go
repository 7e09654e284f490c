package cli

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/switchboard-dev/switchboard/compiler"
	"github.com/switchboard-dev/switchboard/diag"
	"github.com/switchboard-dev/switchboard/flowtest"
	"github.com/switchboard-dev/switchboard/runtime/engine"
)

func newSimulateCmd() *cobra.Command {
	var (
		script  string
		mocks   string
		run     string
		at      string
		channel string
		env     []string
		budget  int
	)
	cmd := &cobra.Command{
		Use:   "simulate FLOW [dir]",
		Short: "Chat with a flow in the terminal",
		Long: `Simulate runs the flow called FLOW of the program in dir (default: the
current directory) with the engine the server runs, and lets you play the
customer: each line you type is a message. Choices offered with a message
are listed under it, numbered: type a number or a title to pick one.
Commands start with a slash:

  /start [TEXT]        start the execution (call and API flows start at once)
                       or, once it has ended, a new one
  /advance DURATION    move the clock (30s, 5m, 1h30m); due timers fire
  /task OUTCOME [QUEUE [WORKER]]
                       the routed task ends: completed, timeout, canceled, failed
  /press DIGITS        the caller presses keys at a gather step
  /speak TEXT          the caller speaks at a gather step
  /silence             the caller says nothing: the gather times out
  /cancel              the customer leaves
  /vars                show the variables
  /help                list the commands
  /quit                stop

After each event the simulator prints the steps the engine ran and the
outcomes it took (with their .flow positions), what the flow did (messages
sent, requests, tasks), where it waits, and the variables.

When the execution ends, the next message starts a new one, with fresh
variables, as the server does for a message that comes after the end
(call and API flows start again with /start).

Requests of http, function, record and dial steps are answered by the mock
lines of a test file (--mocks FILE; the first mock of each step wins, or
those of the tests matching --run). Without a mock the simulator asks you
for the answer; with --script it stops instead.

--script FILE reads the lines from FILE instead of the terminal and echoes
them. Output is deterministic: the clock starts at Monday 5 January 2026,
15:00 UTC unless --at is given.

Exit status: 0 when the session ran; 1 when the program has errors, the
flow failed, a request had no answer, or (--script) a line did not apply
(a message while the flow does not wait for a reply, a task outcome while
it waits for no task, a command other than a message or /start after the
end); 2 on a usage error, an
unknown flow, an unreadable file, a mocks file with errors or a script
line the simulator cannot read.`,
		Example: `  # Chat with the support flow of flows/
  switchboard simulate support flows/

  # Answer its http steps from the mocks of its tests
  switchboard simulate support flows/ --mocks flows/support.flowtest

  # A scripted session, for a golden test
  switchboard simulate support flows/ --script session.txt --env BOT_URL=http://bot.test`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 || len(args) > 2 {
				return usagef(cmd, "simulate needs the name of a flow and at most one directory: switchboard simulate FLOW [dir]")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := "."
			if len(args) == 2 {
				dir = args[1]
			}
			opts := simOptions{flow: args[0], dir: dir, script: script, mocks: mocks, channel: channel, env: map[string]string{}}
			if run != "" && mocks == "" {
				return usagef(cmd, "--run selects the tests whose mocks --mocks takes: give --mocks FILE")
			}
			if run != "" {
				re, err := regexp.Compile(run)
				if err != nil {
					return usagef(cmd, "--run: %v", err)
				}
				opts.run = re
			}
			opts.start = flowtest.DefaultStart
			if at != "" {
				t, err := parseAt(at)
				if err != nil {
					return usagef(cmd, "--at: %v", err)
				}
				opts.start = t
			}
			e, err := parseEnv(env) // as serve reads it
			if err != nil {
				return usagef(cmd, "%v", err)
			}
			opts.env = e
			if budget < 1 {
				return usagef(cmd, "--step-budget %d: want at least 1", budget)
			}
			opts.budget = budget
			return runSimulate(cmd, opts)
		},
	}
	cmd.Flags().StringVar(&script, "script", "", "read the session from `FILE` instead of the terminal")
	cmd.Flags().StringVar(&mocks, "mocks", "", "answer requests with the mock lines of the test file `FILE`")
	cmd.Flags().StringVar(&run, "run", "", "with --mocks: only the mocks of the tests whose name matches the regular expression")
	cmd.Flags().StringVar(&at, "at", "", "the clock when the session starts: \"2026-11-24 09:30\" (UTC) or RFC 3339")
	cmd.Flags().StringVar(&channel, "channel", "", "the conversation's channel (default: the flow's first channel)")
	cmd.Flags().IntVar(&budget, "step-budget", engine.DefaultStepBudget, "steps the execution may run without a message from the customer before it fails, as serve --step-budget")
	cmd.Flags().StringArrayVar(&env, "env", nil, "a variable the flow reads as env: `NAME=VALUE`, or NAME for the process's NAME (repeatable)")
	return cmd
}

type simOptions struct {
	flow, dir, script, mocks, channel string
	run                               *regexp.Regexp
	start                             time.Time
	env                               map[string]string
	budget                            int
}

func parseAt(s string) (time.Time, error) {
	for _, layout := range []string{"2006-01-02 15:04", "2006-01-02 15:04:05", time.RFC3339} {
		if t, err := time.ParseInLocation(layout, s, time.UTC); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("bad time %q (want \"2006-01-02 15:04\" in UTC, or RFC 3339)", s)
}

// simStop ends a session with a non-zero status (raised as a panic inside
// the session): 1 when the flow failed, a request had no answer or a
// script line did not apply; 2 for a script line that cannot be read.
type simStop struct {
	code int
	msg  string
}

// simulator is one terminal session: the lines it reads drive a
// flowtest.Session (the engine, the clock, the timers and the requests,
// answered through the runtime's effect interpreter), and it prints what
// the flow did.
type simulator struct {
	*flowtest.Session
	prog    *compiler.Program
	flow    *compiler.Flow
	out     io.Writer
	in      *bufio.Scanner
	script  string // the script file, "" when interactive
	echo    bool   // interactive, but the input is not a terminal: echo it
	line    int    // the script line being played
	mocks   map[string]*flowtest.Mock
	answers int // requests answered for the current line
	runs    int // executions started before the current one
}

func runSimulate(cmd *cobra.Command, opts simOptions) error {
	stdout, stderr := cmd.OutOrStdout(), cmd.ErrOrStderr()
	fi, err := os.Stat(opts.dir)
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return usagef(cmd, "%s is not a directory: simulate runs a flow of the program in a directory", opts.dir)
	}
	inputs, errs := expand([]string{opts.dir}, loadOptions{})
	if len(errs) > 0 {
		return errs[0]
	}
	var (
		srcs    []compiler.Source
		sources = diag.Sources{}
	)
	for _, in := range inputs {
		src, err := os.ReadFile(in.path)
		if err != nil {
			return err
		}
		srcs = append(srcs, compiler.Source{Name: in.path, Src: src})
		sources[in.path] = src
	}
	wd, _ := os.Getwd()
	prog, list := compiler.CompileSources(srcs, compiler.Options{})
	if list.HasErrors() || prog == nil {
		var errs diag.List
		for _, d := range list {
			if d.Severity == diag.Error {
				errs = append(errs, d)
			}
		}
		if err := diag.Write(stderr, errs, sources, diag.Options{Format: diag.Text, Cwd: wd}); err != nil {
			return err
		}
		return errProblems
	}
	flow := prog.Flow(opts.flow)
	if flow == nil {
		return unknownFlow(opts.flow, prog)
	}
	if flow.Trigger == compiler.TriggerSubflow {
		return usagef(cmd, "flow %s is a subflow: simulate the flow that calls it", opts.flow)
	}
	s := &simulator{Session: &flowtest.Session{Prog: prog, Flow: flow.Name, ID: "sim", Now: opts.start.UTC(), Env: opts.env, Budget: opts.budget},
		prog: prog, flow: flow, out: stdout, script: opts.script, mocks: map[string]*flowtest.Mock{}}
	if opts.mocks != "" {
		src, err := os.ReadFile(opts.mocks)
		if err != nil {
			return err
		}
		ms, list := flowtest.ParseMocks(displayPath(opts.mocks), src)
		if list.HasErrors() {
			list.Sort()
			if err := diag.Write(stderr, list, diag.Sources{displayPath(opts.mocks): src}, diag.Options{Format: diag.Text, Cwd: wd}); err != nil {
				return err
			}
			return &silentError{code: exitUsage}
		}
		for _, m := range ms {
			if opts.run != nil && !opts.run.MatchString(m.Test) {
				continue
			}
			if _, ok := s.mocks[m.Key()]; !ok {
				s.mocks[m.Key()] = m
			}
		}
	}
	var in io.Reader = cmd.InOrStdin()
	if opts.script != "" {
		f, err := os.Open(opts.script)
		if err != nil {
			return err
		}
		defer f.Close()
		in = f
	}
	if f, ok := in.(*os.File); ok && opts.script == "" {
		// Input from a pipe or a file is echoed, so the transcript reads
		// like a terminal session.
		fi, err := f.Stat()
		s.echo = err == nil && fi.Mode()&os.ModeCharDevice == 0
	}
	s.in = bufio.NewScanner(in)
	s.in.Buffer(make([]byte, 64*1024), 1024*1024)
	ch := opts.channel
	if ch == "" {
		ch = flowtest.DefaultChannel(flow)
	}
	s.Contact = compiler.Contact{ID: flowtest.DefaultContactID, Name: flowtest.DefaultContactName}
	s.Conv = compiler.Conversation{ID: flowtest.DefaultConversationID, Channel: ch}
	s.Trigger = compiler.Message{ID: "message-1", Channel: ch, From: flowtest.DefaultFrom}

	stop := s.session()
	if stop == nil {
		return nil
	}
	if stop.msg != "" {
		fmt.Fprintf(stderr, "switchboard: %s\n", stop.msg)
	}
	return &silentError{code: stop.code}
}

func (s *simulator) printf(format string, args ...any) { fmt.Fprintf(s.out, format, args...) }

func (s *simulator) span(sp diag.Span) string { return sp.String() }

// session plays the lines of the input; a non-nil result ends it with a
// non-zero status.
func (s *simulator) session() (stop *simStop) {
	defer func() {
		if r := recover(); r != nil {
			st, ok := r.(*simStop)
			if !ok {
				panic(r)
			}
			stop = st
		}
	}()
	s.printf("simulating flow %s (%s), channel %s, %s\n", s.flow.Name, s.span(s.flow.Span), s.Conv.Channel, s.Now.Format("Mon 2 Jan 2006 15:04 MST"))
	keys := slices.Sorted(maps.Keys(s.mocks))
	for _, k := range keys {
		m := s.mocks[k]
		s.printf("mock %s %s (%s, test %q)\n", m.Kind, m.Step, s.span(m.Span), m.Test)
	}
	if s.script == "" {
		s.printf("Type a message as the customer, or /help.\n")
	}
	if s.flow.Trigger == compiler.TriggerCall || s.flow.Trigger == compiler.TriggerAPI {
		s.printf("\n%s (the %s comes in)\n", s.clock(), map[compiler.Trigger]string{compiler.TriggerCall: "call", compiler.TriggerAPI: "request"}[s.flow.Trigger])
		s.start("")
	}
	for {
		line, ok := s.read(s.clock() + " > ")
		if !ok {
			break
		}
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") && s.script != "" {
			continue
		}
		if line == "/quit" || line == "/exit" {
			break
		}
		s.command(line)
		if s.script != "" && s.X != nil && s.X.Status == engine.StatusFailed {
			break // the rest of the script has nothing to act on
		}
	}
	if s.X != nil && s.X.Status == engine.StatusFailed {
		return &simStop{code: exitProblems, msg: "the flow failed"}
	}
	return nil
}

func (s *simulator) clock() string { return "[" + s.Now.Format("15:04:05") + "]" }

// read returns the next input line; in script mode it echoes it.
func (s *simulator) read(prompt string) (string, bool) {
	if s.script == "" {
		s.printf("%s", prompt)
	}
	if !s.in.Scan() {
		if s.script == "" {
			s.printf("\n")
		}
		return "", false
	}
	s.line++
	line := s.in.Text()
	if s.script == "" && s.echo {
		s.printf("%s\n", line)
	}
	if s.script != "" && strings.TrimSpace(line) != "" && !strings.HasPrefix(strings.TrimSpace(line), "#") {
		s.printf("\n%s%s\n", prompt, strings.TrimSpace(line))
	}
	return line, true
}

// usage reports a line the simulator cannot read: in a script it ends the
// session with status 2; interactively it is a note.
func (s *simulator) usage(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if s.script != "" {
		panic(&simStop{code: exitUsage, msg: fmt.Sprintf("%s:%d: %s", s.script, s.line, msg)})
	}
	s.printf("  ! %s\n", msg)
}

// notApplicable reports a line that does not fit where the flow is: in a
// script it ends the session with status 1; interactively it is a note.
func (s *simulator) notApplicable(format string, args ...any) bool {
	msg := fmt.Sprintf(format, args...)
	if s.script != "" {
		panic(&simStop{code: exitProblems, msg: fmt.Sprintf("%s:%d: %s", s.script, s.line, msg)})
	}
	s.printf("  ! %s\n", msg)
	return false
}

const simHelp = `  TEXT                  the customer writes TEXT
  /start [TEXT]         start the execution (with TEXT as the message),
                        or a new one once it has ended
  /advance DURATION     move the clock (30s, 5m, 1h30m); due timers fire
  /task OUTCOME [QUEUE [WORKER]]
                        the task ends: completed, timeout, canceled or failed
  /press DIGITS         the caller presses keys (gather)
  /speak TEXT           the caller speaks (gather)
  /silence              the caller says nothing (gather)
  /cancel               the customer leaves
  /vars                 show the variables
  /quit                 stop
`

func (s *simulator) command(line string) {
	s.answers = 0
	if !strings.HasPrefix(line, "/") {
		if s.X == nil {
			s.start(line)
			return
		}
		if s.over() && s.flow.Trigger == compiler.TriggerMessage {
			// As serve does: a message after the end starts the flow again.
			s.restart(line)
			return
		}
		if !s.live() || !s.waitingFor("a reply from the customer", compiler.KindAsk) {
			return
		}
		s.apply(s.MessageEvent(line))
		return
	}
	name, rest, _ := strings.Cut(line[1:], " ")
	rest = strings.TrimSpace(rest)
	switch name {
	case "help":
		s.printf("%s", simHelp)
	case "vars":
		s.printVars(true)
	case "start":
		switch {
		case s.X == nil:
			s.start(rest)
		case s.over():
			s.restart(rest)
		default:
			s.notApplicable("the execution has already started")
		}
	case "advance":
		d, err := time.ParseDuration(rest)
		if err != nil || d < 0 {
			s.usage("/advance needs a duration such as 30s, 5m or 1h30m")
			return
		}
		if !s.started() || !s.live() {
			return
		}
		s.advance(s.Now.Add(d))
		s.status()
	case "task":
		f := strings.Fields(rest)
		if len(f) == 0 || len(f) > 3 {
			s.usage("/task needs an outcome: completed, timeout, canceled or failed (then a queue and a worker)")
			return
		}
		var outcome compiler.Outcome
		switch f[0] {
		case "completed":
			outcome = compiler.OutCompleted
		case "canceled":
			outcome = compiler.OutCanceled
		case "failed":
			outcome = compiler.OutFailed
		case "timeout":
		default:
			s.usage("unknown task outcome %q (want completed, timeout, canceled or failed)", f[0])
			return
		}
		if !s.started() || !s.live() || !s.waitingFor("a routed task (an enqueue step)", compiler.KindEnqueue) {
			return
		}
		if f[0] == "timeout" {
			at, ok := s.TimeoutAt()
			if !ok {
				st := s.waiting()
				s.notApplicable("enqueue step %s has no timeout", st.Name)
				return
			}
			s.advance(at)
			s.status()
			return
		}
		f = append(f, "", "")
		s.apply(s.TaskEvent(outcome, f[1], f[2]))
	case "press", "speak", "silence":
		if name != "silence" && rest == "" {
			s.usage("/%s needs %s", name, map[string]string{"press": "the digits", "speak": "what the caller says"}[name])
			return
		}
		if !s.started() || !s.live() || !s.waitingFor("the caller's input (a gather step)", compiler.KindGather) {
			return
		}
		switch name {
		case "press":
			s.apply(s.Input(rest, ""))
		case "speak":
			s.apply(s.Input("", rest))
		default: // silence lasts the gather's timeout
			s.apply(s.Input("", ""))
		}
	case "cancel":
		if !s.started() || !s.live() {
			return
		}
		s.apply(s.Event(engine.EventCancel))
	default:
		s.usage("unknown command /%s (type /help for the commands)", name)
	}
}

func (s *simulator) started() bool {
	if s.X == nil {
		return s.notApplicable("the execution has not started: write a message (or /start)")
	}
	return true
}

// over reports whether the execution has ended or failed.
func (s *simulator) over() bool {
	return s.X != nil && (s.X.Status == engine.StatusEnded || s.X.Status == engine.StatusFailed)
}

// restart starts a new execution of the flow, with its own variables and
// timers, in the same conversation, as the server does for a message that
// comes after the end.
func (s *simulator) restart(text string) {
	s.runs++
	s.X, s.Timers = nil, nil
	s.ID = fmt.Sprintf("sim-%d", s.runs+1)
	// Its first message is a message of its own, as on a channel.
	s.Trigger.ID = fmt.Sprintf("message-%d-1", s.runs+1)
	s.start(text)
}

func (s *simulator) live() bool {
	if s.over() {
		return s.notApplicable("the execution has already ended (%s)", s.Ended())
	}
	return true
}

// waiting is the step the execution waits at.
func (s *simulator) waiting() *compiler.State {
	st, _ := s.Waiting()
	return st
}

func (s *simulator) waitingFor(what string, kinds ...compiler.Kind) bool {
	st := s.waiting()
	if st != nil {
		for _, k := range kinds {
			if st.Kind == k {
				return true
			}
		}
		return s.notApplicable("the flow is not waiting for %s: it waits at step %s (%s)", what, st.Name, st.Kind)
	}
	return s.notApplicable("the flow is not waiting for %s", what)
}

func (s *simulator) start(text string) { s.apply(s.StartEvent(text)) }

// apply sends an event to the engine, prints what it did, answers the
// request the execution then waits on, and prints where it stands.
func (s *simulator) apply(ev engine.Event) {
	for {
		traced, effs, ignored, err := s.Step(ev)
		if err != nil {
			panic(&simStop{code: exitProblems, msg: "the engine refused the event: " + err.Error()})
		}
		if ignored {
			s.printf("  (nothing happens: the flow is not waiting for that)\n")
			return
		}
		s.show(traced, effs)
		next, ok := s.answer()
		if !ok {
			break
		}
		ev = next
	}
	s.status()
}

// show prints the trace: each step run and outcome taken, with the
// effects of each step after it.
func (s *simulator) show(traced []engine.Visit, effs []engine.Effect) {
	j := 0
	// flush prints the effects the visit emitted: a step emits its work
	// when it runs, cancels its timer and task when it is resumed (left
	// without running), and the end comes last, after the outcome that
	// led to it.
	flush := func(ref *engine.StepRef, ran bool) {
		for j < len(effs) {
			e := effs[j]
			if ref != nil {
				if e.Kind == engine.EffectEnd || e.From == nil || *e.From != *ref {
					break
				}
				if !ran && e.Kind != engine.EffectCancelTimer && e.Kind != engine.EffectCancelTask {
					break
				}
			}
			s.effect(e)
			j++
		}
	}
	var last *engine.StepRef
	for _, v := range traced {
		f := s.prog.Flow(v.Flow)
		if f == nil || int(v.State) >= len(f.States) {
			continue
		}
		st := f.States[v.State]
		prefix := ""
		if v.Flow != s.flow.Name {
			prefix = v.Flow + "."
		}
		if v.Branch == "" || last == nil || *last != v.StepRef {
			resumed := ""
			if v.Branch != "" {
				resumed = ", resumed"
			}
			s.printf("  step %s%s (%s%s)  %s\n", prefix, st.Name, st.Kind, resumed, st.Span)
		}
		ref := v.StepRef
		last = &ref
		if v.Branch != "" {
			target := compiler.NoTarget
			label := v.Branch
			if strings.HasPrefix(v.Branch, "g") && isDigits(v.Branch[1:]) {
				i, _ := strconv.Atoi(v.Branch[1:])
				if i < len(st.Guards) {
					target = st.Guards[i].Target
					if st.Guards[i].Cond != nil {
						label = "when " + st.Guards[i].Cond.Source
					}
				}
			} else {
				for o := compiler.Outcome(0); o < compiler.NumOutcomes; o++ {
					if o.String() == v.Branch {
						target = st.Next[o]
					}
				}
			}
			s.printf("    %s -> %s\n", label, targetName(f, target))
		}
		flush(&ref, v.Branch == "")
	}
	flush(nil, false)
}

func targetName(f *compiler.Flow, t int32) string {
	switch {
	case t == compiler.End:
		return "done"
	case t >= 0 && int(t) < len(f.States):
		return f.States[t].Name
	}
	return "(not handled: the flow ends)"
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

func (s *simulator) effect(e engine.Effect) {
	switch e.Kind {
	case engine.EffectSetTimer, engine.EffectCancelTimer: // the session keeps the timers
		return
	case engine.EffectCancelTask:
		s.printf("      cancel task %s\n", e.TaskID)
		return
	case engine.EffectSend:
		s.printf("      < %s\n", indentText(e.Send.Text))
		if e.Send.Menu != "" {
			s.printf("        [%s]\n", e.Send.Menu)
		}
		// Numbered as a channel without buttons shows them: a number or a
		// title typed in reply picks one.
		for i, c := range e.Send.Choices {
			s.printf("        %d. %s\n", i+1, c.Title)
		}
		return
	case engine.EffectHTTP, engine.EffectFunction:
		s.printf("      %s\n", flowtest.DescribeRequest(e))
		if !e.NotBefore.IsZero() {
			s.printf("      (the step's last requests failed: this one waits until %s)\n", e.NotBefore.Format("15:04:05"))
		}
		return
	case engine.EffectVoice:
		v := e.Voice
		switch v.Verb {
		case "say":
			s.printf("      < (say) %s\n", indentText(v.Text))
		case "play":
			s.printf("      < (play) %s\n", v.URL)
		case "gather":
			s.printf("      gather %q (digits %d, timeout %s)\n", v.Text, v.Digits, v.Timeout)
		case "dial":
			s.printf("      dial %s\n", v.Number)
		default:
			s.printf("      %s\n", v.Verb)
		}
		return
	case engine.EffectEnd:
		if e.End.Status == engine.StatusFailed {
			s.printf("      FAILED: %s\n", indentText(e.End.Reason))
			return
		}
	}
	s.printf("      %s\n", flowtest.DescribeEffect(e))
}

func indentText(t string) string { return strings.ReplaceAll(t, "\n", "\n        ") }

// answer answers the request the execution waits on, from a mock or from
// the user, through the runtime's effect interpreter (Session.Answer). It
// returns the result event, or false when the execution waits for
// something else.
func (s *simulator) answer() (engine.Event, bool) {
	kind, st, req := s.Due()
	if kind == "" {
		return engine.Event{}, false
	}
	s.answers++
	if s.answers > maxSimAnswers {
		panic(&simStop{code: exitProblems, msg: fmt.Sprintf("%d requests answered in a row: the flow loops on them (at step %s, %s)", maxSimAnswers, st.Name, st.Span)})
	}
	io := &flowtest.MockIO{}
	m := s.mocks[kind+"/"+st.Name]
	switch {
	case m != nil:
		io.Mock = m
	case kind == "send": // without a mock, sends are delivered
	default:
		if req.NotBefore.After(s.Now) {
			s.Now = req.NotBefore // a request backing off is made when due
		}
		res := s.ask(kind, st, req)
		io.Given = &res
	}
	ev, elapsed := s.Answer(io)
	if m != nil {
		s.printf("    answered by mock %s %s (%s)%s: %s\n", m.Kind, m.Step, s.span(m.Span), tookText(elapsed), describeResult(kind, *ev.Result))
	}
	return ev, true
}

// maxSimAnswers bounds the requests answered for one line, as the test
// runner bounds those its mocks answer.
const maxSimAnswers = 1000

func tookText(d time.Duration) string {
	if d == 0 {
		return ""
	}
	return " after " + d.String()
}

func describeResult(kind string, r engine.Result) string {
	if r.Err != "" {
		return "error " + strconv.Quote(r.Err)
	}
	switch kind {
	case "http":
		if r.Body == "" {
			return strconv.Itoa(r.Status)
		}
		return strconv.Itoa(r.Status) + " " + r.Body
	case "function":
		return flowtest.JSON(r.Value)
	case "record":
		return fmt.Sprintf("%s (%gs)", r.RecordingURL, r.Duration)
	case "dial":
		return r.DialStatus
	}
	return "delivered"
}

// ask reads the answer to a request from the user.
func (s *simulator) ask(kind string, st *compiler.State, req engine.Effect) engine.Result {
	what := fmt.Sprintf("no mock answers the %s request of step %s (%s)", kind, st.Name, s.span(st.Span))
	if s.script != "" {
		panic(&simStop{code: exitProblems, msg: fmt.Sprintf("%s: add `mock %s %s {...}` to the --mocks file", what, kind, st.Name)})
	}
	s.printf("    %s\n", what)
	for {
		line, ok := s.read(fmt.Sprintf("    answer with %s: ", flowtest.AnswerFormat(kind)))
		if !ok {
			panic(&simStop{code: exitProblems, msg: "the input ended before the request was answered"})
		}
		res, err := flowtest.ParseAnswer(kind, strings.TrimSpace(line))
		if err != nil {
			s.printf("    ! %v\n", err)
			continue
		}
		return res
	}
}

// advance moves the clock to t, firing the timers due on the way in order.
func (s *simulator) advance(t time.Time) {
	for {
		id, at := s.NextTimer(t)
		if id == "" {
			break
		}
		ev := s.Fire(id, at)
		s.printf("  %s timer fires\n", s.clock())
		s.applyQuiet(ev)
	}
	if t.After(s.Now) {
		s.Now = t
	}
	s.printf("  clock %s\n", s.Now.Format("15:04:05"))
}

// applyQuiet is apply without the status, for timers fired in a row.
func (s *simulator) applyQuiet(ev engine.Event) {
	for {
		traced, effs, ignored, err := s.Step(ev)
		if err != nil {
			panic(&simStop{code: exitProblems, msg: "the engine refused the event: " + err.Error()})
		}
		if ignored {
			return
		}
		s.show(traced, effs)
		next, ok := s.answer()
		if !ok {
			return
		}
		ev = next
	}
}

// status prints where the execution stands and its variables.
func (s *simulator) status() {
	if s.X == nil {
		return
	}
	switch s.X.Status {
	case engine.StatusEnded, engine.StatusFailed:
		s.printf("  %s\n", s.X.Status) // a failure's reason is in the trace
		if s.X.Status == engine.StatusFailed && s.script != "" {
			break // the session stops there
		}
		switch s.flow.Trigger {
		case compiler.TriggerMessage:
			s.printf("  — conversation ended; a new one starts with your next message\n")
		case compiler.TriggerCall:
			s.printf("  — call ended; /start places a new one\n")
		default:
			s.printf("  — execution ended; /start begins a new one\n")
		}
	default:
		st := s.waiting()
		if st != nil {
			what := map[engine.WaitKind]string{
				engine.WaitReply: "a reply", engine.WaitTask: "the task", engine.WaitTimer: "the timer",
				engine.WaitVoice: "the caller", engine.WaitHTTP: "the http response", engine.WaitFunction: "the function's result",
				engine.WaitSend: "the delivery",
			}[s.X.Wait.Kind]
			line := fmt.Sprintf("  waiting at %s (%s) for %s", st.Name, st.Kind, what)
			if at, ok := s.TimeoutAt(); ok {
				line += fmt.Sprintf(", timeout at %s", at.Format("15:04:05"))
			}
			s.printf("%s\n", line)
		}
	}
	s.printVars(false)
}

// printVars prints the variables of the running flows; all also prints
// what the steps that ran left behind.
func (s *simulator) printVars(all bool) {
	if s.X == nil {
		s.printf("  (the execution has not started)\n")
		return
	}
	for i, fr := range s.X.Frames {
		prefix := "  vars"
		if i > 0 || len(s.X.Frames) > 1 {
			prefix = "  vars of " + fr.Flow
		}
		s.printf("%s: %s\n", prefix, mapText(fr.Vars))
		if all {
			names := slices.Sorted(maps.Keys(fr.Outputs))
			for _, n := range names {
				b, err := json.Marshal(fr.Outputs[n])
				if err != nil {
					continue
				}
				var v map[string]any
				if json.Unmarshal(b, &v) != nil {
					continue
				}
				for _, kv := range v { // one kind per output
					s.printf("    %s = %s\n", n, flowtest.JSON(kv))
				}
			}
		}
	}
}

func mapText(m map[string]any) string {
	if len(m) == 0 {
		return "(none)"
	}
	keys := slices.Sorted(maps.Keys(m))
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + " = " + flowtest.JSON(m[k])
	}
	return strings.Join(parts, ", ")
}
