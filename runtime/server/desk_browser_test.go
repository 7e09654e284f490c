package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/switchboard-dev/switchboard/internal/browsertest"
	"github.com/switchboard-dev/switchboard/runtime/store"
)

// deskFlow asks a menu question before the hand-off, so the offer must
// show what the customer asked, not the menu's answer; the queue offers
// to the higher level first, so who gets an offer is known.
const deskFlow = `
flow route {
  start: switch {
    message.text matches "(?i)help|order|billing" -> menu
    default -> answer
  }
  answer: send "Thanks, a bot will help you" -> done
  menu: ask "Reply 1 for English, 2 for Bahasa Indonesia" {
    timeout 5m -> handoff
    reply -> handoff
  }
  handoff: enqueue chat_routing {
    attributes {language: "en", vip: true, department: "billing"}
  } -> done
}
queue english { workers "en" in worker.languages order worker.level desc }
workflow chat_routing { default english }
`

// inViewport: the element is shown and wholly inside the window.
func inViewport(id string) string {
	return `(() => { const e = document.getElementById("` + id + `"); if (!e || e.hidden || !e.offsetParent) return false;
		const r = e.getBoundingClientRect();
		return r.width > 0 && r.left >= 0 && r.top >= 0 && r.right <= window.innerWidth && r.bottom <= window.innerHeight; })()`
}

// TestDeskBrowser drives the agent desktop in headless Chromium at
// 1280×800 (then 420×800) against the real runtime: the offer card's
// content (name, channel, attributes, what was asked, wait, countdown)
// and its missed state; the waiting list, live; a rejected offer moving
// on to another worker; a transferred conversation whose transcript
// tells the bot, the customer, a colleague and this agent apart, with
// delivery states; notes; a canned response with placeholders; the
// transfer picker's availability; a wrap-up with a disposition landing
// on the task and in the event log; keyboard shortcuts; and the layout
// at both sizes. AGENT_DESKTOP_SCREENSHOTS=DIR keeps desk-*.png.
func TestDeskBrowser(t *testing.T) {
	out := &deliveries{byTo: map[string][]string{}}
	platform := httptest.NewServer(out)
	defer platform.Close()
	sb := start(t, setup{flow: deskFlow, outboundURL: platform.URL, running: true, reservationTimeout: 6 * time.Second})
	base := sb.base
	adminH := bearer(admin)
	customer := func(id, from, name, text string) {
		t.Helper()
		body := fmt.Sprintf(`{"id":%q,"from":%q,"name":%q,"text":%q}`, id, from, name, text)
		postWebhook(t, base, body)
	}
	// handOff: the customer asks, the bot's menu answers, "1" hands off.
	handOff := func(n int, from, name, asked string) {
		t.Helper()
		// The menu is the webhook's inline answer (the custom connector's).
		customer(fmt.Sprintf("%s-%d-a", from, n), from, name, asked)
		customer(fmt.Sprintf("%s-%d-b", from, n), from, name, "1")
	}
	r := call(t, "POST", base+"/v1/workers", []byte(`{"id":"ana","name":"Ana Lima","attributes":{"languages":["en"],"level":2},"activity":"available","capacity":{"chat":2}}`), adminH)
	if r.status != 201 {
		t.Fatalf("create ana: %d %v", r.status, r.body)
	}
	token := r.body["token"].(string)
	r = call(t, "POST", base+"/v1/workers", []byte(`{"id":"budi","name":"Budi","attributes":{"languages":["en"],"level":1},"activity":"offline","capacity":{"chat":2}}`), adminH)
	budiH := bearer(r.body["token"].(string))
	budi := openStream(t, base, "budi", r.body["token"].(string))
	if r := call(t, "POST", base+"/v1/canned-responses", []byte(`{"title":"Greeting","text":"Hi {{contact.first_name}}, I'm {{worker.name}}."}`), adminH); r.status != 201 {
		t.Fatalf("canned: %d %v", r.status, r.body)
	}

	ctx := browsertest.Start(t, "agent desktop browser test", 1280, 800)
	b := newDeskBrowser(t, ctx)
	// The page's WebSockets (to play a typing frame) and its typing calls.
	spy := socketSpy + `(() => { const f = window.fetch; window.fetch = (u, o) => { if (String(u).endsWith("/typing")) window.__typingCalls = (window.__typingCalls || 0) + 1; return f(u, o); }; })();`
	if _, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: spy}); err != nil {
		t.Fatal(err)
	}
	b.do("sign in", chromedp.EmulateViewport(1280, 800), chromedp.Navigate(base+"/agent/#worker=ana&token="+token),
		deskUntil(`document.querySelector('[data-testid="connection"]').dataset.state === "online"`))

	// The offer says who, where, why, how long and until when.
	handOff(1, "alice", "Alice Smith", "My order #123 never arrived, please help")
	b.do("alice's offer", deskUntil(offerOf("Alice Smith")), deskUntil(offerOf("Alice Smith")+`.querySelector('[data-testid="asked"]').textContent.includes("never arrived")`),
		deskUntil(offerOf("Alice Smith")+`.querySelector('[data-testid="countdown"]').textContent.includes("left to answer")`))
	offer := offerOf("Alice Smith")
	card := deskEval[string](b, offer+`.innerText`)
	for _, want := range []string{"Alice Smith", "CUSTOM", "language", "en", "vip", "true", "department", "billing", "english",
		"My order #123 never arrived, please help", "Waiting 00:0", "left to answer"} {
		if !strings.Contains(card, want) {
			t.Errorf("the offer lacks %q:\n%s", want, card)
		}
	}
	if !deskEval[bool](b, offer+`.querySelector('[data-testid="vip"]').offsetParent !== null`) {
		t.Errorf("a VIP's offer shows no VIP tag")
	}
	if asked := deskEval[string](b, offer+`.querySelector('[data-testid="asked"]').innerText`); strings.Contains(asked, "\n1") || strings.HasSuffix(asked, "1") {
		t.Errorf("the offer shows the menu's answer as what was asked: %q", asked)
	}
	if n := deskEval[int](b, `window.__beeps || 0`); n != 1 {
		t.Errorf("%d beeps for one offer", n)
	}
	b.screenshot("desk-offer")

	// Unanswered, the offer expires: the card says it was missed, and the
	// task waits in Ana's queue, which her waiting list shows.
	b.do("the offer is missed", browsertest.Until(`document.querySelector('[data-testid="offer-missed"]') && document.querySelector('[data-testid="offer-missed"] [data-testid="missed"]').offsetParent !== null`, 3*deskWait),
		deskUntil(deskOffers+`.length === 0`),
		deskUntil(`[...document.querySelectorAll('[data-testid="waiting-task"]')].some(w => w.textContent.includes("Alice Smith") && w.textContent.includes("english"))`))
	b.screenshot("desk-missed")
	b.do("dismiss it", clickJS(`document.querySelector('[data-testid="offer-missed"] [data-testid="dismiss"]')`),
		deskUntil(`!document.querySelector('[data-testid="offer-missed"]')`))

	// Budi comes: Alice's task goes to him (Ana missed it) and leaves
	// Ana's waiting list; Budi writes to Alice.
	call(t, "PUT", base+"/v1/workers/budi/activity", []byte(`{"activity":"available"}`), budiH)
	aliceOffer := budi.event("reservation.created")
	aliceTask := aliceOffer["task_id"].(string)
	if r := call(t, "POST", base+"/v1/reservations/"+aliceOffer["reservation_id"].(string)+"/accept", nil, budiH); r.status != 200 {
		t.Fatalf("budi accepts: %d %v", r.status, r.body)
	}
	b.do("the waiting list empties", deskUntil(`document.querySelectorAll('[data-testid="waiting-task"]').length === 0`))
	if r := call(t, "POST", base+"/v1/tasks/"+aliceTask+"/messages", []byte(`{"text":"Hi Alice, Budi here. Passing you to billing."}`), budiH); r.status != 202 {
		t.Fatalf("budi's reply: %d %v", r.status, r.body)
	}
	out.waitFor(t, "alice", "Hi Alice, Budi here. Passing you to billing.")

	// The sound off (kept in the browser): the next offer is silent.
	b.do("sound off", chromedp.Click(chromedp.ID("settings-open")), chromedp.Click(chromedp.ID("set-sound")),
		deskUntil(`JSON.parse(localStorage.getItem("switchboard.agent.settings")).sound === false`),
		chromedp.Click(chromedp.ID("settings-open")))

	// Bob's offer goes to Ana (the higher level); rejected, it moves on to Budi.
	handOff(2, "bob", "Bob Jones", "Billing question about my invoice")
	b.do("bob's offer", deskUntil(offerOf("Bob Jones")), clickJS(offerOf("Bob Jones")+`.querySelector('[data-testid="reject"]')`),
		deskUntil(`!`+offerOf("Bob Jones")))
	if n := deskEval[int](b, `window.__beeps || 0`); n != 1 {
		t.Errorf("%d beeps with the sound off after one with it on", n)
	}
	if moved := budi.event("reservation.created"); moved["task_id"] == aliceTask {
		t.Fatalf("budi's next offer is not bob's: %v", moved)
	}

	// Budi hands Alice to Ana; Ana takes it with Alt+A.
	if r := call(t, "POST", base+"/v1/tasks/"+aliceTask+"/transfer", []byte(`{"worker":"ana"}`), budiH); r.status != 200 {
		t.Fatalf("transfer to ana: %d %v", r.status, r.body)
	}
	b.do("accept with Alt+A", deskUntil(offerOf("Alice Smith")), chromedp.KeyEvent("a", chromedp.KeyModifiers(1)),
		deskUntil(taskButton(aliceTask)), deskUntil(deskSelected+`.dataset.task === "`+aliceTask+`"`),
		deskUntil(deskThread+`.some(m => m.dataset.role === "agent")`))

	// The transcript: the customer, the bot, a colleague, then Ana.
	b.do("reply", chromedp.SendKeys(chromedp.ID("reply-text"), "Hi Alice, Ana from billing.\r"))
	out.waitFor(t, "alice", "Hi Alice, Ana from billing.")
	b.do("the reply stored", deskUntil(deskThread+`.some(m => m.dataset.message && m.dataset.role === "me" && m.textContent.includes("Ana from billing"))`))
	roles := deskEval[[]string](b, deskThread+`.map(m => m.dataset.role + ":" + m.querySelector('[data-testid="message-who"]').textContent + ":" + m.querySelector('[data-testid="message-text"]').textContent)`)
	want := []string{
		"customer:Alice Smith:My order #123 never arrived, please help",
		"bot:Bot:Reply 1 for English, 2 for Bahasa Indonesia",
		"customer:Alice Smith:1",
		"agent:Budi:Hi Alice, Budi here. Passing you to billing.",
		"me:You:Hi Alice, Ana from billing.",
	}
	if strings.Join(roles, "\n") != strings.Join(want, "\n") {
		t.Errorf("transcript roles:\n%s\nwant:\n%s", strings.Join(roles, "\n"), strings.Join(want, "\n"))
	}
	mine := deskThread + `.find(m => m.dataset.role === "me" && m.dataset.message)`
	if s := deskEval[string](b, mine+`.querySelector('[data-testid="message-state"]').textContent`); s != "Sent" {
		t.Errorf("the reply's state %q, want Sent", s)
	}
	msgID := deskEval[string](b, mine+`.dataset.message`)
	data, _ := json.Marshal(map[string]any{"message_id": msgID, "status": "read"})
	if err := sb.store.AppendRouterEvents(context.Background(), []store.RouterEvent{{Type: "agent.reply.status", TaskID: aliceTask, WorkerID: "ana", Data: data}}); err != nil {
		t.Fatal(err)
	}
	b.do("read", deskUntil(mine+`.querySelector('[data-testid="message-state"]').textContent === "Read"`))

	// The customer sends a file: the transcript shows it. The customer
	// types: the desktop says so; Ana types: the customer's channel is told.
	body := fmt.Sprintf(`{"id":"alice-photo","from":"alice","name":"Alice Smith","text":"Here is the receipt","media":[%q]}`, base+"/agent/desktop.css")
	postWebhook(t, base, body)
	b.do("the customer's file", deskUntil(deskThread+`.some(m => m.dataset.role === "customer" && m.textContent.includes("Here is the receipt") && m.querySelector('[data-testid="media-link"]'))`))
	b.do("the customer types", chromedp.Evaluate[chromedp.Void](`window.__sockets.at(-1).dispatchEvent(new MessageEvent("message", {data: JSON.stringify({type: "typing", task_id: "`+aliceTask+`"})}))`),
		deskUntil(`document.querySelector('[data-testid="typing"]').textContent === "Alice Smith is typing…"`))
	b.do("ana types", chromedp.SendKeys(chromedp.ID("reply-text"), "x"), deskUntil(`(window.__typingCalls || 0) >= 1`),
		chromedp.Evaluate[chromedp.Void](`document.getElementById("reply-text").value = ""`))

	// Ana sends a file: stored, sent to the customer as media.
	file := filepath.Join(t.TempDir(), "receipt.png")
	if err := os.WriteFile(file, []byte("\x89PNG\r\n\x1a\nnot really"), 0o644); err != nil {
		t.Fatal(err)
	}
	b.do("attach", chromedp.SetUploadFiles(chromedp.ID("attach-file"), []string{file}),
		chromedp.Evaluate[chromedp.Void](`document.getElementById("attach-file").dispatchEvent(new Event("change"))`),
		deskUntil(deskThread+`.some(m => m.dataset.role === "me" && m.querySelector('[data-testid="media-link"]'))`))
	sentFile := false
	for deadline := time.Now().Add(10 * time.Second); !sentFile && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		h := call(t, "GET", base+"/v1/tasks/"+aliceTask+"/history", nil, adminH)
		for _, c := range h.body["conversations"].([]any) {
			for _, m := range c.(map[string]any)["messages"].([]any) {
				p, _ := m.(map[string]any)["payload"].(map[string]any)
				if media, _ := p["media"].([]any); m.(map[string]any)["direction"] == "out" && p["agent"] == "ana" && len(media) == 1 &&
					strings.Contains(media[0].(string), "/v1/attachments?id=att_") {
					sentFile = true
				}
			}
		}
	}
	if !sentFile {
		t.Errorf("the file Ana attached was not sent as media")
	}

	// An internal note: in the transcript and on the task, never sent.
	b.do("a note", chromedp.Click(chromedp.ID("note-mode")), chromedp.SendKeys(chromedp.ID("reply-text"), "Refund approved by finance\r"),
		deskUntil(deskThread+`.some(m => m.dataset.role === "note" && m.textContent.includes("Refund approved by finance"))`),
		chromedp.Click(chromedp.ID("note-mode")))
	if r := call(t, "GET", base+"/v1/tasks/"+aliceTask, nil, adminH); len(r.body["notes"].([]any)) != 1 {
		t.Errorf("the task's notes: %v", r.body["notes"])
	}

	// A canned response: "/" opens the picker, Enter inserts it filled.
	b.do("canned", chromedp.SendKeys(chromedp.ID("reply-text"), "/greet"),
		deskUntil(`document.querySelectorAll('[data-testid="canned-option"]').length === 1`),
		chromedp.SendKeys(chromedp.ID("reply-text"), "\r"),
		deskUntil(`document.getElementById("reply-text").value === "Hi Alice, I'm Ana Lima."`))
	b.do("clear the reply", chromedp.Evaluate[chromedp.Void](`document.getElementById("reply-text").value = ""`))

	// The transfer picker: colleagues and queues with their availability.
	b.do("the picker", clickJS(`document.getElementById("transfer-open")`), deskUntil(`!document.getElementById("transfer-panel").hidden`),
		chromedp.SetValue(chromedp.ID("transfer-kind"), "worker"),
		chromedp.Evaluate[chromedp.Void](`document.getElementById("transfer-kind").dispatchEvent(new Event("change"))`),
		deskUntil(`[...document.querySelectorAll('[data-testid="transfer-option"]')].some(o => o.dataset.target === "budi" && /available · \d+ free/.test(o.textContent))`))
	b.screenshot("desk-transfer")
	b.do("queues in the picker", chromedp.SetValue(chromedp.ID("transfer-kind"), "queue"),
		chromedp.Evaluate[chromedp.Void](`document.getElementById("transfer-kind").dispatchEvent(new Event("change"))`),
		deskUntil(`[...document.querySelectorAll('[data-testid="transfer-option"]')].some(o => o.dataset.target === "english" && /\d+ available · \d+ waiting/.test(o.textContent))`),
		clickJS(`document.getElementById("transfer-open")`), deskUntil(`document.getElementById("transfer-panel").hidden`))

	// The contact panel, and the layout at 1280×800: the conversation's
	// actions are on screen.
	b.do("the contact panel", deskUntil(`document.querySelector('[data-testid="contact-name"]').textContent === "Alice Smith"`),
		deskUntil(`[...document.querySelectorAll('[data-testid="contact-address"]')].some(a => a.textContent === "alice")`))
	for _, id := range []string{"transfer-open", "wrapup", "complete", "send", "reply-text"} {
		if !deskEval[bool](b, inViewport(id)) {
			t.Errorf("at 1280×800, #%s is not within the window", id)
		}
	}
	b.screenshot("desk-conversation")

	// "?" opens the help; Escape closes it.
	b.do("help", chromedp.Click(chromedp.ID("thread")), chromedp.KeyEvent("?"), deskUntil(`document.getElementById("help").open`),
		chromedp.KeyEvent("\x1b"), deskUntil(`!document.getElementById("help").open`))

	// 420×800: the conversation alone, its actions on screen; the list is
	// one tap away.
	b.do("narrow", chromedp.EmulateViewport(420, 800), deskUntil(`getComputedStyle(document.querySelector(".side")).display === "none"`))
	for _, id := range []string{"transfer-open", "wrapup", "complete", "send", "back", "contact-open"} {
		if !deskEval[bool](b, inViewport(id)) {
			t.Errorf("at 420×800, #%s is not within the window", id)
		}
	}
	b.screenshot("desk-narrow")
	b.do("the contact over the conversation", chromedp.Click(chromedp.ID("contact-open")), deskUntil(inViewport("contact-title")),
		chromedp.KeyEvent("\x1b"), deskUntil(`getComputedStyle(document.getElementById("contact")).display === "none"`))
	b.do("back to the list", chromedp.Click(chromedp.ID("back")), deskUntil(`getComputedStyle(document.querySelector(".side")).display !== "none"`),
		clickJS(taskButton(aliceTask)), deskUntil(`getComputedStyle(document.querySelector(".side")).display === "none"`),
		chromedp.EmulateViewport(1280, 800))

	// Wrap-up with a disposition: on the task, and in the event log.
	b.do("wrap up", chromedp.Click(chromedp.ID("wrapup")), chromedp.SendKeys(chromedp.ID("wrapup-disposition"), "refund-issued"),
		chromedp.SendKeys(chromedp.ID("wrapup-notes"), "Refunded order 123"), chromedp.Click(chromedp.ID("wrapup-submit")),
		deskUntil(deskSelected+`.dataset.status === "wrapping"`),
		deskUntil(deskThread+`.some(m => m.dataset.kind === "wrapup" && m.textContent.includes("refund-issued"))`))
	r = call(t, "GET", base+"/v1/tasks/"+aliceTask, nil, adminH)
	if w, _ := r.body["wrapup"].(map[string]any); w["disposition"] != "refund-issued" || w["text"] != "Refunded order 123" || r.body["status"] != "wrapping" {
		t.Fatalf("the task after the wrap-up: %v", r.body)
	}
	r = call(t, "GET", base+"/v1/router/events?task="+aliceTask, nil, adminH)
	logged := false
	for _, e := range r.body["events"].([]any) {
		if e := e.(map[string]any); e["type"] == "task.disposition" && e["data"].(map[string]any)["disposition"] == "refund-issued" {
			logged = true
		}
	}
	if !logged {
		t.Errorf("no task.disposition in the event log: %v", r.body)
	}
	b.do("complete", chromedp.Click(chromedp.ID("complete")), deskUntil(`!`+taskButton(aliceTask)),
		deskUntil(`[...document.querySelectorAll('[data-testid="recent-conversation"]')].some(c => c.textContent.includes("Alice Smith"))`))

	// Nothing internal reached the customer.
	out.mu.Lock()
	for _, m := range out.byTo["alice"] {
		if strings.Contains(m, "Refund") {
			t.Errorf("alice received %q", m)
		}
	}
	out.mu.Unlock()
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, m := range b.console {
		if strings.HasPrefix(m, "exception") || strings.Contains(m, "Content Security Policy") {
			t.Errorf("the page logged %s", m)
		}
	}
}
