package studio

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// liquid converts Studio's Liquid templates to expr-lang. Each conversion
// reports what it could not convert through ctx.todo.

// quote writes s as a "..." string literal of the flow language (no
// interpolation inside).
func quote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '\\':
			b.WriteString(`\\`)
		case '"':
			b.WriteString(`\"`)
		case '\n':
			b.WriteString(`\n`)
		case '\t':
			b.WriteString(`\t`)
		case '\r':
		case '$':
			if i+1 < len(s) && s[i+1] == '{' {
				b.WriteString(`\$`)
			} else {
				b.WriteByte('$')
			}
		default:
			if c < 0x20 {
				continue
			}
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// tplNode is a parsed template: text, an output {{ }}, or a conditional.
type tplNode struct {
	text   string     // literal text
	output string     // expression inside {{ }}
	conds  []tplCond  // if/elsif/when branches
	els    []*tplNode // else branch
	isCond bool
}

type tplCond struct {
	cond string // expr-lang condition
	body []*tplNode
}

var tagRe = regexp.MustCompile(`(?s)\{\{-?(.*?)-?\}\}|\{%-?(.*?)-?%\}`)

type rawTok struct {
	kind int // 0 text, 1 output, 2 tag
	s    string
}

func lexTemplate(s string) []rawTok {
	var toks []rawTok
	last := 0
	for _, m := range tagRe.FindAllStringSubmatchIndex(s, -1) {
		if m[0] > last {
			toks = append(toks, rawTok{0, s[last:m[0]]})
		}
		if m[2] >= 0 {
			toks = append(toks, rawTok{1, strings.TrimSpace(s[m[2]:m[3]])})
		} else {
			toks = append(toks, rawTok{2, strings.TrimSpace(s[m[4]:m[5]])})
		}
		last = m[1]
	}
	if last < len(s) {
		toks = append(toks, rawTok{0, s[last:]})
	}
	return toks
}

// hasLiquid reports whether s contains a Liquid output or tag.
func hasLiquid(s string) bool { return tagRe.MatchString(s) }

type tplParser struct {
	toks []rawTok
	pos  int
	c    *flowConv
	err  string
}

func (p *tplParser) parse(stop ...string) ([]*tplNode, string) {
	var out []*tplNode
	for p.pos < len(p.toks) {
		t := p.toks[p.pos]
		switch t.kind {
		case 0:
			out = append(out, &tplNode{text: t.s})
			p.pos++
		case 1:
			out = append(out, &tplNode{output: p.c.liquidExpr(t.s)})
			p.pos++
		case 2:
			word := strings.Fields(t.s + " ")
			w := ""
			if len(word) > 0 {
				w = word[0]
			}
			for _, s := range stop {
				if w == s {
					return out, t.s
				}
			}
			p.pos++
			switch w {
			case "if", "unless":
				n := &tplNode{isCond: true}
				cond := p.c.liquidCond(strings.TrimSpace(t.s[len(w):]))
				if w == "unless" {
					cond = "not (" + cond + ")"
				}
				for {
					body, end := p.parse("elsif", "else", "endif", "endunless")
					n.conds = append(n.conds, tplCond{cond, body})
					if end == "" {
						p.err = "`{% " + t.s + " %}` is not closed"
						return out, ""
					}
					p.pos++
					ew := strings.Fields(end)[0]
					if ew == "elsif" {
						cond = p.c.liquidCond(strings.TrimSpace(end[len("elsif"):]))
						continue
					}
					if ew == "else" {
						n.els, end = p.parse("endif", "endunless")
						if end == "" {
							p.err = "`{% " + t.s + " %}` is not closed"
							return out, ""
						}
						p.pos++
					}
					break
				}
				out = append(out, n)
			case "case":
				subject := p.c.liquidExpr(strings.TrimSpace(t.s[len("case"):]))
				n := &tplNode{isCond: true}
				_, end := p.parse("when", "else", "endcase") // text before the first when is ignored
				for end != "" {
					p.pos++
					ew := strings.Fields(end)[0]
					if ew == "endcase" {
						break
					}
					if ew == "else" {
						n.els, end = p.parse("endcase")
						continue
					}
					var alts []string
					for _, v := range splitTop(strings.TrimSpace(end[len("when"):])) {
						alts = append(alts, subject+" == "+p.c.liquidExpr(v))
					}
					body, e := p.parse("when", "else", "endcase")
					n.conds = append(n.conds, tplCond{strings.Join(alts, " or "), body})
					end = e
				}
				if end == "" {
					p.err = "`{% " + t.s + " %}` is not closed"
					return out, ""
				}
				out = append(out, n)
			default:
				if p.err == "" {
					p.err = "Liquid tag `{% " + t.s + " %}` has no equivalent"
				}
			}
		}
	}
	return out, ""
}

// splitTop splits "a, b or c" of a when clause.
func splitTop(s string) []string {
	s = strings.ReplaceAll(s, " or ", ",")
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// template converts a text with Liquid to a flow-language string
// expression ("...${x}..."). In conditional branches, surrounding blank
// lines are trimmed (they come from the tags' own lines).
func (c *flowConv) template(s string) string {
	if !hasLiquid(s) {
		return quote(s)
	}
	p := &tplParser{toks: lexTemplate(s), c: c}
	nodes, _ := p.parse()
	if p.err != "" {
		c.todo("%s (original: %s)", p.err, oneLine(s))
	}
	return renderNodes(nodes, false)
}

func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

func renderNodes(nodes []*tplNode, trim bool) string {
	var b strings.Builder
	b.WriteByte('"')
	for i, n := range nodes {
		switch {
		case n.isCond:
			b.WriteString("${" + condExpr(n) + "}")
		case n.output != "":
			b.WriteString("${" + n.output + "}")
		default:
			t := n.text
			if trim {
				if i == 0 {
					t = strings.TrimLeft(t, " \t\r\n")
				}
				if i == len(nodes)-1 {
					t = strings.TrimRight(t, " \t\r\n")
				}
			}
			q := quote(t)
			b.WriteString(q[1 : len(q)-1])
		}
	}
	b.WriteByte('"')
	return b.String()
}

func condExpr(n *tplNode) string {
	var b strings.Builder
	for _, c := range n.conds {
		b.WriteString("(" + c.cond + ") ? " + renderNodes(c.body, true) + " : ")
	}
	b.WriteString(renderNodes(n.els, true))
	return b.String()
}

// exprOf converts a value that may be a single {{ }} to an expression of
// any type; other texts become string expressions.
func (c *flowConv) exprOf(s string) string {
	t := strings.TrimSpace(s)
	toks := lexTemplate(t)
	if len(toks) == 1 && toks[0].kind == 1 {
		return c.liquidExpr(toks[0].s)
	}
	return c.template(s)
}

// liquidCond converts a Liquid condition (`a == 'b' and c`).
func (c *flowConv) liquidCond(s string) string {
	var parts []string
	words := regexp.MustCompile(`\s+(and|or)\s+`)
	idx := words.FindAllStringSubmatchIndex(s, -1)
	last := 0
	var ops []string
	for _, m := range idx {
		parts = append(parts, s[last:m[0]])
		ops = append(ops, s[m[2]:m[3]])
		last = m[1]
	}
	parts = append(parts, s[last:])
	var b strings.Builder
	for i, p := range parts {
		if i > 0 {
			b.WriteString(" " + ops[i-1] + " ")
		}
		b.WriteString(c.liquidComparison(strings.TrimSpace(p)))
	}
	return b.String()
}

var cmpRe = regexp.MustCompile(`^(.+?)\s*(==|!=|<>|>=|<=|>|<|contains)\s*(.+)$`)

func (c *flowConv) liquidComparison(s string) string {
	if m := cmpRe.FindStringSubmatch(s); m != nil {
		op := m[2]
		if op == "<>" {
			op = "!="
		}
		l, r := c.liquidExpr(m[1]), c.liquidExpr(m[3])
		switch op {
		case "contains":
			return strOf(l) + " contains " + r
		case "<", ">", "<=", ">=":
			return num(l) + " " + op + " " + num(r)
		}
		return l + " " + op + " " + r
	}
	// Liquid truthiness: everything but nil and false.
	e := c.liquidExpr(s)
	return "(" + e + ") not in [nil, false]"
}

// liquidExpr converts the inside of {{ }}: a value and its filters.
func (c *flowConv) liquidExpr(s string) string {
	parts := splitFilters(s)
	e := c.liquidValue(strings.TrimSpace(parts[0]))
	for _, f := range parts[1:] {
		name, args := f, ""
		if i := strings.Index(f, ":"); i >= 0 {
			name, args = f[:i], f[i+1:]
		}
		name = strings.TrimSpace(name)
		var av []string
		for _, a := range strings.Split(args, ",") {
			if a = strings.TrimSpace(a); a != "" {
				av = append(av, c.liquidValue(a))
			}
		}
		arg := func(i int) string {
			if i < len(av) {
				return av[i]
			}
			return `""`
		}
		switch name {
		case "upcase":
			e = "upper(" + strOf(e) + ")"
		case "downcase":
			e = "lower(" + strOf(e) + ")"
		case "strip":
			e = "trim(" + strOf(e) + ")"
		case "size":
			e = "len(" + e + ")"
		case "default":
			e = "(" + e + " ?? " + arg(0) + ")"
		case "replace":
			e = "replace(" + strOf(e) + ", " + arg(0) + ", " + arg(1) + ")"
		case "remove":
			e = "replace(" + strOf(e) + ", " + arg(0) + ", \"\")"
		case "plus":
			e = "(" + num(e) + " + " + arg(0) + ")"
		case "minus":
			e = "(" + num(e) + " - " + arg(0) + ")"
		case "times":
			e = "(" + num(e) + " * " + arg(0) + ")"
		case "append":
			e = "(" + strOf(e) + " + " + arg(0) + ")"
		case "prepend":
			e = "(" + arg(0) + " + " + strOf(e) + ")"
		case "to_json", "json":
			e = "toJSON(" + e + ")"
		case "date":
			layout := strftime(strings.Trim(strings.TrimSpace(args), `"'`))
			if e == `"now"` || e == `"today"` {
				e = "now.Format(" + quote(layout) + ")"
			} else {
				e = "date(" + strOf(e) + ").Format(" + quote(layout) + ")"
			}
		default:
			c.todo("Liquid filter `%s` has no equivalent (in `{{%s}}`); it was left out", name, s)
		}
	}
	return e
}

func splitFilters(s string) []string {
	var out []string
	inq := byte(0)
	last := 0
	for i := 0; i < len(s); i++ {
		ch := s[i]
		switch {
		case inq != 0:
			if ch == inq {
				inq = 0
			}
		case ch == '"' || ch == '\'':
			inq = ch
		case ch == '|':
			out = append(out, s[last:i])
			last = i + 1
		}
	}
	return append(out, s[last:])
}

var strftimeMap = map[byte]string{
	'Y': "2006", 'y': "06", 'm': "01", 'd': "02", 'e': "_2", 'H': "15", 'I': "03", 'M': "04",
	'S': "05", 'p': "PM", 'B': "January", 'b': "Jan", 'A': "Monday", 'a': "Mon", 'Z': "MST", 'z': "-0700",
}

func strftime(f string) string {
	var b strings.Builder
	for i := 0; i < len(f); i++ {
		if f[i] == '%' && i+1 < len(f) {
			if g, ok := strftimeMap[f[i+1]]; ok {
				b.WriteString(g)
				i++
				continue
			}
		}
		b.WriteByte(f[i])
	}
	return b.String()
}

var numRe = regexp.MustCompile(`^-?\d+(\.\d+)?$`)

// liquidValue converts a literal or a variable path.
func (c *flowConv) liquidValue(s string) string {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return `""`
	case len(s) >= 2 && (s[0] == '\'' || s[0] == '"') && s[len(s)-1] == s[0]:
		return quote(s[1 : len(s)-1])
	case numRe.MatchString(s):
		return s
	case s == "true" || s == "false":
		return s
	case s == "nil" || s == "null":
		return "nil"
	case s == "empty" || s == "blank":
		return `""`
	}
	return c.path(s)
}

// path converts a Liquid variable path (trigger.message.Body, …).
func (c *flowConv) path(s string) string {
	p := splitPath(s)
	rest := func(base string, from int) string {
		for _, x := range p[from:] {
			if identRe.MatchString(x) {
				base += "?." + x
			} else if n, err := strconv.Atoi(x); err == nil {
				base += fmt.Sprintf("?.[%d]", n)
			} else {
				base += "?.[" + quote(x) + "]"
			}
		}
		return base
	}
	at := func(i int) string {
		if i < len(p) {
			return p[i]
		}
		return ""
	}
	switch at(0) {
	case "trigger":
		switch at(1) {
		case "message", "conversation", "call", "request":
			switch at(2) {
			case "Body":
				return "message.text"
			case "From", "Author", "from":
				return "message.from"
			case "To", "to":
				return "message.to"
			case "CallSid", "MessageSid":
				return "message.id"
			case "ConversationSid", "ChannelSid":
				return "conversation.id"
			case "parameters":
				return rest("message.attributes", 3)
			case "":
				return "message"
			}
			return rest("message.attributes", 2)
		case "parent":
			if at(2) == "parameters" && at(3) != "" {
				return rest(c.inputName(at(3)), 4)
			}
		}
	case "contact":
		if at(1) == "channel" && at(2) == "address" {
			return "message.from"
		}
		return rest("contact.attributes", 1)
	case "flow":
		switch at(1) {
		case "channel":
			return "message.to"
		case "data":
			return rest("message.attributes", 2)
		case "variables":
			if at(2) != "" {
				return rest(c.varName(at(2)), 3)
			}
		case "flow_sid", "sid":
			c.todo("`{{%s}}` has no equivalent; it became the conversation's id", s)
			return "conversation.id"
		}
	case "widgets":
		return c.widgetRef(s, p, rest)
	}
	c.todo("Liquid variable `%s` has no equivalent; it became nil", s)
	return "nil"
}

func splitPath(s string) []string {
	var out []string
	cur := ""
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '.':
			out = append(out, cur)
			cur = ""
		case '[':
			out = append(out, cur)
			j := strings.IndexByte(s[i:], ']')
			if j < 0 {
				j = len(s) - i
			}
			cur = strings.Trim(s[i+1:i+j], `"'`)
			i += j
		default:
			cur += string(s[i])
		}
	}
	out = append(out, cur)
	var clean []string
	for _, x := range out {
		if x != "" {
			clean = append(clean, x)
		}
	}
	return clean
}

var identRe = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// num converts an expression to a number; Studio's values are loosely typed.
func num(e string) string {
	if numRe.MatchString(e) {
		return e
	}
	if isStringExpr(e) {
		return "float(" + e + ")"
	}
	return "float(string(" + e + " ?? 0))"
}

// strOf converts an expression to a string unless it is known to be one.
func strOf(e string) string {
	if isStringExpr(e) {
		return e
	}
	return "string(" + e + " ?? \"\")"
}
