package flowtest

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/switchboard-dev/switchboard/compiler"
	"github.com/switchboard-dev/switchboard/connectors"
	"github.com/switchboard-dev/switchboard/runtime/effect"
	"github.com/switchboard-dev/switchboard/runtime/engine"
)

// Session runs one execution in memory on a virtual clock: the test
// runner plays a test's script on one, and switchboard simulate a
// terminal session. Its effects go through the runtime's interpreter
// (runtime/effect), as serve's do: effect.Apply files them (the session
// keeps the armed timers and the requests the execution waits on), and a
// request is performed by effect.Perform with the mocks (MockIO) where
// serve has its connectors, HTTP client and functions.
//
// Fill the exported fields before the first Step; Timers may be nil.
type Session struct {
	Prog    *compiler.Program
	Flow    string // the flow the execution starts
	ID      string // the execution's id
	Now     time.Time
	X       *engine.Execution // nil until the first Step
	Contact compiler.Contact
	Conv    compiler.Conversation
	Env     map[string]string
	Budget  int              // the engine's step budget (0: its default)
	Trigger compiler.Message // the first message; later ones come from the same sender
	Timers  map[string]time.Time
	// Observe, when set, hears each effect of a step, in order, once the
	// session has filed it.
	Observe func(e engine.Effect)

	requests map[string]engine.Effect // by wait id
	seq      int
}

// Event returns an event of the session's context, at its clock.
func (s *Session) Event(kind engine.EventKind) engine.Event {
	return engine.Event{Kind: kind, Now: s.Now, Contact: s.Contact, Conversation: s.Conv, Env: s.Env, StepBudget: s.Budget}
}

// StartEvent starts the execution with the trigger message, saying text.
func (s *Session) StartEvent(text string) engine.Event {
	msg := s.Trigger
	msg.Text = text
	ev := s.Event(engine.EventStart)
	ev.Message = &msg
	return ev
}

// MessageEvent is the customer's next message.
func (s *Session) MessageEvent(text string) engine.Event {
	s.seq++
	msg := compiler.Message{ID: "message-" + strconv.Itoa(s.seq+1), Channel: s.Trigger.Channel, From: s.Trigger.From, Text: text}
	ev := s.Event(engine.EventInbound)
	ev.Message = &msg
	return ev
}

// TapEvent is the customer tapping an offered choice: a message whose
// Choice is its id and whose text is its title, as the platforms report
// a button.
func (s *Session) TapEvent(c engine.Choice) engine.Event {
	ev := s.MessageEvent(c.Title)
	ev.Message.Choice = c.ID
	return ev
}

// Step applies ev to the execution, or starts it when there is none, and
// files the effects. ignored reports an event the execution did not take
// (not what it waits for).
func (s *Session) Step(ev engine.Event) (traced []engine.Visit, effs []engine.Effect, ignored bool, err error) {
	if s.Timers == nil {
		s.Timers = map[string]time.Time{}
	}
	if s.requests == nil {
		s.requests = map[string]engine.Effect{}
	}
	var x *engine.Execution
	before := s.X
	if before == nil {
		x, effs, traced, err = engine.StartTraced(s.Prog, s.Flow, s.ID, ev)
	} else {
		x, effs, traced, err = engine.StepTraced(s.Prog, before, ev)
	}
	if err != nil {
		return nil, nil, false, err
	}
	if before != nil && x == before && len(effs) == 0 {
		return nil, nil, true, nil
	}
	s.X = x
	return traced, effs, false, effect.Apply(book{s}, effs)
}

// book is the session's effect.Book: timers and requests in memory.
type book struct{ s *Session }

func (b book) SetTimer(e engine.Effect) error {
	b.s.Timers[e.Timer.ID] = e.Timer.At
	return b.observe(e)
}

func (b book) CancelTimer(e engine.Effect) error {
	delete(b.s.Timers, e.Timer.ID)
	return b.observe(e)
}

func (b book) Enqueue(e engine.Effect) error    { return b.observe(e) }
func (b book) CancelTask(e engine.Effect) error { return b.observe(e) }
func (b book) End(e engine.Effect) error        { return b.observe(e) }

// Perform files a request the execution waits on; the others are only
// observed (a test expects them, simulate prints them).
func (b book) Perform(e engine.Effect) error {
	if e.WaitID != "" {
		b.s.requests[e.WaitID] = e
	}
	return b.observe(e)
}

func (b book) observe(e engine.Effect) error {
	if b.s.Observe != nil {
		b.s.Observe(e)
	}
	return nil
}

// Waiting returns the step the execution waits at (nil when it does not
// wait) and where it is.
func (s *Session) Waiting() (*compiler.State, engine.StepRef) {
	if s.X == nil || s.X.Wait == nil || len(s.X.Frames) == 0 {
		return nil, engine.StepRef{}
	}
	fr := s.X.Frames[len(s.X.Frames)-1]
	ref := engine.StepRef{Flow: fr.Flow, State: fr.State}
	f := s.Prog.Flow(fr.Flow)
	if f == nil || int(fr.State) >= len(f.States) {
		return nil, ref
	}
	return f.States[fr.State], ref
}

// Request returns the request the execution waits on, if it waits on one.
func (s *Session) Request() (engine.Effect, bool) {
	if s.X == nil || s.X.Wait == nil {
		return engine.Effect{}, false
	}
	e, ok := s.requests[s.X.Wait.ID]
	return e, ok
}

// Due returns the request the execution waits on that a performer
// answers, with the kind of mock that answers it (MockKind) and its step;
// kind is "" when the script answers the wait instead (a reply, a task, a
// timer, the caller's input at a gather).
func (s *Session) Due() (kind string, st *compiler.State, req engine.Effect) {
	st, _ = s.Waiting()
	if st == nil {
		return "", nil, engine.Effect{}
	}
	req, _ = s.Request()
	return MockKind(s.X.Wait.Kind, st.Kind), st, req
}

// route is where the session's conversation lives, for effect.Perform.
func (s *Session) route() effect.Route {
	return effect.Route{ConversationID: s.Conv.ID, ContactID: s.Contact.ID, Connector: "test", Instance: "default",
		Channel: s.Conv.Channel, Address: s.Trigger.From}
}

// Answer performs the request the execution waits on through io and
// returns the event that carries its result. A request backing off is
// made when due, and the answer's latency passes on the clock.
func (s *Session) Answer(io *MockIO) (engine.Event, time.Duration) {
	req, _ := s.Request()
	if req.NotBefore.After(s.Now) {
		s.Now = req.NotBefore
	}
	io.req, io.elapsed = req, 0
	res := effect.Perform(context.Background(), io, s.route(), req).ResultFor()
	s.Now = s.Now.Add(io.elapsed)
	ev := s.Event(engine.EventResult)
	ev.WaitID, ev.Result = s.X.Wait.ID, &res
	return ev, io.elapsed
}

// Input answers the gather the execution waits at with the caller's
// keys or words; silence (both empty) lasts the gather's timeout.
func (s *Session) Input(digits, speech string) engine.Event {
	given := engine.Result{Digits: digits, Speech: speech}
	if speech != "" {
		given.Confidence = 0.9
	}
	if req, ok := s.Request(); ok && digits == "" && speech == "" && req.Voice != nil {
		s.Now = s.Now.Add(req.Voice.Timeout)
	}
	ev, _ := s.Answer(&MockIO{Given: &given})
	return ev
}

// NextTimer returns the armed timer that fires first by t while the
// execution waits; "" when none is due.
func (s *Session) NextTimer(t time.Time) (id string, at time.Time) {
	if s.X == nil || s.X.Status != engine.StatusWaiting {
		return "", time.Time{}
	}
	return NextDue(s.Timers, t)
}

// Fire disarms a timer and returns its event, the clock moved to it.
func (s *Session) Fire(id string, at time.Time) engine.Event {
	delete(s.Timers, id)
	if at.After(s.Now) {
		s.Now = at
	}
	ev := s.Event(engine.EventTimer)
	ev.Timer = id
	return ev
}

// MockIO is the tests' effect.IO: it answers a request from a mock line,
// or else with the Given result (the caller's input at a gather, an
// answer typed in simulate); a send with neither is delivered. It is its
// own channel: it delivers sends and performs the calls' verbs
// (connectors.CallPerformer), where serve has its connectors.
type MockIO struct {
	Mock  *Mock
	Given *engine.Result

	req     engine.Effect
	elapsed time.Duration // the mock's latency
}

func (m *MockIO) answer() engine.Result {
	switch {
	case m.Mock != nil:
		var res engine.Result
		res, m.elapsed = m.Mock.Answer(m.req)
		return res
	case m.Given != nil:
		return *m.Given
	}
	return engine.Result{}
}

// Channel is the test conversation's channel: the MockIO itself.
func (m *MockIO) Channel(effect.Route) effect.Channel { return m }

// HTTP answers an http step's request.
func (m *MockIO) HTTP(context.Context, *engine.HTTPEffect) engine.Result { return m.answer() }

// Function answers a function call.
func (m *MockIO) Function(context.Context, *engine.FunctionEffect) engine.Result { return m.answer() }

// Send delivers a message, or fails as the mock says.
func (m *MockIO) Send(context.Context, *connectors.Outbound) (string, error) {
	if res := m.answer(); res.Err != "" {
		return "", connectors.Permanent(errors.New(res.Err))
	}
	return "", nil
}

// PerformCall performs a script of voice verbs: the caller's input, the
// recording or the dialled party's answer to its last come from the mock
// or the given result.
func (m *MockIO) PerformCall(context.Context, *connectors.CallAction) (connectors.CallResult, error) {
	res := m.answer()
	out := connectors.CallResult{Digits: res.Digits, Speech: res.Speech, Confidence: res.Confidence, RecordingURL: res.RecordingURL, RecordingID: res.RecordingID,
		Duration: res.Duration, Transcript: res.Transcript, DialStatus: res.DialStatus}
	if res.Err != "" {
		return out, connectors.Permanent(errors.New(res.Err))
	}
	return out, nil
}

// TaskEvent ends the routed task the execution waits for, with outcome,
// as the router would report it.
func (s *Session) TaskEvent(outcome compiler.Outcome, queue, worker string) engine.Event {
	ev := s.Event(engine.EventTask)
	ev.Task = &engine.TaskResult{ID: s.X.Wait.Task, Outcome: outcome, Queue: queue, Worker: worker}
	return ev
}

// TimeoutAt returns when the timeout of the step the execution waits at
// fires; false when the step has none armed.
func (s *Session) TimeoutAt() (time.Time, bool) {
	if s.X == nil || s.X.Wait == nil || s.X.Wait.Timer == "" {
		return time.Time{}, false
	}
	at, ok := s.Timers[s.X.Wait.Timer]
	return at, ok
}

// Ended says how the execution ended: "ended", or "failed: REASON".
func (s *Session) Ended() string { return endText(s.X) }
