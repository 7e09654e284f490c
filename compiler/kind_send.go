package compiler

import "time"

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
}

func (sendKind) lower(l *lowering) Op {
	return &SendOp{Text: l.arg, To: l.expr("to"), Channel: l.expr("channel"), Media: l.expr("media"),
		Template: l.expr("template"), TemplateLanguage: l.expr("template_language"), Variables: l.expr("variables")}
}

func (o *SendOp) disasm() (string, []string) { return head("", o.Text, "", nil, 0), nil }

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
