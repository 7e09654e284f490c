package engine

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"strconv"
	"time"

	"github.com/switchboard-dev/switchboard/compiler"
)

// MaxTransitions bounds the steps one event may run. The compiler rejects
// loops that never wait within a flow; this catches the rest (a subflow
// called in a loop) before they spin.
const MaxTransitions = 1000

// DefaultStepBudget is the steps an execution may run without a message
// from the customer when the event sets no Event.StepBudget. A flow that
// talks with a customer runs a handful between two messages; a thousand is
// a flow looping on its own.
const DefaultStepBudget = 1000

// CodeStepBudget is the EndEffect.Code of an execution that spent its step
// budget.
const CodeStepBudget = "step_budget"

// A request step (http, function) whose last results were failures waits
// before its next request: BackoffBase after one failure, doubling with each
// further one up to BackoffMax. A success or a message from the customer
// starts it over.
const (
	BackoffBase = time.Second
	BackoffMax  = time.Minute
)

// Errors Step returns for events it cannot take. Results, timers and
// messages that arrive late are not errors: they are ignored.
var (
	ErrEnded       = errors.New("engine: the execution has ended")
	ErrUnknownFlow = errors.New("engine: unknown flow")
	ErrStarted     = errors.New("engine: the execution has already started")
)

// Default durations where a flow gives none.
const (
	DefaultHTTPTimeout     = 10 * time.Second
	DefaultFunctionTimeout = 10 * time.Second
	DefaultGatherTimeout   = 5 * time.Second
)

// Start begins an execution of flow for the event (usually EventStart with
// the triggering message) and runs it until it waits or ends.
func Start(prog *compiler.Program, flow, id string, ev Event) (*Execution, []Effect, error) {
	x, effects, _, err := start(prog, flow, id, ev, false)
	return x, effects, err
}

// StartTraced is Start, also reporting every state run and every outcome
// taken, and marking each effect with the step that emitted it: what
// coverage and test failures need.
func StartTraced(prog *compiler.Program, flow, id string, ev Event) (*Execution, []Effect, []Visit, error) {
	return start(prog, flow, id, ev, true)
}

// StepTraced is Step with the trace of StartTraced.
func StepTraced(prog *compiler.Program, exec *Execution, ev Event) (*Execution, []Effect, []Visit, error) {
	return step(prog, exec, ev, true)
}

func start(prog *compiler.Program, flow, id string, ev Event, tracing bool) (*Execution, []Effect, []Visit, error) {
	f := prog.Flow(flow)
	if f == nil {
		return nil, nil, nil, fmt.Errorf("%w %q", ErrUnknownFlow, flow)
	}
	x := &Execution{ID: id, Flow: flow, Version: prog.Version, Status: StatusRunning}
	if ev.Message != nil {
		x.Trigger = *ev.Message
	}
	r := &run{prog: prog, x: x, ev: ev, guard: -1, guardIndex: -1, tracing: tracing}
	frame, err := r.newFrame(f, nil)
	if err != nil {
		r.fail(err)
		return x, r.effects, r.visits, nil
	}
	x.Frames = []*Frame{frame}
	r.loop()
	return x, r.effects, r.visits, nil
}

// Step applies an event to an execution and runs it until it waits again
// or ends. The execution passed in is not modified.
func Step(prog *compiler.Program, exec *Execution, ev Event) (*Execution, []Effect, error) {
	x, effects, _, err := step(prog, exec, ev, false)
	return x, effects, err
}

func step(prog *compiler.Program, exec *Execution, ev Event, tracing bool) (*Execution, []Effect, []Visit, error) {
	if exec.Status == StatusEnded || exec.Status == StatusFailed {
		return exec, nil, nil, ErrEnded
	}
	if ev.Kind == EventStart {
		return exec, nil, nil, ErrStarted
	}
	r := &run{prog: prog, x: exec.clone(), ev: ev, guard: -1, guardIndex: -1, tracing: tracing}
	if ev.Kind == EventCancel {
		r.cancelWait()
		r.end(StatusEnded, "canceled")
		return r.x, r.effects, r.visits, nil
	}
	if !r.resume() {
		return exec, nil, nil, nil // not what the execution waits for: nothing happens
	}
	r.loop()
	return r.x, r.effects, r.visits, nil
}

// clone copies what a step may change, so Step leaves its input alone.
func (x *Execution) clone() *Execution {
	c := *x
	c.Frames = make([]*Frame, len(x.Frames))
	for i, f := range x.Frames {
		nf := *f
		nf.Vars = make(map[string]any, len(f.Vars))
		for k, v := range f.Vars {
			nf.Vars[k] = v
		}
		nf.Outputs = make(map[string]*Output, len(f.Outputs))
		for k, v := range f.Outputs {
			nf.Outputs[k] = v
		}
		c.Frames[i] = &nf
	}
	if x.Wait != nil {
		w := *x.Wait
		c.Wait = &w
	}
	if x.Failures != nil {
		c.Failures = maps.Clone(x.Failures)
	}
	return &c
}

// run is the work of one Step call.
type run struct {
	prog    *compiler.Program
	x       *Execution
	ev      Event
	effects []Effect
	// pending is the outcome to take from the current state when the loop
	// starts, set by resume; -1 means "execute the current state".
	pending     compiler.Outcome
	havePending bool
	guard       int32 // with havePending: a guard's target, or -1
	guardIndex  int   // the index of the guard whose target guard is, for the trace

	tracing bool
	visits  []Visit
}

func (r *run) here() StepRef { fr := r.frame(); return StepRef{Flow: fr.Flow, State: fr.State} }

func (r *run) visit(branch string) {
	if r.tracing {
		r.visits = append(r.visits, Visit{StepRef: r.here(), Branch: branch})
	}
}

func (r *run) frame() *Frame { return r.x.Frames[len(r.x.Frames)-1] }

func (r *run) flow() *compiler.Flow { return r.prog.Flow(r.frame().Flow) }

func (r *run) state() *compiler.State { return r.flow().States[r.frame().State] }

func (r *run) nextID() string {
	r.x.Seq++
	return r.x.ID + "." + strconv.FormatInt(r.x.Seq, 10) // URL-safe: task ids are API paths
}

func (r *run) emit(e Effect) {
	if e.Key == "" {
		e.Key = r.nextID()
	}
	if r.tracing && len(r.x.Frames) > 0 {
		from := r.here()
		e.From = &from
	}
	r.effects = append(r.effects, e)
}

// emitAwaited emits e under a new wait of kind: the step waits for e's
// result.
func (r *run) emitAwaited(e Effect, kind WaitKind) (compiler.Outcome, int32, bool, error) {
	e.WaitID = r.nextID()
	r.emit(e)
	r.wait(kind, e.WaitID, 0)
	return 0, -1, true, nil
}

// wait records what the execution waits for, arming a timeout if d > 0.
func (r *run) wait(kind WaitKind, id string, timeout time.Duration) {
	w := &Wait{ID: id, Kind: kind}
	if timeout > 0 {
		w.Timer = id + "/timeout"
		r.emit(Effect{Kind: EffectSetTimer, Timer: &TimerEffect{ID: w.Timer, At: r.ev.Now.Add(timeout)}})
	}
	r.x.Wait = w
	r.x.Status = StatusWaiting
}

// cancelWait disarms the current wait's timer and task, if any.
func (r *run) cancelWait() {
	w := r.x.Wait
	if w == nil {
		return
	}
	if w.Timer != "" {
		r.emit(Effect{Kind: EffectCancelTimer, Timer: &TimerEffect{ID: w.Timer}})
	}
	if w.Task != "" {
		r.emit(Effect{Kind: EffectCancelTask, TaskID: w.Task})
	}
	r.x.Wait = nil
}

func (r *run) end(status Status, reason string) {
	r.x.Status = status
	r.x.Wait = nil
	if status == StatusFailed {
		r.x.Error = reason
	}
	r.emit(Effect{Kind: EffectEnd, End: &EndEffect{Status: status, Reason: reason}})
}

func (r *run) fail(err error) { r.end(StatusFailed, err.Error()) }

// resume matches the event against the wait and decides which outcome of
// the waiting state to take. It reports false when the event is not for
// this execution's wait.
func (r *run) resume() bool {
	w := r.x.Wait
	if w == nil {
		return false
	}
	st := r.state()
	fr := r.frame()
	take := func(o compiler.Outcome) bool {
		r.pending, r.havePending, r.guard = o, true, -1
		return true
	}
	switch r.ev.Kind {
	case EventTimer:
		if r.ev.Timer == "" || r.ev.Timer != w.Timer {
			return false
		}
		w.Timer = "" // it fired: nothing to cancel
		r.cancelWait()
		if w.Kind == WaitTimer {
			return take(compiler.OutNext)
		}
		return take(compiler.OutTimeout)
	case EventInbound:
		e := executorOf(st.Kind)
		if w.Kind != WaitReply || r.ev.Message == nil || e == nil || e.inbound == nil {
			return false
		}
		r.cancelWait()
		r.customerWrote()
		msg := *r.ev.Message
		// A reply picks among the choices its question offered, and only
		// among those: a tap on an older message's button picks nothing.
		msg.Choice = PickChoice(w.Choices, msg.Choice, msg.Text)
		e.inbound(r, st, fr, msg)
		return true
	case EventTask:
		e := executorOf(st.Kind)
		if w.Kind != WaitTask || r.ev.Task == nil || r.ev.Task.ID != w.Task || e == nil || e.task == nil {
			return false
		}
		w.Task = "" // it ended: nothing to cancel
		r.cancelWait()
		return take(e.task(r, st, fr, r.ev.Task))
	case EventResult:
		e := executorOf(st.Kind)
		if r.ev.WaitID != w.ID || r.ev.Result == nil || w.Kind == WaitReply || w.Kind == WaitTask || w.Kind == WaitTimer {
			return false
		}
		r.cancelWait()
		r.guard = -1
		r.pending = compiler.OutNext
		if e != nil && e.result != nil {
			r.pending = e.result(r, st, fr, *r.ev.Result) // may pick a guard's target
		}
		r.havePending = true
		return true
	}
	return false
}

// customerWrote starts the step budget and the backoffs over: what runs
// next answers the customer, however long the conversation has gone on.
func (r *run) customerWrote() {
	r.x.Steps, r.x.Failures = 0, nil
}

// spend counts the step about to run against the budget. When the budget
// is spent, the execution fails (no outcome of the step can catch it) and
// spend reports false.
func (r *run) spend() bool {
	r.x.Steps++
	budget := r.ev.StepBudget
	if budget <= 0 {
		budget = DefaultStepBudget
	}
	if r.x.Steps <= budget {
		return true
	}
	reason := fmt.Sprintf("flow %s, step %s: step budget exceeded: %d steps ran without a message from the customer",
		r.frame().Flow, r.state().Name, budget)
	r.x.Status, r.x.Wait, r.x.Error = StatusFailed, nil, reason
	r.emit(Effect{Kind: EffectEnd, End: &EndEffect{Status: StatusFailed, Reason: reason, Code: CodeStepBudget}})
	return false
}

// countFailure records a request step's result: a failure adds to its run
// of failures, a success ends it.
func (r *run) countFailure(fr *Frame, st *compiler.State, failed bool) {
	if !failed && len(r.x.Failures) == 0 {
		return
	}
	key := fr.Flow + "." + st.Name
	if !failed {
		delete(r.x.Failures, key)
		return
	}
	if r.x.Failures == nil {
		r.x.Failures = map[string]Failures{}
	}
	f := r.x.Failures[key]
	r.x.Failures[key] = Failures{N: f.N + 1, Last: r.ev.Now}
}

// backoff is when the request of step st may be made: at once, unless its
// last results were failures and the backoff since the last one has not
// passed (a flow that waits between its retries has waited already).
func (r *run) backoff(st *compiler.State) time.Time {
	if len(r.x.Failures) == 0 {
		return time.Time{}
	}
	f := r.x.Failures[r.frame().Flow+"."+st.Name]
	if f.N == 0 {
		return time.Time{}
	}
	d := BackoffBase << min(f.N-1, 16)
	if d > BackoffMax || d <= 0 {
		d = BackoffMax
	}
	if due := f.Last.Add(d); due.After(r.ev.Now) {
		return due
	}
	return time.Time{}
}

// loop runs states until the execution waits or ends.
func (r *run) loop() {
	for n := 0; ; n++ {
		if r.x.Status == StatusFailed || r.x.Status == StatusEnded {
			return
		}
		if n >= MaxTransitions {
			r.fail(fmt.Errorf("flow %s ran %d steps without waiting", r.frame().Flow, MaxTransitions))
			return
		}
		var o compiler.Outcome
		var guard int32 = -1
		if r.havePending {
			o, guard = r.pending, r.guard
			r.havePending = false
		} else {
			var waits bool
			var err error
			o, guard, waits, err = r.exec()
			if err != nil {
				r.stepError(err)
				continue
			}
			if waits {
				return
			}
		}
		r.transition(o, guard)
	}
}

// transition leaves the current state by outcome o (or a guard's target).
func (r *run) transition(o compiler.Outcome, guard int32) {
	st := r.state()
	target := guard
	if target == -1 {
		target = st.Next[o]
		r.visit(o.String())
	} else {
		r.visit("g" + strconv.Itoa(r.guardIndex))
	}
	r.guardIndex = -1
	switch target {
	case compiler.NoTarget, compiler.End:
		r.finishFrame()
	default:
		r.frame().State = target
		r.x.Status = StatusRunning
	}
}

// finishFrame ends the current flow: a subflow returns to its caller, the
// top flow ends the execution.
func (r *run) finishFrame() {
	if len(r.x.Frames) == 1 {
		r.end(StatusEnded, "")
		return
	}
	done := r.frame()
	sub := r.prog.Flow(done.Flow)
	outputs := make(map[string]any, len(sub.Outputs))
	for _, v := range sub.Outputs {
		outputs[v.Name] = done.Vars[v.Name]
	}
	r.x.Frames = r.x.Frames[:len(r.x.Frames)-1]
	caller := r.frame()
	caller.Outputs[r.state().Name] = output(r.state(), compiler.SubflowOutput{Outputs: outputs})
	r.pending, r.havePending, r.guard = compiler.OutDone, true, -1
}

// stepError handles an expression that failed at run time: a step with an
// error outcome takes it; a subflow fails into its caller's error outcome;
// otherwise the execution fails.
func (r *run) stepError(err error) {
	st := r.state()
	if st.Kind.Spec().CatchesErrors && st.Next[compiler.OutError] != compiler.NoTarget {
		r.pending, r.havePending, r.guard = compiler.OutError, true, -1
		return
	}
	msg := fmt.Sprintf("flow %s, step %s: %v", r.frame().Flow, st.Name, err)
	for len(r.x.Frames) > 1 {
		r.x.Frames = r.x.Frames[:len(r.x.Frames)-1]
		if caller := r.state(); caller.Next[compiler.OutError] != compiler.NoTarget {
			r.frame().Outputs[caller.Name] = output(caller, compiler.SubflowOutput{Outputs: map[string]any{"error": msg}})
			r.pending, r.havePending, r.guard = compiler.OutError, true, -1
			return
		}
	}
	r.fail(errors.New(msg))
}

// newFrame starts flow f with the given inputs: inputs take the values
// given (or their defaults), vars their initial values.
func (r *run) newFrame(f *compiler.Flow, inputs map[string]any) (*Frame, error) {
	fr := &Frame{Flow: f.Name, Vars: map[string]any{}, Outputs: map[string]*Output{}}
	r.x.Frames = append(r.x.Frames, fr)
	defer func() { r.x.Frames = r.x.Frames[:len(r.x.Frames)-1] }()
	for _, v := range f.Inputs {
		if x, ok := inputs[v.Name]; ok {
			fr.Vars[v.Name] = coerce(x, v.Type)
			continue
		}
		val, err := r.initial(v, fr)
		if err != nil {
			return nil, err
		}
		fr.Vars[v.Name] = val
	}
	for _, group := range [][]compiler.Var{f.Vars, f.Outputs} {
		for _, v := range group {
			val, err := r.initial(v, fr)
			if err != nil {
				return nil, err
			}
			fr.Vars[v.Name] = val
		}
	}
	return fr, nil
}

func (r *run) initial(v compiler.Var, fr *Frame) (any, error) {
	if v.Init == nil {
		return compiler.ZeroOf(v.Type), nil
	}
	val, err := v.Init.Eval(r.env(nil))
	if err != nil {
		return nil, err
	}
	return coerce(val, v.Type), nil
}

// coerce stores numbers as float64, the type the checker gave `number`.
func coerce(v any, t compiler.Type) any {
	if t != compiler.TypeNumber {
		return v
	}
	switch n := v.(type) {
	case int:
		return float64(n)
	case int64:
		return float64(n)
	case int32:
		return float64(n)
	case float32:
		return float64(n)
	case uint:
		return float64(n)
	}
	return v
}

// env builds the names an expression of the current frame sees.
func (r *run) env(extra map[string]any) map[string]any {
	fr := r.frame()
	env := make(map[string]any, len(fr.Vars)+len(fr.Outputs)+len(extra)+12)
	env[compiler.NameMessage] = r.x.Trigger
	env[compiler.NameContact] = r.ev.Contact
	env[compiler.NameConversation] = r.ev.Conversation
	e := r.ev.Env
	if e == nil {
		e = map[string]string{}
	}
	env[compiler.NameEnv] = e
	env[compiler.NameNow] = r.ev.Now
	now := r.ev.Now
	prog := r.prog
	env[compiler.NameOpen] = compiler.OpenFunc(func(h compiler.HoursRef) bool {
		if hours := prog.HoursNamed(h.Name); hours != nil {
			return hours.Open(now)
		}
		return false
	})
	for _, h := range prog.Hours {
		env[h.Name] = compiler.HoursRef{Name: h.Name}
	}
	vars := make(map[string]any, len(fr.Vars))
	for k, v := range fr.Vars {
		vars[k] = v
		env[k] = v
	}
	env[compiler.NameVars] = vars
	// Every step with outputs is in the checker's scope; one that has not
	// run yet reads as its zero value (the checker rejects such reads where
	// it can tell).
	for _, st := range r.flow().States {
		if z := compiler.OutputOf(st.Kind); z != nil {
			env[st.Name] = z
		}
	}
	for k, o := range fr.Outputs {
		env[k] = o.value()
	}
	for k, v := range extra {
		env[k] = v
	}
	return env
}

func (r *run) eval(e *compiler.Expr) (any, error) {
	if e == nil {
		return nil, nil
	}
	return e.Eval(r.env(nil))
}

func (r *run) evalString(e *compiler.Expr) (string, error) {
	v, err := r.eval(e)
	return compiler.Stringify(v), err
}

func (r *run) truth(e *compiler.Expr, env map[string]any) (bool, error) {
	v, err := e.Eval(env)
	if err != nil {
		return false, err
	}
	b, ok := v.(bool)
	if !ok && v != nil {
		return false, fmt.Errorf("%s: condition is %T, not bool", e.Span, v)
	}
	return b, nil
}

func (r *run) evalMap(e *compiler.Expr) (map[string]any, error) {
	v, err := r.eval(e)
	if err != nil || v == nil {
		return nil, err
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%s: expected a map, got %T", e.Span, v)
	}
	return m, nil
}

func (r *run) evalNumber(e *compiler.Expr) (float64, error) {
	v, err := r.eval(e)
	if err != nil || v == nil {
		return 0, err
	}
	switch n := coerce(v, compiler.TypeNumber).(type) {
	case float64:
		return n, nil
	}
	return 0, fmt.Errorf("%s: expected a number, got %T", e.Span, v)
}

func (r *run) evalBool(e *compiler.Expr) (bool, error) {
	v, err := r.eval(e)
	if err != nil || v == nil {
		return false, err
	}
	b, ok := v.(bool)
	if !ok {
		return false, fmt.Errorf("%s: expected a bool, got %T", e.Span, v)
	}
	return b, nil
}

func toInt(f float64) int {
	if math.IsNaN(f) || f < 0 {
		return 0
	}
	return int(f)
}
