package flowtest

import (
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard-dev/switchboard/compiler"
	"github.com/switchboard-dev/switchboard/diag"
	"github.com/switchboard-dev/switchboard/runtime/engine"
)

// Result is the outcome of one test.
type Result struct {
	File     string
	Test     *Test
	Failure  *Failure // nil: the test passed
	Steps    int      // script lines played
	Duration time.Duration
}

// Failure says why a test failed: the script line, the flow step
// concerned (if any), and what was expected and what happened.
type Failure struct {
	Span     diag.Span // the test file line
	Line     string    // the script line, as written
	Step     string    // "flow support, step bot" or ""
	StepSpan diag.Span // the step's position in its .flow file
	Expected string
	Got      string
	Message  string // when there is no expected/got pair
}

// Lines renders the failure's detail lines (without indentation).
func (f *Failure) Lines() []string {
	var out []string
	head := f.Span.String() + ": " + f.Line
	out = append(out, head)
	if f.Step != "" {
		where := "at " + f.Step
		if f.StepSpan.File != "" {
			where += " (" + f.StepSpan.String() + ")"
		}
		out = append(out, where)
	}
	if f.Message != "" {
		out = append(out, f.Message)
	}
	if f.Expected != "" {
		out = append(out, "expected: "+f.Expected, "got:      "+f.Got)
	}
	return out
}

// Summary is the failure on one line.
func (f *Failure) Summary() string {
	var parts []string
	if f.Message != "" {
		parts = append(parts, f.Message)
	}
	if f.Expected != "" {
		parts = append(parts, "expected "+f.Expected+", got "+f.Got)
	}
	if f.Step != "" {
		s := f.Step
		if f.StepSpan.File != "" {
			s += " (" + f.StepSpan.String() + ")"
		}
		parts = append(parts, "at "+s)
	}
	return f.Line + ": " + strings.Join(parts, "; ")
}

type failed struct{ f *Failure }

// observed is an effect waiting to be expected, with the step behind it.
type observed struct {
	eff  engine.Effect
	from *visit
}

// conv is one conversation of a test: its session (execution, timers,
// requests) and what its flow did that the script has not expected yet.
type conv struct {
	*Session
	name    string
	pending []observed
	lastReq map[string]engine.Effect // by kind/step: the step's last request
	task    string                   // the last task its flow enqueued
}

// mainConv names the test's own conversation, the one the lines before
// any `customer` line play.
const mainConv = "main"

// runner plays a test's script on its conversations' sessions, which
// share the clock, the mocks and the router; the runner checks what the
// flows did against the script's expectations. The embedded conv is the
// conversation the script plays now.
type runner struct {
	*conv
	convs    []*conv
	prog     *compiler.Program
	file     string
	test     *Test
	cov      *Coverage
	flow     *compiler.Flow
	mocks    map[string]*Step
	cur      *Step
	answered int      // requests the mocks answered for the current line
	route    *routing // the router, in tests that route
}

// Run plays one test against the program. cov, when not nil, records the
// steps and outcomes the test exercised.
func Run(prog *compiler.Program, file string, t *Test, cov *Coverage) Result {
	return run(prog, file, t, cov, 0)
}

func run(prog *compiler.Program, file string, t *Test, cov *Coverage, budget int) (res Result) {
	start := time.Now()
	res = Result{File: file, Test: t}
	r := &runner{prog: prog, file: file, test: t, cov: cov, mocks: map[string]*Step{}}
	r.conv = r.newConv(mainConv, &Session{Prog: prog, Flow: t.Flow, ID: "x", Budget: budget})
	defer func() {
		res.Duration = time.Since(start)
		if p := recover(); p != nil {
			f, ok := p.(failed)
			if !ok {
				panic(p)
			}
			res.Failure = f.f
		}
	}()
	r.setup()
	for _, st := range t.Steps {
		r.cur, r.answered = st, 0
		r.step(st)
		res.Steps++
	}
	r.cur = nil
	for _, c := range r.convs {
		r.with(c, func() { r.checkIdle("the end of the test") })
	}
	return res
}

func (r *runner) newConv(name string, s *Session) *conv {
	c := &conv{Session: s, name: name, lastReq: map[string]engine.Effect{}}
	s.Observe = func(e engine.Effect) { r.observe(c, e) }
	r.convs = append(r.convs, c)
	return c
}

// with plays f on conversation c, on the test's clock.
func (r *runner) with(c *conv, f func()) {
	prev := r.conv
	c.Now, r.conv = prev.Now, c
	defer func() { prev.Now, r.conv = c.Now, prev }()
	f()
}

// customer switches the script to NAME's conversation, started with the
// test's setup, the customer's own contact, conversation and address.
func (r *runner) customer(s *Step) {
	for _, c := range r.convs {
		if c.name == s.Name {
			if s.Value != nil {
				r.failf("customer %s has already begun: give its fields on its first `customer` line", s.Name)
			}
			c.Now, r.conv = r.Now, c
			return
		}
	}
	main := r.convs[0].Session
	contact := maps.Clone(s.Value)
	flow := main.Flow
	if f, ok := contact["flow"].(string); ok {
		if r.prog.Flow(f) == nil {
			r.failf("customer %s: the program has no flow %q", s.Name, f)
		}
		flow = f
		delete(contact, "flow")
	}
	ss := &Session{Prog: r.prog, Flow: flow, ID: "x-" + s.Name, Now: r.Now, Env: main.Env, Budget: main.Budget, Trigger: main.Trigger}
	ss.Trigger.From = s.Name
	ss.Contact = compiler.Contact{ID: "contact-" + s.Name, Name: s.Name}
	if err := decode(contact, &ss.Contact); err != nil {
		r.failf("customer %s: %v", s.Name, err)
	}
	ch := main.Conv.Channel
	if flow != main.Flow {
		ch = channelOf(r.prog.Flow(flow), r.test.Setup.Channel)
	}
	ss.Trigger.Channel = ch
	ss.Conv = compiler.Conversation{ID: "conversation-" + s.Name, Channel: ch}
	r.conv = r.newConv(s.Name, ss)
}

func (r *runner) fail(f *Failure) {
	switch {
	case r.cur != nil:
		f.Span, f.Line = r.cur.Span, r.cur.String()
	case f.Line != "":
		f.Span = r.test.Span
	default:
		f.Span, f.Line = r.test.Span, "end of test"
	}
	f.Span.End = f.Span.Start
	panic(failed{f})
}

func (r *runner) failf(format string, args ...any) {
	r.fail(&Failure{Message: fmt.Sprintf(format, args...)})
}

func (r *runner) setup() {
	t := r.test
	r.flow = r.prog.Flow(t.Flow)
	if r.flow == nil {
		var names []string
		for _, f := range r.prog.Flows {
			names = append(names, f.Name)
		}
		r.fail(&Failure{Message: fmt.Sprintf("the program has no flow %q (it has %s)", t.Flow, strings.Join(names, ", ")), Line: "flow " + t.Flow})
	}
	r.Now = t.Setup.At
	if r.Now.IsZero() {
		r.Now = DefaultStart
	}
	ch := channelOf(r.flow, t.Setup.Channel)
	r.Contact = compiler.Contact{ID: "contact-1", Name: "Test Customer"}
	if m := t.Setup.Contact; m != nil {
		if err := decode(m, &r.Contact); err != nil {
			r.failf("contact: %v", err)
		}
	}
	r.Conv = compiler.Conversation{ID: "conversation-1", Channel: ch}
	if m := t.Setup.Conversation; m != nil {
		if err := decode(m, &r.Conv); err != nil {
			r.failf("conversation: %v", err)
		}
	}
	r.Env = map[string]string{}
	for k, v := range t.Setup.Env {
		r.Env[k] = compiler.Stringify(v)
	}
	from := t.Setup.From
	if from == "" {
		from = "customer-1"
	}
	r.Trigger = compiler.Message{ID: "message-1", Channel: ch, From: from, Attributes: t.Setup.Attributes}
	if t.Routing() {
		r.setupRouter()
	}
}

// channelOf is the channel of a conversation of flow f: the test's
// `channel` line, or the flow's own.
func channelOf(f *compiler.Flow, set string) string {
	switch {
	case set != "":
		return set
	case f.Trigger == compiler.TriggerCall:
		return "voice"
	case len(f.Channels) > 0:
		return f.Channels[0]
	}
	return "webchat"
}

// decode fills a struct from a map through JSON (attribute numbers stay
// float64, as the server sees them).
func decode(m map[string]any, dst any) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, dst)
}

func (r *runner) stepName(v *visit) (string, diag.Span) {
	if v == nil {
		return "", diag.Span{}
	}
	f := r.prog.Flow(v.flow)
	if f == nil || int(v.state) >= len(f.States) {
		return "flow " + v.flow, diag.Span{}
	}
	st := f.States[v.state]
	return fmt.Sprintf("flow %s, step %s (%s)", v.flow, st.Name, st.Kind), st.Span
}

// waiting is the step the execution waits at.
func (r *runner) waiting() (*compiler.State, *visit) {
	st, ref := r.Waiting()
	if st == nil {
		return nil, nil
	}
	return st, &visit{flow: ref.Flow, state: ref.State}
}

// apply sends an event to the engine (or starts the execution) and takes
// in what it did.
func (r *runner) apply(ev engine.Event) {
	// The engine's own trace: the steps it ran, the outcomes it took and
	// the step behind each effect.
	traced, _, ignored, err := r.Step(ev)
	if err != nil {
		r.failf("the engine refused the event: %v", err)
	}
	if ignored {
		return // not what the execution waits for
	}
	if r.cov != nil {
		visits := make([]visit, len(traced))
		for i, v := range traced {
			visits[i] = visit{flow: v.Flow, state: v.State, branch: v.Branch}
		}
		r.cov.record(visits)
	}
	r.settle()
}

// observe takes in one effect the session filed: what the script must
// expect, the requests `expect http|function` check, and the tasks for
// the router.
func (r *runner) observe(c *conv, e engine.Effect) {
	var from *visit
	if e.From != nil {
		from = &visit{flow: e.From.Flow, state: e.From.State}
	}
	switch e.Kind {
	case engine.EffectSetTimer, engine.EffectCancelTimer:
	case engine.EffectCancelTask:
		r.cancelTask(e.TaskID)
	case engine.EffectHTTP, engine.EffectFunction:
		if from != nil {
			c.lastReq[string(e.Kind)+"/"+r.prog.Flow(from.flow).States[from.state].Name] = e
		}
	case engine.EffectVoice:
		switch e.Voice.Verb {
		case "gather", "record", "dial": // requests: the script or the mocks answer them
			if from != nil {
				c.lastReq[e.Voice.Verb+"/"+r.prog.Flow(from.flow).States[from.state].Name] = e
			}
			return
		}
		c.pending = append(c.pending, observed{e, from})
	default:
		c.pending = append(c.pending, observed{e, from})
		if e.Kind == engine.EffectEnqueue {
			c.task = e.Enqueue.TaskID
			if r.route != nil {
				r.enqueue(c, e.Enqueue, from)
			}
		}
	}
}

// settle answers the request the execution waits on from the mocks,
// through the runtime's interpreter (Session.Answer).
func (r *runner) settle() {
	kind, st, _ := r.Due()
	if kind == "" {
		return // a reply, a task, a timer or a gather: the script answers
	}
	io := &MockIO{}
	if s := r.mocks[kind+"/"+st.Name]; s != nil {
		io.Mock = &Mock{Kind: kind, Step: st.Name, Value: s.Value}
	} else if kind != "send" {
		return // unanswered: the script must mock it (sends are delivered by default)
	}
	r.answered++
	if r.answered > maxAnswers {
		_, v := r.waiting()
		name, span := r.stepName(v)
		r.fail(&Failure{Message: fmt.Sprintf("the mocks answered %d requests in a row: the flow loops on them", maxAnswers), Step: name, StepSpan: span})
	}
	ev, _ := r.Answer(io)
	r.apply(ev)
}

// maxAnswers bounds the requests mocks answer for one script line.
const maxAnswers = 1000

func str(v any) string {
	if v == nil {
		return ""
	}
	return compiler.Stringify(v)
}

func num(v any) float64 {
	switch n := v.(type) {
	case float64:
		return n
	case string:
		f, _ := strconv.ParseFloat(n, 64)
		return f
	case time.Duration:
		return n.Seconds()
	}
	return 0
}

// checkIdle fails if an effect was neither expected nor mocked.
func (r *runner) checkIdle(before string) {
	if len(r.pending) > 0 {
		o := r.pending[0]
		name, span := r.stepName(o.from)
		msg := fmt.Sprintf("unexpected %s before %s (add an `expect` line for it)", describeEffect(o.eff), before)
		if len(r.convs) > 1 {
			msg = "customer " + r.name + ": " + msg
		}
		r.fail(&Failure{Message: msg, Step: name, StepSpan: span})
	}
	r.checkRequests()
}

// checkRequests fails if the execution waits on a request no mock answers.
func (r *runner) checkRequests() {
	st, v := r.waiting()
	if st == nil {
		return
	}
	req, ok := r.Request()
	if !ok {
		return
	}
	var msg string
	switch {
	case req.HTTP != nil:
		msg = fmt.Sprintf("no mock answers the http request %s %s (add `mock http %s {status: 200, json: {...}}`)", req.HTTP.Method, req.HTTP.URL, st.Name)
	case req.Function != nil:
		msg = fmt.Sprintf("no mock answers the call of function %s (add `mock function %s {value: ...}`)", req.Function.Name, st.Name)
	case st.Kind == compiler.KindRecord:
		msg = fmt.Sprintf("no mock answers the recording (add `mock record %s {url: \"...\", duration: 30}`)", st.Name)
	case st.Kind == compiler.KindDial:
		msg = fmt.Sprintf("no mock answers the call to %s (add `mock dial %s {status: \"answered\"}`)", req.Voice.Number, st.Name)
	default:
		return
	}
	name, span := r.stepName(v)
	r.fail(&Failure{Message: msg, Step: name, StepSpan: span})
}

func (r *runner) needStarted() {
	if r.X == nil {
		r.failf("the execution has not started (begin with `say \"...\"` or `start`)")
	}
	if r.X.Status == engine.StatusEnded || r.X.Status == engine.StatusFailed {
		r.fail(&Failure{Message: "the execution has already ended (" + endText(r.X) + ")"})
	}
}

func endText(x *engine.Execution) string {
	if x.Status == engine.StatusFailed {
		return "failed: " + x.Error
	}
	return string(x.Status)
}

// waitFor fails unless the execution waits for kind at a step of one of
// the kinds.
func (r *runner) waitFor(what string, kinds ...compiler.Kind) *compiler.State {
	r.needStarted()
	st, v := r.waiting()
	if st != nil {
		for _, k := range kinds {
			if st.Kind == k {
				return st
			}
		}
	}
	name, span := r.stepName(v)
	msg := "the flow is not waiting for " + what
	if name != "" {
		msg += "; it waits at this step"
	}
	r.fail(&Failure{Message: msg, Step: name, StepSpan: span})
	return nil
}

func (r *runner) step(s *Step) {
	switch s.Op {
	case "mock":
		r.mocks[s.What+"/"+s.Name] = s
		r.settle()
		return
	case "expect":
		r.expect(s)
		return
	}
	r.checkIdle("`" + s.String() + "`")
	r.tick()
	switch s.Op {
	case "accept", "reject", "timeout", "complete", "activity", "wrapup", "transfer", "update":
		r.agent(s)
	case "start", "say":
		if r.X == nil {
			text := r.Trigger.Text
			if s.Text != nil {
				text = *s.Text
			}
			r.apply(r.StartEvent(text))
			return
		}
		if s.Op == "start" {
			r.failf("the execution has already started")
		}
		r.waitFor("a reply from the customer", compiler.KindAsk)
		r.apply(r.MessageEvent(*s.Text))
	case "tap":
		r.waitFor("a reply from the customer", compiler.KindAsk)
		r.apply(r.TapEvent(r.offered(s.Name)))
	case "press", "speak", "silence":
		r.waitFor("the caller's input (a gather step)", compiler.KindGather)
		switch s.Op {
		case "press":
			r.apply(r.Input(*s.Text, ""))
		case "speak":
			r.apply(r.Input("", *s.Text))
		default: // silence lasts the gather's timeout
			r.apply(r.Input("", ""))
		}
	case "advance":
		r.advance(r.Now.Add(s.Dur))
	case "customer":
		r.customer(s)
	case "task":
		st := r.waitFor("a routed task (an enqueue step)", compiler.KindEnqueue)
		if s.What == "timeout" {
			at, ok := r.TimeoutAt()
			if !ok {
				name, span := r.stepName(&visit{flow: r.X.Frames[len(r.X.Frames)-1].Flow, state: r.X.Frames[len(r.X.Frames)-1].State})
				r.fail(&Failure{Message: fmt.Sprintf("enqueue step %s has no timeout", st.Name), Step: name, StepSpan: span})
			}
			r.advance(at)
			return
		}
		if r.route != nil {
			r.routedTask(s)
			return
		}
		r.apply(r.TaskEvent(outcomeOf(s.What), str(s.Value["queue"]), str(s.Value["worker"])))
	case "cancel":
		r.needStarted()
		r.apply(r.Event(engine.EventCancel))
	}
}

func outcomeOf(s string) compiler.Outcome {
	switch s {
	case "completed":
		return compiler.OutCompleted
	case "canceled":
		return compiler.OutCanceled
	}
	return compiler.OutFailed
}

// NextDue returns the armed timer (id → when) that fires first by t, ties
// broken by id so the order never depends on the map; "" when none is due.
func NextDue(timers map[string]time.Time, t time.Time) (id string, at time.Time) {
	for k, v := range timers {
		if v.After(t) {
			continue
		}
		if id == "" || v.Before(at) || (v.Equal(at) && k < id) {
			id, at = k, v
		}
	}
	return id, at
}

// nextTimer returns the armed timer of any conversation that fires first
// by t (ties go to the conversation that started first).
func (r *runner) nextTimer(t time.Time) (c *conv, id string, at time.Time) {
	for _, o := range r.convs {
		if oid, oat := o.NextTimer(t); oid != "" && (id == "" || oat.Before(at)) {
			c, id, at = o, oid, oat
		}
	}
	return c, id, at
}

// advance moves the clock to t, firing the timers due on the way in order,
// and the router's escalations (first when both are due at once).
func (r *runner) advance(t time.Time) {
	for ticks := 0; ; {
		c, id, at := r.nextTimer(t)
		if due, ok := r.routerDue(t); ok && (id == "" || !due.After(at)) {
			if due.After(r.Now) {
				r.Now = due
			}
			if ticks++; ticks > maxAnswers {
				r.failf("the router keeps escalating at %s: its deadlines do not move on", r.Now.Format(time.RFC3339))
			}
			r.tick()
			continue
		}
		if id == "" {
			break
		}
		r.with(c, func() { r.apply(c.Fire(id, at)) })
	}
	if t.After(r.Now) {
		r.Now = t
	}
}

func (r *runner) expect(s *Step) {
	if requestFields[s.What] != nil {
		r.expectRequest(s)
		return
	}
	if s.What == "route" {
		r.expectRoute(s)
		return
	}
	if s.What == "worker" {
		r.expectWorker(s)
		return
	}
	if len(r.pending) == 0 {
		r.checkRequests()
		got := "nothing"
		var name string
		var span diag.Span
		if r.X == nil {
			got = "nothing (the execution has not started)"
		} else if r.X.Status == engine.StatusWaiting {
			st, v := r.waiting()
			name, span = r.stepName(v)
			got = fmt.Sprintf("nothing: the flow waits at step %s", st.Name)
		} else {
			got = "nothing: the execution has " + endText(r.X)
		}
		r.fail(&Failure{Expected: describeExpect(s), Got: got, Step: name, StepSpan: span})
	}
	o := r.pending[0]
	name, span := r.stepName(o.from)
	mismatch := func(why string) {
		r.fail(&Failure{Expected: describeExpect(s), Got: describeEffect(o.eff), Step: name, StepSpan: span, Message: why})
	}
	e := o.eff
	text := func(got string) {
		if s.Re != nil && !s.Re.MatchString(got) {
			mismatch("")
		}
		if s.Text != nil && *s.Text != got {
			mismatch("")
		}
	}
	switch s.What {
	case "send":
		if e.Kind != engine.EffectSend {
			mismatch("")
		}
		text(e.Send.Text)
		if why := templateMismatch(s, e.Send.Template); why != "" {
			mismatch(why)
		}
		if why := choicesMismatch(s, e.Send.Choices); why != "" {
			mismatch(why)
		}
	case "say", "play", "hangup":
		if e.Kind != engine.EffectVoice || e.Voice.Verb != s.What {
			mismatch("")
		}
		if s.What == "say" {
			text(e.Voice.Text)
		} else if s.What == "play" {
			text(e.Voice.URL)
		}
	case "end", "fail":
		want := engine.StatusEnded
		if s.What == "fail" {
			want = engine.StatusFailed
		}
		if e.Kind != engine.EffectEnd || e.End.Status != want {
			mismatch("")
		}
		if s.What == "fail" {
			text(e.End.Reason)
		}
	case "enqueue":
		if e.Kind != engine.EffectEnqueue || e.Enqueue.Workflow != s.Name {
			mismatch("")
		}
		q := e.Enqueue
		if want, ok := s.Value["attributes"].(map[string]any); ok {
			got := normalize(q.Attributes)
			gm, _ := got.(map[string]any)
			keys := slices.Sorted(maps.Keys(want))
			for _, k := range keys {
				gv, ok := gm[k]
				if !ok {
					mismatch(fmt.Sprintf("the task has no attribute %q", k))
				}
				if !reflect.DeepEqual(normalize(want[k]), gv) {
					mismatch(fmt.Sprintf("attribute %q is %s, want %s", k, jsonText(gv), jsonText(want[k])))
				}
			}
		} else if _, ok := s.Value["attributes"]; ok {
			r.failf("expect enqueue: attributes must be a map")
		}
		if v, ok := s.Value["priority"]; ok && num(v) != q.Priority {
			mismatch(fmt.Sprintf("priority is %s, want %s", jsonText(q.Priority), jsonText(v)))
		}
		if v, ok := s.Value["channel"]; ok && str(v) != q.Channel {
			mismatch(fmt.Sprintf("channel is %q, want %q", q.Channel, str(v)))
		}
	}
	r.pending = r.pending[1:]
}

// templateMismatch says how a sent template differs from the `expect
// send`'s template and variables; "" when it does not.
func templateMismatch(s *Step, t *engine.Template) string {
	if want, ok := s.Value["template"]; ok && (t == nil || t.Name != want) {
		return "the message is not that template"
	}
	if want, ok := s.Value["variables"]; ok && t != nil {
		if got := normalize(t.Variables); !reflect.DeepEqual(normalize(want), got) {
			return fmt.Sprintf("the template's variables are %s, want %s", jsonText(got), jsonText(want))
		}
	}
	return ""
}

func normalize(v any) any {
	b, err := json.Marshal(v)
	if err != nil {
		return v
	}
	var out any
	if json.Unmarshal(b, &out) != nil {
		return v
	}
	return out
}

func jsonText(v any) string {
	b, err := json.Marshal(normalize(spelled(v)))
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// spelled writes durations as test files do (30s, 2m), so that what a
// failure shows reads as the script.
func spelled(v any) any {
	switch x := v.(type) {
	case time.Duration:
		return shortDuration(x)
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = spelled(e)
		}
		return m
	case []any:
		l := make([]any, len(x))
		for i, e := range x {
			l[i] = spelled(e)
		}
		return l
	}
	return v
}

func describeExpect(s *Step) string {
	switch s.What {
	case "enqueue", "http", "function", "worker", "gather", "record", "dial":
		if len(s.Value) > 0 {
			return s.What + " " + s.Name + " " + jsonText(s.Value)
		}
		return s.What + " " + s.Name
	case "end":
		return "end"
	case "fail":
		if s.Re != nil {
			return "failure matching `" + s.Re.String() + "`"
		}
		if s.Text != nil {
			return "failure " + strconv.Quote(*s.Text)
		}
		return "failure"
	}
	if s.Re != nil {
		return s.What + " matching `" + s.Re.String() + "`"
	}
	if s.Text != nil {
		return s.What + " " + strconv.Quote(*s.Text)
	}
	return s.What
}

func describeEffect(e engine.Effect) string {
	switch e.Kind {
	case engine.EffectSend:
		return "send " + strconv.Quote(e.Send.Text)
	case engine.EffectVoice:
		switch e.Voice.Verb {
		case "say":
			return "say " + strconv.Quote(e.Voice.Text)
		case "play":
			return "play " + strconv.Quote(e.Voice.URL)
		}
		return e.Voice.Verb
	case engine.EffectEnqueue:
		return fmt.Sprintf("enqueue %s {attributes: %s, priority: %s, channel: %q}", e.Enqueue.Workflow, jsonText(e.Enqueue.Attributes), jsonText(e.Enqueue.Priority), e.Enqueue.Channel)
	case engine.EffectEnd:
		if e.End.Status == engine.StatusFailed {
			return "end (failed: " + e.End.Reason + ")"
		}
		if e.End.Reason != "" {
			return "end (" + e.End.Reason + ")"
		}
		return "end"
	case engine.EffectHTTP:
		return "http " + e.HTTP.Method + " " + e.HTTP.URL
	case engine.EffectFunction:
		return "function " + e.Function.Name
	}
	return string(e.Kind)
}

// expectRequest checks the last request the named step made.
func (r *runner) expectRequest(s *Step) {
	e, ok := r.lastReq[s.What+"/"+s.Name]
	if !ok {
		r.fail(&Failure{Expected: describeExpect(s), Got: "no " + s.What + " request from step " + s.Name + " so far"})
	}
	got := map[string]any{}
	switch {
	case e.HTTP != nil:
		got["method"], got["url"], got["body"] = e.HTTP.Method, e.HTTP.URL, e.HTTP.Body
		h := map[string]any{}
		for k, v := range e.HTTP.Headers {
			h[k] = v
		}
		got["headers"] = h
		var j any
		if e.HTTP.Body != "" && json.Unmarshal([]byte(e.HTTP.Body), &j) == nil {
			got["json"] = j
		}
	case e.Function != nil:
		got["args"] = normalize(e.Function.Args)
	case e.Voice != nil:
		got = voiceFields(e.Voice)
	}
	keys := slices.Sorted(maps.Keys(s.Value))
	for _, k := range keys {
		if why := subset(k, normalize(spelled(s.Value[k])), got[k]); why != "" {
			r.fail(&Failure{Expected: describeExpect(s), Got: describeRequest(e), Message: why})
		}
	}
}

// subset compares want with got: maps match when every key of want
// matches; other values must be equal.
func subset(path string, want, got any) string {
	if wm, ok := want.(map[string]any); ok {
		gm, ok := got.(map[string]any)
		if !ok {
			return fmt.Sprintf("%s is %s, want a map", path, jsonText(got))
		}
		keys := slices.Sorted(maps.Keys(wm))
		for _, k := range keys {
			gv, ok := gm[k]
			if !ok {
				return fmt.Sprintf("%s has no %q", path, k)
			}
			if why := subset(path+"."+k, wm[k], gv); why != "" {
				return why
			}
		}
		return ""
	}
	if !reflect.DeepEqual(want, got) {
		return fmt.Sprintf("%s is %s, want %s", path, jsonText(got), jsonText(want))
	}
	return ""
}

func describeRequest(e engine.Effect) string {
	if e.HTTP != nil {
		s := "http " + e.HTTP.Method + " " + e.HTTP.URL
		if e.HTTP.Body != "" {
			s += " " + e.HTTP.Body
		}
		return s
	}
	if e.Function != nil {
		return "function " + e.Function.Name + " " + jsonText(e.Function.Args)
	}
	if e.Voice != nil {
		return e.Voice.Verb + " " + jsonText(voiceFields(e.Voice))
	}
	return describeEffect(e)
}

// voiceFields are what `expect gather|record|dial` read of a voice verb,
// named as the step's properties are.
func voiceFields(v *engine.VoiceEffect) map[string]any {
	all := map[string]any{"prompt": v.Text, "digits": v.Digits, "finish_on": v.FinishOn, "speech": v.Speech,
		"timeout": v.Timeout, "voice": v.Voice, "language": v.Language, "max_length": v.MaxLength,
		"transcribe": v.Transcribe, "number": v.Number, "caller_id": v.CallerID, "record": v.Record}
	got := map[string]any{}
	for _, k := range requestFields[v.Verb] {
		got[k] = normalize(spelled(all[k]))
	}
	return got
}
