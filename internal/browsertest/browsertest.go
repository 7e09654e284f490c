// Package browsertest runs the browser tests' headless Chromium: starting
// it (or skipping the test, saying why), waiting for what the page shows,
// and writing values into the JavaScript the tests evaluate.
package browsertest

import (
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// chromium returns the browser's path, or "" when none is installed.
func chromium() string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// Start launches a headless Chromium with a window of width×height for the
// test and returns its context; it is stopped when the test ends. The test
// is skipped, with what it is in the message, when no Chromium is installed
// or in -short mode.
func Start(t *testing.T, what string, width, height int) context.Context {
	t.Helper()
	path := chromium()
	if path == "" {
		t.Skip(what + " skipped: no chromium on PATH (apt-get install -y chromium)")
	}
	if testing.Short() {
		t.Skip(what + " skipped in -short mode")
	}
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(path), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true), chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(width, height))
	t.Cleanup(cancelAlloc)
	ctx, cancelCtx := chromedp.NewContext(alloc)
	t.Cleanup(cancelCtx)
	// The first call starts the browser, which lives as long as that call's
	// context: ctx itself, not one with a time limit.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting %s: %v", path, err)
	}
	return ctx
}

// Until waits at most timeout for a JavaScript condition to hold.
func Until(cond string, timeout time.Duration) chromedp.Action[chromedp.Void] {
	poll := chromedp.Poll[bool]("!!("+cond+")", chromedp.WithPollingTimeout(timeout))
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		for attempt := 0; ; attempt++ {
			_, err := poll(ctx, t)
			// Right after a navigation the page's execution context may
			// not be the one the poll started in: look again.
			if err != nil && attempt < 5 && strings.Contains(err.Error(), "Cannot find context") {
				time.Sleep(100 * time.Millisecond)
				continue
			}
			if err != nil {
				return chromedp.Void{}, fmt.Errorf("waiting for %s: %w", cond, err)
			}
			return chromedp.Void{}, nil
		}
	}
}

// JS is s as a JavaScript string literal.
func JS(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
