package editors

import (
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/dlclark/regexp2"
)

// A TextMate engine, small but faithful to vscode-textmate where the
// grammars here depend on it: a source is tokenized line by line (each
// line with its "\n", as VS Code feeds it); at each position every
// candidate pattern is searched and the earliest match wins, ties going to
// the pattern listed first, with a begin rule's end pattern listed before
// its patterns; `while` rules are checked at the start of each following
// line; `captures` stand in for missing begin/end/while captures; an end
// pattern's back-references (\1) take the text its begin matched.
// A line is scanned to its very end, where a `$` still ends a region; the
// guards against matching forever at one place are vscode-textmate's.
// \G is regexp2's, which matches where a search starts: the Markdown
// grammar uses it only where that is also vscode-textmate's anchor (right
// after a begin match, and at the start of a line). Not implemented,
// because the grammars do not use them: applyEndPatternLast, injection
// selectors (the Markdown grammar is tested as a grammar of its own),
// `$1` in names, and patterns inside captures.

type grammarRule struct {
	Name          string                  `json:"name"`
	ContentName   string                  `json:"contentName"`
	Match         string                  `json:"match"`
	Begin         string                  `json:"begin"`
	End           string                  `json:"end"`
	While         string                  `json:"while"`
	Captures      map[string]captureRule  `json:"captures"`
	BeginCaptures map[string]captureRule  `json:"beginCaptures"`
	EndCaptures   map[string]captureRule  `json:"endCaptures"`
	WhileCaptures map[string]captureRule  `json:"whileCaptures"`
	Patterns      []*grammarRule          `json:"patterns"`
	Include       string                  `json:"include"`
	Repository    map[string]*grammarRule `json:"repository"`

	match, begin, while *regexp2.Regexp
	end                 *regexp2.Regexp // nil when it has back-references
	endBackrefs         bool
	cands               []*grammarRule // candidates, once computed
	parent              *grammarRule   // for a rule's own repository
	grammar             *grammar
}

type captureRule struct {
	Name string `json:"name"`
}

type grammar struct {
	ScopeName  string                  `json:"scopeName"`
	Name       string                  `json:"name"`
	FileTypes  []string                `json:"fileTypes"`
	Patterns   []*grammarRule          `json:"patterns"`
	Repository map[string]*grammarRule `json:"repository"`

	root     *grammarRule
	registry map[string]*grammar // other grammars, by scope name, for cross-grammar includes
}

// loadGrammar reads a grammar and compiles its regular expressions, so a
// pattern that does not compile is reported once, with its rule.
func loadGrammar(path string, registry map[string]*grammar) (*grammar, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return parseGrammar(data, registry)
}

func parseGrammar(data []byte, registry map[string]*grammar) (*grammar, error) {
	g := &grammar{registry: registry}
	if err := json.Unmarshal(data, g); err != nil {
		return nil, err
	}
	g.root = &grammarRule{Patterns: g.Patterns, Repository: g.Repository, Name: g.ScopeName}
	if err := g.prepare(g.root, nil, "$self"); err != nil {
		return nil, err
	}
	if registry != nil {
		registry[g.ScopeName] = g
	}
	return g, nil
}

func compileOniguruma(src, where string) (*regexp2.Regexp, error) {
	re, err := regexp2.Compile(src, regexp2.None)
	if err != nil {
		return nil, fmt.Errorf("%s: %q: %v", where, src, err)
	}
	return re, nil
}

var backref = regexp.MustCompile(`\\[1-9]`)

func (g *grammar) prepare(r, parent *grammarRule, where string) error {
	r.grammar, r.parent = g, parent
	var err error
	if r.Match != "" {
		if r.match, err = compileOniguruma(r.Match, where+".match"); err != nil {
			return err
		}
	}
	if r.Begin != "" {
		if r.begin, err = compileOniguruma(r.Begin, where+".begin"); err != nil {
			return err
		}
		if r.End == "" && r.While == "" {
			return fmt.Errorf("%s: begin without end or while", where)
		}
		r.endBackrefs = backref.MatchString(r.End)
		if !r.endBackrefs && r.End != "" {
			if r.end, err = compileOniguruma(r.End, where+".end"); err != nil {
				return err
			}
		}
		if r.While != "" {
			if r.while, err = compileOniguruma(r.While, where+".while"); err != nil {
				return err
			}
		}
	}
	for i, p := range r.Patterns {
		if err := g.prepare(p, r, fmt.Sprintf("%s.patterns[%d]", where, i)); err != nil {
			return err
		}
	}
	for name, p := range r.Repository {
		if err := g.prepare(p, r, where+".repository."+name); err != nil {
			return err
		}
	}
	return nil
}

// resolve returns the rule an include names, looking through the
// repositories of the including rule and its parents, as vscode-textmate
// does.
func (r *grammarRule) resolve(include string) (*grammarRule, error) {
	switch {
	case include == "$self" || include == "$base":
		return r.grammar.root, nil
	case strings.HasPrefix(include, "#"):
		name := include[1:]
		for at := r; at != nil; at = at.parent {
			if p, ok := at.Repository[name]; ok {
				return p, nil
			}
		}
		return nil, fmt.Errorf("include %q: no such repository entry", include)
	default:
		scope, name, _ := strings.Cut(include, "#")
		other, ok := r.grammar.registry[scope]
		if !ok {
			return nil, fmt.Errorf("include %q: grammar %s not loaded", include, scope)
		}
		if name == "" {
			return other.root, nil
		}
		return other.root.resolve("#" + name)
	}
}

// candidates flattens a rule's patterns, following includes, into the
// match and begin rules that are tried at a position, in order.
func (r *grammarRule) candidates() ([]*grammarRule, error) {
	if r.cands != nil {
		return r.cands, nil
	}
	out := []*grammarRule{}
	seen := map[*grammarRule]bool{}
	var walk func(ps []*grammarRule) error
	walk = func(ps []*grammarRule) error {
		for _, p := range ps {
			if p.Include != "" {
				target, err := p.resolve(p.Include)
				if err != nil {
					return err
				}
				if seen[target] {
					continue
				}
				seen[target] = true
				if target.match != nil || target.begin != nil {
					out = append(out, target)
				} else if err := walk(target.Patterns); err != nil {
					return err
				}
				continue
			}
			if p.match != nil || p.begin != nil {
				out = append(out, p)
			} else if err := walk(p.Patterns); err != nil {
				return err
			}
		}
		return nil
	}
	if err := walk(r.Patterns); err != nil {
		return nil, err
	}
	r.cands = out
	return out, nil
}

// frame is a begin/end or begin/while rule on the stack.
type frame struct {
	rule        *grammarRule
	end         *regexp2.Regexp // nil for the root and while rules
	scopes      []string        // the scopes of the rule's begin and end matches
	content     []string        // the scopes of what is between them
	enteredLine int
	enteredAt   int
}

// token is a run of characters of one line with one scope stack; Start
// and End are byte offsets in the source.
type token struct {
	Start, End int
	Scopes     []string
}

func (t token) String() string {
	return fmt.Sprintf("%d-%d %s", t.Start, t.End, strings.Join(t.Scopes, " "))
}

// tokenize returns the scopes of every character of src, as runs.
func (g *grammar) tokenize(src string) ([]token, error) {
	stack := []*frame{{rule: g.root, scopes: []string{g.ScopeName}, content: []string{g.ScopeName}}}
	var out []token
	lineStart := 0
	for lineNo := 0; lineStart <= len(src); lineNo++ {
		text, _, _ := strings.Cut(src[lineStart:], "\n")
		line := []rune(text + "\n")
		// byteAt maps a rune index of the line to a byte offset of src.
		byteAt := make([]int, len(line)+1)
		for i, off := 0, lineStart; i <= len(line); i++ {
			byteAt[i] = off
			if i < len(line) {
				off += len(string(line[i]))
			}
		}
		scopes := make([][]string, len(line))
		var err error
		stack, err = g.tokenizeLine(line, lineNo, stack, scopes)
		if err != nil {
			return nil, fmt.Errorf("line %d: %v", lineNo+1, err)
		}
		for i := 0; i < len(text) && i < len(line)-1; {
			j := i + 1
			for j < len(line)-1 && sameScopes(scopes[j], scopes[i]) {
				j++
			}
			out = append(out, token{Start: byteAt[i], End: byteAt[j], Scopes: scopes[i]})
			i = j
		}
		lineStart += len(text) + 1
	}
	return out, nil
}

func sameScopes(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func with(scopes []string, names ...string) []string {
	out := append([]string(nil), scopes...)
	for _, n := range names {
		for _, f := range strings.Fields(n) {
			out = append(out, f)
		}
	}
	return out
}

type found struct {
	rule  *grammarRule // nil: the frame's end or while pattern
	match *regexp2.Match
}

// searcher finds a pattern's first match at or after a position of one
// line. It remembers each pattern's last answer: a match found from an
// earlier position that starts at or after this one is also the first
// from here, and no match from an earlier position means none from here.
type searcher struct {
	line []rune
	last map[*regexp2.Regexp]searched
}

type searched struct {
	from int
	m    *regexp2.Match
}

func (s *searcher) search(re *regexp2.Regexp, pos int) (*regexp2.Match, error) {
	if c, ok := s.last[re]; ok && c.from <= pos && (c.m == nil || c.m.Index >= pos) {
		return c.m, nil
	}
	m, err := re.FindRunesMatchStartingAt(s.line, pos)
	if err != nil {
		return nil, err
	}
	s.last[re] = searched{pos, m}
	return m, nil
}

func (g *grammar) tokenizeLine(line []rune, lineNo int, stack []*frame, scopes [][]string) ([]*frame, error) {
	pos := 0
	sr := &searcher{line: line, last: map[*regexp2.Regexp]searched{}}
	fill := func(from, to int, s []string) {
		for i := from; i < to && i < len(scopes); i++ {
			scopes[i] = s
		}
	}
	// Captures paint over the match, outer groups first: group numbers
	// follow opening parentheses, so a group's enclosing groups come first.
	paint := func(m *regexp2.Match, base []string, caps map[string]captureRule) {
		fill(m.Index, m.Index+m.Length, base)
		keys := make([]int, 0, len(caps))
		for k := range caps {
			if n, err := strconv.Atoi(k); err == nil {
				keys = append(keys, n)
			}
		}
		sort.Ints(keys)
		groups := m.Groups()
		for _, k := range keys {
			if k >= len(groups) || len(groups[k].Captures) == 0 || caps[strconv.Itoa(k)].Name == "" {
				continue
			}
			gr := groups[k]
			for i := gr.Index; i < gr.Index+gr.Length; i++ {
				scopes[i] = with(scopes[i], caps[strconv.Itoa(k)].Name)
			}
		}
	}
	capturesOr := func(specific, general map[string]captureRule) map[string]captureRule {
		if specific != nil {
			return specific
		}
		return general
	}

	// While rules are tested at the start of every line after the one
	// they began on, outermost first; the first that fails is popped with
	// everything above it.
	for i := 1; i < len(stack); i++ {
		f := stack[i]
		if f.rule.while == nil || f.enteredLine == lineNo {
			continue
		}
		m, err := sr.search(f.rule.while, pos)
		if err != nil {
			return nil, err
		}
		if m == nil {
			stack = stack[:i]
			break
		}
		fill(pos, m.Index, stack[i-1].content)
		paint(m, f.scopes, capturesOr(f.rule.WhileCaptures, f.rule.Captures))
		pos = m.Index + m.Length
	}

	// The line is scanned until nothing matches, also at its very end,
	// where a `$` may still end a region whose match took the "\n".
	for {
		top := stack[len(stack)-1]
		var best *found
		if top.end != nil {
			m, err := sr.search(top.end, pos)
			if err != nil {
				return nil, err
			}
			if m != nil {
				best = &found{match: m}
			}
		}
		cands, err := top.rule.candidates()
		if err != nil {
			return nil, err
		}
		for _, c := range cands {
			re := c.match
			if re == nil {
				re = c.begin
			}
			m, err := sr.search(re, pos)
			if err != nil {
				return nil, err
			}
			if m != nil && (best == nil || m.Index < best.match.Index) {
				best = &found{rule: c, match: m}
			}
		}
		if best == nil {
			fill(pos, len(line), top.content)
			return stack, nil
		}
		m := best.match
		fill(pos, m.Index, top.content)
		advanced := m.Index+m.Length > pos
		// The guards against matching forever at one place are
		// vscode-textmate's: each stops the line, keeping its scopes.
		switch {
		case best.rule == nil: // the frame's end
			paint(m, top.scopes, capturesOr(top.rule.EndCaptures, top.rule.Captures))
			stack = stack[:len(stack)-1]
			if !advanced && top.enteredLine == lineNo && top.enteredAt == pos {
				stack = append(stack, top) // popped where it was pushed
				fill(pos, len(line), top.content)
				return stack, nil
			}
		case best.rule.match != nil:
			paint(m, with(top.content, best.rule.Name), best.rule.Captures)
			if !advanced {
				if len(stack) > 1 {
					stack = stack[:len(stack)-1]
				}
				fill(pos, len(line), stack[len(stack)-1].content)
				return stack, nil
			}
		default:
			r := best.rule
			f := &frame{rule: r, scopes: with(top.content, r.Name), enteredLine: lineNo, enteredAt: pos}
			f.content = with(f.scopes, r.ContentName)
			f.end = r.end
			if r.endBackrefs {
				groups := m.Groups()
				end := backref.ReplaceAllStringFunc(r.End, func(ref string) string {
					n := int(ref[1] - '0')
					if n < len(groups) {
						return regexp2.Escape(groups[n].String())
					}
					return ""
				})
				if f.end, err = compileOniguruma(end, "end"); err != nil {
					return nil, err
				}
			}
			paint(m, f.scopes, capturesOr(r.BeginCaptures, r.Captures))
			if !advanced && pushedAgain(stack, f, lineNo, pos) {
				fill(pos, len(line), top.content)
				return stack, nil
			}
			stack = append(stack, f)
		}
		pos = m.Index + m.Length
	}
}

// pushedAgain reports whether f's rule is already on the stack, pushed at
// the same place of the same line: pushing it again would loop.
func pushedAgain(stack []*frame, f *frame, lineNo, pos int) bool {
	for i := len(stack) - 1; i > 0; i-- {
		at := stack[i]
		if at.enteredLine != lineNo || at.enteredAt != pos {
			return false
		}
		if at.rule == f.rule {
			return true
		}
	}
	return false
}
