package webchat

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

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

func (b *browser) screenshot(name string) {
	dir := os.Getenv("WEBCHAT_SCREENSHOTS")
	if dir == "" {
		return
	}
	time.Sleep(300 * time.Millisecond) // the messages' fade-in
	png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Errorf("screenshot: %v", err)
		return
	}
	_ = os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644)
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
