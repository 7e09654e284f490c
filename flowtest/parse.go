// Package flowtest runs flow test files: scripted conversations played
// against a compiled program by the runtime's pure engine (the same
// engine the server runs, so a passing test means the flow behaves that way
// in production). docs/TESTING.md describes the file format.
package flowtest

import (
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard-dev/switchboard/diag"
	"github.com/switchboard-dev/switchboard/lang"
	"github.com/switchboard-dev/switchboard/runtime/leader/policy"
)

// Ext is the extension of test files.
const Ext = ".flowtest"

// File is a parsed test file.
type File struct {
	Name  string
	Tests []*Test
}

// Test is one scripted conversation.
type Test struct {
	Name  string
	Span  diag.Span
	Flow  string
	Setup Setup
	Steps []*Step
}

// Setup is the context of the conversation.
type Setup struct {
	Channel      string
	From         string
	Contact      map[string]any
	Conversation map[string]any
	Env          map[string]any
	Attributes   map[string]any // the triggering message's attributes
	At           time.Time      // the clock when the test starts (zero: DefaultStart)
	Workers      []*Worker      // the router's workers, in declaration order
	LastWorker   string         // the worker who last completed a task for the contact
	Router       *policy.Config // a `router` line: serve's routing flags; nil: serve's defaults
}

// Worker is a `worker` line: an agent added to the test's router before
// the conversation starts.
type Worker struct {
	ID         string
	Attributes map[string]any
	Activity   string         // default "available"
	Capacity   map[string]int // by task channel; nil: serve's default (policy.DefaultCapacity)
	Span       diag.Span
}

// Policy is how tests run the router without a `router` line: as serve
// does by default.
var Policy = policy.Config{}.WithDefaults()

// Policy is how the test runs the router.
func (t *Test) Policy() policy.Config {
	if t.Setup.Router != nil {
		return *t.Setup.Router
	}
	return Policy
}

// Route is what an `expect route` line checks; nil fields are not checked,
// and "" stands for `none`.
type Route struct {
	Queue    *string
	Worker   *string
	Priority *float64
}

func (rt *Route) String() string { return strings.Join(rt.parts(), " ") }

// parts are what the expectation checks, as written.
func (rt *Route) parts() []string {
	var parts []string
	if rt.Queue != nil {
		parts = append(parts, "queue "+orNone(*rt.Queue))
	}
	if rt.Worker != nil {
		parts = append(parts, "worker "+orNone(*rt.Worker))
	}
	if rt.Priority != nil {
		parts = append(parts, "priority "+strconv.FormatFloat(*rt.Priority, 'f', -1, 64))
	}
	return parts
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// Routing reports whether the test plays the router: it declares workers
// or uses a routing command.
func (t *Test) Routing() bool {
	if len(t.Setup.Workers) > 0 || t.Setup.LastWorker != "" || t.Setup.Router != nil {
		return true
	}
	for _, s := range t.Steps {
		if routerOps[s.Op] || s.Op == "expect" && (s.What == "route" || s.What == "worker") {
			return true
		}
	}
	return false
}

// routerOps are the commands that play the agents' side through the router.
var routerOps = map[string]bool{"accept": true, "reject": true, "timeout": true, "complete": true, "activity": true,
	"wrapup": true, "transfer": true, "update": true}

// DefaultStart is the clock of a test with no `at` line: a Monday, 10:00 in
// New York, 15:00 UTC.
var DefaultStart = time.Date(2026, 1, 5, 15, 0, 0, 0, time.UTC)

// Step is one line of a test's script.
type Step struct {
	Op    string  // start, say, tap, press, speak, silence, advance, task, mock, expect, cancel, customer, accept, reject, timeout, complete, wrapup, transfer, activity, update
	What  string  // expect: send, say, play, hangup, enqueue, route, worker, end, fail; mock: http, function, send, record, dial; task: the outcome; transfer: cold, warm
	Name  string  // mock: the step; tap: the choice's id; expect enqueue: the workflow; customer: the customer; accept…update, expect worker: the worker
	Text  *string // activity: the activity
	Route *Route  // expect route
	// update: the worker's change
	Change *policy.WorkerChange
	Re     *regexp.Regexp
	Value  map[string]any
	Dur    time.Duration
	Span   diag.Span
}

func (s *Step) String() string {
	var b strings.Builder
	b.WriteString(s.Op)
	if s.What != "" {
		b.WriteString(" " + s.What)
	}
	if s.Op == "tap" {
		b.WriteString(" " + strconv.Quote(s.Name))
	} else if s.Name != "" {
		b.WriteString(" " + s.Name)
	}
	if s.Re != nil {
		b.WriteString(" matches `" + s.Re.String() + "`")
	} else if s.Text != nil {
		b.WriteString(" " + strconv.Quote(*s.Text))
	}
	if s.Dur != 0 {
		b.WriteString(" " + s.Dur.String())
	}
	if s.Route != nil {
		b.WriteString(" " + s.Route.String())
	}
	if s.Op == "transfer" {
		for _, k := range []string{"queue", "worker"} {
			if v, ok := s.Value[k]; ok {
				b.WriteString(" " + k + " " + v.(string))
			}
		}
	}
	return b.String()
}

// Parse parses a test file. Problems are positioned diagnostics.
func Parse(name string, src []byte) (*File, diag.List) {
	toks, diags := lang.Lex(name, src)
	p := &parser{toks: toks, file: name}
	p.diags = diags
	f := &File{Name: name}
	if diags.HasErrors() {
		return f, diags
	}
	for {
		p.skipLines()
		t := p.peek()
		if t.Kind == lang.EOF {
			break
		}
		if !t.Is("test") {
			p.diags.Errorf("T0001", t.Span, "expected `test \"NAME\" {`, found %s", describe(t))
			return f, p.diags
		}
		tst := p.test()
		if tst == nil {
			// Go on with the next test (a `test` at the start of a line).
			for {
				t := p.next()
				if t.Kind == lang.EOF {
					return f, p.diags
				}
				if n := p.peek(); t.Kind == lang.Newline && n.Is("test") && n.Span.Start.Col == 1 {
					break
				}
			}
			continue
		}
		f.Tests = append(f.Tests, tst)
	}
	seen := map[string]bool{}
	for _, t := range f.Tests {
		if seen[t.Name] {
			p.diags.Errorf("T0003", t.Span, "duplicate test name %q", t.Name)
		}
		seen[t.Name] = true
	}
	return f, p.diags
}

type parser struct {
	activities []activityUse // in the test being parsed
	toks       []lang.Token
	i          int
	file       string
	diags      diag.List
}

type parseError struct{}

func (p *parser) peek() lang.Token {
	for p.i < len(p.toks) && p.toks[p.i].Kind == lang.Comment {
		p.i++
	}
	return p.toks[p.i]
}

func (p *parser) next() lang.Token {
	t := p.peek()
	if t.Kind != lang.EOF {
		p.i++
	}
	return t
}

func (p *parser) skipLines() {
	for p.peek().Kind == lang.Newline {
		p.i++
	}
}

func (p *parser) errorf(span diag.Span, format string, args ...any) {
	p.diags.Errorf("T0001", span, format, args...)
	panic(parseError{})
}

func describe(t lang.Token) string {
	switch t.Kind {
	case lang.EOF, lang.Newline:
		return t.Kind.String()
	}
	return "`" + t.Text + "`"
}

func (p *parser) expectPunct(s string) lang.Token {
	t := p.next()
	if !t.Is(s) || t.Kind == lang.Ident {
		p.errorf(t.Span, "expected `%s`, found %s", s, describe(t))
	}
	return t
}

func (p *parser) ident(what string) lang.Token {
	t := p.next()
	if t.Kind != lang.Ident {
		p.errorf(t.Span, "expected %s, found %s", what, describe(t))
	}
	return t
}

func (p *parser) str(what string) (string, diag.Span) {
	t := p.next()
	s, ok := unquote(t)
	if !ok {
		p.errorf(t.Span, "expected %s (a quoted string), found %s", what, describe(t))
	}
	return s, t.Span
}

func (p *parser) endLine() {
	t := p.peek()
	if t.Kind == lang.Newline || t.Kind == lang.EOF || t.Is("}") {
		return
	}
	p.errorf(t.Span, "unexpected %s at the end of the line", describe(t))
}

func unquote(t lang.Token) (string, bool) {
	switch t.Kind {
	case lang.String:
		body := strings.ReplaceAll(t.Text, `\$`, "$")
		s, err := strconv.Unquote(body)
		if err != nil {
			return "", false
		}
		return s, true
	case lang.RawString:
		return t.Text[1 : len(t.Text)-1], true
	}
	return "", false
}

func (p *parser) test() (tst *Test) {
	defer func() {
		if r := recover(); r != nil {
			if _, ok := r.(parseError); !ok {
				panic(r)
			}
			tst, p.activities = nil, nil
		}
	}()
	kw := p.next()
	name, _ := p.str("the test's name")
	tst = &Test{Name: name, Span: kw.Span}
	p.expectPunct("{")
	for {
		p.skipLines()
		t := p.peek()
		if t.Is("}") && t.Kind == lang.Punct {
			p.next()
			break
		}
		if t.Kind == lang.EOF {
			p.errorf(kw.Span, "test %q is not closed: missing `}`", name)
		}
		p.line(tst)
		p.endLine()
	}
	if tst.Flow == "" {
		p.diags.Errorf("T0002", kw.Span, "test %q names no flow", name).WithHint("add a line `flow NAME`")
	}
	p.checkActivities(tst)
	return tst
}

var mockKinds = map[string]bool{"http": true, "function": true, "send": true, "record": true, "dial": true}

var taskOutcomes = map[string]bool{"completed": true, "timeout": true, "canceled": true, "failed": true}

func (p *parser) line(tst *Test) {
	kw := p.ident("a command")
	st := &Step{Op: kw.Text, Span: kw.Span}
	switch kw.Text {
	case "flow":
		tst.Flow = p.ident("a flow name").Text
		return
	case "channel":
		tst.Setup.Channel = p.ident("a channel name").Text
		return
	case "from":
		tst.Setup.From, _ = p.str("an address")
		return
	case "contact":
		tst.Setup.Contact = p.mapValue()
		return
	case "conversation":
		tst.Setup.Conversation = p.mapValue()
		return
	case "env":
		tst.Setup.Env = p.mapValue()
		return
	case "attributes":
		tst.Setup.Attributes = p.mapValue()
		return
	case "at":
		d := p.next()
		tm := p.next()
		if d.Kind != lang.Date || tm.Kind != lang.Time {
			p.errorf(d.Span, "expected a date and a time, as in `at 2026-11-24 09:30`")
		}
		loc := time.UTC
		if t := p.peek(); t.Kind == lang.String || t.Kind == lang.RawString {
			zone, span := p.str("a time zone")
			l, err := time.LoadLocation(zone)
			if err != nil {
				p.errorf(span, "unknown time zone %q", zone)
			}
			loc = l
		}
		at, err := time.ParseInLocation("2006-01-02 15:04", d.Text+" "+tm.Text, loc)
		if err != nil {
			p.errorf(d.Span, "bad date or time: %v", err)
		}
		tst.Setup.At = at
		return
	case "start":
		if t := p.peek(); t.Kind == lang.String || t.Kind == lang.RawString {
			s, _ := p.str("the message")
			st.Text = &s
		}
	case "say", "press", "speak":
		s, _ := p.str("what the customer " + map[string]string{"say": "writes", "press": "presses", "speak": "says"}[kw.Text])
		st.Text = &s
	case "tap":
		s, span := p.str("the id of the choice the customer taps")
		if s == "" {
			p.errorf(span, "tap needs the id of an offered choice")
		}
		st.Name = s
	case "silence", "cancel":
	case "customer":
		st.Name = p.name("the customer's name")
		if p.peek().Is("{") {
			st.Value = p.mapValue()
		}
		for k, v := range st.Value {
			switch k {
			case "flow":
				if _, ok := v.(string); !ok {
					p.errorf(kw.Span, "customer %s: flow must be a flow's name, quoted", st.Name)
				}
			case "name", "attributes", "addresses":
			default:
				p.errorf(kw.Span, "customer %s: unknown field %q (want name, attributes, addresses, flow)", st.Name, k)
			}
		}
	case "worker", "last_worker", "router", "accept", "reject", "timeout", "complete", "wrapup", "activity", "update", "transfer":
		if !p.routingLine(tst, st, kw) {
			return
		}
	case "advance":
		st.Dur = p.duration()
	case "task":
		o := p.ident("a task outcome (completed, timeout, canceled or failed)")
		if !taskOutcomes[o.Text] {
			p.errorf(o.Span, "unknown task outcome `%s` (want completed, timeout, canceled or failed)", o.Text)
		}
		st.What = o.Text
		if p.peek().Is("{") {
			st.Value = p.mapValue()
		}
	case "mock":
		k := p.ident("what to mock (http, function, send, record or dial)")
		if !mockKinds[k.Text] {
			p.errorf(k.Span, "cannot mock `%s` (want http, function, send, record or dial)", k.Text)
		}
		st.What = k.Text
		st.Name = p.ident("the step's name").Text
		st.Value = map[string]any{}
		if p.peek().Is("{") {
			st.Value = p.mapValue()
		}
		p.checkKeys(st, k.Span)
	case "expect":
		p.expectation(st, kw)
	default:
		p.errorf(kw.Span, "unknown command `%s`", kw.Text)
	}
	tst.Steps = append(tst.Steps, st)
}

// routingLine parses a line of the router's: setup (false) or a step of
// the script (true).
func (p *parser) routingLine(tst *Test, st *Step, kw lang.Token) bool {
	switch kw.Text {
	case "worker":
		p.worker(tst, kw)
		return false
	case "last_worker":
		tst.Setup.LastWorker = p.name("the worker's id")
		return false
	case "accept", "reject", "timeout", "complete", "wrapup":
		if t := p.peek(); t.Kind == lang.Ident || t.Kind == lang.String || t.Kind == lang.RawString {
			st.Name = p.name("the worker's id")
		}
	case "activity":
		st.Name = p.name("the worker's id")
		at := p.peek()
		a := p.name("the activity (available, break, offline, busy…)")
		p.activityUse(a, at.Span)
		st.Text = &a
	case "update":
		st.Name = p.name("the worker's id")
		st.Change = p.workerFields(st.Name, kw.Span)
	case "router":
		if tst.Setup.Router != nil {
			p.errorf(kw.Span, "a second `router` line (one per test)")
		}
		tst.Setup.Router = p.routerLine(kw)
		return false
	case "transfer":
		m := p.ident("`cold` or `warm`")
		if m.Text != "cold" && m.Text != "warm" {
			p.errorf(m.Span, "transfer: want `cold` or `warm`, found `%s`", m.Text)
		}
		st.What = m.Text
		k := p.ident("`queue` or `worker`")
		if k.Text != "queue" && k.Text != "worker" {
			p.errorf(k.Span, "transfer: want `queue NAME` or `worker ID`, found `%s`", k.Text)
		}
		st.Value = map[string]any{k.Text: p.name("the destination " + k.Text)}
	}
	return true
}

// expectation parses the rest of an `expect` line into st.
func (p *parser) expectation(st *Step, kw lang.Token) {
	k := p.ident("what to expect (send, say, play, hangup, enqueue, route, worker, http, function, gather, record, dial, end or fail)")
	st.What = k.Text
	switch k.Text {
	case "send", "say", "play", "fail":
		t := p.peek()
		if t.Is("matches") && t.Kind == lang.Ident {
			p.next()
			s, span := p.str("a regular expression")
			re, err := regexp.Compile(s)
			if err != nil {
				p.errorf(span, "bad regular expression: %v", err)
			}
			st.Re = re
		} else if t.Kind == lang.String || t.Kind == lang.RawString {
			s, _ := p.str("the text")
			st.Text = &s
		} else if k.Text != "fail" {
			p.errorf(t.Span, "expected the text (a quoted string, or `matches` and a regular expression), found %s", describe(t))
		}
		if k.Text == "send" && p.peek().Is("{") {
			st.Value = p.mapValue()
			for k := range st.Value {
				if k != "template" && k != "variables" && k != "choices" {
					p.errorf(kw.Span, "expect send: unknown field %q (want template, variables, choices)", k)
				}
			}
			if c, ok := st.Value["choices"]; ok {
				if _, err := expectedChoices(c); err != nil {
					p.errorf(kw.Span, "expect send: %v", err)
				}
			}
		}
	case "enqueue":
		st.Name = p.ident("the workflow's name").Text
		st.Value = map[string]any{}
		if p.peek().Is("{") {
			st.Value = p.mapValue()
		}
		for k := range st.Value {
			if k != "attributes" && k != "priority" && k != "channel" {
				p.errorf(kw.Span, "expect enqueue: unknown field %q (want attributes, priority, channel)", k)
			}
		}
	case "http", "function", "gather", "record", "dial":
		st.Name = p.ident("the step's name").Text
		st.Value = p.mapValue()
		for key := range st.Value {
			if !slices.Contains(requestFields[k.Text], key) {
				p.errorf(k.Span, "expect %s: unknown field %q (want %s)", k.Text, key, strings.Join(requestFields[k.Text], ", "))
			}
		}
	case "route":
		st.Route = p.route(k)
	case "worker":
		st.Name = p.name("the worker's id")
		st.Value = p.mapValue()
		for key, v := range st.Value {
			switch key {
			case "activity":
				a, _ := v.(string)
				p.activityUse(a, k.Span)
			case "load", "capacity", "attributes":
			default:
				p.errorf(k.Span, "expect worker: unknown field %q (want activity, load, capacity, attributes)", key)
			}
		}
	case "hangup", "end":
	default:
		p.errorf(k.Span, "cannot expect `%s` (want send, say, play, hangup, enqueue, route, worker, http, function, gather, record, dial, end or fail)", k.Text)
	}
}

// name parses a name or a quoted string (worker ids, activities).
func (p *parser) name(what string) string {
	t := p.peek()
	if t.Kind == lang.String || t.Kind == lang.RawString {
		s, _ := p.str(what)
		return s
	}
	return p.ident(what).Text
}

// worker parses `worker ID {attributes: {…}, activity: "…", capacity: {…}}`.
func (p *parser) worker(tst *Test, kw lang.Token) {
	w := &Worker{ID: p.name("the worker's id"), Activity: "available", Span: kw.Span}
	for _, o := range tst.Setup.Workers {
		if o.ID == w.ID {
			p.diags.Errorf("T0001", kw.Span, "worker %q is declared twice", w.ID).WithHint("change a worker during the test with `update %s {…}`", w.ID)
			panic(parseError{})
		}
	}
	if p.peek().Is("{") {
		c := p.workerFields(w.ID, kw.Span)
		w.Attributes, w.Capacity = c.Attributes, c.Capacity
		if c.Activity != "" {
			w.Activity = c.Activity
		}
	}
	tst.Setup.Workers = append(tst.Setup.Workers, w)
}

// workerFields parses the map of a `worker` or `update` line.
func (p *parser) workerFields(id string, span diag.Span) *policy.WorkerChange {
	m := p.mapValue()
	c := &policy.WorkerChange{}
	for _, k := range slices.Sorted(maps.Keys(m)) {
		v := m[k]
		switch k {
		case "attributes":
			a, ok := v.(map[string]any)
			if !ok {
				p.errorf(span, "worker %s: attributes must be a map", id)
			}
			c.Attributes = a
		case "activity":
			a, ok := v.(string)
			if !ok {
				p.errorf(span, "worker %s: activity must be a string", id)
			}
			p.activityUse(a, span)
			c.Activity = a
		case "capacity":
			m, ok := v.(map[string]any)
			if !ok {
				p.errorf(span, "worker %s: capacity must be a map of channel to number, as in {chat: 3, voice: 1}", id)
			}
			c.Capacity = map[string]int{}
			for ch, n := range m {
				f, ok := n.(float64)
				if !ok || f < 0 || f != float64(int(f)) {
					p.errorf(span, "worker %s: capacity %s must be a whole number", id, ch)
				}
				c.Capacity[ch] = int(f)
			}
		default:
			p.errorf(span, "worker %s: unknown field %q (want attributes, activity, capacity)", id, k)
		}
	}
	return c
}

// activityUse notes an activity the test names, checked against the
// test's activities once its `router` line, wherever it is, is known.
func (p *parser) activityUse(a string, span diag.Span) {
	p.activities = append(p.activities, activityUse{a, span})
}

type activityUse struct {
	name string
	span diag.Span
}

// checkActivities refuses the activities serve would refuse: the router
// takes an unknown one as unavailable, and the worker would silently never
// get an offer.
func (p *parser) checkActivities(tst *Test) {
	pol := tst.Policy()
	for _, u := range p.activities {
		if err := pol.CheckActivity(u.name); err != nil {
			d := p.diags.Errorf("T0004", u.span, "%v", err)
			if !d.DidYouMean(u.name, slices.Sorted(maps.Keys(pol.Activities))) {
				d.WithHint("declare it as serve's --activity flag does: `router {activities: {%s: \"unavailable\"}}`", u.name)
			}
		}
	}
	p.activities = nil
}

// routerLine parses `router {…}`: serve's routing flags, for this test.
func (p *parser) routerLine(kw lang.Token) *policy.Config {
	m := p.mapValue()
	c := policy.Config{}
	for _, k := range slices.Sorted(maps.Keys(m)) {
		v := m[k]
		switch k {
		case "reservation_timeout", "wrap_up":
			d, ok := v.(time.Duration)
			if !ok || d <= 0 {
				p.errorf(kw.Span, "router: %s must be a duration such as 30s", k)
			}
			if k == "wrap_up" {
				c.WrapUp = d
			} else {
				c.ReservationTimeout = d
			}
		case "reoffer_after":
			d, ok := v.(time.Duration)
			if !ok || d < 0 {
				p.errorf(kw.Span, "router: reoffer_after must be a duration such as 2m, or 0s (never)")
			}
			c.ReofferAfter = d
			if d == 0 {
				c.ReofferAfter = -1 // as serve's --reoffer-after 0
			}
		case "missed_offers":
			f, ok := v.(float64)
			if !ok || f != float64(int(f)) || f == 0 || f < -1 {
				p.errorf(kw.Span, "router: missed_offers must be a whole number of offers, or -1 (never)")
			}
			c.MissedLimit = int(f)
		case "activities":
			as, ok := v.(map[string]any)
			if !ok {
				p.errorf(kw.Span, "router: activities must be a map, as in {lunch: \"unavailable\"}")
			}
			c.Activities = policy.DefaultActivities()
			for name, kind := range as {
				if kind != "available" && kind != "unavailable" {
					p.errorf(kw.Span, "router: activity %s must be \"available\" or \"unavailable\"", name)
				}
				c.Activities[name] = kind == "available"
			}
		default:
			p.errorf(kw.Span, "router: unknown field %q (want reservation_timeout, wrap_up, missed_offers, reoffer_after, activities)", k)
		}
	}
	c = c.WithDefaults()
	return &c
}

// route parses the rest of `expect route [queue Q|none] [worker W|none] [priority N]`.
func (p *parser) route(k lang.Token) *Route {
	rt := &Route{}
	for {
		t := p.peek()
		if t.Kind != lang.Ident {
			break
		}
		switch t.Text {
		case "queue", "worker":
			p.next()
			n := p.name("a " + t.Text + " name, or `none`")
			if n == "none" {
				n = ""
			}
			if t.Text == "queue" {
				if rt.Queue != nil {
					p.errorf(t.Span, "expect route: queue given twice")
				}
				rt.Queue = &n
			} else {
				if rt.Worker != nil {
					p.errorf(t.Span, "expect route: worker given twice")
				}
				rt.Worker = &n
			}
		case "priority":
			p.next()
			v := p.value()
			f, ok := v.(float64)
			if !ok {
				p.errorf(t.Span, "expect route: priority must be a number")
			}
			rt.Priority = &f
		default:
			p.errorf(t.Span, "expect route: unexpected `%s` (want queue, worker or priority)", t.Text)
		}
	}
	if rt.Queue == nil && rt.Worker == nil && rt.Priority == nil {
		p.errorf(k.Span, "expect route needs `queue NAME`, `worker NAME` or `priority N` (`none` for no queue or no worker)")
	}
	return rt
}

// requestFields are what `expect http|function|gather|record|dial` check.
var requestFields = map[string][]string{
	"http":     {"method", "url", "headers", "json", "body"},
	"function": {"args"},
	"gather":   {"prompt", "digits", "finish_on", "speech", "timeout", "voice", "language"},
	"record":   {"max_length", "transcribe", "timeout"},
	"dial":     {"number", "caller_id", "timeout", "record"},
}

var mockFields = map[string][]string{
	"http":     {"status", "json", "body", "headers", "error", "latency"},
	"function": {"value", "error", "latency"},
	"send":     {"error"},
	"record":   {"url", "duration", "transcript", "id", "key", "error"},
	"dial":     {"status", "duration"},
}

func (p *parser) checkKeys(st *Step, span diag.Span) {
	for k := range st.Value {
		ok := false
		for _, f := range mockFields[st.What] {
			ok = ok || f == k
		}
		if !ok {
			p.errorf(span, "mock %s: unknown field %q (want %s)", st.What, k, strings.Join(mockFields[st.What], ", "))
		}
	}
}

func (p *parser) duration() time.Duration {
	t := p.next()
	if t.Kind != lang.Duration {
		p.errorf(t.Span, "expected a duration such as 30s, 5m or 1h30m, found %s", describe(t))
	}
	d, err := time.ParseDuration(t.Text)
	if err != nil {
		p.errorf(t.Span, "bad duration: %v", err)
	}
	return d
}

func (p *parser) skipNL() {
	for p.peek().Kind == lang.Newline {
		p.i++
	}
}

func (p *parser) mapValue() map[string]any {
	t := p.peek()
	if !t.Is("{") {
		p.errorf(t.Span, "expected a map `{key: value, ...}`, found %s", describe(t))
	}
	return p.value().(map[string]any)
}

// value parses a literal: a string, number, duration, true, false, null,
// a list [a, b] or a map {key: value}.
func (p *parser) value() any {
	p.skipNL()
	t := p.next()
	switch t.Kind {
	case lang.String, lang.RawString:
		s, ok := unquote(t)
		if !ok {
			p.errorf(t.Span, "bad string %s", t.Text)
		}
		return s
	case lang.Number:
		f, err := strconv.ParseFloat(strings.ReplaceAll(t.Text, "_", ""), 64)
		if err != nil {
			p.errorf(t.Span, "bad number %s", t.Text)
		}
		return f
	case lang.Duration:
		d, err := time.ParseDuration(t.Text)
		if err != nil {
			p.errorf(t.Span, "bad duration: %v", err)
		}
		return d
	case lang.Ident:
		switch t.Text {
		case "true":
			return true
		case "false":
			return false
		case "null", "nil":
			return nil
		}
		p.errorf(t.Span, "unexpected name `%s` in a value (quote strings)", t.Text)
	case lang.Punct:
		switch t.Text {
		case "-":
			n := p.next()
			if n.Kind != lang.Number {
				p.errorf(n.Span, "expected a number after `-`")
			}
			f, _ := strconv.ParseFloat(strings.ReplaceAll(n.Text, "_", ""), 64)
			return -f
		case "[":
			list := []any{}
			for {
				p.skipNL()
				if p.peek().Is("]") {
					p.next()
					return list
				}
				list = append(list, p.value())
				nl := p.peek().Kind == lang.Newline
				p.skipNL()
				if p.peek().Is(",") {
					p.next()
				} else if !p.peek().Is("]") && !nl {
					p.errorf(p.peek().Span, "expected `,` or `]`, found %s", describe(p.peek()))
				}
			}
		case "{":
			m := map[string]any{}
			for {
				p.skipNL()
				k := p.next()
				if k.Is("}") && k.Kind == lang.Punct {
					return m
				}
				var key string
				switch k.Kind {
				case lang.Ident:
					key = k.Text
				case lang.String, lang.RawString:
					key, _ = unquote(k)
				default:
					p.errorf(k.Span, "expected a key, found %s", describe(k))
				}
				p.expectPunct(":")
				m[key] = p.value()
				nl := p.peek().Kind == lang.Newline
				p.skipNL()
				if p.peek().Is(",") {
					p.next()
				} else if !p.peek().Is("}") && !nl {
					p.errorf(p.peek().Span, "expected `,` or `}`, found %s", describe(p.peek()))
				}
			}
		}
	}
	p.errorf(t.Span, "expected a value, found %s", describe(t))
	return nil
}
