package effect_test

import (
	"context"
	"reflect"
	"testing"

	"github.com/switchboard-dev/switchboard/connectors"
	"github.com/switchboard-dev/switchboard/runtime/effect"
	"github.com/switchboard-dev/switchboard/runtime/engine"
)

// buttons renders choices natively on webchat only.
type buttons struct{ texter }

func (*buttons) RendersChoices(channel string) bool { return channel == "webchat" }

func TestChoicesFoldForConnectorsWithoutButtons(t *testing.T) {
	offered := []engine.Choice{{ID: "en", Title: "English"}, {ID: "id", Title: "Bahasa Indonesia", Description: "Indonesian"}}
	native := []connectors.Choice{{ID: "en", Title: "English"}, {ID: "id", Title: "Bahasa Indonesia", Description: "Indonesian"}}
	const menu = "Which language?\n1. English\n2. Bahasa Indonesia"
	tests := []struct {
		name     string
		ch       interface{ last() connectors.Outbound }
		channel  string
		text     string
		choices  []connectors.Choice
		menuName string
	}{
		{"a connector without buttons", &texter{}, "sms", menu, nil, ""},
		{"a renderer, on its channel", &buttons{}, "webchat", "Which language?", native, "Languages"},
		{"a renderer, on another channel", &buttons{}, "sms", menu, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := engine.Effect{Kind: engine.EffectSend, Key: "k1",
				Send: &engine.SendEffect{Channel: tt.channel, Text: "Which language?", Choices: offered, Menu: "Languages"}}
			d := effect.Perform(context.Background(), io{tt.ch.(effect.Channel)}, route, e)
			if d.Err != nil || !d.Delivered {
				t.Fatalf("perform: %+v", d)
			}
			got := tt.ch.last()
			if got.Text != tt.text || !reflect.DeepEqual(got.Choices, tt.choices) || got.Menu != tt.menuName {
				t.Errorf("sent text %q choices %+v menu %q; want %q %+v %q", got.Text, got.Choices, got.Menu, tt.text, tt.choices, tt.menuName)
			}
		})
	}
}

func TestOutboundCarriesChoices(t *testing.T) {
	e := engine.Effect{Kind: engine.EffectSend, Key: "k1",
		Send: &engine.SendEffect{Text: "Rate us", Choices: []engine.Choice{{ID: "Great", Title: "Great"}}}}
	out := effect.Outbound(route, e)
	if want := []connectors.Choice{{ID: "Great", Title: "Great"}}; !reflect.DeepEqual(out.Choices, want) || out.Text != "Rate us" {
		t.Errorf("outbound %+v", out)
	}
	// The inline replies are folded by the same function, before the
	// connector answers the webhook with them.
	effect.FoldChoices(&texter{}, &out)
	if out.Text != "Rate us\n1. Great" || out.Choices != nil {
		t.Errorf("folded %+v", out)
	}
	plain := effect.Outbound(route, engine.Effect{Kind: engine.EffectSend, Send: &engine.SendEffect{Text: "hi"}})
	effect.FoldChoices(&texter{}, &plain)
	if plain.Text != "hi" {
		t.Errorf("a message without choices changed: %q", plain.Text)
	}
}

func (t *texter) last() connectors.Outbound { return t.sent[len(t.sent)-1] }
