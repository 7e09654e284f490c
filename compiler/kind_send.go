package compiler

import (
	"strings"
	"time"

	"github.com/switchboard-dev/switchboard/diag"
	"github.com/switchboard-dev/switchboard/lang"
)

// KindSend sends a message to the contact.
var KindSend = registerKind(sendKind{&KindSpec{
	Name: "send",
	Doc:  "sends a message to the contact",
	Arg:  Arg{Kind: ArgExpr, Want: TypeAny, What: "the message text", Doc: "text"},
	Props: []Prop{
		{Name: "to", Kind: PropExpr, Want: TypeString, Doc: "the recipient's address; default: the contact's address in this conversation"},
		{Name: "channel", Kind: PropChannel, Want: TypeString, Doc: "send on another channel"},
		{Name: "media", Kind: PropExpr, Want: TypeAny, Doc: "a URL or a list of URLs to attach"},
		{Name: "template", Kind: PropExpr, Want: TypeString, Doc: "an approved template to send instead of the text where the channel has templates (WhatsApp: Twilio's ContentSid `HX…`)"},
		{Name: "template_language", Kind: PropExpr, Want: TypeString, Doc: "the template's language, where the platform needs it"},
		{Name: "variables", Kind: PropExpr, Want: TypeMap, Doc: "the template's variables, a map (`{\"1\": contact.name}`)"},
		choicesProp, menuProp,
	},
	Outcomes: []OutcomeSpec{
		{Outcome: OutNext, Primary: true, Doc: "the message was handed to the channel"},
		{Outcome: OutFailed, Doc: "the channel refused it after retries; wiring it makes the step wait for the answer"},
	},
}})

type sendKind struct{ *KindSpec }

// SendOp is a send step: the message, and where it goes.
type SendOp struct {
	Text    *Expr
	To      *Expr // default: the conversation's contact
	Channel *Expr // default: the conversation's channel
	Media   *Expr // a URL or a list of URLs
	// Template, TemplateLanguage and Variables name an approved template
	// sent in place of the text where the channel has templates.
	Template, TemplateLanguage, Variables *Expr
	// Choices are options offered with the message (a list of strings or
	// of maps {id, title, description}); Menu, a string, asks for them as
	// a list opened by a button with that label.
	Choices, Menu *Expr
}

// The properties that offer choices, the same on send and ask.
var (
	choicesProp = Prop{Name: "choices", Kind: PropExpr, Want: TypeList,
		Doc: "options offered with the message: a list of strings, or of maps `{id, title, description}`"}
	menuProp = Prop{Name: "menu", Kind: PropExpr, Want: TypeString,
		Doc: "show the choices as a list opened by a button with this label, where the channel has lists"}
)

// lowerChoices fills the op's choices, checking a literal list.
func (o *SendOp) lowerChoices(l *lowering) {
	o.Choices, o.Menu = l.expr("choices"), l.expr("menu")
	if o.Menu != nil && !l.has("choices") {
		l.c.diags.Errorf("E0318", l.sd.props["menu"].key.Span, "`menu` needs `choices`").
			WithHint("`menu` labels the button that opens the list of choices")
	}
	l.checkChoices(o.Choices)
}

func (sendKind) lower(l *lowering) Op {
	op := &SendOp{Text: l.arg, To: l.expr("to"), Channel: l.expr("channel"), Media: l.expr("media"),
		Template: l.expr("template"), TemplateLanguage: l.expr("template_language"), Variables: l.expr("variables")}
	op.lowerChoices(l)
	op.checkChannel(l)
	return op
}

// checkChannel checks a channel written as a word (`channel whatsapp`)
// against the channels the program knows; an expression is the runtime's
// to check.
func (o *SendOp) checkChannel(l *lowering) {
	p, ok := l.sd.props["channel"]
	if !ok || o.Channel == nil || len(p.val) != 1 || p.val[0].Kind != lang.Ident {
		return
	}
	if _, inScope := l.sc.values[p.val[0].Text]; inScope {
		return // a variable holding the channel
	}
	known := l.c.opts.Channels
	if known == nil {
		known = KnownChannels
	}
	if name := p.val[0]; !contains(known, name.Text) {
		d := l.c.diags.Errorf("E0209", name.Span, "unknown channel %s", diag.Quote(name.Text))
		if !d.DidYouMean(name.Text, known) {
			d.WithHint("the channels are %s", strings.Join(known, ", "))
		}
	}
}

func (o *SendOp) disasm() (string, []string) { return head("", o.Text, "", nil, 0), o.choiceLines() }

// choiceLines are the disassembly's lines for the offered choices.
func (o *SendOp) choiceLines() []string {
	var lines []string
	if o.Choices != nil {
		lines = append(lines, "choices "+o.Choices.Source)
	}
	if o.Menu != nil {
		lines = append(lines, "menu "+o.Menu.Source)
	}
	return lines
}

// head renders a state's arguments as the disassembly always has: target,
// text, method and URL, timeout, each when set.
func head(target string, text *Expr, method string, url *Expr, timeout time.Duration) string {
	s := ""
	if target != "" {
		s += " " + target
	}
	if text != nil {
		s += " " + text.Source
	}
	if method != "" {
		s += " " + method + " " + url.Source
	}
	if timeout != 0 {
		s += " timeout=" + timeout.String()
	}
	return s
}
