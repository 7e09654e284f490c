package connectors

import (
	"strconv"
	"strings"
)

// Choice is an option offered with a message: a button, a quick reply, a
// row of a list. The customer picks one by tapping it (the platform then
// reports its ID: Inbound.Choice), or by typing its title or its number.
type Choice struct {
	ID          string `json:"id"`
	Title       string `json:"title"`
	Description string `json:"description,omitempty"` // a list row's second line, where the platform has one
}

// ChoiceRenderer is implemented by connectors that show Outbound.Choices
// natively on channel (buttons, quick replies, a list). For the others the
// runtime folds the choices into the text as a numbered menu (MenuText)
// before Send, so every channel offers them.
type ChoiceRenderer interface {
	RendersChoices(channel string) bool
}

// MenuText is text followed by the choices as a numbered menu, one a line:
// what a channel without buttons shows. The customer answers with a
// number or a title.
func MenuText(text string, choices []Choice) string {
	if len(choices) == 0 {
		return text
	}
	var b strings.Builder
	b.WriteString(text)
	for i, c := range choices {
		if b.Len() > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(strconv.Itoa(i + 1))
		b.WriteString(". ")
		b.WriteString(c.Title)
	}
	return b.String()
}
