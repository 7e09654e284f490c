package studio

import (
	"fmt"
	"strconv"
	"strings"
)

// The voice widgets. Each becomes the call step that does what the TwiML
// verb Studio would print does; settings the step has no property for are
// reported, never dropped silently.

// loopForever stands for Studio's loop 0, which TwiML repeats until the
// caller hangs up.
const loopForever = 1000

// loop writes the loop property of a say or play.
func (w *widget) loop(v any) {
	s := strings.TrimSpace(str(v))
	switch {
	case s == "" || s == "1":
	case s == "0":
		w.f.todo("`loop` 0 repeats until the caller hangs up; it became `loop %d`", loopForever)
		w.line("loop %d", loopForever)
	case hasLiquid(s):
		w.line("loop %s", num(w.f.exprOf(s)))
	default:
		if n, err := strconv.Atoi(s); err == nil && n > 1 {
			w.line("loop %d", n)
		} else {
			w.f.todo("`loop` %q is not a number of repetitions; it was left out", s)
		}
	}
}

// speech writes the voice and language of a say.
func (w *widget) speech(p map[string]any) {
	if v := str(p["voice"]); v != "" {
		w.line("voice %s", w.f.template(v))
	}
	if v := str(p["language"]); v != "" {
		w.line("language %s", w.f.template(v))
	}
}

func (w *widget) sayPlay() string {
	f, p := w.f, w.p
	if d := str(p["digits"]); d != "" {
		f.todo("sending the digits %s as DTMF tones has no equivalent: no tones are sent", d)
		return f.stub(w.s, "")
	}
	next := orDone(f.target("audioComplete"))
	loop := func() { w.loop(p["loop"]) }
	if w.s.next["audioComplete"] == w.s.Name {
		// Studio says it again each time it ends, until the caller hangs
		// up; a step that leads to itself would loop without waiting.
		f.todo("`audioComplete` leads back to this widget: it became `loop %d`", loopForever)
		loop = func() { w.line("loop %d", loopForever) }
		next = "done"
	}
	if pl := str(p["play"]); pl != "" {
		loop()
		return w.block("play "+f.template(pl), next)
	}
	w.speech(p)
	loop()
	return w.block("say "+f.template(str(p["say"])), next)
}

// gatherPrompt writes a say prompt as the gather's own, which the caller
// can interrupt; a played one becomes a play step in front of the gather,
// so that the gather's loops (a timeout back to it) play it again.
func (w *widget) gatherPrompt() string {
	f, s, p := w.f, w.s, w.p
	if pl := str(p["play"]); pl != "" {
		f.todo("the played prompt is a `play` step before the gather: keys pressed while it plays are not collected")
		pw := &widget{f: f, s: s, name: f.entry[s.Name], p: p, isCall: w.isCall}
		pw.loop(p["loop"])
		return pw.block("play "+f.template(pl), w.name)
	}
	if sy := str(p["say"]); sy != "" {
		w.line("prompt %s", f.template(sy))
		var lost []string
		for _, k := range []string{"voice", "language"} {
			if v := str(p[k]); v != "" {
				lost = append(lost, k+" "+v)
			}
		}
		if l := strings.TrimSpace(str(p["loop"])); l != "" && l != "1" {
			lost = append(lost, "loop "+l)
		}
		if len(lost) > 0 {
			f.todo("the prompt's %s: a gather's prompt has no voice, language or loop, left out", strings.Join(lost, ", "))
		}
	}
	return ""
}

func (w *widget) gather() string {
	f, s, p := w.f, w.s, w.p
	pre := w.gatherPrompt()
	if d := strings.TrimSpace(str(p["number_of_digits"])); d != "" {
		if n, err := strconv.Atoi(d); err == nil && n > 0 {
			w.line("digits %d", n)
		} else if hasLiquid(d) {
			w.line("digits %s", num(f.exprOf(d)))
		} else {
			f.todo("`number_of_digits` %q is not a number; it was left out", d)
		}
	}
	_, hasKey := p["finish_on_key"]
	switch k := str(p["finish_on_key"]); {
	case p["stop_gather"] != nil && !truthy(p["stop_gather"]):
		f.todo("stop_gather false (no key ends the input) has no equivalent: `#` ends it")
	case hasKey && k == "":
		f.todo("an empty finish_on_key (no key ends the input) has no equivalent: `#` ends it")
	case k != "" && k != "#":
		w.line("finish_on %s", f.template(k))
	}
	listens := s.next["speech"] != ""
	if listens {
		w.line("speech true")
		f.ignored(s, "hints", "speech_model")
		if l := str(p["gather_language"]); l != "" && !strings.EqualFold(l, "en-US") && !strings.EqualFold(l, "en") {
			f.todo("gather_language %s: speech is recognised in the connector's default language", l)
		}
		if t := str(p["speech_timeout"]); t != "" && t != "auto" {
			f.todo("speech_timeout %s: no equivalent, speech ends when the caller pauses", t)
		}
	}
	w.line("timeout %s -> %s", duration(p["timeout"], "5s"), orDone(f.target("timeout")))
	if sp := f.splitOf[s.Name]; sp != nil {
		def := f.guards(s, w.line)
		for _, ev := range []string{"keypress", "speech"} {
			if s.next[ev] == sp.Name {
				w.line("%s -> %s", ev, def)
			} else {
				w.wire(ev, ev)
			}
		}
	} else {
		w.wire("keypress", "keypress")
		w.wire("speech", "speech")
	}
	return pre + w.block("gather", "")
}

func (w *widget) recordVoicemail() string {
	f, p := w.f, w.p
	f.ignored(w.s, "transcription_callback_url", "recording_status_callback_url")
	if k := str(p["finish_on_key"]); k != "" && k != "#" {
		f.todo("finish_on_key %s: no equivalent, the recording ends on silence, its maximum length or a hang-up", k)
	}
	if b := p["play_beep"]; b != nil && !truthy(b) {
		f.todo("play_beep false: no equivalent, the caller hears the beep")
	}
	if t := str(p["trim"]); t == "do-not-trim" {
		f.todo("trim do-not-trim: no equivalent, silence at the start and end may be trimmed")
	}
	if v := str(p["max_length"]); v != "" {
		w.line("max_length %s", duration(v, "1h"))
	}
	if v := str(p["timeout"]); v != "" {
		w.line("timeout %s", duration(v, "5s"))
	}
	if truthy(p["transcribe"]) {
		w.line("transcribe true")
	}
	rc := f.mergedTarget("recordingComplete", "hangup", "`hangup` went to %s; a recording ended by a hang-up now goes to %s")
	w.wire("failed", "noAudio")
	return w.block("record", orDone(rc))
}

// dialAddress returns the addresses a Connect Call To dials, in turn, as
// expressions; nil where its noun has no equivalent.
func (w *widget) dialAddress(noun string) []string {
	f, p := w.f, w.p
	to := strings.TrimSpace(str(p["to"]))
	switch noun {
	case "", "number":
		return []string{f.exprOf(to)}
	case "number-multi":
		var out []string
		for _, n := range strings.Split(to, ",") {
			if n = strings.TrimSpace(n); n != "" {
				out = append(out, f.exprOf(n))
			}
		}
		if len(out) > 1 {
			f.todo("Studio rings the %d numbers together and connects the first to answer; here they are rung one after the other, each for the timeout", len(out))
		}
		if len(out) == 0 {
			return []string{f.exprOf(to)}
		}
		return out
	case "client":
		// The address a client's calls carry in From and To, which the
		// Twilio voice connector dials with <Client>.
		if !strings.HasPrefix(to, "client:") {
			to = "client:" + to
		}
		return []string{f.template(to)}
	case "sip":
		if e := strings.TrimSpace(str(p["sip_endpoint"])); e != "" {
			to = e
		}
		if str(p["sip_username"]) != "" || str(p["sip_password"]) != "" {
			f.todo("the SIP endpoint's username and password have no equivalent: the endpoint must accept the call without them")
		}
		if !strings.HasPrefix(strings.ToLower(to), "sip:") && !hasLiquid(to) {
			to = "sip:" + to
		}
		return []string{f.template(to)}
	}
	return nil
}

func (w *widget) connectCall() string {
	f, s, p := w.f, w.s, w.p
	noun := str(p["noun"])
	numbers := w.dialAddress(noun)
	if numbers == nil {
		why := fmt.Sprintf("connecting the call to a %s (%s) has no equivalent: use `enqueue` to reach an agent", noun, str(p["to"]))
		return f.stub(s, why)
	}
	if v := str(p["timeout"]); v != "" {
		w.line("timeout %s", duration(v, "30s"))
	}
	if cid := str(p["caller_id"]); cid != "" && strings.TrimSpace(cid) != "{{flow.channel.address}}" {
		w.line("caller_id %s", f.exprOf(cid))
	}
	if truthy(p["record"]) {
		w.line("record true")
	}
	if v := str(p["time_limit"]); v != "" {
		f.todo("time_limit %s: no equivalent, the connected call is not cut off", v)
	}
	if t := f.target("hangup"); t != "" {
		f.todo("`hangup` (to %s) has no equivalent: the execution ends when the caller hangs up", t)
	}
	t := orDone(f.target("callCompleted"))
	// The numbers after the first get steps of their own, each taken when
	// the one before is not answered.
	names := []string{w.name}
	for i := 2; i <= len(numbers); i++ {
		names = append(names, f.alloc(s.Name+"_"+strconv.Itoa(i)))
	}
	props := w.b.String()
	var out strings.Builder
	for i, n := range numbers {
		next := t
		if i+1 < len(names) {
			next = names[i+1]
		}
		dw := &widget{f: f, s: s, name: names[i], p: p, isCall: w.isCall}
		dw.b.WriteString(props)
		for _, o := range []string{"no_answer", "busy", "failed"} {
			dw.line("%s -> %s", o, next)
		}
		out.WriteString(dw.block("dial "+n, t))
	}
	return out.String()
}

// twimlRedirect: Studio hands the call (or message) to the TwiML at the
// URL and goes on at `return` when that TwiML redirects back. A flow
// cannot hand its call over, so the application is asked over HTTP with
// the parameters Twilio would send it, and the step waits for the answer
// as the widget waits for the return.
func (w *widget) twimlRedirect() string {
	f, p := w.f, w.p
	url := str(p["url"])
	method := strings.ToLower(str(p["method"]))
	if method == "" {
		method = "post"
	}
	// The parameters Twilio sends with every request for a call's or a
	// message's TwiML, those a flow knows.
	params := [][2]string{{"CallSid", "message.id"}, {"From", "message.from"}, {"To", "message.to"}}
	if !w.isCall {
		params = [][2]string{{"MessageSid", "message.id"}, {"From", "message.from"}, {"To", "message.to"}, {"Body", "message.text"}}
	}
	var names, kv, query []string
	for _, pr := range params {
		names = append(names, pr[0])
		kv = append(kv, pr[0]+": "+pr[1])
		if pr[0] == "From" || pr[0] == "To" {
			query = append(query, pr[0]+`=${replace(`+pr[1]+`, "+", "%2B")}`)
		} else {
			query = append(query, pr[0]+"=${"+pr[1]+"}")
		}
	}
	if method == "get" {
		sep := "?"
		if strings.Contains(url, "?") {
			sep = "&"
		}
		u := f.template(url)
		w.line("get %s", u[:len(u)-1]+sep+strings.Join(query, "&")+`"`)
		if hasLiquid(url) {
			f.todo("the values in the URL are not URL-encoded")
		}
	} else {
		w.line("%s %s", method, f.template(url))
		w.line("form {%s}", strings.Join(kv, ", "))
	}
	timeout := strings.TrimSpace(str(p["timeout"]))
	if timeout != "" && timeout != "0" {
		w.line("timeout %s", duration(timeout, "4h"))
	}
	var why strings.Builder
	what := "call"
	if !w.isCall {
		what = "message"
	}
	fmt.Fprintf(&why, "flows do not run TwiML, so the %s is not redirected: the application at %s is sent the %s's %s (%s) and the flow waits for its answer. ",
		what, url, what, strings.Join(names, ", "), strings.ToUpper(method))
	why.WriteString("`return` is a 2xx answer, `fail` and `timeout` any other answer or none in time")
	if timeout == "0" {
		fmt.Fprintf(&why, "; Studio's timeout 0 (the %s does not come back) has no equivalent, the flow goes on", what)
	}
	f.todo("%s", why.String())
	fail := f.mergedTarget("fail", "timeout", "`timeout` went to %s; both the failure and the timeout now go to %s")
	w.line("error -> %s", orDone(fail))
	return w.block("http", orDone(f.target("return")))
}

// voiceOutputs are the outputs of the voice widgets that their steps have:
// widget type, then Studio's key, then the step's output.
var voiceOutputs = map[string]map[string]string{
	"gather-input-on-call": {"Digits": "digits", "SpeechResult": "speech", "Confidence": "confidence"},
	"record-voicemail":     {"RecordingUrl": "url", "RecordingDuration": "duration", "TranscriptionText": "transcript"},
	"connect-call-to":      {"DialCallDuration": "duration"},
}

// voiceOutput converts {{widgets.W.…}} (s, split in p) of a voice widget
// w; ok is false for other widgets and keys without equivalent.
func (f *flowConv) voiceOutput(s string, w *state, p []string, rest func(string, int) string) (e string, ok bool) {
	st := f.step[w.Name]
	key := ""
	if len(p) > 2 {
		key = p[2]
	}
	switch {
	case w.Type == "connect-call-to" && key == "DialCallStatus":
		return dialStatus(st), true
	case w.Type == "add-twiml-redirect" && key != "":
		f.todo("`{{%s}}` was passed back by the TwiML on its return URL; it is read from the JSON the application answers", s)
		return rest(st+".json", 2), true
	}
	if out, ok := voiceOutputs[w.Type][key]; ok {
		return st + "." + out, true
	}
	return "", false
}

// waits reports whether the step widget s becomes waits for an event (a
// reply, an answer, the caller): a loop through it is allowed.
func (f *flowConv) waits(s *state) bool {
	call := f.trigger == "call"
	if voiceKinds[s.Type] && !call {
		return false // a stub
	}
	switch s.Type {
	case "send-and-wait-for-reply":
		return !call
	case "connect-call-to":
		switch str(s.Properties["noun"]) {
		case "", "number", "number-multi", "client", "sip":
			return true
		}
		return false
	case "gather-input-on-call", "record-voicemail", "enqueue-call", "add-twiml-redirect",
		"make-http-request", "run-function", "run-function-v2", "run-subflow", "send-to-flex", "create-task":
		return true
	}
	return false
}

// leadsBack reports whether widget to is reached from widget from through
// widgets whose steps do not wait (from itself included).
func (f *flowConv) leadsBack(from, to string) bool {
	seen := map[string]bool{}
	stack := []string{from}
	for len(stack) > 0 {
		n := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if n == to {
			return true
		}
		s := f.inFlow[n]
		if seen[n] || s == nil || s.Type == "trigger" || f.waits(s) {
			continue
		}
		seen[n] = true
		for _, t := range s.Transitions {
			if nx := str(t.Next); nx != "" {
				stack = append(stack, nx)
			}
		}
	}
	return false
}
