package browsertest

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// auditJS lists what keeps the page's visible controls from being used
// without a mouse or a screen: a control with no accessible name (its
// aria-label, aria-labelledby, label, text or title), a control taken out
// of the tab order outside a composite widget (tabs, listbox, menu,
// radiogroup, whose roving focus is its own), an image without alt, and a
// page without lang or title. Shadow roots (the embedded chat) are
// searched too. A subset of what Lighthouse's accessibility audit checks,
// the part a test can decide.
const auditJS = `(() => {
  const problems = [];
  const visible = el => {
    const r = el.getBoundingClientRect(), s = getComputedStyle(el);
    return r.width > 0 && r.height > 0 && s.visibility !== "hidden" && s.display !== "none";
  };
  const describe = el => {
    let d = el.tagName.toLowerCase();
    if (el.id) d += "#" + el.id;
    if (typeof el.className === "string" && el.className.trim()) d += "." + el.className.trim().split(/\s+/).join(".");
    const t = (el.textContent || "").trim().slice(0, 30);
    return t ? d + " (" + JSON.stringify(t) + ")" : d;
  };
  const byIds = (root, ids) => ids.split(/\s+/).map(id => {
    const e = root.getElementById ? root.getElementById(id) : root.querySelector("#" + CSS.escape(id));
    return e ? e.textContent : "";
  }).join(" ").trim();
  const name = (root, el) => {
    const l = el.getAttribute("aria-label");
    if (l && l.trim()) return l;
    const lb = el.getAttribute("aria-labelledby");
    if (lb && byIds(root, lb)) return "labelledby";
    if (el.labels && el.labels.length && Array.from(el.labels).some(x => x.textContent.trim())) return "label";
    const tag = el.tagName, role = el.getAttribute("role") || "";
    if (/^(BUTTON|A|SUMMARY)$/.test(tag) || /^(button|tab|link|checkbox|option|menuitem)$/.test(role)) {
      if ((el.innerText || el.textContent || "").trim()) return "text";
      const img = el.querySelector("img[alt]");
      if (img && img.alt.trim()) return img.alt;
      const title = el.querySelector("svg title");
      if (title && title.textContent.trim()) return title.textContent;
    }
    if (tag === "INPUT" && /^(submit|button|reset)$/.test(el.type) && el.value) return el.value;
    const title = el.getAttribute("title");
    return title && title.trim() ? title : "";
  };
  const roots = [document];
  for (let i = 0; i < roots.length; i++)
    for (const e of roots[i].querySelectorAll("*")) if (e.shadowRoot) roots.push(e.shadowRoot);
  const controls = "button, input:not([type=hidden]), select, textarea, a[href], summary, [role=button], [role=tab], " +
    "[role=checkbox], [role=link], [role=option], [role=menuitem], [contenteditable=true]";
  let checked = 0;
  for (const root of roots) {
    for (const el of root.querySelectorAll(controls)) {
      if (!visible(el) || el.disabled) continue;
      checked++;
      if (!name(root, el)) problems.push(describe(el) + " has no accessible name");
      if (el.tabIndex < 0 && !el.closest("[role=tablist],[role=listbox],[role=menu],[role=radiogroup],[role=grid],[role=tree]"))
        problems.push(describe(el) + " cannot be reached with the keyboard (tabindex " + el.tabIndex + ")");
    }
    for (const img of root.querySelectorAll("img"))
      if (visible(img) && !img.hasAttribute("alt")) problems.push(describe(img) + " has no alt text");
  }
  if (!document.documentElement.lang) problems.push("the page has no lang");
  if (!document.title.trim()) problems.push("the page has no title");
  return {problems, checked};
})()`

// Audit returns what keeps the page's visible controls from being used by
// keyboard or screen reader (see auditJS), empty when nothing does, and
// how many controls it checked.
func Audit(ctx context.Context) (problems []string, checked int, err error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	res, err := chromedp.Run(ctx, chromedp.Evaluate[struct {
		Problems []string `json:"problems"`
		Checked  int      `json:"checked"`
	}](auditJS))
	return res.Problems, res.Checked, err
}

// CheckAudit fails the test with every problem Audit finds on the page as
// it is now; where says which state of the page that is.
func CheckAudit(t testing.TB, ctx context.Context, where string) {
	t.Helper()
	problems, checked, err := Audit(ctx)
	if err != nil {
		t.Errorf("accessibility audit of %s: %v", where, err)
		return
	}
	t.Logf("accessibility audit of %s: %d controls, %d problems", where, checked, len(problems))
	if len(problems) > 0 {
		t.Errorf("accessibility audit of %s:\n  %s", where, strings.Join(problems, "\n  "))
	}
}

// Picture is a state of the page worth keeping: it is audited
// (CheckAudit), and when the environment variable env names a directory,
// the viewport is kept there as name.png (the pictures in docs/img).
func Picture(t testing.TB, ctx context.Context, env, name string) {
	t.Helper()
	CheckAudit(t, ctx, name)
	dir := os.Getenv(env)
	if dir == "" {
		return
	}
	time.Sleep(300 * time.Millisecond) // the pages' fade-ins
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Errorf("picture %s: %v", name, err)
		return
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		t.Error(err)
	}
}
