package connectors_test

import (
	"testing"

	"github.com/switchboard-dev/switchboard/connectors"
)

func TestMenuText(t *testing.T) {
	en, id := connectors.Choice{ID: "en", Title: "English"}, connectors.Choice{ID: "id", Title: "Bahasa Indonesia"}
	cases := []struct {
		text    string
		choices []connectors.Choice
		want    string
	}{
		{"Which language?", nil, "Which language?"},
		{"Which language?", []connectors.Choice{en, id}, "Which language?\n1. English\n2. Bahasa Indonesia"},
		{"", []connectors.Choice{en}, "1. English"},
	}
	for _, c := range cases {
		if got := connectors.MenuText(c.text, c.choices); got != c.want {
			t.Errorf("MenuText(%q, %v) = %q, want %q", c.text, c.choices, got, c.want)
		}
	}
}
