package voice

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"math"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/twilio/twilio-go/twiml"

	"github.com/switchboard-dev/switchboard/connectors"
	"github.com/switchboard-dev/switchboard/connectors/twilio/twilioapi"
)

// Callback kinds, the value of the "on" query parameter of the URLs the
// rendered TwiML makes Twilio call back. The query is part of the URL
// Twilio signs, so a callback cannot be forged into another kind.
const (
	onResult = "result" // the action of a gather, record or dial the flow waits for
	onAgent  = "agent"  // the action of the Dial that connects the caller to an agent
	onHold   = "hold"   // the Redirect that ends one loop of the hold music
	onStatus = "status" // the number's call status callback
	// onAnswered is the url of the agent's number, sip address or client:
	// Twilio requests it on the agent's leg when the agent picks up, before
	// the caller is put through.
	onAnswered = "answered"
)

// renderer turns call verbs into TwiML elements of twilio-go's twiml
// package, with the instance's action URLs and defaults.
type renderer struct {
	webhook     string // the instance's webhook URL, without query
	voice       string // default voice of say
	language    string // default language of say and speech recognition
	holdMusic   string
	holdMessage string
	// positionMessage announces a held caller's place, {position} in it.
	positionMessage string
	ringTimeout     time.Duration
	now             func() time.Time
}

// action returns the webhook URL with a callback's query. url.Values
// encodes its keys sorted, so the same callback always gets the same URL.
func (r *renderer) action(q url.Values) string { return r.webhook + "?" + q.Encode() }

// seconds renders a duration as whole seconds, rounded up: Twilio's
// timeouts and lengths are integers, and rounding down could make 500ms
// a 0 that Twilio reads as "no limit" or rejects.
func seconds(d time.Duration) string {
	return strconv.FormatInt(int64(math.Ceil(d.Seconds())), 10)
}

// say is a <Say> with the instance's default voice and language.
func (r *renderer) say(text, voice, language string, loop int) twiml.VoiceSay {
	s := twiml.VoiceSay{Message: text, Voice: cmp(voice, r.voice), Language: cmp(language, r.language)}
	if loop > 0 {
		s.Loop = strconv.Itoa(loop)
	}
	return s
}

func cmp(v, def string) string {
	if v != "" {
		return v
	}
	return def
}

// verbs renders a script. An error names the first verb that cannot be
// rendered, by its position.
func (r *renderer) verbs(vs []connectors.CallVerb) ([]twiml.Element, error) {
	out := make([]twiml.Element, 0, len(vs)+2)
	for i, v := range vs {
		els, err := r.verb(v)
		if err != nil {
			return nil, fmt.Errorf("verb %d (%s): %w", i+1, v.Verb, err)
		}
		out = append(out, els...)
	}
	return out, nil
}

// verb renders one verb as the elements that carry it out.
func (r *renderer) verb(v connectors.CallVerb) ([]twiml.Element, error) {
	switch v.Verb {
	case "say":
		if v.Text == "" {
			return nil, fmt.Errorf("nothing to say")
		}
		return []twiml.Element{r.say(v.Text, v.Voice, v.Language, v.Loop)}, nil
	case "play":
		if v.URL == "" {
			return nil, fmt.Errorf("no audio URL to play")
		}
		p := twiml.VoicePlay{Url: v.URL}
		if v.Loop > 0 {
			p.Loop = strconv.Itoa(v.Loop)
		}
		return []twiml.Element{p}, nil
	case "gather":
		return []twiml.Element{r.gather(v)}, nil
	case "record":
		return r.record(v), nil
	case "dial":
		d, err := r.dial(v)
		return []twiml.Element{d}, err
	case connectors.VerbConnect:
		d, err := r.connect(v)
		return []twiml.Element{d}, err
	case connectors.VerbHold:
		if v.Task == "" {
			return nil, fmt.Errorf("no task to hold for")
		}
		return r.hold(v.Task, 0), nil
	case "hangup":
		return []twiml.Element{twiml.VoiceHangup{}}, nil
	}
	return nil, fmt.Errorf("unknown verb %q", v.Verb)
}

// resultAction is the action URL of a verb the flow waits for, or "" for
// one it does not (Twilio then goes on with the next verb).
func (r *renderer) resultAction(v connectors.CallVerb) string {
	if v.WaitID == "" {
		return ""
	}
	return r.action(url.Values{"on": {onResult}, "wait": {v.WaitID}})
}

// gather asks for keys, or speech too, with the prompt inside so that
// the caller can answer before it ends. actionOnEmptyResult makes Twilio
// report a timeout to the action too, instead of falling through to the
// next verb, so the flow's timeout outcome runs.
func (r *renderer) gather(v connectors.CallVerb) twiml.VoiceGather {
	g := twiml.VoiceGather{Input: "dtmf", FinishOnKey: v.FinishOn}
	if v.Speech {
		g.Input = "dtmf speech"
		g.SpeechTimeout = "auto"
		g.Language = cmp(v.Language, r.language)
	}
	if v.Digits > 0 {
		g.NumDigits = strconv.Itoa(v.Digits)
	}
	if v.Timeout > 0 {
		g.Timeout = seconds(v.Timeout)
	}
	if a := r.resultAction(v); a != "" {
		g.Action, g.Method, g.ActionOnEmptyResult = a, "POST", "true"
	}
	if v.Text != "" {
		g.InnerElements = append(g.InnerElements, r.say(v.Text, v.Voice, v.Language, 0))
	}
	if v.URL != "" {
		g.InnerElements = append(g.InnerElements, twiml.VoicePlay{Url: v.URL})
	}
	return g
}

// record leaves a message after the beep; a prompt, if any, comes first.
func (r *renderer) record(v connectors.CallVerb) []twiml.Element {
	var out []twiml.Element
	if v.Text != "" {
		out = append(out, r.say(v.Text, v.Voice, v.Language, 0))
	}
	rec := twiml.VoiceRecord{PlayBeep: "true", FinishOnKey: v.FinishOn}
	if a := r.resultAction(v); a != "" {
		rec.Action, rec.Method = a, "POST"
	}
	if v.MaxLength > 0 {
		rec.MaxLength = seconds(v.MaxLength)
	}
	if v.Timeout > 0 {
		rec.Timeout = seconds(v.Timeout)
	}
	if v.Transcribe {
		rec.Transcribe = "true"
	}
	return append(out, rec)
}

// dial calls a number, a SIP address or a Voice SDK client and bridges
// the caller to it.
func (r *renderer) dial(v connectors.CallVerb) (twiml.VoiceDial, error) {
	noun, err := dialNoun(v.Number)
	if err != nil {
		return twiml.VoiceDial{}, err
	}
	d := twiml.VoiceDial{CallerId: callerID(v.CallerID), InnerElements: []twiml.Element{noun}}
	if a := r.resultAction(v); a != "" {
		d.Action, d.Method = a, "POST"
	}
	if v.Timeout > 0 {
		d.Timeout = seconds(v.Timeout)
	}
	if v.Record {
		d.Record = "record-from-answer"
	}
	return d, nil
}

// connect puts the caller through to the agent who accepted the call's
// task. answerOnBridge keeps the caller hearing ringing, not silence,
// until the agent picks up. The action reports how the agent's leg ended;
// "at", the time of rendering, tells attempts apart when Twilio gives the
// leg no DialCallSid, so a second try of the same agent on the same task
// is not taken for a redelivery.
func (r *renderer) connect(v connectors.CallVerb) (twiml.VoiceDial, error) {
	if v.Task == "" {
		return twiml.VoiceDial{}, fmt.Errorf("no task to connect")
	}
	answered := url.Values{"on": {onAnswered}, "task": {v.Task}}
	if v.Worker != "" {
		answered.Set("worker", v.Worker)
	}
	noun, err := dialNoun(v.Number, r.action(answered))
	if err != nil {
		return twiml.VoiceDial{}, fmt.Errorf("agent %q: contact_uri: %w", v.Worker, err)
	}
	q := url.Values{"on": {onAgent}, "task": {v.Task}}
	if v.Worker != "" {
		q.Set("worker", v.Worker)
	}
	q.Set("at", strconv.FormatInt(r.now().UnixMilli(), 36))
	timeout := v.Timeout
	if timeout <= 0 {
		timeout = r.ringTimeout
	}
	return twiml.VoiceDial{Action: r.action(q), Method: "POST", Timeout: seconds(timeout), AnswerOnBridge: "true",
		CallerId: callerID(v.CallerID), InnerElements: []twiml.Element{noun}}, nil
}

// dialNoun is the noun of a Dial for an address: <Sip> for sip:,
// <Client> for client:NAME, else <Number> for a phone number in E.164.
// answered, when set, is the url Twilio requests when the party picks up.
func dialNoun(addr string, answered ...string) (twiml.Element, error) {
	n, err := dialNounOf(addr)
	if err != nil || len(answered) == 0 {
		return n, err
	}
	switch n := n.(type) {
	case twiml.VoiceSip:
		n.Url, n.Method = answered[0], "POST"
		return n, nil
	case twiml.VoiceClient:
		n.Url, n.Method = answered[0], "POST"
		return n, nil
	case twiml.VoiceNumber:
		n.Url, n.Method = answered[0], "POST"
		return n, nil
	}
	return n, nil
}

func dialNounOf(addr string) (twiml.Element, error) {
	addr = strings.TrimSpace(addr)
	scheme, rest, _ := strings.Cut(addr, ":")
	switch strings.ToLower(scheme) {
	case "sip", "sips":
		if rest == "" {
			return nil, fmt.Errorf("empty SIP address %q", addr)
		}
		return twiml.VoiceSip{SipUrl: addr}, nil
	case "client":
		if rest == "" {
			return nil, fmt.Errorf("empty client identity %q", addr)
		}
		return twiml.VoiceClient{Identity: rest}, nil
	}
	if addr == "" {
		return nil, fmt.Errorf("no number to dial")
	}
	n, ok := twilioapi.E164(addr)
	if !ok {
		return nil, fmt.Errorf("%q is not a phone number in E.164 (+14155550100), a sip: or a client: address", addr)
	}
	return twiml.VoiceNumber{PhoneNumber: n}, nil
}

// callerID normalizes a phone number given as caller id; anything else
// (a client: identity) goes as written.
func callerID(s string) string {
	if n, ok := twilioapi.E164(s); ok {
		return n
	}
	return s
}

// hold keeps the caller waiting for task: the hold message, the music,
// then a Redirect back to the webhook, where the runtime decides again
// (more music, a timeout's verbs) each time the music ends. The "at"
// parameter, the time of rendering in milliseconds, makes each loop's
// callback its own event: holds are not deduplicated, while Twilio's
// retry of the same request keeps the same URL and so the same key.
func (r *renderer) hold(task string, position int) []twiml.Element {
	at := strconv.FormatInt(r.now().UnixMilli(), 36)
	out := make([]twiml.Element, 0, 4)
	if position > 0 && r.positionMessage != "" {
		out = append(out, r.say(strings.ReplaceAll(r.positionMessage, "{position}", strconv.Itoa(position)), "", "", 0))
	}
	if r.holdMessage != "" {
		out = append(out, r.say(r.holdMessage, "", "", 0))
	}
	if r.holdMusic != "" {
		out = append(out, twiml.VoicePlay{Url: r.holdMusic})
	}
	return append(out, twiml.VoiceRedirect{Method: "POST", Url: r.action(url.Values{"on": {onHold}, "task": {task}, "at": {at}})})
}

// xmlHeader opens every TwiML document, as twiml.Voice writes it.
const xmlHeader = `<?xml version="1.0" encoding="UTF-8"?>`

// document writes a <Response> of elems. It writes the elements' own
// attributes (twiml's names, lower-camel-cased as twiml.Voice does) but
// sorted by name: twiml.Voice writes them in Go's random map order, which
// would make two answers to the same request differ.
func document(elems []twiml.Element) []byte {
	var b bytes.Buffer
	b.Grow(256 + 128*len(elems))
	b.WriteString(xmlHeader)
	if len(elems) == 0 {
		b.WriteString("<Response/>")
		return b.Bytes()
	}
	b.WriteString("<Response>")
	for _, e := range elems {
		writeElement(&b, e)
	}
	b.WriteString("</Response>")
	return b.Bytes()
}

func writeElement(b *bytes.Buffer, e twiml.Element) {
	name := e.GetName()
	b.WriteByte('<')
	b.WriteString(name)
	opt, params := e.GetAttr()
	attrs := make([][2]string, 0, 8)
	for _, m := range [2]map[string]string{params, opt} { // params first: they win, as in twiml.Voice
		for k, v := range m {
			if v != "" && k != "" {
				attrs = append(attrs, [2]string{attrName(k), v})
			}
		}
	}
	slices.SortStableFunc(attrs, func(a, b [2]string) int { return strings.Compare(a[0], b[0]) })
	for i, a := range attrs {
		if i > 0 && attrs[i-1][0] == a[0] {
			continue
		}
		b.WriteByte(' ')
		b.WriteString(a[0])
		b.WriteString(`="`)
		_ = xml.EscapeText(b, []byte(a[1]))
		b.WriteByte('"')
	}
	text, inner := e.GetText(), e.GetInnerElements()
	if text == "" && len(inner) == 0 {
		b.WriteString("/>")
		return
	}
	b.WriteByte('>')
	_ = xml.EscapeText(b, []byte(text))
	for _, c := range inner {
		writeElement(b, c)
	}
	b.WriteString("</")
	b.WriteString(name)
	b.WriteByte('>')
}

// attrName is twiml's attribute name for a field: "FinishOnKey" is
// written finishOnKey.
func attrName(k string) string {
	if k == "" || k[0] < 'A' || k[0] > 'Z' {
		return k
	}
	return string(k[0]+'a'-'A') + k[1:]
}
