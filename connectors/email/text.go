package email

import (
	"regexp"
	"strings"

	"golang.org/x/net/html"
)

// attribution matches the line a mail client puts above the quoted
// message, in the languages customers write most: "On Mon, 7 Dec 2026 at
// 14:03, Ana <ana@example.com> wrote:", "Le … a écrit :", "Am … schrieb …:".
var attribution = regexp.MustCompile(`(?i)^(on\s.+\swrote|le\s.+\sa\s+écrit|am\s.+\sschrieb.*|el\s.+\sescribió|il\s.+\sha\s+scritto|op\s.+\sschreef.*|em\s.+\sescreveu|pada\s.+\smenulis)\s*:$`)

// outlookHeader matches the start of the header block Outlook puts above
// the quoted message instead of an attribution line.
var outlookHeader = regexp.MustCompile(`(?i)^(-{2,}\s*original message\s*-{2,}|_{20,}|from:\s.+)$`)

// newText returns what the sender wrote in this message: body without the
// quoted history (an attribution line and all after it, Outlook's header
// block and all after it, "> " lines) and without the signature ("-- "
// and all after it). A body that is nothing but quotation (a forward)
// is returned whole.
func newText(body string) string {
	lines := strings.Split(body, "\n")
	var kept []string
	for i := 0; i < len(lines); i++ {
		line := strings.TrimRight(lines[i], " \t\r")
		if lines[i] == "-- " || lines[i] == "-- \r" || line == "--" || line == "__" {
			break
		}
		if quoteStart(lines, i) {
			break
		}
		if strings.HasPrefix(line, ">") {
			continue
		}
		kept = append(kept, line)
	}
	text := strings.TrimSpace(strings.Join(kept, "\n"))
	if text == "" {
		return body
	}
	return text
}

// quoteStart reports whether line i starts the quoted history: an
// attribution, on one line or wrapped onto the next (Gmail wraps long
// ones), or Outlook's "From:" block followed by "Sent:" or "Date:".
func quoteStart(lines []string, i int) bool {
	line := strings.TrimSpace(lines[i])
	if attribution.MatchString(line) {
		return true
	}
	if i+1 < len(lines) && attribution.MatchString(line+" "+strings.TrimSpace(lines[i+1])) {
		return true
	}
	if !outlookHeader.MatchString(line) {
		return false
	}
	if !strings.HasPrefix(strings.ToLower(line), "from:") {
		return true
	}
	if i+1 < len(lines) {
		next := strings.ToLower(strings.TrimSpace(lines[i+1]))
		return strings.HasPrefix(next, "sent:") || strings.HasPrefix(next, "date:")
	}
	return false
}

// htmlText turns an HTML body into text: blocks on their own lines,
// white space collapsed outside <pre>, <blockquote> content as "> " lines
// (so newText strips it as quotation), scripts, styles and the head
// dropped.
func htmlText(src string) string {
	var w textWriter
	z := html.NewTokenizer(strings.NewReader(src))
	skip := 0
	for {
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			return w.String()
		case html.TextToken:
			if skip == 0 {
				w.text(string(z.Text()))
			}
		case html.StartTagToken, html.EndTagToken, html.SelfClosingTagToken:
			name, _ := z.TagName()
			tag := string(name)
			start := tt != html.EndTagToken
			switch tag {
			case "script", "style", "head", "title":
				if tt == html.StartTagToken {
					skip++
				} else if tt == html.EndTagToken && skip > 0 {
					skip--
				}
			case "br":
				w.newline()
			case "pre":
				w.block()
				w.pre = start
			case "blockquote":
				w.block()
				if start {
					w.quote++
				} else if w.quote > 0 {
					w.quote--
				}
			case "p", "div", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "table", "hr":
				w.block()
			}
		}
	}
}

// textWriter builds htmlText's result line by line.
type textWriter struct {
	b       strings.Builder
	line    strings.Builder
	quote   int
	pre     bool
	pending bool // a space is owed before the next word
}

func (w *textWriter) text(s string) {
	if w.pre {
		for i, part := range strings.Split(s, "\n") {
			if i > 0 {
				w.newline()
			}
			w.line.WriteString(part)
		}
		return
	}
	for i, word := range strings.Fields(s) {
		if (i > 0 || w.pending || startsWithSpace(s)) && w.line.Len() > 0 {
			w.line.WriteByte(' ')
		}
		w.line.WriteString(word)
		w.pending = false
	}
	if len(s) > 0 && strings.TrimSpace(s) != s && strings.TrimRight(s, " \t\r\n") != s {
		w.pending = true
	}
}

func startsWithSpace(s string) bool { return s != "" && strings.TrimLeft(s, " \t\r\n") != s }

// newline ends the current line, even an empty one.
func (w *textWriter) newline() {
	if w.quote > 0 {
		w.b.WriteString(strings.Repeat(">", w.quote))
		w.b.WriteByte(' ')
	}
	w.b.WriteString(w.line.String())
	w.b.WriteByte('\n')
	w.line.Reset()
	w.pending = false
}

// block ends the current line unless it is empty: blocks do not stack
// blank lines.
func (w *textWriter) block() {
	if w.line.Len() > 0 {
		w.newline()
	}
}

func (w *textWriter) String() string {
	w.block()
	return w.b.String()
}
