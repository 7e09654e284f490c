// Package studio converts Twilio Studio flow definitions (the JSON export
// of a flow, v2 or the legacy v1 shape) to Switchboard's flow language.
//
// Convert maps each widget to a step (see docs/LANGUAGE.md, "From Twilio
// Studio"), Split Based On conditions to guards, and Liquid templates to
// ${…} interpolations. What has no equivalent is kept as a `# TODO:`
// comment above its step and reported as a Warning; the step still gets
// valid outcomes. The result is formatted and compiled: Convert returns an
// error when it does not compile.
package studio

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/switchboard-dev/switchboard/compiler"
	"github.com/switchboard-dev/switchboard/diag"
	"github.com/switchboard-dev/switchboard/lang"
)

// Warning is something of the export that was not converted, or not
// exactly.
type Warning struct {
	Widget  string // the Studio widget's name; "" for the whole flow
	Message string
}

func (w Warning) String() string {
	if w.Widget == "" {
		return w.Message
	}
	return fmt.Sprintf("widget %s: %s", w.Widget, w.Message)
}

// CompileError is returned when the converted source does not compile; it
// holds the source and the diagnostics.
type CompileError struct {
	Src   []byte
	Diags diag.List
}

func (e *CompileError) Error() string {
	var b strings.Builder
	b.WriteString("the converted flow does not compile:")
	for _, d := range e.Diags {
		if d.Severity == diag.Error {
			b.WriteString("\n  " + d.Error())
		}
	}
	return b.String()
}

type transition struct {
	Event      string      `json:"event"`
	Next       any         `json:"next"`
	Conditions []condition `json:"conditions"`
}

type condition struct {
	FriendlyName string `json:"friendly_name"`
	Arguments    []any  `json:"arguments"`
	Type         string `json:"type"`
	Value        any    `json:"value"`
}

type state struct {
	Name        string         `json:"name"`
	Sid         string         `json:"sid"`
	Type        string         `json:"type"`
	Transitions []transition   `json:"transitions"`
	Properties  map[string]any `json:"properties"`
	next        map[string]string
	// notes are what the export itself gets wrong about the widget (a
	// transition to no widget), reported as TODOs on its step.
	notes []string
}

type export struct {
	Description  string   `json:"description"`
	States       []*state `json:"states"`
	InitialState string   `json:"initial_state"`
}

// legacyTypes maps the v1 API's PascalCase types.
var legacyTypes = map[string]string{
	"InitialState": "trigger", "Trigger": "trigger", "Gather": "gather-input-on-call", "SayPlay": "say-play",
	"Branch": "split-based-on", "Split": "split-based-on", "Message": "send-message", "SendMessage": "send-message",
	"SendAndWaitForReply": "send-and-wait-for-reply", "Function": "run-function", "ConnectCaller": "connect-call-to",
	"ConnectCallTo": "connect-call-to", "Record": "record-voicemail", "RecordVoicemail": "record-voicemail",
	"Pay": "capture-payments", "SetVariables": "set-variables", "HttpRequest": "make-http-request",
	"MakeHttpRequest": "make-http-request", "Enqueue": "enqueue-call", "EnqueueCall": "enqueue-call",
	"SendToFlex": "send-to-flex", "Subflow": "run-subflow", "RunSubflow": "run-subflow", "RecordCall": "record-call",
}

// Convert converts a Studio flow definition. Warnings list what was kept as
// TODO comments; err says why the export could not be read, or why the
// result does not compile (a *CompileError, with the source).
func Convert(data []byte) (src []byte, warnings []Warning, err error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, nil, fmt.Errorf("not a Studio flow definition: %v", jsonErr(data, err))
	}
	if def, ok := raw["definition"]; ok && raw["states"] == nil { // a Flow resource from the REST API
		data = def
	}
	var ex export
	if err := json.Unmarshal(data, &ex); err != nil {
		return nil, nil, fmt.Errorf("not a Studio flow definition: %v", jsonErr(data, err))
	}
	if len(ex.States) == 0 {
		return nil, nil, errors.New("not a Studio flow definition: no \"states\"")
	}
	// A step the converted flow never reaches (the only transitions to
	// it dropped or merged into another's) would be a compiler warning:
	// the conversion runs again without its widget.
	excluded := map[string]bool{}
	for pass := 0; ; pass++ {
		var ex export
		_ = json.Unmarshal(data, &ex) // read above
		c := &conv{ex: &ex, byName: map[string]*state{}, excluded: excluded}
		if err := c.normalize(); err != nil {
			return nil, nil, err
		}
		out := c.run()
		formatted, diags := lang.FormatSource("studio.flow", out)
		if diags.HasErrors() {
			return out, c.warnings, &CompileError{Src: out, Diags: diags}
		}
		prog, diags := compiler.CompileSources([]compiler.Source{{Name: "studio.flow", Src: formatted}}, compiler.Options{})
		if diags.HasErrors() {
			return formatted, c.warnings, &CompileError{Src: formatted, Diags: diags}
		}
		more := c.unreached(prog, diags)
		if len(more) == 0 || pass == 10 { // each pass leaves out at least one widget
			return formatted, c.warnings, nil
		}
		for _, k := range more {
			excluded[k] = true
		}
	}
}

// unreached returns the widgets whose steps the compiler found never
// reached, as flow and widget name keys of conv.excluded.
func (c *conv) unreached(prog *compiler.Program, diags diag.List) []string {
	var out []string
	for _, d := range diags {
		if d.Code != "W0001" || prog == nil {
			continue
		}
		for _, fl := range prog.Flows {
			for _, st := range fl.States {
				if d.Span.Start.Offset >= st.Span.Start.Offset && d.Span.Start.Offset < st.Span.End.Offset {
					if w, ok := c.stepWidget[fl.Name+"\x00"+st.Name]; ok {
						out = append(out, fl.Name+"\x00"+w)
					}
				}
			}
		}
	}
	return out
}

func jsonErr(data []byte, err error) error {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		line := 1 + bytes.Count(data[:min(int(se.Offset), len(data))], []byte("\n"))
		return fmt.Errorf("line %d: %v", line, err)
	}
	return err
}

type conv struct {
	ex       *export
	byName   map[string]*state
	warnings []Warning
	// program-level declarations
	workflows   map[string]string // workflow key -> name
	decls       []string
	globalNames map[string]bool
	subflows    map[string]*subflowStub
	subOrder    []string
	// subInputs are the input names of each Studio subflow (by SID) that
	// a Run Subflow passes: the subflow's outputs are named apart from them.
	subInputs map[string]map[string]bool
	// excluded are the widgets left out of a flow (flow and widget name,
	// NUL-separated): an earlier conversion left their steps unreached.
	excluded map[string]bool
	// stepWidget is the widget each step stands for, by flow and step name.
	stepWidget map[string]string
}

type subflowStub struct {
	name    string
	sid     string
	inputs  map[string]bool
	outputs map[string]bool
	// outNames are the output names by the Studio variable they stand for.
	outNames map[string]string
}

// subflowInput is the input name a Run Subflow parameter key becomes.
func subflowInput(key string) string {
	k := lowerSnake(key)
	if k == "" || reserved[k] {
		k = "in_" + k
	}
	return k
}

// subflowOutput returns the stub's output for the variable key of the Studio
// subflow: its name, unless an input has it (an output and an input of a
// flow share one set of names).
func (c *conv) subflowOutput(s *subflowStub, key string) string {
	if n, ok := s.outNames[key]; ok {
		return n
	}
	out := lowerSnake(key)
	if out == "" || reserved[out] {
		out = "out_" + out
	}
	taken := func(n string) bool {
		if c.subInputs[s.sid][n] {
			return true
		}
		for k, o := range s.outNames {
			if o == n && k != key {
				return true
			}
		}
		return false
	}
	base := out
	if taken(out) {
		base = out + "_out"
		out = base
	}
	for i := 2; taken(out); i++ {
		out = fmt.Sprintf("%s_%d", base, i)
	}
	s.outNames[key] = out
	s.outputs[out] = true
	return out
}

func str(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func (c *conv) normalize() error {
	bySid := map[string]string{}
	for i, s := range c.ex.States {
		if s.Name == "" {
			return fmt.Errorf("state %d has no name", i+1)
		}
		if c.byName[s.Name] != nil {
			return fmt.Errorf("two widgets are named %q", s.Name)
		}
		c.byName[s.Name] = s
		if s.Sid != "" {
			bySid[s.Sid] = s.Name
		}
		if t, ok := legacyTypes[s.Type]; ok {
			s.Type = t
		}
		if s.Properties == nil {
			s.Properties = map[string]any{}
		}
	}
	for _, s := range c.ex.States {
		s.next = map[string]string{}
		for i := range s.Transitions {
			t := &s.Transitions[i]
			n := str(t.Next)
			if name, ok := bySid[n]; ok {
				n = name
			}
			if n != "" && c.byName[n] == nil {
				// Studio refuses to publish such a flow, but exports of
				// drafts have them: the branch ends, as an unwired one.
				s.notes = append(s.notes, fmt.Sprintf("the `%s` transition goes to %q, which is not a widget of the export: it ends the execution", t.Event, n))
				n = ""
			}
			t.Next = n
			if _, seen := s.next[t.Event]; !seen || t.Event != "match" {
				s.next[t.Event] = n
			}
		}
	}
	if c.ex.InitialState == "" || c.byName[c.ex.InitialState] == nil {
		for _, s := range c.ex.States {
			if s.Type == "trigger" {
				c.ex.InitialState = s.Name
			}
		}
	} else if name, ok := bySid[c.ex.InitialState]; ok {
		c.ex.InitialState = name
	}
	if c.byName[c.ex.InitialState] == nil || c.byName[c.ex.InitialState].Type != "trigger" {
		return errors.New("the export has no trigger widget (initial_state)")
	}
	return nil
}

func (c *conv) warn(widget, format string, args ...any) {
	c.warnings = append(c.warnings, Warning{widget, fmt.Sprintf(format, args...)})
}

var triggerKinds = []struct{ event, kind, suffix string }{
	{"incomingMessage", "message", "message"},
	{"incomingConversationMessage", "message", "conversation"},
	{"incomingCall", "call", "call"},
	{"incomingRequest", "api", "api"},
	{"incomingParent", "subflow", "subflow"},
}

func (c *conv) run() []byte {
	c.workflows = map[string]string{}
	c.globalNames = map[string]bool{}
	c.subflows = map[string]*subflowStub{}
	c.subInputs = map[string]map[string]bool{}
	c.stepWidget = map[string]string{}
	for _, s := range c.ex.States {
		if s.Type != "run-subflow" {
			continue
		}
		sid := str(s.Properties["flow_sid"])
		if c.subInputs[sid] == nil {
			c.subInputs[sid] = map[string]bool{}
		}
		params, _ := s.Properties["parameters"].([]any)
		for _, v := range params {
			m, _ := v.(map[string]any)
			c.subInputs[sid][subflowInput(str(m["key"]))] = true
		}
	}
	trig := c.byName[c.ex.InitialState]
	base := lowerSnake(c.ex.Description)
	if len(base) > 40 {
		base = strings.TrimRight(base[:40], "_")
	}
	if base == "" || reserved[base] {
		base = "studio_flow"
	}
	type entry struct{ event, kind, suffix, next string }
	var entries []entry
	for _, tk := range triggerKinds {
		if n := trig.next[tk.event]; n != "" {
			entries = append(entries, entry{tk.event, tk.kind, tk.suffix, n})
		}
	}
	for ev := range trig.next {
		known := false
		for _, tk := range triggerKinds {
			known = known || tk.event == ev
		}
		if !known && trig.next[ev] != "" {
			c.warn(trig.Name, "trigger event %q has no equivalent; it was left out", ev)
		}
	}
	var b strings.Builder
	if len(entries) == 0 {
		c.warn(trig.Name, "no trigger event is wired: the flow does nothing")
		fmt.Fprintf(&b, "# TODO: the Studio flow's trigger has no wired event\nflow %s {\n  trigger message\n  nothing: switch { default -> done }\n}\n", base)
		return []byte(b.String())
	}
	reached := map[string]bool{trig.Name: true}
	names := map[string]bool{}
	for i, e := range entries {
		name := base
		if len(entries) > 1 {
			name = base + "_" + e.suffix
		}
		for names[name] {
			name += "_2"
		}
		names[name] = true
		c.globalNames[name] = true
		states := c.reach(e.next)
		for _, s := range states {
			reached[s.Name] = true
		}
		var leftOut []string
		if i == len(entries)-1 {
			// A step no path reaches would only be a compiler warning:
			// the widget is named, and left out.
			for _, s := range c.ex.States {
				if !reached[s.Name] {
					leftOut = append(leftOut, fmt.Sprintf("%s (%s)", s.Name, s.Type))
					c.warn(s.Name, "not reachable from the trigger: left out")
				}
			}
		}
		fc := newFlowConv(c, name, e.kind, states)
		for _, s := range states {
			if c.excluded[name+"\x00"+s.Name] {
				leftOut = append(leftOut, fmt.Sprintf("%s (%s)", s.Name, s.Type))
				fc.skip[s.Name] = true
			}
		}
		fc.findReads()
		if len(leftOut) > 0 {
			fc.header = append(fc.header, "left out, as no path reaches them: "+strings.Join(leftOut, ", "))
		}
		if e.event == "incomingConversationMessage" && len(entries) > 1 {
			for _, o := range entries {
				if o.event == "incomingMessage" {
					c.warn(trig.Name, "incomingMessage and incomingConversationMessage both become a message flow; set `channels` on each")
				}
			}
		}
		b.WriteString(fc.render())
		b.WriteString("\n")
	}
	for _, k := range c.subOrder {
		s := c.subflows[k]
		fmt.Fprintf(&b, "# TODO: a stub for the Studio subflow %s: write it, or replace it with the flow it stands for\nflow %s {\n  trigger subflow\n", s.sid, s.name)
		for _, n := range sortedKeys(s.inputs) {
			fmt.Fprintf(&b, "  input %s: any = nil\n", n)
		}
		for _, n := range sortedKeys(s.outputs) {
			fmt.Fprintf(&b, "  output %s: any\n", n)
		}
		step := "stub"
		for s.inputs[step] || s.outputs[step] {
			step += "_step"
		}
		fmt.Fprintf(&b, "  %s: switch {\n    default -> done\n  }\n}\n\n", step)
	}
	for _, d := range c.decls {
		b.WriteString(d)
		b.WriteString("\n")
	}
	return []byte(b.String())
}

func sortedKeys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// reach returns the states reachable from start, start first, then in the
// export's order.
func (c *conv) reach(start string) []*state {
	seen := map[string]bool{}
	stack := []string{start}
	for len(stack) > 0 {
		n := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if seen[n] {
			continue
		}
		seen[n] = true
		if c.byName[n].Type == "trigger" {
			continue
		}
		for _, t := range c.byName[n].Transitions {
			if nx := str(t.Next); nx != "" && !seen[nx] {
				stack = append(stack, nx)
			}
		}
	}
	out := []*state{c.byName[start]}
	for _, s := range c.ex.States {
		if seen[s.Name] && s.Name != start && s.Type != "trigger" {
			out = append(out, s)
		}
	}
	return out
}

// globalName allocates a program-level name.
func (c *conv) globalName(want string) string {
	n := lowerSnake(want)
	if n == "" || reserved[n] {
		n = "studio_" + n
	}
	base := n
	for i := 2; c.globalNames[n]; i++ {
		n = fmt.Sprintf("%s_%d", base, i)
	}
	c.globalNames[n] = true
	return n
}

// workflow returns the name of a generated workflow for a Studio workflow
// SID or queue name.
func (c *conv) workflow(widget, sid, queue string) string {
	key := sid + "\x00" + queue
	if n, ok := c.workflows[key]; ok {
		return n
	}
	var wf, q string
	if queue != "" && !hasLiquid(queue) {
		q = c.globalName(queue)
		wf = c.globalName(queue + "_routing")
	} else {
		wf = c.globalName("flex_workflow")
		q = c.globalName("flex_queue")
	}
	c.workflows[key] = wf
	what := "workflow " + sid
	if sid == "" {
		what = "queue " + queue
	}
	c.warn(widget, "the export does not define the TaskRouter %s: generated workflow %s and queue %s (TODO: set their workers)", what, wf, q)
	c.decls = append(c.decls,
		fmt.Sprintf("# TODO: stands for the Studio %s; say which workers belong to the queue\nqueue %s { workers worker.queue == %s }\n\nworkflow %s {\n  default %s\n}\n", what, q, quote(q), wf, q))
	return wf
}

// subflow returns the stub flow for a Studio subflow SID.
func (c *conv) subflow(sid string) *subflowStub {
	if s, ok := c.subflows[sid]; ok {
		return s
	}
	s := &subflowStub{name: c.globalName("subflow_" + sid), sid: sid, inputs: map[string]bool{}, outputs: map[string]bool{}, outNames: map[string]string{}}
	c.subflows[sid] = s
	c.subOrder = append(c.subOrder, sid)
	return s
}

var reserved = map[string]bool{}

func init() {
	for _, w := range strings.Fields(`message contact conversation env vars now open reply digits speech task worker done
		true false nil and or not in matches contains startsWith endsWith let if else
		len count string int float lower upper trim trimPrefix trimSuffix split join replace filter map any all none one
		date duration timezone toJSON fromJSON abs ceil floor round max min sum mean median first last keys values
		type sort sortBy groupBy reduce find findIndex findLast findLastIndex get toBase64 fromBase64 repeat indexOf
		lastIndex hasPrefix hasSuffix upper bitand bitor flatten uniq concat toPairs fromPairs
		flow queue workflow hours trigger channels var input output
		send ask switch set http function enqueue subflow wait say play gather record dial hangup default`) {
		reserved[w] = true
	}
}

// lowerSnake turns a widget name into a valid lower_snake name.
func lowerSnake(s string) string {
	var b strings.Builder
	prevLower := false
	for _, r := range s {
		switch {
		case r >= 'A' && r <= 'Z':
			if prevLower {
				b.WriteByte('_')
			}
			b.WriteRune(r + 'a' - 'A')
			prevLower = false
		case r >= 'a' && r <= 'z' || r >= '0' && r <= '9':
			b.WriteRune(r)
			prevLower = true
		default:
			b.WriteByte('_')
			prevLower = false
		}
	}
	out := b.String()
	for strings.Contains(out, "__") {
		out = strings.ReplaceAll(out, "__", "_")
	}
	out = strings.Trim(out, "_")
	if out != "" && out[0] >= '0' && out[0] <= '9' {
		out = "w_" + out
	}
	return out
}

// duration converts seconds (loosely typed) to a duration literal.
func duration(v any, def string) string {
	n, err := strconv.ParseFloat(strings.TrimSpace(str(v)), 64)
	if err != nil || n <= 0 {
		return def
	}
	s := int(n)
	var b strings.Builder
	if s >= 3600 {
		fmt.Fprintf(&b, "%dh", s/3600)
		s %= 3600
	}
	if s >= 60 {
		fmt.Fprintf(&b, "%dm", s/60)
		s %= 60
	}
	if s > 0 || b.Len() == 0 {
		fmt.Fprintf(&b, "%ds", s)
	}
	return b.String()
}

func truthy(v any) bool {
	switch x := v.(type) {
	case bool:
		return x
	case string:
		return strings.EqualFold(strings.TrimSpace(x), "true")
	case float64:
		return x != 0
	}
	return false
}
