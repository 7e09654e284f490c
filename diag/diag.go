// Package diag holds source positions, spans and diagnostics, and the one
// renderer every layer reports through (text with a caret snippet, JSON,
// GitHub annotations). It is the leaf of the dependency graph: it uses only
// the standard library.
package diag

import (
	"fmt"
	"sort"
	"strings"
)

// Pos is a position in a source file. Offset is in bytes from 0; Line and
// Col are 1-based, Col counted in runes. A zero Pos is "unknown".
type Pos struct {
	Offset, Line, Col int
}

// IsValid reports whether p names a real position.
func (p Pos) IsValid() bool { return p.Line > 0 }

// Before reports whether p comes before q in the same file.
func (p Pos) Before(q Pos) bool { return p.Offset < q.Offset }

// Span is the half-open source range [Start, End) in File.
type Span struct {
	File       string
	Start, End Pos
}

// String renders the span's start as file:line:col.
func (s Span) String() string {
	if !s.Start.IsValid() {
		return s.File
	}
	return fmt.Sprintf("%s:%d:%d", s.File, s.Start.Line, s.Start.Col)
}

// Join returns the smallest span covering s and t (same file assumed).
func (s Span) Join(t Span) Span {
	if !s.Start.IsValid() {
		return t
	}
	if !t.Start.IsValid() {
		return s
	}
	out := s
	if t.Start.Offset < out.Start.Offset {
		out.Start = t.Start
	}
	if t.End.Offset > out.End.Offset {
		out.End = t.End
	}
	return out
}

// Severity orders diagnostics by seriousness.
type Severity int

// Severities, most serious first.
const (
	Error Severity = iota
	Warning
	Info
)

func (s Severity) String() string {
	switch s {
	case Error:
		return "error"
	case Warning:
		return "warning"
	default:
		return "info"
	}
}

// Related points at another place that explains a diagnostic ("first declared here").
type Related struct {
	Span Span
	Msg  string
}

// Diagnostic is one problem found in the source.
type Diagnostic struct {
	Severity Severity
	Code     string // stable identifier such as "E0201"
	Msg      string // short, lower-case, no final period
	Span     Span
	Related  []Related
	Hint     string
}

func (d *Diagnostic) Error() string {
	return fmt.Sprintf("%s: %s[%s]: %s", d.Span, d.Severity, d.Code, d.Msg)
}

// List is an ordered collection of diagnostics. It implements error.
type List []*Diagnostic

// Add appends a diagnostic and returns it so callers can attach hints.
func (l *List) Add(sev Severity, code string, span Span, format string, args ...any) *Diagnostic {
	d := &Diagnostic{Severity: sev, Code: code, Span: span, Msg: fmt.Sprintf(format, args...)}
	*l = append(*l, d)
	return d
}

// Errorf appends an error.
func (l *List) Errorf(code string, span Span, format string, args ...any) *Diagnostic {
	return l.Add(Error, code, span, format, args...)
}

// Warnf appends a warning.
func (l *List) Warnf(code string, span Span, format string, args ...any) *Diagnostic {
	return l.Add(Warning, code, span, format, args...)
}

// Append adds all of other.
func (l *List) Append(other List) { *l = append(*l, other...) }

// WithHint sets the hint and returns d, for chaining.
func (d *Diagnostic) WithHint(format string, args ...any) *Diagnostic {
	d.Hint = fmt.Sprintf(format, args...)
	return d
}

// WithRelated attaches a related location and returns d, for chaining.
func (d *Diagnostic) WithRelated(span Span, msg string) *Diagnostic {
	d.Related = append(d.Related, Related{Span: span, Msg: msg})
	return d
}

// DidYouMean hints at the candidate closest to name ("did you mean `x`?")
// and reports whether there was one close enough (see Suggest).
func (d *Diagnostic) DidYouMean(name string, candidates []string) bool {
	s := Suggest(name, candidates)
	if s == "" {
		return false
	}
	d.Hint = fmt.Sprintf("did you mean %s?", Quote(s))
	return true
}

// HasErrors reports whether any diagnostic is an error.
func (l List) HasErrors() bool {
	for _, d := range l {
		if d.Severity == Error {
			return true
		}
	}
	return false
}

// Count returns the number of errors and warnings.
func (l List) Count() (errors, warnings int) {
	for _, d := range l {
		switch d.Severity {
		case Error:
			errors++
		case Warning:
			warnings++
		}
	}
	return
}

// Err returns l as an error when it holds errors, else nil.
func (l List) Err() error {
	if l.HasErrors() {
		return l
	}
	return nil
}

func (l List) Error() string {
	switch len(l) {
	case 0:
		return "no errors"
	case 1:
		return l[0].Error()
	}
	return fmt.Sprintf("%s (and %d more)", l[0].Error(), len(l)-1)
}

// Sort orders the list by file, position, severity and code, and removes
// exact duplicates (same span, code and message).
func (l *List) Sort() {
	s := *l
	sort.SliceStable(s, func(i, j int) bool {
		a, b := s[i], s[j]
		if a.Span.File != b.Span.File {
			return a.Span.File < b.Span.File
		}
		if a.Span.Start.Offset != b.Span.Start.Offset {
			return a.Span.Start.Offset < b.Span.Start.Offset
		}
		if a.Severity != b.Severity {
			return a.Severity < b.Severity
		}
		if a.Code != b.Code {
			return a.Code < b.Code
		}
		return a.Msg < b.Msg
	})
	out := s[:0]
	for i, d := range s {
		if i > 0 {
			p := out[len(out)-1]
			if p.Span == d.Span && p.Code == d.Code && p.Msg == d.Msg {
				continue
			}
		}
		out = append(out, d)
	}
	*l = out
}

// Quote renders a name for a message the same way everywhere.
func Quote(s string) string { return "`" + s + "`" }

// Suggest returns the candidate closest to name within edit distance 2
// (1 for names of up to 3 runes), or "" when none is close enough. A swap
// of two neighbouring letters counts as one edit; ties go to the
// alphabetically first candidate, so the answer never depends on order.
func Suggest(name string, candidates []string) string {
	best, bestDist := "", 3
	limit := 2
	if len([]rune(name)) <= 3 {
		limit = 1
	}
	for _, c := range candidates {
		if c == name {
			continue
		}
		d := editDistance(strings.ToLower(name), strings.ToLower(c))
		if d > limit {
			continue
		}
		if d < bestDist || (d == bestDist && c < best) {
			best, bestDist = c, d
		}
	}
	return best
}

// editDistance is the optimal string alignment distance: insertions,
// deletions, substitutions and adjacent transpositions.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	d := make([][]int, len(ra)+1)
	for i := range d {
		d[i] = make([]int, len(rb)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(ra); i++ {
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(ra)][len(rb)]
}
