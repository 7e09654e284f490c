package diag

import (
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"unicode/utf8"
)

// Format selects how Write renders a list.
type Format string

// Output formats.
const (
	Text   Format = "text"   // file:line:col: severity[code]: message, then a caret snippet
	JSON   Format = "json"   // a JSON array, one object per diagnostic
	GitHub Format = "github" // GitHub Actions workflow commands (::error file=...)
)

// Options configure Write. The zero value renders text with no limit and
// paths as given.
type Options struct {
	Format Format
	// Cwd, when set, makes paths relative to it (with forward slashes).
	Cwd string
	// MaxPerFile caps the diagnostics printed per file (0: no cap); a
	// line says how many were left out.
	MaxPerFile int
}

// Sources maps a file name (as it appears in spans) to its content, for snippets.
type Sources map[string][]byte

// PosOf returns the position of byte offset off in src.
func PosOf(src []byte, off int) Pos {
	if off > len(src) {
		off = len(src)
	}
	if off < 0 {
		off = 0
	}
	line, col := 1, 1
	for i := 0; i < off; {
		r, n := utf8.DecodeRune(src[i:])
		if r == '\n' {
			line++
			col = 1
		} else {
			col++
		}
		i += n
	}
	return Pos{Offset: off, Line: line, Col: col}
}

// Write renders the list to w in the chosen format.
func Write(w io.Writer, list List, src Sources, opts Options) error {
	list = capPerFile(list, opts.MaxPerFile)
	switch opts.Format {
	case JSON:
		return writeJSON(w, list, opts)
	case GitHub:
		return writeGitHub(w, list, opts)
	case Text, "":
		return writeText(w, list, src, opts)
	}
	return fmt.Errorf("unknown diagnostics format %q (want text, json or github)", opts.Format)
}

func capPerFile(list List, max int) List {
	if max <= 0 {
		return list
	}
	seen := map[string]int{}
	var out List
	for _, d := range list {
		seen[d.Span.File]++
		if seen[d.Span.File] <= max {
			out = append(out, d)
		}
	}
	for file, n := range seen {
		if n > max {
			out = append(out, &Diagnostic{Severity: Info, Code: "I0001", Span: Span{File: file},
				Msg: fmt.Sprintf("%d more diagnostics not shown", n-max)})
		}
	}
	return out
}

func (o Options) path(p string) string {
	if o.Cwd != "" && filepath.IsAbs(p) {
		if rel, err := filepath.Rel(o.Cwd, p); err == nil && !strings.HasPrefix(rel, "..") {
			p = rel
		}
	}
	return filepath.ToSlash(p)
}

func header(d *Diagnostic, opts Options) string {
	loc := opts.path(d.Span.File)
	if d.Span.Start.IsValid() {
		loc = fmt.Sprintf("%s:%d:%d", loc, d.Span.Start.Line, d.Span.Start.Col)
	}
	return fmt.Sprintf("%s: %s[%s]: %s", loc, d.Severity, d.Code, d.Msg)
}

func writeText(w io.Writer, list List, src Sources, opts Options) error {
	var b strings.Builder
	for _, d := range list {
		b.WriteString(header(d, opts))
		b.WriteByte('\n')
		snippet(&b, d.Span, src[d.Span.File])
		for _, r := range d.Related {
			loc := opts.path(r.Span.File)
			if r.Span.Start.IsValid() {
				loc = fmt.Sprintf("%s:%d:%d", loc, r.Span.Start.Line, r.Span.Start.Col)
			}
			fmt.Fprintf(&b, "      = note: %s: %s\n", loc, r.Msg)
		}
		if d.Hint != "" {
			fmt.Fprintf(&b, "      = hint: %s\n", d.Hint)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// snippet writes the span's first line with carets under the span. Tabs in
// the prefix are kept so the carets line up in any tab width.
func snippet(b *strings.Builder, s Span, src []byte) {
	if src == nil || !s.Start.IsValid() || s.Start.Offset > len(src) {
		return
	}
	lineStart := s.Start.Offset
	for lineStart > 0 && src[lineStart-1] != '\n' {
		lineStart--
	}
	lineEnd := s.Start.Offset
	for lineEnd < len(src) && src[lineEnd] != '\n' {
		lineEnd++
	}
	line := strings.TrimRight(string(src[lineStart:lineEnd]), "\r")
	end := s.End.Offset
	if end > lineEnd || s.End.Line != s.Start.Line {
		end = lineEnd
	}
	if end <= s.Start.Offset {
		end = s.Start.Offset + 1
	}
	var pad strings.Builder
	for _, r := range string(src[lineStart:s.Start.Offset]) {
		if r == '\t' {
			pad.WriteByte('\t')
		} else {
			pad.WriteByte(' ')
		}
	}
	width := utf8.RuneCount(src[s.Start.Offset:min(end, len(src))])
	if width < 1 {
		width = 1
	}
	num := fmt.Sprint(s.Start.Line)
	gutter := strings.Repeat(" ", len(num))
	fmt.Fprintf(b, "  %s | %s\n", num, line)
	fmt.Fprintf(b, "  %s | %s%s\n", gutter, pad.String(), strings.Repeat("^", width))
}

type jsonPos struct {
	Line int `json:"line"`
	Col  int `json:"col"`
}

type jsonRelated struct {
	File    string  `json:"file"`
	Start   jsonPos `json:"start"`
	Message string  `json:"message"`
}

type jsonDiag struct {
	File     string        `json:"file"`
	Start    jsonPos       `json:"start"`
	End      jsonPos       `json:"end"`
	Severity string        `json:"severity"`
	Code     string        `json:"code"`
	Message  string        `json:"message"`
	Hint     string        `json:"hint,omitempty"`
	Related  []jsonRelated `json:"related,omitempty"`
}

// JSONValue returns the list in the JSON shape Write uses, for embedding
// diagnostics in other documents (API error bodies).
func JSONValue(list List, opts Options) any {
	out := make([]jsonDiag, 0, len(list))
	for _, d := range list {
		j := jsonDiag{
			File:     opts.path(d.Span.File),
			Start:    jsonPos{d.Span.Start.Line, d.Span.Start.Col},
			End:      jsonPos{d.Span.End.Line, d.Span.End.Col},
			Severity: d.Severity.String(),
			Code:     d.Code,
			Message:  d.Msg,
			Hint:     d.Hint,
		}
		for _, r := range d.Related {
			j.Related = append(j.Related, jsonRelated{opts.path(r.Span.File), jsonPos{r.Span.Start.Line, r.Span.Start.Col}, r.Msg})
		}
		out = append(out, j)
	}
	return out
}

func writeJSON(w io.Writer, list List, opts Options) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(JSONValue(list, opts))
}

// githubEscape escapes a workflow-command value (properties need more).
func githubEscape(s string, property bool) string {
	r := strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A")
	s = r.Replace(s)
	if property {
		s = strings.NewReplacer(":", "%3A", ",", "%2C").Replace(s)
	}
	return s
}

func writeGitHub(w io.Writer, list List, opts Options) error {
	var b strings.Builder
	for _, d := range list {
		level := "error"
		switch d.Severity {
		case Warning:
			level = "warning"
		case Info:
			level = "notice"
		}
		msg := d.Msg
		if d.Hint != "" {
			msg += "\nhint: " + d.Hint
		}
		fmt.Fprintf(&b, "::%s file=%s", level, githubEscape(opts.path(d.Span.File), true))
		if d.Span.Start.IsValid() {
			fmt.Fprintf(&b, ",line=%d,col=%d", d.Span.Start.Line, d.Span.Start.Col)
			if d.Span.End.IsValid() {
				fmt.Fprintf(&b, ",endLine=%d,endColumn=%d", d.Span.End.Line, d.Span.End.Col)
			}
		}
		fmt.Fprintf(&b, ",title=%s::%s\n", githubEscape(d.Code, true), githubEscape(msg, false))
	}
	_, err := io.WriteString(w, b.String())
	return err
}
