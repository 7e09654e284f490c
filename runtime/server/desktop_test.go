package server_test

import (
	"context"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/switchboard-dev/switchboard/internal/browsertest"
)

// socketSpy keeps the page's WebSockets in window.__sockets.
const socketSpy = `(() => {
	const WS = window.WebSocket;
	window.__sockets = [];
	window.WebSocket = class extends WS {
		constructor(...args) { super(...args); window.__sockets.push(this); }
	};
})();`

// deskWait bounds every wait for the page: the desktop reacts to the
// stream within milliseconds, so a few seconds is slack.
const deskWait = 5 * time.Second

// deskBrowser drives the agent desktop in headless Chromium.
type deskBrowser struct {
	t       *testing.T
	ctx     context.Context
	mu      sync.Mutex
	console []string // what the page logged, shown when a step fails
}

// newDeskBrowser drives the Chromium of ctx and keeps what its pages log,
// so a failing step shows it; scripts that must run before the page's own
// are added to ctx first.
func newDeskBrowser(t *testing.T, ctx context.Context) *deskBrowser {
	b := &deskBrowser{t: t, ctx: ctx}
	messages := chromedp.Console(ctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			b.mu.Lock()
			b.console = append(b.console, m.String())
			b.mu.Unlock()
		}
	}()
	return b
}

// do runs steps, each wait bounded by deskWait; a failure shows the page.
func (b *deskBrowser) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 4*deskWait)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.t.Fatalf("%s: %v\n%s", what, err, b.state())
	}
}

// state is what the page shows and logged, for a failure's message.
func (b *deskBrowser) state() string {
	ctx, cancel := context.WithTimeout(b.ctx, 2*time.Second)
	defer cancel()
	text, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.innerText`))
	if err != nil {
		text = "(page text unavailable: " + err.Error() + ")"
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return "page:\n" + text + "\nconsole:\n" + strings.Join(b.console, "\n")
}

// screenshot audits the page and keeps a picture of it when
// AGENT_DESKTOP_SCREENSHOTS names a directory (browsertest.Picture).
func (b *deskBrowser) screenshot(name string) {
	browsertest.Picture(b.t, b.ctx, "AGENT_DESKTOP_SCREENSHOTS", name)
}

func deskEval[T any](b *deskBrowser, expr string) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, deskWait)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		b.t.Fatalf("evaluating %s: %v\n%s", expr, err, b.state())
	}
	return v
}

// deskUntil waits (at most deskWait) for a JavaScript condition.
func deskUntil(cond string) chromedp.Action[chromedp.Void] { return browsertest.Until(cond, deskWait) }

// JavaScript expressions on the desktop's markup.
const (
	deskOffers   = `document.querySelectorAll('[data-testid="offer"]')`
	deskTasks    = `document.querySelectorAll('[data-testid="task"]')`
	deskError    = `document.querySelector('[data-testid="error"]')`
	deskErrorMsg = `document.querySelector('[data-testid="error-text"]').textContent`
	deskThread   = `[...document.querySelectorAll('[data-testid="thread"] [data-testid="message"]')]`
	deskSelected = `document.querySelector('[data-testid="conversation"]')`
)

// offerOf is the reservation offered for a customer's task, once shown.
func offerOf(customer string) string {
	return `[...` + deskOffers + `].find(o => o.textContent.includes(` + browsertest.JS(customer) + `))`
}

func taskButton(taskID string) string {
	return `document.querySelector('[data-testid="task"][data-task="` + taskID + `"]')`
}

// threadHas: the conversation shown holds a message with this text.
func threadHas(dir, text string) string {
	return deskThread + `.some(m => m.dataset.direction === "` + dir + `" && m.querySelector('[data-testid="message-text"]').textContent === ` + browsertest.JS(text) + `)`
}

// openTransfer opens the transfer panel unless it is open.
var openTransfer = chromedp.Evaluate[chromedp.Void](`(() => { if (document.getElementById("transfer-panel").hidden) document.getElementById("transfer-open").click(); })()`)

func clickJS(expr string) chromedp.Action[chromedp.Void] {
	return chromedp.Click(chromedp.JSPath(expr), chromedp.NodeVisible)
}

// TestAgentDesktop drives the agent desktop (GET /agent/) in headless
// Chromium against the real runtime, customers writing through the custom
// connector: an agent with chat capacity 2 signs in (a wrong token first),
// becomes available, gets two offers and accepts both, sees a customer's
// message in the right conversation, survives a broken stream, replies
// (the connector delivers it), fails a transfer with the API's reason,
// completes one conversation (the flow goes on), rejects an offer,
// transfers one to another worker, reloads, wraps up and completes the
// other, signs out and signs in again by link. Every wait is bounded by
// deskWait. AGENT_DESKTOP_SCREENSHOTS=DIR keeps screenshots.
func TestAgentDesktop(t *testing.T) {
	out := &deliveries{byTo: map[string][]string{}}
	platform := httptest.NewServer(out)
	defer platform.Close()
	sb := start(t, setup{flow: agentFlow, outboundURL: platform.URL, running: true})
	base := sb.base
	adminH := bearer(admin)
	customer := customerOn(t, base)
	r := call(t, "POST", base+"/v1/workers", []byte(`{"id":"ana","name":"Ana","attributes":{"languages":["en"]},"capacity":{"chat":2}}`), adminH)
	if r.status != 201 {
		t.Fatalf("create ana: %d %v", r.status, r.body)
	}
	token := r.body["token"].(string)

	ctx := browsertest.Start(t, "agent desktop browser test", 1200, 900)
	// The page's WebSockets, kept where the test can cut the stream.
	if _, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: socketSpy}); err != nil {
		t.Fatal(err)
	}
	b := newDeskBrowser(t, ctx)

	// Sign in: a wrong token is refused with the API's reason, the right
	// one connects the stream.
	began := time.Now()
	b.do("open the desktop", chromedp.Navigate(base+"/agent/"), deskUntil(`!document.getElementById("signin").hidden`))
	b.screenshot("signin")
	b.do("sign in with a wrong token",
		chromedp.SendKeys(chromedp.ID("signin-worker"), "ana"), chromedp.SendKeys(chromedp.ID("signin-token"), "sbw_wrong"),
		chromedp.Click(chromedp.ID("signin-submit")),
		deskUntil(`!`+deskError+`.hidden && `+deskErrorMsg+` === "Sign-in failed: invalid token: unknown, revoked, or its worker was deleted"`))
	b.do("sign in",
		chromedp.SetValue(chromedp.ID("signin-token"), token), chromedp.Click(chromedp.ID("signin-submit")),
		deskUntil(`document.querySelector('[data-testid="connection"]').dataset.state === "online"`),
		deskUntil(deskError+`.hidden`))
	if who := deskEval[string](b, `document.querySelector('[data-testid="worker"]').textContent`); !strings.Contains(who, "Ana (ana)") {
		t.Errorf("signed in as %q", who)
	}

	// Available: the selector sets the activity through the API.
	b.do("become available", chromedp.Evaluate[chromedp.Void](`(() => { const s = document.getElementById("activity");
		s.value = "available"; s.dispatchEvent(new Event("change")); })()`))
	deadline := time.Now().Add(deskWait)
	for call(t, "GET", base+"/v1/workers/ana", nil, adminH).body["activity"] != "available" {
		if time.Now().After(deadline) {
			t.Fatalf("ana never became available\n%s", b.state())
		}
		time.Sleep(20 * time.Millisecond)
	}

	// Two customers ask for a live agent: both offers show, with the task's
	// workflow, channel and queue.
	customer("m1", "alice", "I want a live agent")
	customer("m2", "bob", "live agent please")
	b.do("two offers", deskUntil(deskOffers+`.length === 2`), deskUntil(offerOf("alice")), deskUntil(offerOf("bob")))
	for _, who := range []string{"alice", "bob"} {
		text := deskEval[string](b, offerOf(who)+`.innerText`)
		for _, want := range []string{"chat_routing", "english", "custom", "Accept", "Reject"} {
			if !strings.Contains(text, want) {
				t.Errorf("%s's offer lacks %q:\n%s", who, want, text)
			}
		}
	}
	b.screenshot("offers")
	alice := deskEval[string](b, offerOf("alice")+`.dataset.task`)
	bob := deskEval[string](b, offerOf("bob")+`.dataset.task`)

	// Accept both: two conversations at once, Alice's shown first.
	b.do("accept both",
		clickJS(offerOf("alice")+`.querySelector('[data-testid="accept"]')`), deskUntil(taskButton(alice)),
		clickJS(offerOf("bob")+`.querySelector('[data-testid="accept"]')`), deskUntil(taskButton(bob)),
		deskUntil(deskOffers+`.length === 0 && `+deskTasks+`.length === 2`),
		deskUntil(deskSelected+`.dataset.task === "`+alice+`"`),
		deskUntil(threadHas("in", "I want a live agent")))
	for _, id := range []string{alice, bob} {
		if r := call(t, "GET", base+"/v1/tasks/"+id, nil, adminH); r.body["status"] != "assigned" || r.body["worker_id"] != "ana" {
			t.Fatalf("task %s after accepting: %v", id, r.body)
		}
	}

	// Bob writes: his conversation gets an unread mark, Alice's does not
	// show his message; opening his shows it.
	customer("m3", "bob", "my order is late")
	b.do("bob's message is unread", deskUntil(taskButton(bob)+`.querySelector('[data-testid="unread"]').textContent === "1"`))
	if threadHasIt := deskEval[bool](b, threadHas("in", "my order is late")); threadHasIt {
		t.Fatalf("bob's message shows in alice's conversation\n%s", b.state())
	}
	b.do("open bob's conversation", clickJS(taskButton(bob)),
		deskUntil(deskSelected+`.dataset.task === "`+bob+`"`), deskUntil(threadHas("in", "my order is late")),
		deskUntil(taskButton(bob)+`.querySelector('[data-testid="unread"]').hidden`))

	// The stream breaks: the page reconnects, resuming after the last
	// event it saw, and what happened meanwhile arrives once.
	b.do("cut the stream", chromedp.Evaluate[chromedp.Void](`window.__sockets.at(-1).close()`),
		deskUntil(`document.querySelector('[data-testid="connection"]').dataset.state !== "online"`))
	customer("m3b", "bob", "are you there?")
	b.do("resume the stream", deskUntil(`document.querySelector('[data-testid="connection"]').dataset.state === "online"`),
		deskUntil(threadHas("in", "are you there?")))
	if u := deskEval[string](b, `window.__sockets.at(-1).url`); !strings.Contains(u, "after=") {
		t.Errorf("the stream reconnected to %s, without resuming after the last event", u)
	}
	if n := deskEval[int](b, deskThread+`.filter(m => m.textContent.includes("are you there?")).length`); n != 1 {
		t.Errorf("the message during the break shows %d times", n)
	}

	// The agent replies: the custom connector delivers it to Bob, and the
	// history, once it holds the reply, shows it once.
	b.do("reply", chromedp.SendKeys(chromedp.ID("reply-text"), "Let me check, Bob.\r"), deskUntil(threadHas("out", "Let me check, Bob.")))
	out.waitFor(t, "bob", "Let me check, Bob.")
	b.do("the reply in the history", deskUntil(deskThread+`.filter(m => m.textContent.includes("Let me check, Bob.")).length === 1 && `+
		deskThread+`.some(m => m.dataset.message && m.textContent.includes("Let me check, Bob."))`))
	b.screenshot("conversation")
	if v := deskEval[string](b, `document.getElementById("reply-text").value`); v != "" {
		t.Errorf("the reply box holds %q after sending", v)
	}

	// The transfer form suggests the program's queues (and, below, the
	// colleagues when the transfer goes to a worker).
	b.do("queue suggestions", deskUntil(`[...document.querySelectorAll("#transfer-queues option")].some((o) => o.value === "english")`))

	// A transfer to a queue that does not exist: the API's reason shows.
	b.do("transfer to nowhere", openTransfer, chromedp.SendKeys(chromedp.ID("transfer-target"), "nowhere"), chromedp.Click(chromedp.ID("transfer")),
		deskUntil(`!`+deskError+`.hidden && `+deskErrorMsg+`.startsWith("Transferring failed: router: unknown queue")`))
	if r := call(t, "GET", base+"/v1/tasks/"+bob, nil, adminH); r.body["status"] != "assigned" {
		t.Fatalf("bob's task after a failed transfer: %v", r.body)
	}

	// Complete Bob's: it leaves the list, and his flow goes on.
	b.do("complete bob's", chromedp.Click(chromedp.ID("complete")),
		deskUntil(`!`+taskButton(bob)+` && `+deskTasks+`.length === 1`), deskUntil(deskSelected+`.dataset.task === "`+alice+`"`))
	out.waitFor(t, "bob", "Thanks for talking to us, ana")

	// A third customer: the offer comes (capacity 2, one held); rejecting
	// it withdraws it, and the task waits for someone else.
	customer("m4", "carol", "a live agent, please")
	b.do("carol's offer", deskUntil(offerOf("carol")))
	carol := deskEval[string](b, offerOf("carol")+`.dataset.task`)
	b.do("reject carol's", clickJS(offerOf("carol")+`.querySelector('[data-testid="reject"]')`), deskUntil(deskOffers+`.length === 0`))
	if r := call(t, "GET", base+"/v1/tasks/"+carol, nil, adminH); r.body["status"] != "waiting" {
		t.Fatalf("carol's task after the only agent rejected it: %v", r.body)
	}

	// Transfer a fourth customer, cold, to Budi: the conversation leaves
	// Ana's list at once, and Budi is offered it.
	r = call(t, "POST", base+"/v1/workers", []byte(`{"id":"budi","attributes":{"languages":["id"]},"activity":"available","capacity":{"chat":1}}`), adminH)
	if r.status != 201 {
		t.Fatalf("create budi: %d %v", r.status, r.body)
	}
	budi := openStream(t, base, "budi", r.body["token"].(string))
	b.do("colleague suggestions", chromedp.SetValue(chromedp.ID("transfer-kind"), "worker"),
		chromedp.Evaluate[chromedp.Void](`document.getElementById("transfer-kind").dispatchEvent(new Event("change"))`),
		deskUntil(`[...document.querySelectorAll("#transfer-queues option")].some((o) => o.value === "budi")`),
		chromedp.SetValue(chromedp.ID("transfer-kind"), "queue"),
		chromedp.Evaluate[chromedp.Void](`document.getElementById("transfer-kind").dispatchEvent(new Event("change"))`))
	customer("m5", "dave", "live agent")
	b.do("accept dave's", deskUntil(offerOf("dave")), clickJS(offerOf("dave")+`.querySelector('[data-testid="accept"]')`),
		deskUntil(deskTasks+`.length === 2`))
	dave := deskEval[string](b, `[...`+deskTasks+`].find(e => e.textContent.includes("dave")).dataset.task`)
	b.do("transfer dave's to budi", clickJS(taskButton(dave)), deskUntil(deskSelected+`.dataset.task === "`+dave+`"`), openTransfer,
		chromedp.SetValue(chromedp.ID("transfer-kind"), "worker"), chromedp.SetValue(chromedp.ID("transfer-target"), "budi"),
		chromedp.Click(chromedp.ID("transfer")), deskUntil(`!`+taskButton(dave)+` && `+deskTasks+`.length === 1`),
		deskUntil(deskError+`.hidden`))
	if offer := budi.event("reservation.created"); offer["task_id"] != dave {
		t.Fatalf("budi's offer %v, want dave's task %s", offer, dave)
	}

	// A reload keeps the session: the stream's hello restores Alice's conversation.
	b.do("reload", chromedp.Reload(), deskUntil(`document.querySelector('[data-testid="connection"]').dataset.state === "online"`),
		deskUntil(deskTasks+`.length === 1 && `+taskButton(alice)), deskUntil(threadHas("in", "I want a live agent")))

	// Wrap up, then complete: Alice's flow goes on too.
	b.do("wrap up alice's", chromedp.Click(chromedp.ID("wrapup")), deskUntil(`!document.getElementById("wrapup-panel").hidden`),
		chromedp.SendKeys(chromedp.ID("wrapup-disposition"), "resolved"), chromedp.SendKeys(chromedp.ID("wrapup-notes"), "Order found"),
		chromedp.Click(chromedp.ID("wrapup-submit")),
		deskUntil(deskSelected+`.dataset.status === "wrapping"`), deskUntil(`document.getElementById("wrapup").hidden`),
		deskUntil(deskThread+`.some(m => m.dataset.kind === "wrapup" && m.textContent.includes("resolved"))`))
	if w, _ := call(t, "GET", base+"/v1/tasks/"+alice, nil, adminH).body["wrapup"].(map[string]any); w["disposition"] != "resolved" || w["text"] != "Order found" {
		t.Fatalf("alice's task after the wrap-up: %v", w)
	}
	b.do("complete alice's", chromedp.Click(chromedp.ID("complete")), deskUntil(deskTasks+`.length === 0`),
		deskUntil(`!document.querySelector('[data-testid="conversation-empty"]').hidden`))
	out.waitFor(t, "alice", "Thanks for talking to us, ana")

	// Sign out forgets the token; a link with #worker=…&token=… signs in
	// again and leaves the token out of the address bar.
	b.do("sign out", chromedp.Click(chromedp.ID("signout")), deskUntil(`!document.getElementById("signin").hidden`),
		chromedp.Reload(), deskUntil(`!document.getElementById("signin").hidden`))
	if s := deskEval[string](b, `String(localStorage.getItem("switchboard.agent.session"))`); s != "null" {
		t.Errorf("after signing out, the session %s is stored", s)
	}
	b.do("sign in by link", chromedp.Navigate(base+"/agent/#worker=ana&token="+token),
		deskUntil(`document.querySelector('[data-testid="connection"]').dataset.state === "online"`))
	if h := deskEval[string](b, `location.href`); strings.Contains(h, token) {
		t.Errorf("the token stays in the address bar: %s", h)
	}
	t.Logf("the desktop's run took %v", time.Since(began).Round(time.Millisecond))

	// The page threw nothing, and its Content-Security-Policy let it work.
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, m := range b.console {
		if strings.HasPrefix(m, "exception") || strings.Contains(m, "Content Security Policy") {
			t.Errorf("the page logged %s", m)
		}
	}
}
