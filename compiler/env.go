package compiler

import (
	"reflect"
	"time"
)

// The values below are the typed environment of expressions. The checker
// sees their types; the runtime fills them with real values under the same
// names, so an expression that checks here runs there.

// Message is an inbound or outbound message, normalized across channels.
type Message struct {
	ID         string         `expr:"id" json:"id"`
	Channel    string         `expr:"channel" json:"channel"`
	From       string         `expr:"from" json:"from"`
	To         string         `expr:"to" json:"to"`
	Text       string         `expr:"text" json:"text"`
	Media      []string       `expr:"media" json:"media,omitempty"`
	Attributes map[string]any `expr:"attributes" json:"attributes,omitempty"`
	// Choice is the id of the offered choice the message picked: tapped,
	// or typed as its title or number (see the ask step); "" for none.
	Choice string `expr:"choice" json:"choice,omitempty"`
}

// Contact is the customer, one identity across channels.
type Contact struct {
	ID         string            `expr:"id" json:"id"`
	Name       string            `expr:"name" json:"name"`
	Attributes map[string]any    `expr:"attributes" json:"attributes,omitempty"`
	Addresses  map[string]string `expr:"addresses" json:"addresses,omitempty"` // channel → address
}

// Conversation is one thread with a contact on one channel.
type Conversation struct {
	ID         string         `expr:"id" json:"id"`
	Channel    string         `expr:"channel" json:"channel"`
	Attributes map[string]any `expr:"attributes" json:"attributes,omitempty"`
}

// HoursRef names an `hours` declaration inside expressions: `open(support_hours)`.
type HoursRef struct{ Name string }

// OpenFunc is the type of `open` in the environment.
type OpenFunc = func(HoursRef) bool

// ZeroOf returns the zero value of a declared type; its Go type is what
// the checker sees for a variable of that type.
func ZeroOf(t Type) any {
	switch t {
	case TypeString:
		return ""
	case TypeNumber:
		return float64(0)
	case TypeBool:
		return false
	case TypeList:
		return []any{}
	case TypeMap:
		return map[string]any{}
	}
	return nil
}

// Names of the environment every flow expression sees.
const (
	NameMessage      = "message"
	NameContact      = "contact"
	NameConversation = "conversation"
	NameEnv          = "env"
	NameVars         = "vars"
	NameNow          = "now"
	NameOpen         = "open"
	NameReply        = "reply"
	NameDigits       = "digits"
	NameSpeech       = "speech"
	NameTask         = "task"
	NameWorker       = "worker"
)

var (
	typeOfTime     = reflect.TypeOf(time.Time{})
	reservedNames  = map[string]bool{}
	baseFlowValues = map[string]any{
		NameMessage:      Message{},
		NameContact:      Contact{},
		NameConversation: Conversation{},
		NameEnv:          map[string]string{},
		NameVars:         map[string]any{},
		NameNow:          time.Time{},
		NameOpen:         OpenFunc(nil),
	}
)

func init() {
	for n := range baseFlowValues {
		reservedNames[n] = true
	}
	for _, n := range []string{NameReply, NameDigits, NameSpeech, NameTask, NameWorker, "done", "true", "false",
		"nil", "and", "or", "not", "in", "matches", "contains", "startsWith", "endsWith", "let", "if", "else"} {
		reservedNames[n] = true
	}
	_ = typeOfTime
}
