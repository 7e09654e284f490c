package compiler

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/parser"

	"github.com/switchboard-dev/switchboard/diag"
)

// ChoiceLimit is what a channel shows natively of a message's choices:
// more choices, or longer titles, and the connector falls back to a
// numbered text menu.
type ChoiceLimit struct {
	// Buttons is the most choices shown as buttons or quick replies, and
	// ButtonTitle the longest title (in characters) of one.
	Buttons, ButtonTitle int
	// Rows is the most rows of a list opened by a button (`menu`), and
	// RowTitle the longest row title; 0 when the channel has no lists.
	Rows, RowTitle int
	// Native is what the channel calls its buttons, for messages.
	Native string
}

// ChoiceLimits are the channels whose platforms limit the choices they
// render natively, by channel name. A channel missing here (webchat, the
// ones without buttons) has no limit to check: it renders every choice,
// or always shows the numbered menu.
var ChoiceLimits = map[string]ChoiceLimit{
	// Meta's interactive messages: reply buttons, and list messages.
	"whatsapp": {Buttons: 3, ButtonTitle: 20, Rows: 10, RowTitle: 24, Native: "reply buttons"},
	// Messenger and Instagram quick replies.
	"messenger": {Buttons: 13, ButtonTitle: 20, Native: "quick replies"},
	"instagram": {Buttons: 13, ButtonTitle: 20, Native: "quick replies"},
}

// constChoice is one element of a choices list written as a literal, with
// where it was written.
type constChoice struct {
	id, title string
	span      diag.Span
}

// checkChoices checks a `choices` list written as a literal (the ids and
// titles a platform needs), and warns about the channels of the flow that
// cannot show it natively. Lists computed at run time are checked then.
func (l *lowering) checkChoices(e *Expr) {
	if e == nil {
		return
	}
	tree, err := parser.Parse(e.Source)
	if err != nil || strings.Contains(e.Source, "${") {
		return
	}
	arr, ok := tree.Node.(*ast.ArrayNode)
	if !ok {
		return
	}
	if len(arr.Nodes) == 0 {
		l.c.diags.Errorf("E0318", e.Span, "`choices` is an empty list").
			WithHint(`offer at least one choice, e.g. choices ["Yes", "No"]`)
		return
	}
	var list []constChoice
	ids := map[string]diag.Span{}
	for _, n := range arr.Nodes {
		ch, ok := l.constChoice(e, n)
		if !ok {
			continue
		}
		if first, dup := ids[ch.id]; dup {
			l.c.diags.Errorf("E0318", ch.span, "choice id %s is offered twice", diag.Quote(ch.id)).
				WithRelated(first, "first offered here").
				WithHint("each choice needs its own id: the reply names the choice by it")
			continue
		}
		ids[ch.id] = ch.span
		list = append(list, ch)
	}
	if len(list) == len(arr.Nodes) {
		l.lintChoices(e, list)
	}
}

// constChoice reads one literal element: a string (its id and title), or
// a map of string id, title and description. A computed element is
// checked at run time and skipped here.
func (l *lowering) constChoice(e *Expr, n ast.Node) (constChoice, bool) {
	sp := l.nodeSpan(e, n)
	switch x := n.(type) {
	case *ast.StringNode:
		if strings.TrimSpace(x.Value) == "" {
			l.c.diags.Errorf("E0318", sp, "a choice's title is empty").WithHint("the customer sees the title: write one")
			return constChoice{}, false
		}
		return constChoice{id: x.Value, title: x.Value, span: sp}, true
	case *ast.MapNode:
		return l.constChoiceMap(e, x, sp)
	case *ast.IntegerNode, *ast.FloatNode, *ast.BoolNode, *ast.NilNode, *ast.ArrayNode:
		l.c.diags.Errorf("E0318", sp, "a choice must be a string or a map {id, title}, not %s", diag.Quote(l.nodeText(e, n))).
			WithHint(`e.g. "English", or {id: "en", title: "English"}`)
	}
	return constChoice{}, false
}

func (l *lowering) constChoiceMap(e *Expr, m *ast.MapNode, sp diag.Span) (constChoice, bool) {
	fields := map[string]string{}
	ok := true
	for _, p := range m.Pairs {
		pair := p.(*ast.PairNode)
		key, isStr := pair.Key.(*ast.StringNode)
		if !isStr {
			return constChoice{}, false
		}
		switch key.Value {
		case "id", "title", "description":
		default:
			l.c.diags.Errorf("E0318", l.nodeSpan(e, pair.Key), "unknown choice field %s", diag.Quote(key.Value)).
				WithHint("a choice has id, title and description")
			ok = false
			continue
		}
		v, isStr := pair.Value.(*ast.StringNode)
		if !isStr {
			if isLiteral(pair.Value) {
				l.c.diags.Errorf("E0318", l.nodeSpan(e, pair.Value), "a choice's %s must be a string", key.Value)
				ok = false
			} else {
				return constChoice{}, false // computed: checked at run time
			}
			continue
		}
		fields[key.Value] = v.Value
	}
	for _, f := range []string{"id", "title"} {
		if !ok {
			break
		}
		if strings.TrimSpace(fields[f]) == "" {
			what := "has no " + f
			if _, set := fields[f]; set {
				what = "has an empty " + f
			}
			l.c.diags.Errorf("E0318", sp, "choice %s", what).
				WithHint(`a choice needs both, e.g. {id: "en", title: "English"}`)
			ok = false
		}
	}
	return constChoice{id: fields["id"], title: fields["title"], span: sp}, ok
}

// lintChoices warns, for each channel the flow lists, when the list is
// more than the channel renders natively: it still works, as a numbered
// text menu.
func (l *lowering) lintChoices(e *Expr, list []constChoice) {
	menu := l.has("menu")
	for _, ch := range l.fd.flow.Channels {
		lim, ok := ChoiceLimits[ch]
		if !ok {
			continue
		}
		var why string
		switch {
		case menu && lim.Rows == 0:
			why = fmt.Sprintf("%s has no lists", ch)
		case menu && len(list) > lim.Rows:
			why = fmt.Sprintf("a list on %s has at most %d rows, and this one has %d", ch, lim.Rows, len(list))
		case menu:
			why = longTitle(list, lim.RowTitle, "a list row's")
		case len(list) > lim.Buttons:
			why = fmt.Sprintf("%s shows at most %d %s, and there are %d choices", ch, lim.Buttons, lim.Native, len(list))
		default:
			why = longTitle(list, lim.ButtonTitle, "a button's")
		}
		if why == "" {
			continue
		}
		d := l.c.diags.Warnf("W0006", e.Span, "on %s these choices are sent as a numbered text menu: %s", ch, why)
		if !menu && lim.Rows > 0 && len(list) <= lim.Rows && longTitle(list, lim.RowTitle, "") == "" {
			d.WithHint("add `menu \"LABEL\"` to show them as a list of up to %d rows", lim.Rows)
		} else {
			d.WithHint("offer fewer choices, or shorter titles, to get native buttons")
		}
	}
}

// longTitle names the first title longer than max characters; "" when
// none is.
func longTitle(list []constChoice, max int, what string) string {
	for _, c := range list {
		if n := utf8.RuneCountInString(c.title); n > max {
			return fmt.Sprintf("%s title has at most %d characters, and %s has %d", what, max, diag.Quote(c.title), n)
		}
	}
	return ""
}

func isLiteral(n ast.Node) bool {
	switch n.(type) {
	case *ast.IntegerNode, *ast.FloatNode, *ast.BoolNode, *ast.NilNode, *ast.ArrayNode, *ast.MapNode:
		return true
	}
	return false
}

// nodeSpan is where a node of e's source was written. expr places a map
// at its brace only, so a map spans to its last value and the closing
// brace.
func (l *lowering) nodeSpan(e *Expr, n ast.Node) diag.Span {
	loc := n.Location()
	to := loc.To
	if m, ok := n.(*ast.MapNode); ok && len(m.Pairs) > 0 {
		to = m.Pairs[len(m.Pairs)-1].(*ast.PairNode).Value.Location().To
		runes := []rune(e.Source)
		for i := to; i < len(runes); i++ {
			if runes[i] == '}' {
				to = i + 1
				break
			}
		}
	}
	src := []byte(e.Source)
	from, end := runeToByte(src, loc.From), runeToByte(src, to)
	if end <= from {
		end = tokenEnd(src, from)
	}
	start := e.Span.Start.Offset
	return l.c.span(e.Span.File, start+from, start+end)
}

func (l *lowering) nodeText(e *Expr, n ast.Node) string {
	sp := l.nodeSpan(e, n)
	return e.Source[sp.Start.Offset-e.Span.Start.Offset : sp.End.Offset-e.Span.Start.Offset]
}
