package webchat

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/switchboard-dev/switchboard/connectors"
	"github.com/switchboard-dev/switchboard/internal/browsertest"
)

// widget finds the widget's host element; its shadowRoot holds the UI.
const widget = `document.querySelector("[data-switchboard-webchat]")`

type browser struct {
	t   *testing.T
	ctx context.Context
}

// do runs steps with a time limit.
func (b *browser) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
}

func eval[T any](b *browser, expr string) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		b.t.Fatalf("evaluating %s: %v", expr, err)
	}
	return v
}

// until waits for a JavaScript condition.
func until(cond string) chromedp.Action[chromedp.Void] {
	return browsertest.Until(cond, 20*time.Second)
}

func status(want string) chromedp.Action[chromedp.Void] {
	return until(widget + ` && ` + widget + `.dataset.status === "` + want + `"`)
}

func sees(text string) chromedp.Action[chromedp.Void] {
	return until(`[...` + widget + `.shadowRoot.querySelectorAll(".sbwc-msg .sbwc-text")].some(e => e.textContent === ` + browsertest.JS(text) + `)`)
}

func typeText(text string) chromedp.Action[chromedp.Void] {
	return chromedp.SendKeys(chromedp.JSPath(widget+`.shadowRoot.querySelector("textarea")`), text+"\r")
}

// transcript lists the messages shown, "> " for the visitor's, "< " for replies.
func (b *browser) transcript() string {
	b.t.Helper()
	texts := eval[[]string](b, `[...`+widget+`.shadowRoot.querySelectorAll(".sbwc-msg:not(.sbwc-greeting)")].map(e =>
		(e.classList.contains("sbwc-visitor") ? "> " : "< ") + e.querySelector(".sbwc-text").textContent +
		(e.dataset.state === "sending" || e.dataset.state === "failed" ? " (" + e.dataset.state + ")" : ""))`)
	return strings.Join(texts, "|")
}

// screenshot audits the page and keeps a picture of it when
// WEBCHAT_SCREENSHOTS names a directory.
func (b *browser) screenshot(name string) {
	browsertest.Picture(b.t, b.ctx, "WEBCHAT_SCREENSHOTS", name)
}

// TestBrowser drives the real widget in headless Chromium: it loads the
// page, types a message and sees the reply; reloads and keeps the visitor
// and the conversation; uses the long-polling fallback; and runs embedded
// on another origin. WEBCHAT_SCREENSHOTS=DIR keeps screenshots.
func TestBrowser(t *testing.T) {
	// The shop embedding the widget is http://localhost:PORT, another
	// origin than the widget's http://127.0.0.1:PORT.
	ln := listen(t)
	shop := "http://localhost:" + strings.TrimPrefix(ln.Addr().String(), "127.0.0.1:")
	ts := startServerOn(t, ln, connectors.Config{"secret": testSecret, "allowed_origins": shop})

	ctx := browsertest.Start(t, "headless browser test", 480, 720)
	b := &browser{t: t, ctx: ctx}

	// The page: it connects, the visitor writes, the reply shows.
	b.do("open the page", chromedp.Navigate(ts.url+"/webchat/default/"), status("online"))
	visitor := eval[string](b, widget+`.dataset.visitor`)
	if !validVisitorID(visitor) {
		t.Fatalf("visitor %q", visitor)
	}
	if g := eval[string](b, widget+`.shadowRoot.querySelector(".sbwc-greeting").textContent`); g != DefaultGreeting {
		t.Errorf("greeting %q", g)
	}
	b.do("send a message", typeText("Hello from Chromium"), sees("echo: Hello from Chromium"))
	want := "> Hello from Chromium|< echo: Hello from Chromium"
	if got := b.transcript(); got != want {
		t.Errorf("transcript %q, want %q", got, want)
	}
	b.screenshot("page")
	if v := eval[string](b, widget+`.shadowRoot.querySelector("textarea").value`); v != "" {
		t.Errorf("the input holds %q after sending", v)
	}

	// A reload keeps the visitor, and shows the conversation once.
	b.do("reload", chromedp.Reload(), status("online"))
	if again := eval[string](b, widget+`.dataset.visitor`); again != visitor {
		t.Errorf("after a reload the visitor is %s, want %s", again, visitor)
	}
	if got := b.transcript(); got != want {
		t.Errorf("transcript after a reload %q, want %q", got, want)
	}
	b.do("send after the reload", typeText("And again"), sees("echo: And again"))
	want += "|> And again|< echo: And again"
	if got := b.transcript(); got != want {
		t.Errorf("transcript %q, want %q", got, want)
	}

	// A reply sent while no page is open arrives when the visitor is back.
	b.do("leave", chromedp.Navigate("about:blank"))
	if _, err := ts.c.Send(context.Background(), &connectors.Outbound{Key: "late-1", To: visitor, Text: "An agent wrote back"}); err != nil {
		t.Fatal(err)
	}
	b.do("come back", chromedp.Navigate(ts.url+"/webchat/default/"), status("online"), sees("An agent wrote back"))
	want += "|< An agent wrote back"
	if got := b.transcript(); got != want {
		t.Errorf("transcript %q, want %q", got, want)
	}

	// The REST fallback.
	b.do("the page in polling mode", chromedp.Navigate(ts.url+"/webchat/default/?transport=poll"), status("polling"),
		typeText("Polling here"), sees("echo: Polling here"))
	want += "|> Polling here|< echo: Polling here"
	if got := b.transcript(); got != want {
		t.Errorf("transcript in polling mode %q, want %q", got, want)
	}
	b.screenshot("polling")

	// Embedded on another origin (localhost, the widget on 127.0.0.1): the
	// launcher opens the panel, and CORS lets it talk to the server. Its
	// storage is the other origin's: a new visitor.
	b.do("open the shop", chromedp.Navigate(shop+"/host.html"), until(widget+` && `+widget+`.shadowRoot.querySelector(".sbwc-launcher")`))
	b.screenshot("embedded-closed")
	b.do("open the chat", chromedp.Click(chromedp.JSPath(widget+`.shadowRoot.querySelector(".sbwc-launcher")`)), status("online"),
		typeText("From the shop"), sees("echo: From the shop"))
	if e := eval[string](b, widget+`.shadowRoot.querySelector(".sbwc-launcher").getAttribute("aria-expanded")`); e != "true" {
		t.Errorf("launcher aria-expanded %q", e)
	}
	if v := eval[string](b, widget+`.dataset.visitor`); v == visitor || !validVisitorID(v) {
		t.Errorf("embedded visitor %q", v)
	}
	b.screenshot("embedded-open")
}

// shadow is a JavaScript expression for the widget's first element that
// matches the CSS selector sel.
func shadow(sel string) string {
	return widget + `.shadowRoot.querySelector(` + browsertest.JS(sel) + `)`
}

// focused is the class or role of the element focused in the widget.
func (b *browser) focused() string {
	b.t.Helper()
	return eval[string](b, `(e => e ? (e.getAttribute("data-choice") || e.className) : "")(`+widget+`.shadowRoot.activeElement)`)
}

// buttons lists the choice buttons of the widget's last reply with
// choices: "title" for an enabled one, "(title)" disabled, "[title]"
// disabled and the one picked.
func (b *browser) buttons() string {
	b.t.Helper()
	return strings.Join(eval[[]string](b, `[...[...`+widget+`.shadowRoot.querySelectorAll(".sbwc-asks")].pop().querySelectorAll(".sbwc-choices button:not(.sbwc-menu-toggle)")].map(e =>
		(t => !e.disabled ? t : e.classList.contains("sbwc-picked") ? "[" + t + "]" : "(" + t + ")")(e.querySelector(".sbwc-choice-title").textContent))`), " ")
}

// TestBrowserChoices drives the choices of replies in headless Chromium on
// a narrow screen: buttons that wrap, a tap that is sent as the visitor's
// message with its choice and disables the buttons, an answer typed
// instead, a menu used with the keyboard, a reload that keeps the
// questions answered, and a menu in the widget embedded on another site.
func TestBrowserChoices(t *testing.T) {
	ln := listen(t)
	shop := "http://localhost:" + strings.TrimPrefix(ln.Addr().String(), "127.0.0.1:")
	ts := startServerOn(t, ln, connectors.Config{"secret": testSecret, "allowed_origins": shop})
	ctx := browsertest.Start(t, "headless browser test", 360, 720)
	b := &browser{t: t, ctx: ctx}
	lastChoice := func() string {
		ts.mu.Lock()
		defer ts.mu.Unlock()
		return ts.received[len(ts.received)-1].Choice
	}
	send := func(m *connectors.Outbound) {
		t.Helper()
		if _, err := ts.c.Send(context.Background(), m); err != nil {
			t.Fatal(err)
		}
	}
	enabled := func(n int) chromedp.Action[chromedp.Void] {
		return until(`[...[...` + widget + `.shadowRoot.querySelectorAll(".sbwc-asks")].pop()?.querySelectorAll(".sbwc-choices button") ?? []].filter(e => !e.disabled).length === ` + strconv.Itoa(n))
	}

	b.do("open the page", chromedp.Navigate(ts.url+"/webchat/default/"), status("online"))
	visitor := eval[string](b, widget+`.dataset.visitor`)

	// Two choices: two buttons under the question.
	send(languages("q1", visitor))
	b.do("the buttons", sees("Which language?"), enabled(2))
	if got := b.buttons(); got != "English Español" {
		t.Errorf("buttons %q", got)
	}
	if d := eval[string](b, shadow(`[data-choice="es"] .sbwc-choice-desc`)+`.textContent`); d != "Atención en español" {
		t.Errorf("description %q", d)
	}
	if g := eval[string](b, shadow(".sbwc-choices")+`.getAttribute("role")`); g != "group" {
		t.Errorf("the buttons' container has role %q", g)
	}
	b.screenshot("choices")

	// A tap: the visitor's message is the title, the flow gets the id, the
	// buttons are disabled with the pick marked.
	b.do("tap Español", chromedp.Click(chromedp.JSPath(shadow(`.sbwc-choice[data-choice="es"]`))), sees("echo: Español"), enabled(0))
	want := "< Which language?|> Español|< echo: Español"
	if got := b.transcript(); got != want {
		t.Errorf("transcript %q, want %q", got, want)
	}
	if got := b.buttons(); got != "(English) [Español]" {
		t.Errorf("buttons after the tap %q", got)
	}
	if c := lastChoice(); c != "es" {
		t.Errorf("the flow got choice %q, want es", c)
	}
	if f := b.focused(); f != "sbwc-input" {
		t.Errorf("focus after the tap on %q, want the input", f)
	}
	b.screenshot("choices-picked")

	// An answer typed instead of a tap answers the question too.
	send(&connectors.Outbound{Key: "q2", To: visitor, Text: "Anything else?", Choices: []connectors.Choice{{ID: "yes", Title: "Yes"}, {ID: "no", Title: "No"}}})
	b.do("the second question", sees("Anything else?"), enabled(2), typeText("Where is my parcel?"), sees("echo: Where is my parcel?"), enabled(0))
	if got := b.buttons(); got != "(Yes) (No)" {
		t.Errorf("buttons after a typed answer %q", got)
	}
	if c := lastChoice(); c != "" {
		t.Errorf("typed text came with choice %q", c)
	}

	// Many choices wrap onto more lines within the message.
	send(&connectors.Outbound{Key: "q3", To: visitor, Text: "Which size?", Choices: []connectors.Choice{
		{ID: "xs", Title: "Extra small"}, {ID: "s", Title: "Small"}, {ID: "m", Title: "Medium"},
		{ID: "l", Title: "Large"}, {ID: "xl", Title: "Extra large"}}})
	b.do("the sizes", sees("Which size?"), enabled(5))
	rows := eval[int](b, `new Set([...`+widget+`.shadowRoot.querySelectorAll(".sbwc-asks:last-of-type .sbwc-choice")].map(e => e.offsetTop)).size`)
	overflow := eval[bool](b, `(e => e.scrollWidth > e.clientWidth)([...`+widget+`.shadowRoot.querySelectorAll(".sbwc-choices")].pop())`)
	if rows < 2 || overflow {
		t.Errorf("five buttons on a 360 px screen: %d rows, overflowing %v", rows, overflow)
	}
	b.screenshot("choices-wrapped")
	b.do("pick a size", chromedp.Click(chromedp.JSPath(shadow(`.sbwc-choice[data-choice="m"]`))), sees("echo: Medium"), enabled(0))

	// A menu: a button with its label opens the list; arrows move, Escape
	// closes it back onto the button, Enter picks.
	send(&connectors.Outbound{Key: "q4", To: visitor, Text: "What is it about?", Menu: "Choose a topic", Choices: []connectors.Choice{
		{ID: "order", Title: "An order", Description: "Where it is, changing it"}, {ID: "refund", Title: "A refund"}, {ID: "other", Title: "Something else"}}})
	b.do("the menu", sees("What is it about?"), enabled(4))
	toggle := shadow(".sbwc-menu-toggle")
	if l, e, h := eval[string](b, toggle+`.textContent`), eval[string](b, toggle+`.getAttribute("aria-expanded")`), eval[bool](b, shadow(".sbwc-menu")+`.hidden`); l != "Choose a topic" || e != "false" || !h {
		t.Errorf("menu button %q, aria-expanded %s, list hidden %v", l, e, h)
	}
	b.do("open it", chromedp.Click(chromedp.JSPath(toggle)), until("!"+shadow(".sbwc-menu")+".hidden"))
	if e, role := eval[string](b, toggle+`.getAttribute("aria-expanded")`), eval[string](b, shadow(".sbwc-menu")+`.getAttribute("role")`); e != "true" || role != "menu" {
		t.Errorf("open menu: aria-expanded %s, role %q", e, role)
	}
	if items := eval[[]string](b, `[...`+widget+`.shadowRoot.querySelectorAll('.sbwc-menu [role="menuitem"] .sbwc-choice-title')].map(e => e.textContent)`); strings.Join(items, "|") != "An order|A refund|Something else" {
		t.Errorf("menu items %q", items)
	}
	if f := b.focused(); f != "order" {
		t.Errorf("focus on %q when the menu opens, want its first item", f)
	}
	b.screenshot("menu-open")
	b.do("arrow down", chromedp.KeyEvent(kb.ArrowDown))
	if f := b.focused(); f != "refund" {
		t.Errorf("focus on %q after ArrowDown, want refund", f)
	}
	b.do("escape", chromedp.KeyEvent(kb.Escape), until(shadow(".sbwc-menu")+".hidden"))
	if f := b.focused(); f != "sbwc-menu-toggle" {
		t.Errorf("focus on %q after Escape, want the menu button", f)
	}
	b.do("open with the keyboard and pick", chromedp.KeyEvent(kb.ArrowDown), until("!"+shadow(".sbwc-menu")+".hidden"),
		chromedp.KeyEvent(kb.ArrowDown), chromedp.KeyEvent(kb.Enter), sees("echo: A refund"), enabled(0))
	if c := lastChoice(); c != "refund" {
		t.Errorf("the flow got choice %q from the menu, want refund", c)
	}
	if h := eval[bool](b, shadow(".sbwc-menu")+`.hidden`); !h {
		t.Error("the menu stays open after the pick")
	}
	want += "|< Anything else?|> Where is my parcel?|< echo: Where is my parcel?|< Which size?|> Medium|< echo: Medium" +
		"|< What is it about?|> A refund|< echo: A refund"
	if got := b.transcript(); got != want {
		t.Errorf("transcript %q, want %q", got, want)
	}

	// A reload shows the questions answered, and an open one open.
	send(languages("q5", visitor))
	b.do("the last question", enabled(2), chromedp.Reload(), status("online"), sees("echo: A refund"), enabled(2))
	if got := b.transcript(); got != want+"|< Which language?" {
		t.Errorf("transcript after a reload %q", got)
	}
	if n := eval[int](b, `[...`+widget+`.shadowRoot.querySelectorAll(".sbwc-choices button:enabled")].length`); n != 2 {
		t.Errorf("after a reload %d buttons are enabled, want the last question's 2", n)
	}
	if p := eval[[]string](b, `[...`+widget+`.shadowRoot.querySelectorAll(".sbwc-picked")].map(e => e.dataset.choice)`); strings.Join(p, " ") != "es m refund" {
		t.Errorf("picks after a reload %q", p)
	}

	// Embedded: Escape closes the menu, not the chat; a click on an item
	// picks it.
	b.do("open the shop's chat", chromedp.Navigate(shop+"/host.html"), until(shadow(".sbwc-launcher")),
		chromedp.Click(chromedp.JSPath(shadow(".sbwc-launcher"))), status("online"), typeText("Hi"), sees("echo: Hi"))
	shopper := eval[string](b, widget+`.dataset.visitor`)
	send(&connectors.Outbound{Key: "q6", To: shopper, Text: "What is it about?", Menu: "Choose a topic", Choices: []connectors.Choice{
		{ID: "order", Title: "An order"}, {ID: "refund", Title: "A refund"}}})
	b.do("open the menu", enabled(3), chromedp.Click(chromedp.JSPath(toggle)), until("!"+shadow(".sbwc-menu")+".hidden"),
		chromedp.KeyEvent(kb.Escape), until(shadow(".sbwc-menu")+".hidden"))
	if e := eval[string](b, shadow(".sbwc-launcher")+`.getAttribute("aria-expanded")`); e != "true" {
		t.Error("Escape in the menu closed the chat")
	}
	b.do("pick with the mouse", chromedp.Click(chromedp.JSPath(toggle)), until("!"+shadow(".sbwc-menu")+".hidden"),
		chromedp.Click(chromedp.JSPath(shadow(`.sbwc-menu-item[data-choice="order"]`))), sees("echo: An order"), enabled(0))
	if c := lastChoice(); c != "order" {
		t.Errorf("the embedded widget sent choice %q, want order", c)
	}
	b.screenshot("embedded-menu")
}
