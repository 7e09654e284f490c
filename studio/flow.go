package studio

import (
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// flowConv converts the states of one flow (one trigger event).
type flowConv struct {
	c       *conv
	name    string
	trigger string
	states  []*state
	inFlow  map[string]*state
	step    map[string]string // widget -> step name
	entry   map[string]string // widget -> the step a transition to it goes to
	names   map[string]bool
	vars    map[string]string // Studio key -> var name
	varList []string
	inputs  map[string]string
	inList  []string
	cur     *state
	todos   []string
	// merged maps a Split Based On that only follows an ask or a gather,
	// on its reply, to that widget: its conditions become the step's guards.
	merged  map[string]*state
	splitOf map[string]*state
	guardOf string // the widget whose guards are being written
	// choices are those of the ask whose guards are being written.
	choices []string
	// inOutbound are the widgets whose sent text is being written where
	// it is read (a text that reads its own would never end).
	inOutbound map[string]bool
	// header are TODOs about the whole flow, written above its steps.
	header []string
	// skip are the widgets whose steps are left out: no transition of the
	// converted flow leads to them. They keep their names, so that what
	// the other steps say of them stays true.
	skip map[string]bool
	// readVars are the Studio variables the flow's widgets read
	// ({{flow.variables.X}}); a Set Variables of another is left out.
	readVars map[string]bool
}

var varReadRe = regexp.MustCompile(`flow\.variables\.([A-Za-z0-9_]+)`)

// findReads fills readVars from every text of the flow's widgets.
func (f *flowConv) findReads() {
	f.readVars = map[string]bool{}
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case string:
			for _, m := range varReadRe.FindAllStringSubmatch(x, -1) {
				f.readVars[m[1]] = true
			}
		case map[string]any:
			for _, e := range x {
				walk(e)
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	for _, s := range f.states {
		if f.skip[s.Name] {
			continue
		}
		walk(s.Properties)
		for _, t := range s.Transitions {
			for _, cd := range t.Conditions {
				walk(cd.Arguments)
				walk(cd.Value)
			}
		}
	}
}

// replyEvents are the events of a widget that lead to a split on its input.
var replyEvents = map[string][]string{
	"send-and-wait-for-reply": {"incomingMessage"},
	"gather-input-on-call":    {"keypress", "speech"},
}

var replyInputs = map[string][]string{
	"send-and-wait-for-reply": {"inbound.Body"},
	"gather-input-on-call":    {"Digits", "SpeechResult"},
}

func (f *flowConv) findMerges() {
	f.merged = map[string]*state{}
	f.splitOf = map[string]*state{}
	if len(f.states) == 0 {
		return
	}
	preds := map[string]map[string]bool{}
	for _, s := range f.states {
		for _, t := range s.Transitions {
			if n := str(t.Next); n != "" {
				if preds[n] == nil {
					preds[n] = map[string]bool{}
				}
				preds[n][s.Name] = true
			}
		}
	}
	for _, s := range f.states[1:] {
		if s.Type != "split-based-on" || len(preds[s.Name]) != 1 {
			continue
		}
		var w *state
		for n := range preds[s.Name] {
			w = f.inFlow[n]
		}
		evs, ok := replyEvents[w.Type]
		if !ok || (w.Type == "send-and-wait-for-reply") == (f.trigger == "call") || f.merged[w.Name] != nil {
			continue
		}
		// Only the reply events may lead to the split.
		fits := true
		for _, t := range w.Transitions {
			if str(t.Next) == s.Name && !slicesContains(evs, t.Event) {
				fits = false
			}
		}
		inputs := []string{str(s.Properties["input"])}
		for _, t := range s.Transitions {
			for _, cd := range t.Conditions {
				if len(cd.Arguments) > 0 {
					inputs = append(inputs, str(cd.Arguments[0]))
				}
			}
		}
		for _, in := range inputs {
			ok := false
			for _, suffix := range replyInputs[w.Type] {
				ok = ok || strings.ReplaceAll(in, " ", "") == "{{widgets."+w.Name+"."+suffix+"}}"
			}
			fits = fits && ok
		}
		if fits {
			f.merged[s.Name] = w
			f.splitOf[w.Name] = s
		}
	}
}

func slicesContains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// guards writes the conditions of the split merged into w as guard lines
// and returns where its noMatch goes.
func (f *flowConv) guards(w *state, line func(string, ...any)) string {
	sp := f.splitOf[w.Name]
	saved := f.cur
	f.guardOf = w.Name
	f.cur = sp
	for _, l := range f.matchLines(sp) {
		line("%s", l)
	}
	def := orDone(f.target("noMatch"))
	f.cur = saved
	f.guardOf = ""
	return def
}

func newFlowConv(c *conv, name, trigger string, states []*state) *flowConv {
	f := &flowConv{c: c, name: name, trigger: trigger, states: states, inFlow: map[string]*state{},
		step: map[string]string{}, entry: map[string]string{}, names: map[string]bool{},
		vars: map[string]string{}, inputs: map[string]string{}, skip: map[string]bool{}}
	for _, s := range states {
		f.inFlow[s.Name] = s
	}
	f.findReads()
	f.findMerges()
	for _, s := range states {
		if f.merged[s.Name] != nil {
			continue
		}
		f.step[s.Name] = f.alloc(s.Name)
		f.entry[s.Name] = f.step[s.Name]
	}
	for _, s := range states {
		if s.Type == "gather-input-on-call" && str(s.Properties["play"]) != "" && trigger == "call" {
			f.entry[s.Name] = f.alloc(s.Name + "_prompt")
		}
	}
	if c.stepWidget != nil {
		for w, st := range f.step {
			c.stepWidget[name+"\x00"+st] = w
		}
		for w, st := range f.entry {
			c.stepWidget[name+"\x00"+st] = w
		}
	}
	return f
}

func (f *flowConv) alloc(want string) string {
	n := lowerSnake(want)
	if n == "" {
		n = "step"
	}
	if reserved[n] {
		n += "_step"
	}
	base := n
	for i := 2; f.names[n]; i++ {
		n = fmt.Sprintf("%s_%d", base, i)
	}
	f.names[n] = true
	return n
}

// varName is the var a Studio variable becomes; in a subflow, the output
// (named apart from the inputs as in a generated stub: NAME_out).
func (f *flowConv) varName(key string) string {
	if n, ok := f.vars[key]; ok {
		return n
	}
	if f.trigger != "subflow" {
		return f.nameIn(f.vars, &f.varList, key)
	}
	want := key
	if f.names[lowerSnake(key)] {
		want = key + "_out"
	}
	n := f.alloc(want)
	f.vars[key] = n
	f.varList = append(f.varList, n)
	if n != lowerSnake(key) {
		f.todo("the variable `%s` is the output %s (its name is taken): the flow that runs this subflow reads it as STEP.outputs.%s", key, n, n)
	}
	return n
}

func (f *flowConv) inputName(key string) string {
	if f.trigger != "subflow" {
		f.todo("`trigger.parent.parameters.%s` is only defined in a subflow; it became nil", key)
		return "nil"
	}
	return f.nameIn(f.inputs, &f.inList, key)
}

// nameIn returns key's name in names, allocating it the first time and
// keeping the order of first use in list.
func (f *flowConv) nameIn(names map[string]string, list *[]string, key string) string {
	if n, ok := names[key]; ok {
		return n
	}
	n := f.alloc(key)
	names[key] = n
	*list = append(*list, n)
	return n
}

func (f *flowConv) todo(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	for _, t := range f.todos {
		if t == msg {
			return
		}
	}
	f.todos = append(f.todos, msg)
	widget := ""
	if f.cur != nil {
		widget = f.cur.Name
	}
	f.c.warn(widget, "%s", msg)
}

// target is where a transition of the current widget goes.
func (f *flowConv) target(event string) string {
	n := f.cur.next[event]
	if n == "" {
		return ""
	}
	return f.goTo(n)
}

// goTo is the step a transition to widget n goes to.
func (f *flowConv) goTo(n string) string {
	if e, ok := f.entry[n]; ok {
		return e
	}
	f.todo("a transition goes to %q, which is not a step of this flow (the trigger?); it ends the execution", n)
	return "done"
}

func orDone(t string) string {
	if t == "" {
		return "done"
	}
	return t
}

// widgetRef converts {{widgets.W.…}}.
func (f *flowConv) widgetRef(s string, p []string, rest func(string, int) string) string {
	if len(p) < 2 {
		f.todo("Liquid variable `%s` has no equivalent; it became nil", s)
		return "nil"
	}
	w := f.inFlow[p[1]]
	if w == nil {
		f.todo("`{{%s}}` reads a widget that does not run in this flow; it became nil", s)
		return "nil"
	}
	st := f.step[w.Name]
	if f.guardOf == w.Name {
		switch strings.Join(p[2:], ".") {
		case "inbound.Body":
			if f.choices != nil {
				return choiceOrText
			}
			return "reply.text"
		case "Digits":
			return "digits"
		case "SpeechResult":
			return "speech"
		}
	}
	at := func(i int) string {
		if i < len(p) {
			return p[i]
		}
		return ""
	}
	if e, ok := f.voiceOutput(s, w, p, rest); ok {
		return e
	}
	switch w.Type {
	case "send-and-wait-for-reply":
		if at(2) == "inbound" {
			switch at(3) {
			case "Body":
				return st + ".reply?.text"
			case "From":
				return st + ".reply?.from"
			case "To":
				return st + ".reply?.to"
			case "MessageSid":
				return st + ".reply?.id"
			}
			return rest(st+".reply?.attributes", 3)
		}
		if e, ok := f.outbound(s, w, at(2), at(3)); ok {
			return e
		}
	case "send-message":
		if e, ok := f.outbound(s, w, at(2), at(3)); ok {
			return e
		}
	case "make-http-request", "run-function", "run-function-v2":
		switch at(2) {
		case "parsed":
			return rest(st+".json", 3)
		case "body":
			return st + ".body"
		case "status_code":
			return st + ".status"
		}
	case "run-subflow":
		if at(2) != "" {
			sf := f.c.subflow(str(w.Properties["flow_sid"]))
			return rest(st+".outputs."+f.c.subflowOutput(sf, at(2)), 3)
		}
	case "set-variables":
		if at(2) != "" {
			return rest(f.varName(at(2)), 3)
		}
	case "send-to-flex", "enqueue-call", "create-task":
		if strings.EqualFold(at(2), "sid") {
			return st + ".task?.id"
		}
	}
	f.todo("`{{%s}}` has no equivalent; it became nil", s)
	return "nil"
}

// outbound converts {{widgets.W.outbound.KEY}} (s) of a message widget w:
// the message it sent, which a step does not keep, is written again from
// the widget's settings. ok is false for keys without equivalent (Sid,
// Status).
func (f *flowConv) outbound(s string, w *state, part, key string) (string, bool) {
	if part != "outbound" || f.inOutbound[w.Name] {
		return "", false
	}
	if f.inOutbound == nil {
		f.inOutbound = map[string]bool{}
	}
	f.inOutbound[w.Name] = true
	defer delete(f.inOutbound, w.Name)
	switch key {
	case "Body":
		body := str(w.Properties["body"])
		if hasLiquid(body) {
			f.todo("`{{%s}}` is the text widget %s sent, computed again here: it differs if what it reads has changed since", s, w.Name)
		}
		return f.template(body), true
	case "To":
		if to := strings.TrimSpace(str(w.Properties["to"])); to != "" {
			return f.exprOf(to), true
		}
		return "message.from", true
	case "From":
		return "message.to", true
	}
	return "", false
}

// voiceKinds are only allowed in call flows.
var voiceKinds = map[string]bool{"say-play": true, "gather-input-on-call": true, "record-voicemail": true, "connect-call-to": true, "enqueue-call": true}

func (f *flowConv) render() string {
	var body strings.Builder
	for _, s := range f.states {
		if f.merged[s.Name] != nil {
			continue
		}
		if f.skip[s.Name] {
			f.c.warn(s.Name, "no transition of the converted flow leads to it (they were dropped or merged: see the other warnings): left out")
			continue
		}
		f.cur = s
		f.todos = nil
		for _, n := range s.notes {
			f.todo("%s", n)
		}
		text := f.convert(s)
		for _, t := range f.todos {
			body.WriteString("  # TODO: " + strings.ReplaceAll(t, "\n", " ") + "\n")
		}
		body.WriteString(text)
		body.WriteString("\n")
	}
	f.cur = nil
	var b strings.Builder
	fmt.Fprintf(&b, "flow %s {\n  trigger %s\n", f.name, f.trigger)
	for _, in := range f.inList {
		fmt.Fprintf(&b, "  input %s: any = nil\n", in)
	}
	// A subflow's variables are what its parent reads: outputs.
	role := "var"
	if f.trigger == "subflow" {
		role = "output"
	}
	for _, v := range f.varList {
		fmt.Fprintf(&b, "  %s %s: any\n", role, v)
	}
	b.WriteString("\n")
	for _, h := range f.header {
		b.WriteString("  # TODO: " + h + "\n")
	}
	b.WriteString(body.String())
	b.WriteString("}\n")
	return b.String()
}

// convert returns the step for one widget (without its TODO lines).
func (f *flowConv) convert(s *state) string {
	w := &widget{f: f, s: s, name: f.step[s.Name], p: s.Properties, isCall: f.trigger == "call"}
	if voiceKinds[s.Type] && !w.isCall {
		return f.stub(s, fmt.Sprintf("`%s` is a call widget and this is a %s flow", s.Type, f.trigger))
	}
	if conv := widgetKinds[s.Type]; conv != nil {
		return conv(w)
	}
	if why, ok := unsupportedWidget(s); ok {
		return f.stub(s, why)
	}
	return f.stub(s, fmt.Sprintf("unknown widget type %q", s.Type))
}

// c2 is the identity; a hook for typed contexts.
func (f *flowConv) c2(e string) string { return e }

// parenMap puts a map literal argument in parentheses.
func parenMap(e string) string {
	if strings.HasPrefix(e, "{") {
		return "(" + e + ")"
	}
	return e
}

func (f *flowConv) ignored(s *state, keys ...string) {
	var got []string
	for _, k := range keys {
		if v := str(s.Properties[k]); v != "" {
			switch {
			case k == "from" && strings.TrimSpace(v) == "{{flow.channel.address}}",
				k == "service" || k == "channel", k == "message_type" && v == "custom",
				k == "attributes" && strings.TrimSpace(v) == "":
				continue
			case k == "loop" && v == "1", k == "profanity_filter", k == "gather_language", k == "finish_on_key" && v == "#":
				continue
			}
			got = append(got, k)
		}
	}
	if len(got) > 0 {
		f.todo("%s: no equivalent, left out", strings.Join(got, ", "))
	}
}

// stub is a step standing for a widget without equivalent: a switch whose
// default takes the first wired transition and keeps the others reachable
// through guards that are never true.
func (f *flowConv) stub(s *state, why string) string {
	if why != "" {
		f.todo("%s widget %q (%s): %s", s.Type, s.Name, eventsOf(s), why)
	}
	var b strings.Builder
	def := ""
	seen := map[string]bool{}
	for _, t := range s.Transitions {
		n := str(t.Next)
		if n == "" {
			continue
		}
		if f.leadsBack(n, s.Name) {
			// The switch would be part of a loop that never waits.
			f.todo("the `%s` transition (to %s) was dropped: it leads back to this widget through steps that do not wait", t.Event, n)
			continue
		}
		tg := f.goTo(n)
		if def == "" {
			def = tg
			seen[tg] = true
			continue
		}
		if !seen[tg] {
			seen[tg] = true
			fmt.Fprintf(&b, "    false -> %s // was the %s transition\n", tg, t.Event)
		}
	}
	return "  " + f.step[s.Name] + ": switch {\n" + b.String() + "    default -> " + orDone(def) + "\n  }\n"
}

func eventsOf(s *state) string {
	var ev []string
	for _, t := range s.Transitions {
		if n := str(t.Next); n != "" {
			ev = append(ev, t.Event+" -> "+n)
		}
	}
	if len(ev) == 0 {
		return "no wired events"
	}
	return strings.Join(ev, ", ")
}

// http writes the request lines of an http step.
func (f *flowConv) http(s *state, line func(string, ...any), url, method string, params any, ctype, body string) {
	switch method {
	case "get", "post", "put", "patch", "delete":
	case "":
		method = "get"
	default:
		f.todo("method %s has no equivalent; it became post", method)
		method = "post"
	}
	var kv []string
	ps, _ := params.([]any)
	for _, v := range ps {
		m, _ := v.(map[string]any)
		k := str(m["key"])
		if k == "" {
			continue
		}
		key := k
		if !identRe.MatchString(k) {
			key = quote(k)
		}
		kv = append(kv, key+": "+f.exprOf(str(m["value"])))
	}
	u := f.template(url)
	if method == "get" && len(kv) > 0 {
		// Studio sends the parameters of a GET as the query string.
		var q []string
		for _, v := range ps {
			m, _ := v.(map[string]any)
			if k := str(m["key"]); k != "" {
				e := f.exprOf(str(m["value"]))
				if strings.HasPrefix(e, `"`) && !strings.Contains(e, "${") {
					q = append(q, k+"="+e[1:len(e)-1])
				} else {
					q = append(q, k+"=${"+e+"}")
				}
			}
		}
		sep := "?"
		if strings.Contains(url, "?") {
			sep = "&"
		}
		u = u[:len(u)-1] + sep + strings.Join(q, "&") + `"`
		f.todo("the query parameters are not URL-encoded")
		kv = nil
	}
	line("%s %s", method, u)
	if truthy(s.Properties["add_twilio_auth"]) || truthy(s.Properties["send_twilio_credentials"]) {
		f.todo("authenticating with Twilio: set an Authorization header")
	}
	json := strings.Contains(strings.ToLower(ctype), "json")
	switch {
	case strings.TrimSpace(body) != "":
		if json {
			line("json %s", f.jsonExpr(body))
		} else {
			line("headers {\"Content-Type\": %s}", quote(ctype))
			line("body %s", f.template(body))
		}
	case len(kv) > 0:
		if json {
			line("json {%s}", strings.Join(kv, ", "))
		} else {
			line("form {%s}", strings.Join(kv, ", "))
		}
	}
}

var lqRe = regexp.MustCompile(`(?s)\{\{.*?\}\}|\{%.*?%\}`)

// jsonExpr converts a JSON text with Liquid inside to an expr-lang value.
func (f *flowConv) jsonExpr(s string) string {
	var holes []string
	masked := lqRe.ReplaceAllStringFunc(s, func(m string) string {
		holes = append(holes, m)
		return fmt.Sprintf("@@LQ%d@@", len(holes)-1)
	})
	var v any
	if err := json.Unmarshal([]byte(masked), &v); err != nil {
		// A placeholder outside quotes ({"n": {{x}}}) makes it invalid too.
		quoted := regexp.MustCompile(`"?@@LQ\d+@@"?`).ReplaceAllStringFunc(masked, func(m string) string {
			if strings.HasPrefix(m, `"`) {
				return m
			}
			return `"` + strings.TrimSuffix(m, `"`) + `"`
		})
		if err2 := json.Unmarshal([]byte(quoted), &v); err2 != nil {
			f.todo("the JSON text could not be parsed (%v); it is decoded when the step runs", err)
			return "fromJSON(" + f.template(s) + ")"
		}
	}
	unmask := func(x string) string {
		return regexp.MustCompile(`@@LQ(\d+)@@`).ReplaceAllStringFunc(x, func(m string) string {
			i, _ := strconv.Atoi(m[4 : len(m)-2])
			return holes[i]
		})
	}
	var render func(v any) string
	render = func(v any) string {
		switch x := v.(type) {
		case map[string]any:
			keys := slices.Sorted(maps.Keys(x))
			var parts []string
			for _, k := range keys {
				key := k
				if !identRe.MatchString(k) || reserved[k] {
					key = quote(k)
				}
				parts = append(parts, key+": "+render(x[k]))
			}
			return "{" + strings.Join(parts, ", ") + "}"
		case []any:
			var parts []string
			for _, e := range x {
				parts = append(parts, render(e))
			}
			return "[" + strings.Join(parts, ", ") + "]"
		case string:
			u := unmask(x)
			if u == x {
				return quote(x)
			}
			return f.exprOf(u)
		case nil:
			return "nil"
		}
		b, _ := json.Marshal(v)
		return string(b)
	}
	return render(v)
}

// condition converts one Split Based On condition on input to a guard.
func (f *flowConv) condition(input string, cd condition) string {
	x := f.exprOf(input)
	if x == choiceOrText && f.onlyChoices(cd) {
		// Every value tested is a choice: the one picked says it, typed
		// as its title (in any case) or its number, or tapped.
		x = "reply.choice"
	}
	known := isStringExpr(x)
	sx := x
	if !known {
		sx = "string(" + x + " ?? \"\")"
	}
	val := str(cd.Value)
	vexpr := f.template(val)
	list := func() string {
		var items []string
		for _, it := range strings.Split(val, ",") {
			if it = strings.TrimSpace(it); it != "" {
				items = append(items, f.template(it))
			}
		}
		return "[" + strings.Join(items, ", ") + "]"
	}
	switch cd.Type {
	case "equal_to":
		return sx + " == " + vexpr
	case "not_equal_to":
		return sx + " != " + vexpr
	case "matches_any_of":
		return sx + " in " + list()
	case "does_not_match_any_of":
		return sx + " not in " + list()
	case "is_blank":
		return "trim(" + sx + ") == \"\""
	case "is_not_blank":
		return "trim(" + sx + ") != \"\""
	case "regex":
		re := "(?i)^(?:" + val + ")$"
		if _, err := regexp.Compile(re); err != nil {
			f.todo("the regular expression %q is not valid here (%v); the branch is never taken", val, err)
			return "false"
		}
		return sx + " matches " + quote(re)
	case "contains":
		return sx + " contains " + vexpr
	case "does_not_contain":
		return sx + " not contains " + vexpr
	case "starts_with":
		return sx + " startsWith " + vexpr
	case "does_not_start_with":
		return sx + " not startsWith " + vexpr
	case "less_than", "greater_than":
		op := "<"
		if cd.Type == "greater_than" {
			op = ">"
		}
		rhs := strings.TrimSpace(val)
		if _, err := strconv.ParseFloat(rhs, 64); err != nil {
			rhs = num(vexpr)
		}
		return num(x) + " " + op + " " + rhs
	case "is_before_time", "is_after_time":
		op := "<"
		if cd.Type == "is_after_time" {
			op = ">"
		}
		f.todo("Studio compares times in its default time zone; check the time zone of `%s`", cd.Type)
		lhs := `now.Format("15:04")`
		if strings.TrimSpace(input) != "" && !strings.Contains(input, "now") {
			lhs = "date(" + sx + ").Format(\"15:04\")"
		}
		return lhs + " " + op + " " + quote(normTime(val))
	case "is_before_date", "is_after_date":
		op := "<"
		if cd.Type == "is_after_date" {
			op = ">"
		}
		lhs := "now"
		if strings.TrimSpace(input) != "" && !strings.Contains(input, "now") {
			lhs = "date(" + sx + ")"
		}
		return lhs + " " + op + " date(" + quote(strings.TrimSpace(val)) + ")"
	}
	f.todo("Split condition `%s` has no equivalent; the branch is never taken", cd.Type)
	return "false"
}

// onlyChoices reports whether cd tests the reply equal to choices only.
func (f *flowConv) onlyChoices(cd condition) bool {
	var vals []string
	switch cd.Type {
	case "equal_to":
		vals = []string{str(cd.Value)}
	case "matches_any_of":
		for _, it := range strings.Split(str(cd.Value), ",") {
			if it = strings.TrimSpace(it); it != "" {
				vals = append(vals, it)
			}
		}
	}
	for _, v := range vals {
		if !slices.Contains(f.choices, v) {
			return false
		}
	}
	return len(vals) > 0
}

func normTime(v string) string {
	v = strings.TrimSpace(v)
	if len(v) == 4 && !strings.Contains(v, ":") {
		return v[:2] + ":" + v[2:]
	}
	if len(v) == 4 && v[1] == ':' {
		return "0" + v
	}
	return v
}

// dialStatus is a dial step's status as Twilio's DialCallStatus spells
// it: completed, busy, no-answer or failed.
func dialStatus(step string) string {
	return "(" + step + `.status == "answered" ? "completed" : replace(` + step + `.status ?? "", "_", "-"))`
}

var dialStatusRe = regexp.MustCompile(`^\((\w+)\.status == "answered" \? "completed" : replace\((\w+)\.status \?\? "", "_", "-"\)\)$`)

// choiceOrText is what a reply says, in the guards of an ask that offers
// choices: the choice it picked, else its text.
const choiceOrText = `(reply.choice != "" ? reply.choice : reply.text)`

// isStringExpr tells expressions known to be strings.
func isStringExpr(e string) bool {
	if strings.HasPrefix(e, `"`) || dialStatusRe.MatchString(e) {
		return true
	}
	for _, fn := range []string{"upper(", "lower(", "trim(", "replace("} {
		if strings.HasPrefix(e, fn) && closesAtEnd(e[len(fn)-1:]) {
			return true
		}
	}
	switch e {
	case choiceOrText, "reply.choice", "reply.text", "digits", "speech", "message.text", "message.from", "message.to", "message.id", "conversation.id":
		return true
	}
	for _, suf := range []string{".digits", ".speech", ".body", ".url", ".transcript"} {
		if strings.HasSuffix(e, suf) && !strings.Contains(e, "?") && identRe.MatchString(strings.TrimSuffix(e, suf)) {
			return true
		}
	}
	return false
}

// closesAtEnd reports whether the parenthesis opening s closes at its end.
func closesAtEnd(s string) bool {
	depth := 0
	inq := false
	for i := 0; i < len(s); i++ {
		switch {
		case inq:
			if s[i] == '\\' {
				i++
			} else if s[i] == '"' {
				inq = false
			}
		case s[i] == '"':
			inq = true
		case s[i] == '(':
			depth++
		case s[i] == ')':
			depth--
			if depth == 0 {
				return i == len(s)-1
			}
		}
	}
	return false
}

// matchLines converts the match transitions of a split to guard lines.
func (f *flowConv) matchLines(s *state) []string {
	var out []string
	input := str(s.Properties["input"])
	for _, t := range s.Transitions {
		if t.Event != "match" || str(t.Next) == "" && len(t.Conditions) == 0 {
			continue
		}
		var conds []string
		for _, cd := range t.Conditions {
			arg := input
			if len(cd.Arguments) > 0 {
				arg = str(cd.Arguments[0])
			}
			if e := f.condition(arg, cd); e != "" {
				conds = append(conds, e)
			}
		}
		if len(conds) == 0 {
			continue
		}
		cond := strings.Join(conds, " and ")
		if len(conds) > 1 {
			cond = "(" + strings.Join(conds, ") and (") + ")"
		}
		next := str(t.Next)
		tgt := "done"
		if next != "" {
			tgt = f.goTo(next)
		}
		out = append(out, cond+" -> "+tgt)
	}
	return out
}
