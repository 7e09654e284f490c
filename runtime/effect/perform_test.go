package effect_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-dev/switchboard/connectors"
	"github.com/switchboard-dev/switchboard/runtime/effect"
	"github.com/switchboard-dev/switchboard/runtime/engine"
)

type io struct{ ch effect.Channel }

func (i io) Channel(effect.Route) effect.Channel { return i.ch }
func (io) HTTP(context.Context, *engine.HTTPEffect) engine.Result {
	return engine.Result{Status: 204}
}
func (io) Function(_ context.Context, f *engine.FunctionEffect) engine.Result {
	return engine.Result{Value: f.Name}
}

// texter delivers messages and carries no calls.
type texter struct{ sent []connectors.Outbound }

func (t *texter) Send(_ context.Context, m *connectors.Outbound) (string, error) {
	t.sent = append(t.sent, *m)
	return "p1", nil
}

// phone also carries calls.
type phone struct {
	texter
	actions []connectors.CallAction
	err     error
}

func (p *phone) PerformCall(_ context.Context, a *connectors.CallAction) (connectors.CallResult, error) {
	p.actions = append(p.actions, *a)
	return connectors.CallResult{Digits: "42", DialStatus: "busy"}, p.err
}

var route = effect.Route{ConversationID: "c1", Connector: "custom", Instance: "default", Channel: "sms", Address: "+100", Thread: "CA1"}

func gather() engine.Effect {
	return engine.Effect{Kind: engine.EffectVoice, Key: "k1", WaitID: "w1",
		Voice: &engine.VoiceEffect{Verb: "gather", Text: "press", Digits: 2, Timeout: 5 * time.Second}}
}

func TestVoiceNeedsACallPerformer(t *testing.T) {
	for name, ch := range map[string]effect.Channel{"texter": &texter{}, "none": nil} {
		d := effect.Perform(context.Background(), io{ch}, route, gather())
		if d.Err == nil || !connectors.IsPermanent(d.Err) {
			t.Fatalf("%s: err %v, want a permanent error", name, d.Err)
		}
		if !strings.Contains(d.Err.Error(), "connectors.CallPerformer") || !strings.Contains(d.Err.Error(), "custom/default") {
			t.Errorf("%s: %q does not name the capability and the connector", name, d.Err)
		}
		if got := d.ResultFor().Err; got != d.Err.Error() {
			t.Errorf("%s: the flow sees %q", name, got)
		}
	}
}

func TestVoiceIsTheConnectorsJob(t *testing.T) {
	p := &phone{}
	d := effect.Perform(context.Background(), io{p}, route, gather())
	if d.Err != nil || d.Result.Digits != "42" {
		t.Fatalf("got %+v", d)
	}
	if len(p.actions) != 1 {
		t.Fatalf("actions %+v", p.actions)
	}
	a := p.actions[0]
	if len(a.Verbs) != 1 || a.Key != "k1" || a.To != "+100" || a.ConversationID != "c1" || a.Call != "CA1" {
		t.Fatalf("action %+v", a)
	}
	if v := a.Verbs[0]; v.Verb != "gather" || v.WaitID != "w1" || v.Digits != 2 || v.Timeout != 5*time.Second {
		t.Errorf("verb %+v", v)
	}
	p.err = connectors.Permanent(errors.New("call ended"))
	d = effect.Perform(context.Background(), io{p}, route, gather())
	if r := d.ResultFor(); r.Err != "call ended" || r.DialStatus != "busy" {
		t.Errorf("a failed verb's result %+v", r)
	}
}

func TestSendAddressesTheContact(t *testing.T) {
	tx := &texter{}
	e := engine.Effect{Kind: engine.EffectSend, Key: "k2", Send: &engine.SendEffect{Text: "hi"}}
	d := effect.Perform(context.Background(), io{tx}, route, e)
	if !d.Delivered || d.PlatformID != "p1" || len(tx.sent) != 1 || tx.sent[0].To != "+100" || tx.sent[0].Channel != "sms" {
		t.Fatalf("done %+v, sent %+v", d, tx.sent)
	}
	d = effect.Perform(context.Background(), io{nil}, route, e)
	if !connectors.IsPermanent(d.Err) {
		t.Errorf("a send without a connector: %v", d.Err)
	}
	if d := effect.Perform(context.Background(), io{tx}, route, engine.Effect{Kind: engine.EffectHTTP, HTTP: &engine.HTTPEffect{}}); d.Result.Status != 204 {
		t.Errorf("http: %+v", d)
	}
}

// A template cannot be answered inline (TwiML has none): Plan queues it,
// and Outbound carries it to the connector.
func TestTemplateIsNeverInline(t *testing.T) {
	tpl := &engine.Template{Name: "HX1", Variables: map[string]string{"1": "Ana"}}
	e := engine.Effect{Kind: engine.EffectSend, Key: "k1", Send: &engine.SendEffect{Text: "hi", Template: tpl}}
	x := &engine.Execution{ID: "x1", Status: engine.StatusEnded}
	u, replies, err := effect.Plan(effect.Step{Execution: x, Effects: []engine.Effect{e}, Route: route, Inline: true, InReplyTo: "m1"})
	if err != nil || len(replies) != 0 || len(u.Effects) != 1 {
		t.Fatalf("replies %+v, effects %+v, %v", replies, u.Effects, err)
	}
	out := effect.Outbound(route, e)
	if out.Template == nil || out.Template.Name != "HX1" || out.Template.Variables["1"] != "Ana" {
		t.Fatalf("outbound %+v", out)
	}
}

// routes is an IO with a channel per connector instance.
type routes struct {
	io
	by map[string]effect.Channel
}

func (r routes) Channel(rt effect.Route) effect.Channel { return r.by[rt.Connector+"/"+rt.Instance] }

// noRCS answers every send with a fallback to SMS through twilio/default.
type noRCS struct{ texter }

func (*noRCS) Send(context.Context, *connectors.Outbound) (string, error) {
	return "", &connectors.FallbackError{Connector: "twilio", Instance: "default", Channel: "sms",
		Reason: connectors.Permanent(errors.New("+100: the number cannot receive RCS"))}
}

// A send refused with a FallbackError goes through the instance it names,
// on its channel, to the same address, and is recorded there.
func TestSendFallsBack(t *testing.T) {
	sms := &texter{}
	r := effect.Route{ConversationID: "c1", Connector: "rcs", Instance: "default", Channel: "rcs", Address: "+100", Thread: "t1"}
	e := engine.Effect{Kind: engine.EffectSend, Key: "k1", Send: &engine.SendEffect{Text: "Which language?",
		Choices: []engine.Choice{{ID: "en", Title: "English"}, {ID: "id", Title: "Bahasa Indonesia"}}}}
	d := effect.Perform(context.Background(), routes{by: map[string]effect.Channel{"rcs/default": &noRCS{}, "twilio/default": sms}}, r, e)
	if d.Err != nil || !d.Delivered || d.Via == nil || d.Via.Connector != "twilio" || d.Via.Instance != "default" {
		t.Fatalf("done %+v", d)
	}
	if len(sms.sent) != 1 {
		t.Fatalf("sent by SMS %+v", sms.sent)
	}
	if m := sms.sent[0]; m.Channel != "sms" || m.To != "+100" || m.Thread != "" || m.Text != "Which language?\n1. English\n2. Bahasa Indonesia" {
		t.Errorf("the fallback message %+v", m)
	}
	// Without the fallback's instance, the send fails for good, naming both.
	d = effect.Perform(context.Background(), routes{by: map[string]effect.Channel{"rcs/default": &noRCS{}}}, r, e)
	if !connectors.IsPermanent(d.Err) || !strings.Contains(d.Err.Error(), "cannot receive RCS") || !strings.Contains(d.Err.Error(), "twilio/default") {
		t.Errorf("without the fallback: %v", d.Err)
	}
}
