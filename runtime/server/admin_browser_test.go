package server_test

import (
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/switchboard-dev/switchboard/internal/browsertest"
)

// adminShot audits the console and keeps a 1280×800 picture of it as
// NAME.png when ADMIN_CONSOLE_SCREENSHOTS names a directory.
func adminShot(b *deskBrowser, name string) {
	browsertest.Picture(b.t, b.ctx, "ADMIN_CONSOLE_SCREENSHOTS", name)
}

// consoleWait bounds the waits for what the console refreshes by itself
// (every 3 s).
const consoleWait = 10 * time.Second

func consoleUntil(cond string) chromedp.Action[chromedp.Void] {
	return browsertest.Until(cond, consoleWait)
}

// TestAdminConsole drives the admin console (GET /admin/) in headless
// Chromium against the real runtime: signs in (a worker's token first,
// refused), deploys a program with an error (its diagnostic shown with
// file, line, column and hint) then a good one, sees the flow's picture
// count a conversation waiting at its ask step, creates a worker and
// issues it a second token, sees a queue's live numbers, finds a
// conversation by the customer's address and reads its transcript, and
// retries a dead letter, which the platform then receives once. Every
// file the page loads is the server's own. ADMIN_CONSOLE_SCREENSHOTS=DIR
// keeps screenshots.
func TestAdminConsole(t *testing.T) {
	platform := &refusingPlatform{got: map[string]int{}}
	srv := httptest.NewServer(platform)
	defer srv.Close()
	sb := start(t, setup{flow: adminFlow, outboundURL: srv.URL, running: true})
	base, adminH := sb.base, bearer(admin)
	customer := customerOn(t, base)
	r := call(t, "POST", base+"/v1/workers", []byte(`{"id":"ana","name":"Ana","activity":"offline"}`), adminH)
	if r.status != 201 {
		t.Fatalf("create ana: %d %v", r.status, r.body)
	}
	anaToken := r.body["token"].(string)

	dir := t.TempDir()
	write := func(name, src string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	bad := write("bad.flow", "flow broken {\n  start: send \"hi\" -> nowhere\n}\n")
	good := write("route.flow", adminFlow)
	extra := write("vip.flow", "queue vip { workers worker.vip == true }\n")

	ctx := browsertest.Start(t, "admin console browser test", 1280, 800)
	b := newDeskBrowser(t, ctx)
	b.do("a 1280×800 page", chromedp.EmulateViewport(1280, 800))

	b.do("open the console", chromedp.Navigate(base+"/admin/"), deskUntil(`!document.getElementById("signin").hidden`))
	b.do("a worker's token is refused",
		chromedp.SendKeys(chromedp.ID("signin-token"), anaToken), chromedp.Click(chromedp.ID("signin-submit")),
		deskUntil(`!`+deskError+`.hidden && `+deskErrorMsg+`.includes("needs an admin token")`))
	adminShot(b, "admin-signin")
	b.do("sign in", chromedp.SetValue(chromedp.ID("signin-token"), admin), chromedp.Click(chromedp.ID("signin-submit")),
		deskUntil(`!document.getElementById("programs").hidden && document.querySelectorAll("#versions tr").length === 1`))
	if stored := deskEval[string](b, `sessionStorage.getItem("switchboard.admin.token")`); stored != admin {
		t.Errorf("sessionStorage holds %q", stored)
	}

	// A program with an error: not deployed, its diagnostic positioned.
	b.do("deploy a broken program", chromedp.SetUploadFiles(chromedp.ID("deploy-files"), []string{bad}),
		chromedp.Click(chromedp.ID("deploy-submit")), deskUntil(`document.querySelector('[data-testid="diagnostics"] li.error')`))
	diagText := deskEval[string](b, `document.querySelector('[data-testid="diagnostics"] li.error').innerText`)
	for _, want := range []string{"bad.flow:2:", "error[E", "nowhere", "hint:"} {
		if !strings.Contains(diagText, want) {
			t.Errorf("diagnostic %q lacks %q", diagText, want)
		}
	}
	if !strings.Contains(deskEval[string](b, `document.getElementById("deploy-result").innerText`), "Not deployed: the program does not compile") {
		t.Errorf("deploy result: %s", b.state())
	}
	adminShot(b, "admin-diagnostics")

	// The good one: two files, a new active version.
	b.do("deploy a program", chromedp.SetUploadFiles(chromedp.ID("deploy-files"), []string{good, extra}),
		chromedp.Click(chromedp.ID("deploy-submit")), deskUntil(`document.querySelector('[data-testid="deployed"]')`),
		deskUntil(`document.querySelectorAll("#versions tr").length === 2`),
		deskUntil(`document.querySelector('[data-flow="route"][aria-pressed="true"]')`),
		deskUntil(`document.querySelector('[data-testid="graph-svg"] [data-step="rate"]')`))
	active := call(t, "GET", base+"/v1/programs", nil, adminH)
	if progs := active.body["programs"].([]any); len(progs) != 2 || progs[0].(map[string]any)["active"] != true {
		t.Fatalf("programs after the deploy: %v", active.body)
	}

	// A customer waits at the ask step: the picture counts them.
	customer("s1", "carol", "survey please")
	b.do("the waiting count", consoleUntil(`document.querySelector('[data-testid="waiting-rate"]') && document.querySelector('[data-testid="waiting-rate"]').textContent === "1"`),
		deskUntil(`document.getElementById("graph-caption").textContent.includes("1 execution waits")`))
	if n := deskEval[int](b, `document.querySelectorAll('[data-testid="graph-svg"] .node').length`); n != 7 {
		t.Errorf("the picture has %d nodes, want 6 steps and done", n)
	}
	b.do("show the picture", chromedp.Evaluate[chromedp.Void](`document.getElementById("graph-box").scrollIntoView()`))
	adminShot(b, "admin-flow")

	// Workers: create one, then issue it a second token.
	b.do("create a worker", chromedp.Click(chromedp.ID("tab-workers")), deskUntil(`!document.getElementById("workers").hidden`),
		chromedp.SendKeys(chromedp.ID("w-id"), "budi"), chromedp.SendKeys(chromedp.ID("w-name"), "Budi"),
		chromedp.SetValue(chromedp.ID("w-attrs"), `{"languages":["id","en"]}`), chromedp.SetValue(chromedp.ID("w-activity"), "available"),
		chromedp.Click(chromedp.ID("w-submit")),
		deskUntil(`document.querySelector('[data-testid="issued-token"]') && document.querySelector('[data-testid="issued-token"]').value.startsWith("sbw_")`),
		deskUntil(`document.querySelector('#worker-rows tr[data-worker="budi"]')`))
	first := deskEval[string](b, `document.querySelector('[data-testid="issued-token"]').value`)
	b.do("issue a token", clickJS(`document.querySelector('[data-testid="issue-budi"]')`),
		deskUntil(`document.querySelector('[data-testid="issued-token"]').value !== `+browsertest.JS(first)),
		deskUntil(`document.querySelectorAll('#worker-rows tr[data-worker="budi"] .tokens li').length === 2`))
	second := deskEval[string](b, `document.querySelector('[data-testid="issued-token"]').value`)
	for _, tok := range []string{first, second} {
		if r := call(t, "GET", base+"/v1/workers/budi", nil, bearer(tok)); r.status != 200 || r.body["id"] != "budi" {
			t.Errorf("budi's token %s: %d %v", tok[:8], r.status, r.body)
		}
	}
	adminShot(b, "admin-workers")
	b.do("edit a worker", clickJS(`document.querySelector('#worker-rows tr[data-worker="budi"] [aria-label="Edit budi"]')`),
		deskUntil(`document.getElementById("w-id").disabled && document.getElementById("w-name").value === "Budi"`),
		chromedp.SetValue(chromedp.ID("w-name"), "Budi Santoso"), chromedp.SetValue(chromedp.ID("w-chat"), "2"),
		chromedp.Click(chromedp.ID("w-submit")),
		deskUntil(`document.querySelector('#worker-rows tr[data-worker="budi"]').innerText.includes("Budi Santoso")`))
	if r := call(t, "GET", base+"/v1/workers/budi", nil, adminH); r.body["name"] != "Budi Santoso" || fmt.Sprint(r.body["capacity"]) != "map[chat:2 email:5 voice:1]" {
		t.Errorf("budi after the edit: %v", r.body)
	}
	// Budi takes no task in this test.
	if r := call(t, "PATCH", base+"/v1/workers/budi", []byte(`{"activity":"offline"}`), adminH); r.status != 200 {
		t.Fatalf("budi offline: %d %v", r.status, r.body)
	}

	// Live: a customer waits in the support queue, nobody available.
	customer("q1", "gus", "live agent please")
	b.do("the queue's numbers", chromedp.Click(chromedp.ID("tab-live")),
		consoleUntil(`document.querySelector('[data-testid="waiting-support"]') && document.querySelector('[data-testid="waiting-support"]').textContent === "1"`))
	adminShot(b, "admin-live")

	// Conversations: carol's, found by her address, with its transcript.
	b.do("search a conversation", chromedp.Click(chromedp.ID("tab-conversations")),
		chromedp.SendKeys(chromedp.ID("c-address"), "carol"), chromedp.Click(chromedp.CSS(`[data-testid="c-search"]`)),
		deskUntil(`document.querySelectorAll("#conv-rows [data-conversation]").length === 1`),
		clickJS(`document.querySelector("#conv-rows [data-conversation]")`),
		deskUntil(`document.getElementById("transcript").innerText.includes("survey please")`),
		deskUntil(`document.getElementById("transcript").innerText.includes("How did we do, 1 to 5?")`))
	adminShot(b, "admin-conversation")

	// A dead letter: Ana's reply to gus is refused for good; retried from
	// the console once the platform takes it again, it arrives once.
	if r := call(t, "PATCH", base+"/v1/workers/ana", []byte(`{"activity":"available"}`), adminH); r.status != 200 {
		t.Fatalf("ana available: %d %v", r.status, r.body)
	}
	var task string
	waitUntil(t, "ana's offer accepted", func() bool {
		rs, _ := call(t, "GET", base+"/v1/workers/ana/reservations?status=pending", nil, bearer(anaToken)).body["reservations"].([]any)
		for _, res := range rs {
			res := res.(map[string]any)
			if r := call(t, "POST", base+"/v1/reservations/"+res["id"].(string)+"/accept", nil, bearer(anaToken)); r.status == 200 {
				task = res["task_id"].(string)
			}
		}
		return task != ""
	})
	platform.refuse.Store(true)
	if r := call(t, "POST", base+"/v1/tasks/"+task+"/messages", []byte(`{"text":"Hi Gus, Ana here"}`), bearer(anaToken)); r.status != 202 {
		t.Fatalf("reply: %d %v", r.status, r.body)
	}
	waitUntil(t, "the dead letter", func() bool {
		list, _ := call(t, "GET", base+"/v1/dead-letters", nil, adminH).body["dead_letters"].([]any)
		return len(list) == 1
	})
	platform.refuse.Store(false)
	b.do("retry the dead letter", chromedp.Click(chromedp.ID("tab-deadletters")),
		deskUntil(`document.querySelectorAll("#dead-rows [data-effect]").length === 1`))
	adminShot(b, "admin-deadletters")
	b.do("retried", clickJS(`document.querySelector('#dead-rows [data-testid^="retry-"]')`),
		deskUntil(`document.querySelector('[data-testid="dead-empty"]')`),
		deskUntil(`document.getElementById("notice").textContent.includes("back in the outbox")`))
	waitUntil(t, "the reply delivered", func() bool { return platform.count("gus") == 1 })
	time.Sleep(300 * time.Millisecond)
	if n := platform.count("gus"); n != 1 {
		t.Errorf("gus got the retried reply %d times", n)
	}

	// The events tab pages the router's log.
	b.do("the event log", chromedp.Click(chromedp.ID("tab-events")),
		deskUntil(`document.getElementById("ev-rows").innerText.includes("reservation.accepted")`))
	if first, last := deskEval[int](b, `+document.querySelector("#ev-rows tr td").textContent`), deskEval[int](b, `+[...document.querySelectorAll("#ev-rows tr")].at(-1).querySelector("td").textContent`); first <= last {
		t.Errorf("the event log shows #%d first, #%d last: want the newest first", first, last)
	}

	// Everything the page loaded came from the server itself.
	origins := deskEval[[]string](b, `[location.href, ...performance.getEntriesByType("resource").map(e => e.name)].map(u => new URL(u).origin)`)
	for _, o := range origins {
		if o != base {
			t.Errorf("the console loaded from %s", o)
		}
	}

	// Keyboard: the tabs move with the arrow keys.
	b.do("tabs by keyboard", chromedp.Focus(chromedp.ID("tab-events")), chromedp.KeyEvent(kb.ArrowLeft),
		deskUntil(`document.activeElement.id === "tab-deadletters" && !document.getElementById("deadletters").hidden`))
	b.do("sign out", chromedp.Click(chromedp.ID("signout")), deskUntil(`!document.getElementById("signin").hidden`))
	if stored := deskEval[string](b, `sessionStorage.getItem("switchboard.admin.token") || ""`); stored != "" {
		t.Errorf("signed out, sessionStorage still holds %q", stored)
	}
}
