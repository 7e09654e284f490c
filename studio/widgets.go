package studio

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// widget is one widget being converted to a step: the step's body lines
// collect in b until block wraps them under the step's head.
type widget struct {
	f      *flowConv
	s      *state
	name   string
	p      map[string]any
	isCall bool
	b      strings.Builder
}

func (w *widget) line(format string, args ...any) {
	fmt.Fprintf(&w.b, "    "+format+"\n", args...)
}

// wire writes an outcome only where the widget's event leads somewhere.
func (w *widget) wire(outcome, event string) {
	if t := w.f.target(event); t != "" {
		w.line("%s -> %s", outcome, t)
	}
}

func (w *widget) block(head, primary string) string {
	out := "  " + w.name + ": " + head
	if w.b.Len() > 0 {
		out += " {\n" + w.b.String() + "  }"
	}
	if primary != "" {
		out += " -> " + primary
	}
	return out + "\n"
}

// widgetKinds converts the widgets that have a step of their own.
var widgetKinds = map[string]func(*widget) string{
	"send-message":            (*widget).sendMessage,
	"send-and-wait-for-reply": (*widget).sendAndWait,
	"split-based-on":          (*widget).split,
	"set-variables":           (*widget).setVariables,
	"make-http-request":       (*widget).httpRequest,
	"run-function":            (*widget).runFunction,
	"run-function-v2":         (*widget).runFunction,
	"run-subflow":             (*widget).subflow,
	"send-to-flex":            (*widget).enqueue,
	"enqueue-call":            (*widget).enqueue,
	"create-task":             (*widget).enqueue,
	"say-play":                (*widget).sayPlay,
	"gather-input-on-call":    (*widget).gather,
	"record-voicemail":        (*widget).recordVoicemail,
	"connect-call-to":         (*widget).connectCall,
	"add-twiml-redirect":      (*widget).twimlRedirect,
}

// unsupportedWidget says why a widget with no equivalent becomes a stub.
func unsupportedWidget(s *state) (string, bool) {
	switch s.Type {
	case "record-call":
		if truthy(s.Properties["record_call"]) {
			return "starting the call's recording has no equivalent (only a `dial` step records, with `record true`): the call is not recorded", true
		}
		return "stopping the call's recording has no equivalent: only a `dial` step records, and its recording ends with the dialed call", true
	case "make-outgoing-call-v2", "make-outgoing-call-v1":
		return "a flow does not place calls", true
	case "fork-stream":
		return "media streams are not exposed to flows; dropped: " + dropped(s, "stream_action", "stream_url", "stream_name", "stream_track", "stream_transport_type", "stream_connector"), true
	case "capture-payments":
		return "card data must not pass through flows, so no payment is taken (dropped: " + dropped(s, "payment_connector", "payment_amount", "currency", "payment_method", "payment_token_type") +
			"); hand the call to an agent with `enqueue`, or `dial` a payment line", true
	case "send-to-auto-pilot", "connect-virtual-agent", "connect-virtual-agent-v2":
		return "call the bot with `http`, with an `ask` for each turn (see flows/support.flow)", true
	case "understand", "update-sync-object":
		return "call the service's API with `http`", true
	case "create-chat-channel", "add-member-to-chat-channel":
		return "connectors create conversations; agents join them by accepting tasks", true
	case "start-conversation", "resume-conversation", "run-conversation-relay":
		return "a conversation starts with the contact's first message, or with an `api` flow that writes first", true
	case "trigger":
		return "a second trigger", true
	}
	return "", false
}

// dropped lists the settings of a widget that a stub leaves out, as
// key=value, for its warning.
func dropped(s *state, keys ...string) string {
	var kv []string
	for _, k := range keys {
		if v := str(s.Properties[k]); v != "" {
			kv = append(kv, k+"="+v)
		}
	}
	if len(kv) == 0 {
		return "its settings"
	}
	return strings.Join(kv, ", ")
}

// messageInCall stubs a message widget in a call flow (why says what to
// use instead); elsewhere it reports the keys a message step does without,
// and writes the reply options its attributes carry as choices.
func (w *widget) messageInCall(why string) (stub string, stubbed bool, choices []string) {
	if w.isCall {
		return w.f.stub(w.s, why), true, nil
	}
	cs, key, others := attributeChoices(str(w.p["attributes"]))
	if cs == nil {
		w.f.ignored(w.s, "from", "service", "channel", "message_type", "attributes")
		return "", false, nil
	}
	w.f.ignored(w.s, "from", "service", "channel", "message_type")
	if others {
		w.f.todo("the attributes other than `%s` (the choices): no equivalent, left out", key)
	}
	w.line("choices %s", choiceList(cs))
	return "", false, cs
}

// choiceList writes choices as a list literal.
func choiceList(items []string) string {
	q := make([]string, len(items))
	for i, it := range items {
		q[i] = strconv.Quote(it)
	}
	return "[" + strings.Join(q, ", ") + "]"
}

// attributeChoices reads the reply options a message's attributes carry
// for a chat front end, as Flex webchat renders them as buttons
// ({"selections": ["New", "Existing"]}): the first key, in name order,
// whose value is a list of distinct plain strings. others reports other
// keys. nil when there is no such list.
func attributeChoices(attrs string) (choices []string, key string, others bool) {
	var m map[string]any
	if err := json.Unmarshal([]byte(attrs), &m); err != nil {
		return nil, "", false
	}
	for _, k := range slices.Sorted(maps.Keys(m)) {
		list, ok := m[k].([]any)
		if !ok || len(list) == 0 {
			continue
		}
		var items []string
		seen := map[string]bool{}
		for _, v := range list {
			t, ok := v.(string)
			if !ok || strings.TrimSpace(t) == "" || hasLiquid(t) || seen[t] {
				items = nil
				break
			}
			seen[t] = true
			items = append(items, t)
		}
		if items != nil {
			return items, k, len(m) > 1
		}
	}
	return nil, "", false
}

// mergedTarget is where two events that become one outcome go: event's
// target, or other's where event has none. Where both lead to different
// steps, todo (other's target, then the one kept) says which was dropped.
func (f *flowConv) mergedTarget(event, other, todo string) string {
	t, o := f.target(event), f.target(other)
	if t == "" {
		return o
	}
	if o != "" && o != t {
		f.todo(todo, o, t)
	}
	return t
}

func (w *widget) sendMessage() string {
	f, p := w.f, w.p
	if stub, ok, _ := w.messageInCall("`send-message` in a call flow: a call has no messages (send it on another channel with `channel`)"); ok {
		return stub
	}
	if cs := str(p["content_sid"]); cs != "" {
		f.todo("content template %s has no equivalent; send its text instead", cs)
	}
	if to := str(p["to"]); to != "" && strings.TrimSpace(to) != "{{contact.channel.address}}" {
		w.line("to %s", f.c2(f.exprOf(to)))
	}
	if m := str(p["media_url"]); m != "" {
		w.line("media %s", f.template(m))
	}
	w.wire("failed", "failed")
	return w.block("send "+f.template(str(p["body"])), orDone(f.target("sent")))
}

func (w *widget) sendAndWait() string {
	f, s, p := w.f, w.s, w.p
	stub, ok, choices := w.messageInCall("`send-and-wait-for-reply` in a call flow: use `gather`")
	if ok {
		return stub
	}
	if m := str(p["media_url"]); m != "" {
		w.line("media %s", f.template(m))
	}
	w.line("timeout %s -> %s", duration(p["timeout"], "1h"), orDone(f.target("timeout")))
	if t := f.target("deliveryFailure"); t != "" {
		f.todo("`deliveryFailure` (to %s) has no outcome: the step waits until its timeout", t)
	}
	var reply string
	if sp := f.splitOf[s.Name]; sp != nil {
		if cs := menuChoices(sp); cs != nil && choices == nil {
			w.line("choices %s", choiceList(cs))
			choices = cs
		}
		// A customer picks a choice by its number too ("2" under the
		// numbered menu of a channel without buttons): the guards test
		// the picked choice, and the text where none was picked.
		f.choices = choices
		reply = f.guards(s, w.line)
		f.choices = nil
	} else {
		reply = orDone(f.target("incomingMessage"))
	}
	w.line("reply -> %s", reply)
	return w.block("ask "+f.template(str(p["body"])), "")
}

// menuChoices is the choices list of a menu: a split on the reply whose
// every branch tests it equal to a constant ("1", "sales") or to one of a
// list. The constants become choices (id and title alike; of spellings
// that differ only in case, the first), so a channel with buttons shows
// them and a tap sends a constant the guards test. Of a list, the choice
// is its first item ("Yes, yes, y": the others are the option's other
// spellings), or, when it is the split's only branch, every item (the
// options that go on, "Hours, Parking, Other"). nil
// when the split is no such menu, or a menu of numbers only ("Reply 1
// for…"): its prompt already lists the options, and buttons titled "1"
// and "2" would say less.
func menuChoices(sp *state) []string {
	var items []string
	seen := map[string]bool{}
	numbers := true
	add := func(v string) bool {
		if strings.TrimSpace(v) != v || v == "" || strings.ContainsAny(v, "{}$") {
			return false
		}
		if !seen[strings.ToLower(v)] {
			seen[strings.ToLower(v)] = true
			items = append(items, v)
		}
		if _, err := strconv.Atoi(v); err != nil {
			numbers = false
		}
		return true
	}
	branches := 0
	for _, t := range sp.Transitions {
		if t.Event == "match" {
			branches++
		}
	}
	for _, t := range sp.Transitions {
		if t.Event != "match" {
			continue
		}
		for _, cd := range t.Conditions {
			v := str(cd.Value)
			switch cd.Type {
			case "equal_to":
				if !add(v) {
					return nil
				}
			case "matches_any_of":
				for _, it := range strings.Split(v, ",") {
					if it = strings.TrimSpace(it); it == "" {
						continue
					}
					if !add(it) {
						return nil
					}
					if branches > 1 {
						break // the other spellings of the branch's option
					}
				}
			default:
				return nil
			}
		}
	}
	if len(items) < 2 || numbers {
		return nil
	}
	return items
}

func (w *widget) split() string {
	for _, l := range w.f.matchLines(w.s) {
		w.line("%s", l)
	}
	w.line("default -> %s", orDone(w.f.target("noMatch")))
	return w.block("switch", "")
}

func (w *widget) setVariables() string {
	f, s, p := w.f, w.s, w.p
	vars, _ := p["variables"].([]any)
	var as []string
	for _, v := range vars {
		m, _ := v.(map[string]any)
		key := str(m["key"])
		if key == "" {
			continue
		}
		if !f.readVars[key] && f.trigger != "subflow" {
			// Only the execution's context would show it.
			f.todo("`flow.variables.%s` is never read: its assignment was left out", key)
			continue
		}
		val := str(m["value"])
		e := f.exprOf(val)
		if truthy(m["parse_as_json"]) {
			e = "fromJSON(" + f.template(val) + ")"
		}
		if !hasLiquid(val) {
			if n, err := strconv.ParseFloat(strings.TrimSpace(val), 64); err == nil && strings.TrimSpace(val) != "" {
				_ = n
				e = quote(val) // Liquid values are strings; keep them so
			}
		}
		as = append(as, f.varName(key)+" = "+parenMap(e))
	}
	if len(as) == 0 {
		if len(vars) == 0 {
			f.todo("Set Variables without variables")
		}
		return f.stub(s, "")
	}
	return "  " + w.name + ": set " + strings.Join(as, ", ") + " -> " + orDone(f.target("next")) + "\n"
}

func (w *widget) httpRequest() string {
	f, p := w.f, w.p
	f.http(w.s, w.line, str(p["url"]), strings.ToLower(str(p["method"])), p["parameters"], str(p["content_type"]), str(p["body"]))
	w.line("error -> %s", orDone(f.target("failed")))
	return w.block("http", orDone(f.target("success")))
}

func (w *widget) runFunction() string {
	f, p := w.f, w.p
	url := str(p["url"])
	if url == "" {
		if sid := str(p["function_sid"]); sid != "" {
			f.todo("the function has no URL (function %s): call it here", sid)
		} else {
			f.todo("the function has no URL: call it here")
		}
		url = "https://example.invalid/function"
	}
	f.http(w.s, w.line, url, "post", p["parameters"], "application/x-www-form-urlencoded", "")
	w.line("error -> %s", orDone(f.target("fail")))
	return w.block("http", orDone(f.target("success")))
}

func (w *widget) subflow() string {
	f, p := w.f, w.p
	sf := f.c.subflow(str(p["flow_sid"]))
	params, _ := p["parameters"].([]any)
	var kv []string
	for _, v := range params {
		m, _ := v.(map[string]any)
		k := subflowInput(str(m["key"]))
		sf.inputs[k] = true
		kv = append(kv, k+": "+f.exprOf(str(m["value"])))
	}
	if len(kv) > 0 {
		w.line("inputs {%s}", strings.Join(kv, ", "))
	}
	w.wire("error", "failed")
	return w.block("subflow "+sf.name, orDone(f.target("completed")))
}

func (w *widget) enqueue() string {
	f, s, p := w.f, w.s, w.p
	wf := str(p["workflow"])
	if wf == "" {
		wf = str(p["workflow_sid"])
	}
	queue := ""
	if wf == "" {
		queue = str(p["queue_name"])
	}
	wname := f.c.workflow(s.Name, wf, queue)
	attrs := str(p["attributes"])
	if attrs == "" {
		attrs = str(p["task_attributes"])
	}
	if strings.TrimSpace(attrs) != "" {
		w.line("attributes %s", f.jsonExpr(attrs))
	}
	if pr := str(p["priority"]); pr != "" {
		if _, err := strconv.ParseFloat(pr, 64); err == nil {
			w.line("priority %s", pr)
		} else {
			w.line("priority float(%s)", f.exprOf(pr))
		}
	}
	// A call leaves the queue through the Enqueue's action URL whatever
	// ended its wait, and Studio then takes callComplete.
	left := ""
	if w.isCall {
		left = f.target("callComplete")
	}
	if to := str(p["timeout"]); to != "" {
		if left != "" {
			w.line("timeout %s -> %s", duration(to, "1h"), left)
		} else {
			w.line("timeout %s", duration(to, "1h"))
		}
	}
	if s.Type == "enqueue-call" || w.isCall {
		w.line("channel voice")
	}
	if left != "" {
		w.line("canceled -> %s", left)
	}
	if str(p["waitUrl"]) != "" || str(p["wait_url"]) != "" {
		f.todo("the hold music (wait URL) has no equivalent: play it before the enqueue")
	}
	ft := f.mergedTarget("failedToEnqueue", "callFailure", "`callFailure` went to %s; both failures now go to %s")
	if ft != "" {
		w.line("failed -> %s", ft)
	}
	return w.block("enqueue "+wname, f.target("callComplete"))
}
