package voice

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard-dev/switchboard/connectors"
	"github.com/switchboard-dev/switchboard/connectors/twilio/twilioapi"
)

// maxIDBytes caps the ids that become parts of a PlatformID (CallSid,
// wait, task, worker): Twilio's are 34 characters, the runtime's shorter.
const maxIDBytes = 128

// finalStatus maps the CallStatus values of a call that is over to the
// status of a CallEndedEvent.
var finalStatus = map[string]string{
	"completed": "completed",
	"busy":      "busy",
	"failed":    "failed",
	"no-answer": "no_answer",
	"canceled":  "canceled",
}

// dialStatus maps DialCallStatus to a CallResult's DialStatus and a
// CallAgentEvent's Status. Twilio reports "completed" for a bridged call
// that ended and "answered" for one still up when the caller hung up.
var dialStatus = map[string]string{
	"completed": "answered",
	"answered":  "answered",
	"no-answer": "no_answer",
	"busy":      "busy",
	"failed":    "failed",
	"canceled":  "failed",
}

// dialOutcome is a DialCallStatus as a dial's outcome. A status Twilio
// may add later is a failure to reach the number, rather than a refusal
// of the callback that would cut the caller off.
func dialOutcome(s string) string {
	if o, ok := dialStatus[s]; ok {
		return o
	}
	return "failed"
}

// queueStatus maps the QueueResult of an <Enqueue> action to a
// DialStatus where one fits; the value itself is in the attributes.
var queueStatus = map[string]string{
	"bridged":      "answered",
	"queue-full":   "failed",
	"error":        "failed",
	"system-error": "failed",
}

// callAttributes are the call's parameters that flows see as
// message.attributes, under these names.
var callAttributes = [...][2]string{
	{"CallSid", "call_sid"}, {"AccountSid", "account_sid"}, {"Direction", "direction"},
	{"ForwardedFrom", "forwarded_from"}, {"CallerName", "caller_name"}, {"ParentCallSid", "parent_call_sid"},
	{"FromCity", "from_city"}, {"FromState", "from_state"}, {"FromZip", "from_zip"}, {"FromCountry", "from_country"},
	{"ToCity", "to_city"}, {"ToState", "to_state"}, {"ToZip", "to_zip"}, {"ToCountry", "to_country"},
}

// badRequest is a 400 for a parameter Twilio always sends.
func badRequest(format string, args ...any) error {
	return connectors.Errorf(http.StatusBadRequest, format, args...)
}

// parse turns a verified request into what it reports: the call itself
// (no "on" in the query), a callback of the rendered TwiML, or the call's
// status callback. A status callback that is not final gives nothing.
func parse(p, q url.Values) ([]connectors.Inbound, error) {
	sid, err := id(p, "CallSid", "parameter")
	if err != nil {
		return nil, err
	}
	from := p.Get("From")
	if from == "" {
		return nil, badRequest("missing parameter %q", "From")
	}
	in := connectors.Inbound{PlatformID: sid, Channel: connectors.ChannelVoice, From: from, To: p.Get("To"), Thread: sid,
		FromName: p.Get("CallerName")}
	if phone, ok := twilioapi.E164(from); ok {
		in.Phone = phone
	}
	on := q.Get("on")
	switch on {
	case "", onStatus:
		if status, final := finalStatus[p.Get("CallStatus")]; final {
			return one(ended(in, p, status))
		}
		if on == onStatus {
			return nil, nil // ringing, in-progress: the call's own webhook says it began
		}
		in.Attributes = attributes(p)
		return []connectors.Inbound{in}, nil
	case onResult:
		return one(result(in, p, q))
	case onAgent:
		return one(agent(in, p, q))
	case onHold:
		return one(hold(in, q))
	case onAnswered:
		return one(answered(in, p, q))
	}
	return nil, badRequest("unknown callback on=%q in the webhook URL's query", on)
}

func one(in connectors.Inbound, err error) ([]connectors.Inbound, error) {
	if err != nil {
		return nil, err
	}
	return []connectors.Inbound{in}, nil
}

// id returns a parameter that becomes part of a PlatformID: present,
// short, and without the "/" that separates the parts.
func id(v url.Values, name, what string) (string, error) {
	s := v.Get(name)
	switch {
	case s == "":
		return "", badRequest("missing %s %q", what, name)
	case len(s) > maxIDBytes:
		return "", badRequest("%s %q is longer than %d bytes", what, name, maxIDBytes)
	case strings.ContainsAny(s, "/\x00"):
		return "", badRequest("%s %q must not contain / or NUL", what, name)
	}
	return s, nil
}

// attributes are the call's parameters for message.attributes.
func attributes(p url.Values) map[string]any {
	attrs := make(map[string]any, 8)
	for _, a := range callAttributes {
		if v := p.Get(a[0]); v != "" {
			attrs[a[1]] = v
		}
	}
	return attrs
}

// ended is the call status callback of a call that is over.
func ended(in connectors.Inbound, p url.Values, status string) (connectors.Inbound, error) {
	d, err := number(p, "CallDuration")
	if err != nil {
		return in, err
	}
	in.PlatformID += "/ended"
	in.Call = &connectors.CallEvent{Kind: connectors.CallEndedEvent, Status: status, Duration: d}
	in.Attributes = map[string]any{"call_sid": in.Thread, "call_status": p.Get("CallStatus")}
	if t, err := time.Parse(time.RFC1123Z, p.Get("Timestamp")); err == nil {
		in.At = t.UTC()
	}
	return in, nil
}

// result is the action of a gather, record or dial (or an <Enqueue>)
// that the flow waits for: which one ended is told by the parameters
// Twilio adds for it.
func result(in connectors.Inbound, p, q url.Values) (connectors.Inbound, error) {
	wait, err := id(q, "wait", "callback query parameter")
	if err != nil {
		return in, err
	}
	in.PlatformID += "/result/" + wait
	res := connectors.CallResult{}
	attrs := map[string]any{"call_sid": in.Thread}
	switch {
	case p.Has("RecordingUrl") || p.Has("RecordingSid"):
		res.RecordingURL, res.RecordingID = p.Get("RecordingUrl"), p.Get("RecordingSid")
		if res.Duration, err = number(p, "RecordingDuration"); err != nil {
			return in, err
		}
		if d := p.Get("Digits"); d != "" {
			attrs["finished_on_key"] = d // a key, or "hangup"
		}
		if s := p.Get("DialCallStatus"); s != "" { // a dial with record: its status is the result
			res.DialStatus = dialOutcome(s)
		}
	case p.Has("DialCallStatus"):
		s := p.Get("DialCallStatus")
		res.DialStatus = dialOutcome(s)
		if res.Duration, err = number(p, "DialCallDuration"); err != nil {
			return in, err
		}
		attrs["dial_call_status"], attrs["dial_call_sid"] = s, p.Get("DialCallSid")
	case p.Has("QueueResult"):
		res.DialStatus = queueStatus[p.Get("QueueResult")]
		if res.Duration, err = number(p, "QueueTime"); err != nil {
			return in, err
		}
		attrs["queue_result"], attrs["queue_sid"] = p.Get("QueueResult"), p.Get("QueueSid")
	default: // a gather: keys, speech, or neither when it timed out
		res.Digits, res.Speech = p.Get("Digits"), p.Get("SpeechResult")
		if res.Confidence, err = number(p, "Confidence"); err != nil {
			return in, err
		}
		in.Text = res.Digits
		if in.Text == "" {
			in.Text = res.Speech
		}
	}
	in.Attributes = attrs
	in.Call = &connectors.CallEvent{Kind: connectors.CallResultEvent, WaitID: wait, Result: res}
	return in, nil
}

// agent is the action of the Dial that connected the caller to an agent:
// the agent's leg is over, talked or not.
func agent(in connectors.Inbound, p, q url.Values) (connectors.Inbound, error) {
	task, err := id(q, "task", "callback query parameter")
	if err != nil {
		return in, err
	}
	worker := q.Get("worker")
	if strings.ContainsAny(worker, "/\x00") || len(worker) > maxIDBytes {
		return in, badRequest("callback query parameter %q is not a worker id", "worker")
	}
	s := p.Get("DialCallStatus")
	if s == "" {
		return in, badRequest("missing parameter %q", "DialCallStatus")
	}
	status := dialOutcome(s)
	d, err := number(p, "DialCallDuration")
	if err != nil {
		return in, err
	}
	// The agent's leg (DialCallSid) tells one attempt from another; a
	// leg that never started has none, and is told by the time the TwiML
	// that placed it was rendered.
	attempt := p.Get("DialCallSid")
	if attempt == "" {
		attempt = q.Get("at")
	}
	if strings.ContainsAny(attempt, "/\x00") || len(attempt) > maxIDBytes {
		return in, badRequest("parameter %q is not a call sid", "DialCallSid")
	}
	in.PlatformID += "/agent/" + task + "/" + worker + "/" + attempt
	in.Call = &connectors.CallEvent{Kind: connectors.CallAgentEvent, Task: task, Worker: worker, Status: status, Duration: d}
	in.Attributes = map[string]any{"call_sid": in.Thread, "dial_call_status": s, "dial_call_sid": p.Get("DialCallSid")}
	return in, nil
}

// hold is the Redirect at the end of a loop of the hold music.
func hold(in connectors.Inbound, q url.Values) (connectors.Inbound, error) {
	task, err := id(q, "task", "callback query parameter")
	if err != nil {
		return in, err
	}
	at, err := id(q, "at", "callback query parameter")
	if err != nil {
		return in, err
	}
	in.PlatformID += "/hold/" + task + "/" + at
	in.Call = &connectors.CallEvent{Kind: connectors.CallHoldEvent, Task: task}
	in.Attributes = map[string]any{"call_sid": in.Thread}
	return in, nil
}

// answered is the agent's leg picking up: its CallSid is the agent's leg,
// ParentCallSid the caller's call (the conversation's thread).
func answered(in connectors.Inbound, p, q url.Values) (connectors.Inbound, error) {
	task, err := id(q, "task", "callback query parameter")
	if err != nil {
		return in, err
	}
	parent, err := id(p, "ParentCallSid", "parameter")
	if err != nil {
		return in, err
	}
	worker := q.Get("worker")
	if strings.ContainsAny(worker, "/\x00") || len(worker) > maxIDBytes {
		return in, badRequest("callback query parameter %q is not a worker id", "worker")
	}
	leg := in.PlatformID
	in.PlatformID, in.Thread = leg+"/answered", parent
	in.Call = &connectors.CallEvent{Kind: connectors.CallAnsweredEvent, Task: task, Worker: worker}
	in.Attributes = map[string]any{"call_sid": parent, "agent_call_sid": leg}
	return in, nil
}

// number reads a numeric parameter (seconds, a confidence); absent or
// empty is 0.
func number(p url.Values, name string) (float64, error) {
	s := p.Get(name)
	if s == "" {
		return 0, nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f < 0 || f != f || f > 1e9 {
		return 0, badRequest("parameter %q: %q is not a non-negative number", name, s)
	}
	return f, nil
}
