package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/switchboard-dev/switchboard/connectors"
	"github.com/switchboard-dev/switchboard/internal/browsertest"
	"github.com/switchboard-dev/switchboard/runtime/store"
)

// openDesk signs worker in on the desktop, in a headless Chromium window
// of 1280×800, by link.
func openDesk(t *testing.T, base, worker, token string) *deskBrowser {
	t.Helper()
	ctx := browsertest.Start(t, "agent desktop browser test", 1280, 800)
	b := newDeskBrowser(t, ctx)
	b.do("sign in", chromedp.Navigate(base+"/agent/#worker="+worker+"&token="+token),
		deskUntil(`document.querySelector('[data-testid="connection"]').dataset.state === "online"`))
	return b
}

// JavaScript expressions on the call's markup.
const (
	deskCall       = `document.querySelector('[data-testid="call"]')`
	deskCallStatus = `document.querySelector('[data-testid="call-status"]').textContent`
	deskCallTimer  = `document.querySelector('[data-testid="call-timer"]').textContent`
	deskHangup     = `document.querySelector('[data-testid="hangup"]')`
	deskNotice     = `document.querySelector('[data-testid="notice"]').textContent`
	deskReplyForm  = `document.querySelector('[data-testid="reply-form"]')`
)

// callOffer is the offer of a call from that number, once shown.
func callOffer(number string) string {
	return `[...` + deskOffers + `].find(o => o.dataset.channel === "voice" && o.querySelector('[data-testid="caller"]').textContent === ` + browsertest.JS(number) + `)`
}

// TestAgentDesktopCalls drives the desktop through phone calls, the
// telephony platform faked on the voice channel: a call is offered as an
// incoming call with the caller's number and the task's attributes;
// accepted, it rings the agent's phone and times the call, with Hang up
// and no composer; Hang up reaches the platform, and the call's end brings
// the wrap-up; a call the agent's phone does not answer leaves the screen
// with a notice; a chat reply the platform reports failed after it was
// delivered is marked failed. AGENT_DESKTOP_SCREENSHOTS=DIR keeps screenshots.
func TestAgentDesktopCalls(t *testing.T) {
	rig := startVoice(t)
	base := rig.base
	b := openDesk(t, base, "ana", rig.ana)

	// A call comes in: the offer says so, with the caller's number and the
	// attributes the flow gave the task.
	const caller = "+15551230000"
	rig.ring(t, "CA200", caller)
	b.do("the call's offer", deskUntil(callOffer(caller)))
	offer := deskEval[string](b, callOffer(caller)+`.innerText`)
	for _, want := range []string{"Incoming call", "Caller", caller, "voice_routing", "phones", "department", "support", "Accept", "Reject"} {
		if !strings.Contains(offer, want) {
			t.Errorf("the call's offer lacks %q:\n%s", want, offer)
		}
	}
	if !deskEval[bool](b, callOffer(caller)+`.querySelector(".offer-icon svg").checkVisibility()`) {
		t.Errorf("the call's offer shows no phone icon")
	}
	if label := deskEval[string](b, callOffer(caller)+`.getAttribute("aria-label")`); label != "Incoming call from "+caller {
		t.Errorf("the call's offer is labelled %q", label)
	}
	b.screenshot("call-offer")
	callTask := deskEval[string](b, callOffer(caller)+`.dataset.task`)

	// Accepted: the agent's phone rings, the call is timed, Hang up has the
	// focus, and there is nothing to type into.
	b.do("accept the call", clickJS(callOffer(caller)+`.querySelector('[data-testid="accept"]')`),
		deskUntil(`!`+deskCall+`.hidden && `+deskCallStatus+` === "Ringing your phone…"`),
		deskUntil(`/^\d\d:\d\d$/.test(`+deskCallTimer+`)`),
		deskUntil(`!`+deskHangup+`.hidden && `+deskHangup+`.textContent === "Hang up"`),
		deskUntil(deskReplyForm+`.hidden && document.getElementById("wrapup").hidden`))
	if c := rig.phone.waitVerb(t, "CA200", connectors.VerbConnect); c.Verbs[0].Number != rig.anaPhone {
		t.Fatalf("the call was put through to %q, want ana's phone %s", c.Verbs[0].Number, rig.anaPhone)
	}
	if f := deskEval[string](b, `document.activeElement.id`); f != "hangup" {
		t.Errorf("after accepting, the focus is on %q, want Hang up", f)
	}
	if title := deskEval[string](b, `document.querySelector('[data-testid="call-title"]').textContent`); title != "Call with "+caller {
		t.Errorf("the call's title %q", title)
	}
	b.do("the timer runs", deskUntil(deskCallTimer+` >= "00:01"`))
	b.screenshot("call-ringing")
	// Ana picks up: the call is on, timed from now.
	rig.answered(t, "CA200", caller, callTask, "ana")
	b.do("the agent picks up", deskUntil(deskCallStatus+` === "On the call"`), deskUntil(deskCallTimer+` < "00:02"`))
	// A reload finds the call where it was: timed from its acceptance.
	b.do("reload", chromedp.Reload(), deskUntil(`document.querySelector('[data-testid="connection"]').dataset.state === "online"`),
		deskUntil(`!`+deskCall+`.hidden && `+deskCallTimer+` >= "00:01" && `+deskReplyForm+`.hidden`))
	if r := call(t, "GET", base+"/v1/tasks/"+callTask, nil, bearer(admin)); r.body["status"] != "assigned" || r.body["worker_id"] != "ana" {
		t.Fatalf("the call's task after accepting: %v", r.body)
	}

	// Hang up: the platform is told to end the call; its end (the agent's
	// leg over) wraps the task up, stops the timer and shows the wrap-up.
	b.do("hang up", chromedp.Click(chromedp.ID("hangup")))
	if h := rig.phone.waitVerb(t, "CA200", "hangup"); h.To != caller {
		t.Fatalf("the hang-up went to %+v", h)
	}
	rig.agentLeg(t, "CA200", caller, callTask, "ana", "answered")
	b.do("the call ends", deskUntil(deskCallStatus+`.startsWith("Call ended")`), deskUntil(deskHangup+`.hidden`),
		// The call is over: its disposition is still to record (Wrap up), or Complete.
		deskUntil(`!document.getElementById("wrapup").hidden && !document.getElementById("complete").hidden`),
		deskUntil(deskSelected+`.dataset.status === "wrapping"`))
	stopped := deskEval[string](b, deskCallTimer)
	time.Sleep(1200 * time.Millisecond)
	if now := deskEval[string](b, deskCallTimer); now != stopped || now == "" {
		t.Errorf("the call's timer went on after the call ended: %q, then %q", stopped, now)
	}
	b.screenshot("call-ended")
	b.do("complete the call", chromedp.Click(chromedp.ID("complete")), deskUntil(deskTasks+`.length === 0`))

	// A second call rings Ana's phone, which nobody answers: the call goes
	// to the next agent and leaves Ana's screen, saying why.
	const second = "+15557654321"
	rig.ring(t, "CA201", second)
	b.do("the second call", deskUntil(callOffer(second)))
	missed := deskEval[string](b, callOffer(second)+`.dataset.task`)
	b.do("accept it", clickJS(callOffer(second)+`.querySelector('[data-testid="accept"]')`),
		deskUntil(deskCallStatus+` === "Ringing your phone…"`))
	rig.phone.waitVerb(t, "CA201", connectors.VerbConnect)
	rig.agentLeg(t, "CA201", second, missed, "ana", "no_answer")
	b.do("the missed call leaves", deskUntil(`!`+taskButton(missed)+` && `+deskCall+`.hidden`),
		deskUntil(deskNotice+` === "You did not answer the call: it went to the next agent."`))
	if r := call(t, "GET", base+"/v1/tasks/"+missed, nil, bearer(admin)); r.body["status"] != "waiting" {
		t.Fatalf("the missed call's task: %v", r.body)
	}

	// A chat has its composer back; a reply the platform took, then
	// reported undelivered, is marked failed.
	body := `{"id":"m1","from":"alice","text":"I want a live agent"}`
	postWebhook(t, base, body)
	b.do("accept the chat", deskUntil(offerOf("alice")), clickJS(offerOf("alice")+`.querySelector('[data-testid="accept"]')`),
		deskUntil(deskTasks+`.length === 1`), deskUntil(`!`+deskReplyForm+`.hidden && `+deskCall+`.hidden`))
	chatTask := deskEval[string](b, deskSelected+`.dataset.task`)
	b.do("reply", chromedp.SendKeys(chromedp.ID("reply-text"), "Hello Alice\r"))
	rig.out.waitFor(t, "alice", "Hello Alice")
	b.do("the reply delivered", deskUntil(deskThread+`.some(m => m.dataset.message && m.textContent.includes("Hello Alice"))`))
	msgID := deskEval[string](b, deskThread+`.find(m => m.dataset.message && m.textContent.includes("Hello Alice")).dataset.message`)
	data, _ := json.Marshal(map[string]any{"conversation_id": deskEval[string](b, `document.querySelector('[data-testid="conversation-separator"].current').dataset.conversation`),
		"message_id": msgID, "text": "Hello Alice", "error": "undelivered: 30003 Unreachable destination handset"})
	if err := rig.store.AppendRouterEvents(context.Background(), []store.RouterEvent{{Type: "agent.reply.failed", TaskID: chatTask, WorkerID: "ana", Data: data}}); err != nil {
		t.Fatal(err)
	}
	failed := fmt.Sprintf(`document.querySelector('[data-testid="message"][data-message="%s"]')`, msgID)
	b.do("the reply failed", deskUntil(failed+`.dataset.state === "failed"`),
		deskUntil(failed+`.querySelector('[data-testid="message-state"]').textContent === "Not delivered: undelivered: 30003 Unreachable destination handset"`))
	b.screenshot("reply-failed")

	b.mu.Lock()
	defer b.mu.Unlock()
	for _, m := range b.console {
		if strings.HasPrefix(m, "exception") || strings.Contains(m, "Content Security Policy") {
			t.Errorf("the page logged %s", m)
		}
	}
}
