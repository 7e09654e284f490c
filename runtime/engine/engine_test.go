package engine_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-dev/switchboard/compiler"
	"github.com/switchboard-dev/switchboard/runtime/engine"
)

var t0 = time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)

func compile(t *testing.T, src string) *compiler.Program {
	t.Helper()
	prog, list := compiler.CompileSources([]compiler.Source{{Name: "t.flow", Src: []byte(src)}}, compiler.Options{})
	if prog == nil {
		t.Fatalf("does not compile:\n%v", list)
	}
	return prog
}

// driver runs one execution and remembers the effects, for terse tests.
type driver struct {
	t       *testing.T
	prog    *compiler.Program
	x       *engine.Execution
	effects []engine.Effect // of the last event
	now     time.Time
	env     map[string]string
	contact compiler.Contact
}

func start(t *testing.T, prog *compiler.Program, flow, text string) *driver {
	t.Helper()
	d := &driver{t: t, prog: prog, now: t0, env: map[string]string{"BOT_URL": "http://bot"}, contact: compiler.Contact{ID: "c1", Name: "Ana"}}
	msg := &compiler.Message{ID: "m1", Channel: "webchat", From: "visitor-1", Text: text}
	x, effects, err := engine.Start(prog, flow, "x1", d.event(engine.EventStart, func(e *engine.Event) { e.Message = msg }))
	if err != nil {
		t.Fatal(err)
	}
	d.x, d.effects = x, effects
	d.roundTrip()
	return d
}

func (d *driver) event(kind engine.EventKind, set func(*engine.Event)) engine.Event {
	e := engine.Event{Kind: kind, Now: d.now, Env: d.env, Contact: d.contact, Conversation: compiler.Conversation{ID: "conv1", Channel: "webchat"}}
	if set != nil {
		set(&e)
	}
	return e
}

// roundTrip stores and loads the execution as the runtime does, so every
// test also proves executions survive JSON.
func (d *driver) roundTrip() {
	b, err := json.Marshal(d.x)
	if err != nil {
		d.t.Fatal(err)
	}
	var x engine.Execution
	if err := json.Unmarshal(b, &x); err != nil {
		d.t.Fatal(err)
	}
	d.x = &x
}

func (d *driver) step(ev engine.Event) {
	d.t.Helper()
	before, _ := json.Marshal(d.x)
	x, effects, err := engine.Step(d.prog, d.x, ev)
	if err != nil {
		d.t.Fatal(err)
	}
	if after, _ := json.Marshal(d.x); string(after) != string(before) {
		d.t.Fatal("Step modified its input execution")
	}
	d.x, d.effects = x, effects
	d.roundTrip()
}

func (d *driver) reply(text string) {
	d.step(d.event(engine.EventInbound, func(e *engine.Event) {
		e.Message = &compiler.Message{ID: "m" + text, Channel: "webchat", Text: text}
	}))
}

func (d *driver) result(res engine.Result) {
	id := d.x.Wait.ID
	d.step(d.event(engine.EventResult, func(e *engine.Event) { e.WaitID, e.Result = id, &res }))
}

func (d *driver) fire() {
	id := d.x.Wait.Timer
	d.now = d.now.Add(time.Hour)
	d.step(d.event(engine.EventTimer, func(e *engine.Event) { e.Timer = id }))
}

func (d *driver) task(o compiler.Outcome) {
	id := d.x.Wait.Task
	d.step(d.event(engine.EventTask, func(e *engine.Event) { e.Task = &engine.TaskResult{ID: id, Outcome: o, Worker: "w7"} }))
}

// sent returns the texts of the send effects of the last event.
func (d *driver) sent() []string {
	var out []string
	for _, e := range d.effects {
		if e.Kind == engine.EffectSend {
			out = append(out, e.Send.Text)
		}
	}
	return out
}

func (d *driver) kinds() string {
	var out []string
	for _, e := range d.effects {
		out = append(out, string(e.Kind))
	}
	return strings.Join(out, " ")
}

func (d *driver) expect(status engine.Status, sent ...string) {
	d.t.Helper()
	if d.x.Status != status {
		d.t.Fatalf("status = %s (%s), want %s; effects %s", d.x.Status, d.x.Error, status, d.kinds())
	}
	if got := d.sent(); !reflect.DeepEqual(got, sent) && !(len(got) == 0 && len(sent) == 0) {
		d.t.Fatalf("sent %q, want %q", got, sent)
	}
}

const support = `
flow support {
  var language: string = contact.attributes.language ?? "en"
  var tries: number = 0

  start: switch {
    message.text matches "(?i)live agent" -> choose_language
    default -> bot
  }
  bot: http {
    post "${env.BOT_URL}/reply"
    json {text: message.text, conversation: conversation.id}
    timeout 3s
    ok -> answer
    error -> handoff
  }
  answer: send "${bot.json.reply}" -> done
  choose_language: ask "Reply 1 for English, 2 for Bahasa Indonesia" {
    timeout 5m -> handoff
    reply.text == "2" -> bahasa
    reply -> handoff
  }
  bahasa: set language = "id", tries = tries + 1 -> handoff
  handoff: enqueue support_routing {
    attributes {language: language, tries: tries}
    priority 5
    timeout 10m -> sorry
    completed -> thanks
  }
  thanks: send "Thanks ${contact.name}, served by ${handoff.task.worker}" -> done
  sorry: send "All our agents are busy." -> done
}
queue english { workers "en" in worker.languages }
workflow support_routing { default english }
`

func TestSwitchHTTPSend(t *testing.T) {
	prog := compile(t, support)
	d := start(t, prog, "support", "where is my order?")
	d.expect(engine.StatusWaiting)
	if len(d.effects) != 1 || d.effects[0].Kind != engine.EffectHTTP {
		t.Fatalf("effects %s", d.kinds())
	}
	h := d.effects[0].HTTP
	if h.Method != "POST" || h.URL != "http://bot/reply" || h.Body != `{"conversation":"conv1","text":"where is my order?"}` || h.Timeout != 3*time.Second || d.effects[0].WaitID != d.x.Wait.ID {
		t.Fatalf("http effect %+v", h)
	}
	d.result(engine.Result{Status: 200, Body: `{"reply": "It ships today."}`})
	d.expect(engine.StatusEnded, "It ships today.")
	if d.effects[len(d.effects)-1].Kind != engine.EffectEnd {
		t.Fatalf("effects %s", d.kinds())
	}
}

func TestHTTPErrorOutcome(t *testing.T) {
	for _, res := range []engine.Result{{Status: 502}, {Err: "connection refused"}} {
		d := start(t, compile(t, support), "support", "hi")
		d.result(res)
		d.expect(engine.StatusWaiting)
		if d.x.Wait.Kind != engine.WaitTask || d.effects[0].Kind != engine.EffectEnqueue {
			t.Fatalf("after %+v: wait %+v effects %s", res, d.x.Wait, d.kinds())
		}
	}
}

func TestAskGuardsSetEnqueueCompleted(t *testing.T) {
	d := start(t, compile(t, support), "support", "I want a LIVE AGENT")
	d.expect(engine.StatusWaiting, "Reply 1 for English, 2 for Bahasa Indonesia")
	if d.kinds() != "send set_timer" || d.effects[1].Timer.At != t0.Add(5*time.Minute) {
		t.Fatalf("effects %s", d.kinds())
	}
	d.reply("2")
	// The reply disarms the timeout, sets language and enqueues.
	if d.kinds() != "cancel_timer enqueue set_timer" {
		t.Fatalf("effects %s", d.kinds())
	}
	e := d.effects[1].Enqueue
	if e.Workflow != "support_routing" || e.Priority != 5 || e.Channel != "chat" ||
		!reflect.DeepEqual(e.Attributes, map[string]any{"language": "id", "tries": 1.0}) {
		t.Fatalf("enqueue %+v", e)
	}
	if d.x.Frames[0].Vars["language"] != "id" {
		t.Fatalf("vars %v", d.x.Frames[0].Vars)
	}
	d.task(compiler.OutCompleted)
	d.expect(engine.StatusEnded, "Thanks Ana, served by w7")
	if d.kinds() != "cancel_timer send end" {
		t.Fatalf("effects %s", d.kinds())
	}
}

func TestAskTimeoutAndEnqueueTimeout(t *testing.T) {
	d := start(t, compile(t, support), "support", "live agent")
	d.fire()
	if d.kinds() != "enqueue set_timer" {
		t.Fatalf("after ask timeout: %s", d.kinds())
	}
	d.fire()
	// The task timed out: it is withdrawn from the router.
	d.expect(engine.StatusEnded, "All our agents are busy.")
	if d.kinds() != "cancel_task send end" {
		t.Fatalf("after task timeout: %s", d.kinds())
	}
}

func TestUnwiredOutcomeEndsExecution(t *testing.T) {
	d := start(t, compile(t, support), "support", "live agent")
	d.reply("1")
	d.task(compiler.OutCanceled)
	d.expect(engine.StatusEnded)
}

func TestStaleEventsAreIgnored(t *testing.T) {
	d := start(t, compile(t, support), "support", "live agent")
	x := d.x
	for _, ev := range []engine.Event{
		d.event(engine.EventTimer, func(e *engine.Event) { e.Timer = "x1.99/timeout" }),
		d.event(engine.EventResult, func(e *engine.Event) { e.WaitID = "x1.1"; e.Result = &engine.Result{Status: 200} }),
		d.event(engine.EventTask, func(e *engine.Event) { e.Task = &engine.TaskResult{ID: "nope", Outcome: compiler.OutCompleted} }),
	} {
		got, effects, err := engine.Step(d.prog, x, ev)
		if err != nil || got != x || len(effects) != 0 {
			t.Fatalf("%s: got %v effects %v err %v", ev.Kind, got != x, effects, err)
		}
	}
	// A message while waiting for an HTTP result starts nothing.
	d2 := start(t, compile(t, support), "support", "hello")
	d2.reply("are you there?")
	if len(d2.effects) != 0 || d2.x.Wait.Kind != engine.WaitHTTP {
		t.Fatalf("message during http: %s", d2.kinds())
	}
}

func TestCancelDisarms(t *testing.T) {
	d := start(t, compile(t, support), "support", "live agent")
	d.reply("1")
	d.step(d.event(engine.EventCancel, nil))
	if d.kinds() != "cancel_timer cancel_task end" || d.x.Status != engine.StatusEnded {
		t.Fatalf("cancel: %s %s", d.kinds(), d.x.Status)
	}
	if _, _, err := engine.Step(d.prog, d.x, d.event(engine.EventInbound, nil)); err != engine.ErrEnded {
		t.Fatalf("step after end: %v", err)
	}
}

func TestSendFailedWaitsForDelivery(t *testing.T) {
	prog := compile(t, `
flow f {
  s: send "hello" { channel sms; to "+15550100"; media "https://x/a.png"; failed -> fallback } -> done
  fallback: send "by email" { channel email } -> done
}`)
	d := start(t, prog, "f", "x")
	if d.x.Status != engine.StatusWaiting || d.x.Wait.Kind != engine.WaitSend {
		t.Fatalf("wait %+v", d.x.Wait)
	}
	s := d.effects[0].Send
	if s.Channel != "sms" || s.To != "+15550100" || !reflect.DeepEqual(s.Media, []string{"https://x/a.png"}) || d.effects[0].WaitID == "" {
		t.Fatalf("send %+v", s)
	}
	d.result(engine.Result{Err: "undeliverable"})
	d.expect(engine.StatusEnded, "by email")
	if d.effects[0].Send.Channel != "email" {
		t.Fatalf("fallback %+v", d.effects[0].Send)
	}
}

func TestWaitFunctionAndSubflow(t *testing.T) {
	prog := compile(t, `
flow main {
  var tier: string = "standard"
  pause: wait 2s -> lookup
  lookup: subflow customer_tier {
    inputs {customer: contact.id}
    error -> done
  } -> keep
  keep: set tier = lookup.outputs.tier -> score
  score: function risk_score {
    args {tier: tier}
    error -> done
  } -> tell
  tell: send "${tier} ${score.result}" -> done
}
flow customer_tier {
  trigger subflow
  input customer: string
  output tier: string = "standard"
  fetch: http {
    get "http://crm/${customer}"
    error -> done
  } -> pick
  pick: set tier = fetch.json.tier -> done
}`)
	d := start(t, prog, "main", "x")
	if d.x.Wait.Kind != engine.WaitTimer || d.kinds() != "set_timer" || d.effects[0].Timer.At != t0.Add(2*time.Second) {
		t.Fatalf("wait: %s %+v", d.kinds(), d.x.Wait)
	}
	d.fire()
	if len(d.x.Frames) != 2 || d.effects[0].HTTP.URL != "http://crm/c1" {
		t.Fatalf("subflow: frames %d effects %s", len(d.x.Frames), d.kinds())
	}
	d.result(engine.Result{Status: 200, Body: `{"tier": "gold"}`})
	if len(d.x.Frames) != 1 || d.x.Frames[0].Vars["tier"] != "gold" || d.effects[0].Function.Name != "risk_score" {
		t.Fatalf("after subflow: frames %d vars %v effects %s", len(d.x.Frames), d.x.Frames[0].Vars, d.kinds())
	}
	if !reflect.DeepEqual(d.effects[0].Function.Args, map[string]any{"tier": "gold"}) {
		t.Fatalf("args %v", d.effects[0].Function.Args)
	}
	d.result(engine.Result{Value: 0.25})
	d.expect(engine.StatusEnded, "gold 0.25")
}

func TestSubflowErrorGoesToCallerErrorOutcome(t *testing.T) {
	prog := compile(t, `
flow main {
  run: subflow inner {
    error -> oops
  } -> done
  oops: send "inner failed" -> done
}
flow inner {
  trigger subflow
  s: send "${int("not a number")}" -> done
}`)
	d := start(t, prog, "main", "x")
	d.expect(engine.StatusEnded, "inner failed")
}

func TestRuntimeErrorFailsExecution(t *testing.T) {
	prog := compile(t, `
flow f {
  s: send "${int(message.text)}" -> done
}`)
	d := start(t, prog, "f", "abc")
	if d.x.Status != engine.StatusFailed || !strings.Contains(d.x.Error, "flow f, step s") || d.kinds() != "end" {
		t.Fatalf("status %s error %q effects %s", d.x.Status, d.x.Error, d.kinds())
	}
}

func TestVoiceSteps(t *testing.T) {
	prog := compile(t, `
hours office {
  timezone "UTC"
  mon-fri 08:00-17:00
}
flow ivr {
  trigger call
  hello: say "Welcome" { voice "alice"; language "en-US"; loop 2 } -> menu
  menu: gather {
    prompt "Press 1 for sales"
    digits 1
    digits == "1" and open(office) -> sales
    speech contains "agent" -> agent
    keypress -> menu
    timeout 5s -> voicemail
  }
  sales: dial "+15550100" {
    caller_id "+15550199"
    no_answer -> voicemail
    busy -> voicemail
  } -> bye
  agent: play "https://x/hold.mp3" -> bye
  voicemail: record {
    max_length 2m
    transcribe true
  } -> bye
  bye: hangup
}`)
	d := start(t, prog, "ivr", "")
	if d.kinds() != "voice voice" || d.effects[0].Voice.Verb != "say" || d.effects[0].Voice.Loop != 2 || d.effects[1].Voice.Verb != "gather" || d.effects[1].Voice.Digits != 1 || !d.effects[1].Voice.Speech {
		t.Fatalf("effects %s %+v", d.kinds(), d.effects)
	}
	// Tuesday 09:00 UTC: the office is open, 1 dials sales.
	d.result(engine.Result{Digits: "1"})
	if v := d.effects[0].Voice; v.Verb != "dial" || v.Number != "+15550100" || v.CallerID != "+15550199" {
		t.Fatalf("dial %+v", v)
	}
	d.result(engine.Result{DialStatus: "busy"})
	if v := d.effects[0].Voice; v.Verb != "record" || v.MaxLength != 2*time.Minute || !v.Transcribe {
		t.Fatalf("record %+v", v)
	}
	d.result(engine.Result{RecordingURL: "https://x/rec.wav", Duration: 12})
	if d.x.Status != engine.StatusEnded || d.effects[0].Voice.Verb != "hangup" {
		t.Fatalf("hangup: %s %s", d.x.Status, d.kinds())
	}
	// Speech takes the speech guard; nothing at all is a timeout.
	d = start(t, prog, "ivr", "")
	d.result(engine.Result{Speech: "an agent please", Confidence: 0.9})
	if d.effects[0].Voice.Verb != "play" {
		t.Fatalf("speech: %s", d.kinds())
	}
	d = start(t, prog, "ivr", "")
	d.result(engine.Result{})
	if d.effects[0].Voice.Verb != "record" {
		t.Fatalf("timeout: %s", d.kinds())
	}
	// Another key loops back to the menu, which waits again.
	d = start(t, prog, "ivr", "")
	d.result(engine.Result{Digits: "9"})
	if d.effects[0].Voice.Verb != "gather" || d.x.Wait == nil {
		t.Fatalf("keypress: %s", d.kinds())
	}
}

func TestStartErrors(t *testing.T) {
	prog := compile(t, support)
	if _, _, err := engine.Start(prog, "nope", "x", engine.Event{}); err == nil {
		t.Fatal("unknown flow accepted")
	}
	d := start(t, prog, "support", "hi")
	if _, _, err := engine.Step(prog, d.x, engine.Event{Kind: engine.EventStart}); err != engine.ErrStarted {
		t.Fatalf("second start: %v", err)
	}
}

func TestTrace(t *testing.T) {
	prog := compile(t, support)
	ev := engine.Event{Kind: engine.EventStart, Now: t0, Message: &compiler.Message{Text: "live agent"}}
	x, effects, visits, err := engine.StartTraced(prog, "support", "x", ev)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, v := range visits {
		got = append(got, prog.Flow(v.Flow).States[v.State].Name+":"+v.Branch)
	}
	if want := "start: start:g0 choose_language:"; strings.Join(got, " ") != want {
		t.Fatalf("visits %q, want %q", strings.Join(got, " "), want)
	}
	if effects[0].From == nil || prog.Flow("support").States[effects[0].From.State].Name != "choose_language" {
		t.Fatalf("effect from %+v", effects[0].From)
	}
	reply := engine.Event{Kind: engine.EventInbound, Now: t0, Message: &compiler.Message{Text: "2"}}
	_, _, visits, err = engine.StepTraced(prog, x, reply)
	if err != nil {
		t.Fatal(err)
	}
	got = got[:0]
	for _, v := range visits {
		got = append(got, prog.Flow(v.Flow).States[v.State].Name+":"+v.Branch)
	}
	if want := "choose_language:g0 bahasa: bahasa:next handoff:"; strings.Join(got, " ") != want {
		t.Fatalf("visits %q, want %q", strings.Join(got, " "), want)
	}
	// Untraced steps carry no origin.
	if _, effects, _ := engine.Start(prog, "support", "y", ev); effects[0].From != nil {
		t.Fatal("untraced effect has an origin")
	}
}
