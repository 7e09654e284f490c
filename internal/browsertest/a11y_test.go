package browsertest

import (
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

func TestAudit(t *testing.T) {
	ctx := Start(t, "the accessibility audit's test", 800, 600)
	tests := []struct {
		name string
		html string
		want []string // a substring of each problem, in order
	}{
		{"clean", `<html lang="en"><title>ok</title>
			<label for="q">Search</label><input id="q">
			<label><input type="checkbox"> Sound</label>
			<button>Send</button><button aria-label="Attach"><svg width="9" height="9"></svg></button>
			<a href="#x">More</a><img src="data:," alt="">
			<div role="tablist"><button role="tab">One</button><button role="tab" tabindex="-1">Two</button></div>
			<button hidden></button><input type="hidden">`, nil},
		{"problems", `<html><title> </title>
			<input id="q" placeholder="Search">
			<button><svg width="9" height="9"></svg></button>
			<span role="button">Go</span>
			<button tabindex="-1">Later</button>
			<img src="data:,">`,
			[]string{"input#q has no accessible name", "button has no accessible name",
				`span ("Go") cannot be reached with the keyboard`, `button ("Later") cannot be reached`,
				"img has no alt text", "the page has no lang", "the page has no title"}},
		{"shadow root", `<html lang="en"><title>embed</title><div id="host"></div>
			<script>document.getElementById("host").attachShadow({mode: "open"}).innerHTML = "<button></button>";</script>`,
			[]string{"button has no accessible name"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := chromedp.Run(ctx, chromedp.Navigate("data:text/html,"+url.PathEscape(tt.html))); err != nil {
				t.Fatal(err)
			}
			got, checked, err := Audit(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if checked == 0 {
				t.Errorf("no control checked")
			}
			if len(got) != len(tt.want) {
				t.Fatalf("problems:\n  %s\nwant %d: %q", strings.Join(got, "\n  "), len(tt.want), tt.want)
			}
			for i, w := range tt.want {
				if !strings.Contains(got[i], w) {
					t.Errorf("problem %d is %q, want it to say %q (all: %q)", i, got[i], w, got)
				}
			}
			if slices.Contains(got, "") {
				t.Errorf("an empty problem: %q", got)
			}
		})
	}
}
