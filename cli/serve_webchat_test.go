package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/fasthttp/websocket"

	"github.com/switchboard-dev/switchboard/internal/browsertest"
)

// serveRun is one run of `switchboard serve` on a directory and a store
// that outlive it, so a test can stop the server and start it again.
type serveRun struct {
	out    *lockedBuffer
	cancel context.CancelFunc
	done   chan error
}

// startServe starts serve on addr with the flows of dir and the SQLite
// store in dir, and waits until it is ready.
func startServe(t *testing.T, dir, addr string, flags ...string) *serveRun {
	t.Helper()
	base := "http://" + addr
	cmd := New()
	r := &serveRun{out: &lockedBuffer{}, done: make(chan error, 1)}
	cmd.SetOut(r.out)
	cmd.SetErr(r.out)
	args := []string{"serve", "--addr", addr, "--public-url", base, "--store", "sqlite:" + filepath.Join(dir, "sb.db"),
		"--reservation-timeout", "1m"}
	cmd.SetArgs(append(append(args, flags...), dir))
	var ctx context.Context
	ctx, r.cancel = context.WithCancel(context.Background())
	go func() { r.done <- cmd.ExecuteContext(ctx) }()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get(base + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return r
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	r.stop(t)
	t.Fatalf("serve did not start:\n%s", r.out)
	return nil
}

// stop stops serve as Ctrl-C does and waits for it to end.
func (r *serveRun) stop(t *testing.T) {
	t.Helper()
	r.cancel()
	if err := <-r.done; err != nil && !errors.Is(err, context.Canceled) {
		t.Errorf("serve: %v\n%s", err, r.out)
	}
}

// chat drives the webchat widget of the page in headless Chromium.
type chat struct {
	t   *testing.T
	ctx context.Context
}

// widgetJS is the widget's host element; its shadow root holds the UI.
const widgetJS = `document.querySelector("[data-switchboard-webchat]")`

func (c *chat) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(c.ctx, 40*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		c.t.Fatalf("%s: %v\nthe widget shows: %s", what, err, c.shows())
	}
}

func chatEval[T any](c *chat, expr string) T {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(c.ctx, 20*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		c.t.Fatalf("evaluating %s: %v", expr, err)
	}
	return v
}

// shows is the widget's conversation as text, for failure messages.
func (c *chat) shows() string {
	ctx, cancel := context.WithTimeout(c.ctx, 5*time.Second)
	defer cancel()
	v, _ := chromedp.Run(ctx, chromedp.Evaluate[string](widgetJS+` ? `+widgetJS+`.shadowRoot.querySelector(".sbwc-panel").innerText : "no widget"`))
	return v
}

// in finds an element of the widget's shadow root.
func in(sel string) string {
	return widgetJS + `.shadowRoot.querySelector(` + browsertest.JS(sel) + `)`
}

func waitFor(cond string) chromedp.Action[chromedp.Void] {
	return browsertest.Until(cond, 30*time.Second)
}

// shown waits for an element of the widget whose text is text.
func shown(sel, text string) chromedp.Action[chromedp.Void] {
	return waitFor(widgetJS + ` && [...` + widgetJS + `.shadowRoot.querySelectorAll(` + browsertest.JS(sel) + `)].some(e => !e.hidden && e.textContent.trim() === ` + browsertest.JS(text) + `)`)
}

// typed types a message and Enter in the composer.
func typed(text string) chromedp.Action[chromedp.Void] {
	return chromedp.SendKeys(chromedp.JSPath(in("textarea")), text+"\r")
}

// screenshot audits the page and keeps the viewport (1280×800) as docs/img's
// picture name when WEBCHAT_SCREENSHOTS names a directory.
func (c *chat) screenshot(name string) {
	browsertest.Picture(c.t, c.ctx, "WEBCHAT_SCREENSHOTS", name)
}

// TestServeWebchatBrowser is a customer's chat in real headless Chromium
// against `switchboard serve` running the shipped flows with the pre-chat
// form, and an agent on the API: the form fills the contact; the language
// question's choices are buttons, pressed with the keyboard; the customer
// sees the queue, "Ana joined", Ana typing, her name and initial on her
// reply, and their own message read; the server is stopped and started
// again (same SQLite file, no configured secret) in the middle, and the
// same visitor goes on with the same agent both ways; the agent completes
// and the survey's buttons answer it; an admin closes the conversation and
// the customer starts a new one. WEBCHAT_SCREENSHOTS=DIR keeps pictures.
func TestServeWebchatBrowser(t *testing.T) {
	dir := shippedFlowsDir(t, false)
	addr := freeAddr(t)
	// A shop on another origin embeds the chat with one script tag.
	shop := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Acme shop</title></head>` +
			`<body style="font-family:sans-serif;margin:40px"><h1>Acme shop</h1><p>Lamps, chairs and tables.</p>` +
			`<script src="http://` + addr + `/webchat/default/embed.js" async></script></body></html>`))
	}))
	defer shop.Close()
	shopOrigin := strings.Replace(shop.URL, "127.0.0.1", "localhost", 1)
	flags := []string{"--connector", "webchat/default,prechat=name email,title=Acme support,allowed_origins=" + shopOrigin}

	ctx := browsertest.Start(t, "webchat browser test", 1280, 800)
	c := &chat{t: t, ctx: ctx}

	run := startServe(t, dir, addr, flags...)
	stopped := false
	defer func() {
		if !stopped {
			run.stop(t)
		}
	}()
	sb := run.shipped(t, addr)
	ana := sb.worker("ana", map[string]any{"name": "Ana", "languages": []string{"en"}, "department": "support"}, map[string]int{"chat": 2})
	sb.api("PUT", "/v1/workers/ana/activity", ana, map[string]any{"activity": "break"}, http.StatusOK) // the customer waits a moment

	// The pre-chat form comes first; Enter in it starts the chat.
	c.do("open the chat page", chromedp.EmulateViewport(1280, 800), chromedp.Navigate(sb.base+"/webchat/default/"),
		waitFor(widgetJS+` && `+widgetJS+`.dataset.prechat === "open"`))
	if got := chatEval[[]string](c, `[...`+widgetJS+`.shadowRoot.querySelectorAll(".sbwc-prechat label")].filter(l => !l.closest("[hidden]")).map(l => l.textContent)`); strings.Join(got, "|") != "Your name|Your email" {
		t.Errorf("pre-chat labels %q", got)
	}
	c.screenshot("webchat-prechat")
	c.do("fill the pre-chat form",
		chromedp.SendKeys(chromedp.JSPath(in(`input[name="name"]`)), "Chen Wei"),
		chromedp.SendKeys(chromedp.JSPath(in(`input[name="email"]`)), "Chen.Wei@Example.COM\r"),
		waitFor(widgetJS+`.dataset.prechat === "done" && `+widgetJS+`.dataset.status === "online"`))

	// The language question's choices are buttons, reached and pressed
	// with the keyboard.
	c.do("ask for an agent", typed("I want a live agent"), shown(".sbwc-text", "Which language do you prefer?"))
	buttons := chatEval[[]string](c, `[...`+widgetJS+`.shadowRoot.querySelectorAll(".sbwc-choices button")].map(b => b.tagName + ":" + b.textContent)`)
	if strings.Join(buttons, "|") != "BUTTON:English|BUTTON:Bahasa Indonesia" {
		t.Fatalf("choices %q, want two buttons", buttons)
	}
	c.do("press English with the keyboard", chromedp.SendKeys(chromedp.JSPath(in(`.sbwc-choices button[data-choice="en"]`)), "\r"),
		shown(".sbwc-notice", "Connecting you to an agent… You are number 1 in line."))

	// Ana is back and accepts: the customer sees her join, type, and write.
	c.screenshot("webchat-queued")
	sb.api("PUT", "/v1/workers/ana/activity", ana, map[string]any{"activity": "available"}, http.StatusOK)
	task := sb.accept("ana", ana)
	c.do("Ana joins", shown(".sbwc-notice", "Ana joined the chat"))
	sb.api("POST", "/v1/tasks/"+task+"/typing", ana, map[string]any{}, http.StatusNoContent)
	c.do("Ana types", shown(".sbwc-typing", "Ana is typing…"))
	c.screenshot("webchat-typing")
	sb.api("POST", "/v1/tasks/"+task+"/messages", ana, map[string]any{"text": "Hi Chen, I'm Ana. How can I help?"}, http.StatusAccepted)
	c.do("Ana's reply, with her name", shown(".sbwc-person .sbwc-text", "Hi Chen, I'm Ana. How can I help?"),
		waitFor(in(".sbwc-typing")+`.hidden`))
	if got := chatEval[string](c, in(".sbwc-person .sbwc-by")+`.textContent`); got != "AAna" {
		t.Errorf("Ana's reply is signed %q, want her initial and name", got)
	}
	if got := chatEval[string](c, `[...`+widgetJS+`.shadowRoot.querySelectorAll(".sbwc-bot .sbwc-name")].map(e => e.textContent).join("|")`); !strings.HasPrefix(got, "Acme support") {
		t.Errorf("the flow's replies are signed %q, want the bot's title", got)
	}
	// The customer types: Ana's stream shows it; nothing is stored.
	stream, _, err := websocket.DefaultDialer.Dial("ws://"+addr+"/v1/workers/ana/stream?access_token="+ana, nil)
	if err != nil {
		t.Fatalf("Ana's stream: %v", err)
	}
	defer stream.Close()
	c.do("the customer types", chromedp.SendKeys(chromedp.JSPath(in("textarea")), "My order"))
	streamFrame(t, stream, `"type":"typing"`, task)
	c.do("and sends it", chromedp.SendKeys(chromedp.JSPath(in("textarea")), " 4470 came broken\r"))
	sb.waitEvent(task, "conversation.message", "4470 came broken")

	// The customer attaches a picture: Ana's stream has its link, and the
	// link serves it.
	picture := filepath.Join(t.TempDir(), "broken-lid.png")
	if err := os.WriteFile(picture, picturePNG(), 0o644); err != nil {
		t.Fatal(err)
	}
	c.do("attach a picture", chromedp.SetUploadFiles(chromedp.JSPath(in(`input[type="file"]`)), []string{picture}),
		waitFor(`[...`+widgetJS+`.shadowRoot.querySelectorAll(".sbwc-visitor .sbwc-media img")].some(i => i.complete && i.naturalWidth > 0)`))
	sb.waitEvent(task, "conversation.message", "broken-lid.png")
	if label := chatEval[string](c, in(".sbwc-attach")+`.getAttribute("aria-label")`); label != "Attach a file" {
		t.Errorf("the attach button is labelled %q", label)
	}

	c.do("the customer's message read", waitFor(`[...`+widgetJS+`.shadowRoot.querySelectorAll(".sbwc-visitor")].some(e => e.dataset.state === "read" && e.textContent.includes("Read"))`))
	sb.waitEvent(task, "agent.reply.status", `"read"`)
	c.screenshot("webchat-agent")

	// Ana sends a picture: the customer sees it in her reply.
	h := http.Header{}
	h.Set("Authorization", "Bearer "+ana)
	h.Set("Content-Type", "image/png")
	if code, _, body := sb.post(sb.base+"/v1/tasks/"+task+"/attachments?filename=label.png&text=Your%20return%20label", h, picturePNG()); code != http.StatusAccepted {
		t.Fatalf("Ana's attachment: %d %s", code, body)
	}
	c.do("Ana's picture", shown(".sbwc-person .sbwc-text", "Your return label"),
		waitFor(`[...`+widgetJS+`.shadowRoot.querySelectorAll(".sbwc-person .sbwc-media img")].some(i => i.complete && i.naturalWidth > 0)`))

	// The pre-chat form filled the contact: its name, and its email as an
	// address of the email channel.
	tk := sb.taskStatus(task, "assigned")
	contact := sb.api("GET", "/v1/contacts/"+tk["contact_id"].(string), sb.admin, nil, http.StatusOK)
	if contact["name"] != "Chen Wei" || !strings.Contains(compactJSON(contact["addresses"]), `{"address":"chen.wei@example.com","channel":"email"}`) {
		t.Errorf("contact %v: want the name and the email of the pre-chat form", contact)
	}

	// A restart of the server: the visitor and the conversation go on.
	visitor := chatEval[string](c, widgetJS+`.dataset.visitor`)
	run.stop(t)
	c.do("the widget notices", waitFor(widgetJS+`.dataset.status !== "online"`))
	run = startServe(t, dir, addr, flags...)
	c.do("the widget is back", waitFor(widgetJS+`.dataset.status === "online"`))
	sb.api("POST", "/v1/tasks/"+task+"/messages", ana, map[string]any{"text": "Still here after the restart."}, http.StatusAccepted)
	c.do("Ana's reply after the restart", shown(".sbwc-person .sbwc-text", "Still here after the restart."))
	c.do("the customer answers after the restart", typed("Great, my order 4471 is late"),
		waitFor(`[...`+widgetJS+`.shadowRoot.querySelectorAll(".sbwc-visitor")].some(e => e.textContent.includes("4471") && e.dataset.state !== "sending" && e.dataset.state !== "failed")`))
	sb.waitEvent(task, "conversation.message", "order 4471 is late")
	if v := chatEval[string](c, widgetJS+`.dataset.visitor`); v != visitor {
		t.Errorf("after the restart the visitor is %s, was %s", v, visitor)
	}

	// Ana completes: she leaves, and the survey's buttons answer it.
	sb.api("POST", "/v1/tasks/"+task+"/complete", ana, nil, http.StatusOK)
	c.do("Ana leaves and the survey asks", shown(".sbwc-notice", "Ana left the chat"), shown(".sbwc-text", "How did we do?"))
	if n := chatEval[int](c, `[...`+widgetJS+`.shadowRoot.querySelectorAll(".sbwc-notice")].filter(e => !e.hidden && e.textContent === "Ana left the chat").length`); n != 1 {
		t.Errorf(`"Ana left the chat" shown %d times`, n)
	}
	c.screenshot("webchat-survey")
	c.do("rate with the keyboard", chromedp.SendKeys(chromedp.JSPath(in(`.sbwc-asks:last-of-type .sbwc-choices button[data-choice="good"]`)), " "),
		shown(".sbwc-text", "Thank you! Glad we could help."))

	// An admin closes the conversation; the customer starts another.
	sb.api("POST", "/v1/conversations/"+tk["conversation_id"].(string)+"/close", sb.admin, nil, http.StatusOK)
	c.do("closed", shown(".sbwc-notice", "Conversation closed"), waitFor(`!`+in(".sbwc-newchat")+`.hidden`))
	c.screenshot("webchat-closed")
	c.do("start a new conversation", chromedp.Click(chromedp.JSPath(in(".sbwc-newchat button"))),
		waitFor(`!`+widgetJS+`.shadowRoot.querySelector(".sbwc-msg:not(.sbwc-greeting)")`), typed("Hello again"),
		shown(".sbwc-visitor .sbwc-text", "Hello again"))
	// A reload shows the new conversation only.
	c.do("reload", chromedp.Reload(), waitFor(widgetJS+` && `+widgetJS+`.dataset.status === "online"`), shown(".sbwc-visitor .sbwc-text", "Hello again"))
	if old := chatEval[bool](c, `[...`+widgetJS+`.shadowRoot.querySelectorAll(".sbwc-text")].some(e => e.textContent.includes("4471"))`); old {
		t.Error("the old conversation came back after a reload")
	}

	// Embedded on the shop's page: a launcher button opens the panel.
	c.do("the shop's page", chromedp.Navigate(shopOrigin+"/"), waitFor(in(".sbwc-launcher")))
	if label := chatEval[string](c, in(".sbwc-launcher")+`.getAttribute("aria-label")`); label != "Open chat" {
		t.Errorf("launcher labelled %q", label)
	}
	c.do("open the embedded chat", chromedp.SendKeys(chromedp.JSPath(in(".sbwc-launcher")), "\r"),
		waitFor(`!`+in(".sbwc-panel")+`.hidden && `+widgetJS+`.dataset.prechat === "open"`))
	c.screenshot("webchat-embed")

	run.stop(t)
	stopped = true
}

// streamFrame reads a worker's stream until a frame has both strings.
func streamFrame(t *testing.T, conn *websocket.Conn, a, b string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		_ = conn.SetReadDeadline(deadline)
		_, msg, err := conn.ReadMessage()
		if err != nil {
			t.Fatalf("waiting for a frame with %s and %s: %v", a, b, err)
		}
		if strings.Contains(string(msg), a) && strings.Contains(string(msg), b) {
			return
		}
	}
}

// picturePNG is a small picture of a box with a broken lid, drawn: the
// customer's attachment.
func picturePNG() []byte {
	img := image.NewRGBA(image.Rect(0, 0, 240, 150))
	for y := range 150 {
		for x := range 240 {
			c := color.RGBA{R: 236, G: 230, B: 218, A: 255} // the table
			switch {
			case y > 60 && x > 50 && x < 190: // the box
				c = color.RGBA{R: 181, G: 134, B: 84, A: 255}
			case y > 30 && y <= 60 && x > 40+(60-y) && x < 150: // the lid, askew
				c = color.RGBA{R: 150, G: 105, B: 60, A: 255}
			}
			img.Set(x, y, c)
		}
	}
	var buf bytes.Buffer
	_ = png.Encode(&buf, img)
	return buf.Bytes()
}

// compactJSON is v as JSON, for a substring check.
func compactJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
