package effect

import (
	"context"
	"errors"
	"fmt"

	"github.com/switchboard-dev/switchboard/connectors"
	"github.com/switchboard-dev/switchboard/runtime/engine"
)

// Channel delivers a conversation's messages: a configured connector in
// serve, the test's channel in flow tests. A Channel that is also a
// connectors.CallPerformer performs voice verbs.
type Channel interface {
	Send(ctx context.Context, m *connectors.Outbound) (platformID string, err error)
}

// IO is what performs effects.
type IO interface {
	// Channel returns the channel of the route's connector instance, or
	// nil when none is configured.
	Channel(r Route) Channel
	// HTTP makes an http step's request. Failures are results (Err), not
	// errors: the flow's error outcome decides what happens.
	HTTP(ctx context.Context, h *engine.HTTPEffect) engine.Result
	// Function calls a `function` step's function; failures are results.
	Function(ctx context.Context, f *engine.FunctionEffect) engine.Result
}

// Done is what performing an effect gave.
type Done struct {
	// Result is the result for the execution when it waits for it (the
	// effect's WaitID).
	Result engine.Result
	// Delivered is set when a send reached the platform, with its id for
	// the message (PlatformID, possibly empty).
	Delivered  bool
	PlatformID string
	// Err is a delivery that failed: a send or a voice verb. A permanent
	// one (connectors.IsPermanent) cannot succeed on a retry; the caller
	// decides whether to retry the others (serve does, with backoff).
	// When the execution waits, the flow's failure outcome takes it once
	// no retry is left.
	Err error
	// Pending: the platform took the effect, and its outcome for the
	// waiting execution comes back later as an event of the conversation
	// (a call's verb, a message's delivery report).
	Pending bool
	// Via is set when a send went through another instance than its
	// route's (connectors.FallbackError): the message is recorded there,
	// where the platform's delivery reports name it.
	Via *Route
}

// Perform carries out one effect of the kinds a Book's Perform takes.
func Perform(ctx context.Context, io IO, r Route, e engine.Effect) Done {
	switch e.Kind {
	case engine.EffectSend:
		return send(ctx, io, r, e, "", "")
	case engine.EffectHTTP:
		return Done{Result: io.HTTP(ctx, e.HTTP)}
	case engine.EffectFunction:
		return Done{Result: io.Function(ctx, e.Function)}
	case engine.EffectVoice:
		return performCall(ctx, io, r, []engine.Effect{e})
	}
	return Done{Err: connectors.Permanent(fmt.Errorf("%s is not an effect to perform", e.Kind))}
}

// PerformReply delivers a live agent's reply: a send whose Outbound names
// the agent (connectors.Outbound.Agent), for platforms that treat a
// person's replies apart (Meta's HUMAN_AGENT tag), and what the customer
// sees of them (AgentName, for channels that show it).
func PerformReply(ctx context.Context, io IO, r Route, e engine.Effect, agent, name string) Done {
	return send(ctx, io, r, e, agent, name)
}

func send(ctx context.Context, io IO, r Route, e engine.Effect, agent, name string) Done {
	ch := io.Channel(r)
	if ch == nil {
		return Done{Err: connectors.Permanent(fmt.Errorf("no connector %s/%s is configured", r.Connector, r.Instance))}
	}
	out := Outbound(r, e)
	out.Agent, out.AgentName = agent, name
	d := deliver(ctx, ch, out, e.WaitID != "")
	var fb *connectors.FallbackError
	if errors.As(d.Err, &fb) {
		// The platform cannot reach the contact (RCS to a number without
		// it): the same message goes through the instance it names.
		via := Route{ConversationID: r.ConversationID, ContactID: r.ContactID, Connector: fb.Connector, Instance: fb.Instance,
			Channel: fb.Channel, Address: r.Address}
		alt := io.Channel(via)
		if alt == nil {
			return Done{Err: connectors.Permanent(fmt.Errorf("%w: no connector %s/%s is configured", d.Err, fb.Connector, fb.Instance))}
		}
		out := Outbound(r, e)
		out.Agent, out.AgentName, out.Channel, out.Thread = agent, name, fb.Channel, ""
		d = deliver(ctx, alt, out, e.WaitID != "")
		d.Via = &via
	}
	return d
}

// deliver hands one message to a channel.
func deliver(ctx context.Context, ch Channel, out connectors.Outbound, waited bool) Done {
	FoldChoices(ch, &out)
	id, err := ch.Send(ctx, &out)
	if err != nil {
		return Done{Err: err}
	}
	// A platform that reports on deliveries later decides the outcome
	// of a send the flow waits for.
	dr, reports := ch.(connectors.DeliveryReporter)
	pending := waited && id != "" && reports && dr.ReportsDelivery()
	return Done{Delivered: true, PlatformID: id, Pending: pending}
}

// performCall has the conversation's connector perform a script of voice
// verbs: a connector's capability, not the runtime's.
func performCall(ctx context.Context, io IO, r Route, script []engine.Effect) Done {
	ch := io.Channel(r)
	cp, ok := ch.(connectors.CallPerformer)
	if !ok {
		what := "no connector is configured"
		if ch != nil {
			what = "the connector does not carry calls"
		}
		return Done{Err: connectors.Permanent(fmt.Errorf("no connector performs voice effects on %s/%s (%s: it needs connectors.CallPerformer)",
			r.Connector, r.Instance, what))}
	}
	a := &connectors.CallAction{Key: script[0].Key, ConversationID: r.ConversationID, Call: r.Thread, To: r.Address}
	for _, e := range script {
		a.Verbs = append(a.Verbs, CallVerb(e))
	}
	res, err := cp.PerformCall(ctx, a)
	// A failed verb keeps what it gave (a partial recording): the flow
	// sees both.
	return Done{Err: err, Pending: res.Pending && err == nil, Result: engine.Result{Digits: res.Digits, Speech: res.Speech,
		Confidence: res.Confidence, RecordingURL: res.RecordingURL, Duration: res.Duration, Transcript: res.Transcript, DialStatus: res.DialStatus}}
}

// PerformScript performs a voice effect and the ones its step emitted
// right after it (OutboxPayload.Script) as one script: a call does one
// thing at a time, so the verbs of a step must reach it together.
func PerformScript(ctx context.Context, io IO, r Route, e engine.Effect, rest []engine.Effect) Done {
	return performCall(ctx, io, r, append([]engine.Effect{e}, rest...))
}

// CallVerb is a voice effect as the connectors take it.
func CallVerb(e engine.Effect) connectors.CallVerb {
	v := e.Voice
	return connectors.CallVerb{Verb: v.Verb, WaitID: e.WaitID, Text: v.Text, URL: v.URL, Voice: v.Voice, Language: v.Language,
		Loop: v.Loop, Digits: v.Digits, FinishOn: v.FinishOn, Speech: v.Speech, Timeout: v.Timeout, MaxLength: v.MaxLength,
		Transcribe: v.Transcribe, Number: v.Number, CallerID: v.CallerID, Record: v.Record}
}

// ResultFor is the result the waiting execution resumes with: a failure
// is its Err, for the flow's failure outcome.
func (d Done) ResultFor() engine.Result {
	res := d.Result
	if d.Err != nil {
		res.Err = d.Err.Error()
	}
	return res
}

// Outbound addresses a send effect: by default to the contact, on the
// conversation's channel.
func Outbound(r Route, e engine.Effect) connectors.Outbound {
	to, channel := e.Send.To, e.Send.Channel
	if to == "" {
		to = r.Address
	}
	if channel == "" {
		channel = r.Channel
	}
	out := connectors.Outbound{Key: e.Key, Channel: channel, To: to, Text: e.Send.Text, Media: e.Send.Media, ConversationID: r.ConversationID}
	if channel == r.Channel {
		out.Thread = r.Thread // the conversation's own session, not another channel's
	}
	if t := e.Send.Template; t != nil {
		out.Template = &connectors.Template{Name: t.Name, Language: t.Language, Variables: t.Variables}
	}
	out.Choices, out.Menu = Choices(e.Send.Choices), e.Send.Menu
	return out
}

// Choices are a send's choices as the connectors take them.
func Choices(cs []engine.Choice) []connectors.Choice {
	if len(cs) == 0 {
		return nil
	}
	out := make([]connectors.Choice, len(cs))
	for i, c := range cs {
		out[i] = connectors.Choice{ID: c.ID, Title: c.Title, Description: c.Description}
	}
	return out
}

// FoldChoices readies out for conn, the connector about to send it: a
// connector that renders choices on out's channel (a
// connectors.ChoiceRenderer) gets them as they are; any other gets them
// folded into the text as a numbered menu (connectors.MenuText), so the
// customer sees them everywhere. Every path that hands an Outbound to a
// connector (the outbox's sends, the inline replies) goes through it.
func FoldChoices(conn any, out *connectors.Outbound) {
	if len(out.Choices) == 0 {
		return
	}
	if cr, ok := conn.(connectors.ChoiceRenderer); ok && cr.RendersChoices(out.Channel) {
		return
	}
	out.Text = connectors.MenuText(out.Text, out.Choices)
	out.Choices, out.Menu = nil, ""
}
