package cli

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/switchboard-dev/switchboard/internal/browsertest"
)

// desk drives the agent desktop in a Chromium of its own: a page in a
// background tab gets no animation frames, and the desktop renders in them.
type desk struct {
	t   *testing.T
	ctx context.Context
}

func (d *desk) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	d.t.Helper()
	ctx, cancel := context.WithTimeout(d.ctx, 40*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		look, cancel := context.WithTimeout(d.ctx, 5*time.Second)
		defer cancel()
		shows, _ := chromedp.Run(look, chromedp.Evaluate[string](`document.body.innerText`))
		d.t.Fatalf("desk: %s: %v\nthe desktop shows: %s", what, err, shows)
	}
}

func deskEval[T any](d *desk, expr string) T {
	d.t.Helper()
	ctx, cancel := context.WithTimeout(d.ctx, 20*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		d.t.Fatalf("desk: evaluating %s: %v", expr, err)
	}
	return v
}

// The desktop's parts the journey reads (data-testid, as its own tests).
const (
	journeyOffer = `document.querySelector('[data-testid="offer"]')`
	journeyTasks = `document.querySelectorAll('[data-testid="task"]')`
	journeyError = `document.querySelector('[data-testid="error"]')`
)

// journeyThread: the conversation the desktop shows holds a message of
// that direction ("in": the customer's, "out": the agent's) and text.
func journeyThread(dir, text string) string {
	return `[...document.querySelectorAll('[data-testid="thread"] [data-testid="message"]')].some(m => m.dataset.direction === "` + dir +
		`" && m.querySelector('[data-testid="message-text"]').textContent === ` + browsertest.JS(text) + `)`
}

// TestServeJourneyBrowser is one customer's whole journey with both pages
// open in headless Chromium against `switchboard serve` running the
// shipped flows: on the webchat the demo bot answers, the customer asks for
// a person and picks English from the question's buttons; on Ana's agent
// desktop the offer shows its queue, the task's attributes and the time
// left to answer; Ana accepts (the customer sees her join), they write to
// each other, and Ana transfers the conversation to Budi from the desktop;
// Budi (on the API) accepts, answers and completes; the customer sees him
// join and leave and answers the survey.
func TestServeJourneyBrowser(t *testing.T) {
	dir := shippedFlowsDir(t, false)
	addr := freeAddr(t)

	c := &chat{t: t, ctx: browsertest.Start(t, "journey browser test (the customer)", 1280, 800)}
	d := &desk{t: t, ctx: browsertest.Start(t, "journey browser test (the agent)", 1280, 800)}

	run := startServe(t, dir, addr, "--connector", "webchat/default,title=Acme support")
	defer run.stop(t)
	sb := run.shipped(t, addr)
	ana := sb.worker("ana", map[string]any{"name": "Ana", "languages": []string{"en"}, "department": "support"}, map[string]int{"chat": 2})
	budi := sb.worker("budi", map[string]any{"name": "Budi", "languages": []string{"en"}, "department": "support"}, map[string]int{"chat": 2})
	sb.api("PUT", "/v1/workers/budi/activity", budi, map[string]any{"activity": "break"}, http.StatusOK) // the offer goes to Ana

	// Ana signs in to her desktop; she is available.
	d.do("sign in", chromedp.EmulateViewport(1280, 800), chromedp.Navigate(sb.base+"/agent/"),
		browsertest.Until(`!document.getElementById("signin").hidden`, 30*time.Second),
		chromedp.SendKeys(chromedp.ID("signin-worker"), "ana"), chromedp.SetValue(chromedp.ID("signin-token"), ana),
		chromedp.Click(chromedp.ID("signin-submit")),
		browsertest.Until(`document.querySelector('[data-testid="connection"]').dataset.state === "online"`, 30*time.Second))

	// The customer talks to the bot, then asks for a person and picks a language.
	c.do("open the chat page", chromedp.EmulateViewport(1280, 800), chromedp.Navigate(sb.base+"/webchat/default/"),
		waitFor(widgetJS+` && `+widgetJS+`.dataset.status === "online"`))
	c.do("the bot answers", typed("hello"), shown(".sbwc-text", "Hello! How can I help you today?"))
	c.do("ask for a person", typed("I want a live agent"), shown(".sbwc-text", "Which language do you prefer?"))
	if got := chatEval[[]string](c, `[...`+widgetJS+`.shadowRoot.querySelectorAll(".sbwc-choices button")].map(b => b.textContent)`); strings.Join(got, "|") != "English|Bahasa Indonesia" {
		t.Fatalf("choices %q", got)
	}
	c.do("choose English", chromedp.Click(chromedp.JSPath(in(`.sbwc-choices button[data-choice="en"]`))),
		waitFor(`[...`+widgetJS+`.shadowRoot.querySelectorAll(".sbwc-notice")].some(e => !e.hidden && e.textContent.startsWith("Connecting you to an agent"))`))

	// The offer on Ana's desktop: queue, workflow, attributes, countdown.
	d.do("the offer", browsertest.Until(journeyOffer, 30*time.Second),
		browsertest.Until(journeyOffer+`.querySelector(".countdown").textContent.endsWith("left to answer")`, 30*time.Second),
		browsertest.Until(journeyOffer+`.querySelector('dd[data-attribute="language"]')`, 30*time.Second)) // the task's details load after the offer
	facts := deskEval[map[string]string](d, `Object.fromEntries([...`+journeyOffer+`.querySelectorAll("dd[data-field], dd[data-attribute]")].map(e => [e.dataset.field || e.dataset.attribute, e.textContent]))`)
	for k, want := range map[string]string{"queue": "support_english", "workflow": "support_routing", "language": "en", "department": "support", "vip": "false"} {
		if facts[k] != want {
			t.Errorf("the offer shows %s = %q, want %q (all: %v)", k, facts[k], want, facts)
		}
	}
	if left := deskEval[string](d, journeyOffer+`.querySelector(".countdown").getAttribute("aria-label")`); !strings.HasSuffix(left, "seconds left to answer") {
		t.Errorf("countdown label %q", left)
	}

	// Ana accepts: the customer sees her join; they write to each other.
	d.do("accept", chromedp.Click(chromedp.JSPath(journeyOffer+`.querySelector('[data-testid="accept"]')`), chromedp.NodeVisible),
		browsertest.Until(journeyTasks+`.length === 1 && !`+journeyOffer, 30*time.Second),
		browsertest.Until(journeyThread("in", "I want a live agent"), 30*time.Second))
	task := deskEval[string](d, journeyTasks+`[0].dataset.task`)
	c.do("Ana joins", shown(".sbwc-notice", "Ana joined the chat"))
	c.do("the customer writes", typed("My order 4471 is late"))
	d.do("the desktop shows it", browsertest.Until(journeyThread("in", "My order 4471 is late"), 30*time.Second))
	d.do("Ana answers", chromedp.SendKeys(chromedp.ID("reply-text"), "Let me check that for you.\r"),
		browsertest.Until(journeyThread("out", "Let me check that for you."), 30*time.Second))
	c.do("the customer reads Ana", shown(".sbwc-person .sbwc-text", "Let me check that for you."))
	if got := chatEval[string](c, in(".sbwc-person .sbwc-by")+`.textContent`); !strings.Contains(got, "Ana") {
		t.Errorf("Ana's reply is signed %q", got)
	}

	// Ana transfers to Budi from the desktop; Budi takes it on the API.
	sb.api("PUT", "/v1/workers/budi/activity", budi, map[string]any{"activity": "available"}, http.StatusOK)
	d.do("transfer to Budi",
		chromedp.Evaluate[chromedp.Void](`(() => { if (document.getElementById("transfer-panel").hidden) document.getElementById("transfer-open").click(); })()`),
		chromedp.SetValue(chromedp.ID("transfer-kind"), "worker"),
		chromedp.Evaluate[chromedp.Void](`document.getElementById("transfer-kind").dispatchEvent(new Event("change"))`),
		chromedp.SetValue(chromedp.ID("transfer-target"), "budi"), chromedp.Click(chromedp.ID("transfer")),
		browsertest.Until(journeyTasks+`.length === 0`, 30*time.Second), browsertest.Until(journeyError+`.hidden`, 30*time.Second))
	if got := sb.accept("budi", budi); got != task {
		t.Fatalf("budi was offered %s, want the transferred task %s", got, task)
	}
	sb.waitEvent(task, "task.transferred", `"budi"`)
	c.do("Budi joins", shown(".sbwc-notice", "Budi joined the chat"))
	sb.api("POST", "/v1/tasks/"+task+"/messages", budi, map[string]any{"text": "Hi, Budi here: it ships today."}, http.StatusAccepted)
	c.do("the customer reads Budi", shown(".sbwc-person .sbwc-text", "Hi, Budi here: it ships today."))
	c.do("the customer answers Budi", typed("Thanks!"))
	sb.waitEvent(task, "conversation.message", "Thanks!")

	// Budi completes: he leaves, and the survey asks; a button answers it.
	sb.api("POST", "/v1/tasks/"+task+"/complete", budi, nil, http.StatusOK)
	c.do("Budi leaves and the survey asks", shown(".sbwc-notice", "Budi left the chat"), shown(".sbwc-text", "How did we do?"))
	c.do("rate", chromedp.Click(chromedp.JSPath(in(`.sbwc-asks:last-of-type .sbwc-choices button[data-choice="good"]`))),
		shown(".sbwc-text", "Thank you! Glad we could help."))
	done := sb.taskStatus(task, "completed")
	if done["worker_id"] != "budi" {
		t.Errorf("the completed task: %v", done)
	}
}
