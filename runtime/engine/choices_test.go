package engine_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/switchboard-dev/switchboard/compiler"
	"github.com/switchboard-dev/switchboard/runtime/engine"
)

const choicesFlow = `
flow a {
  var depts: list = [{id: "sales", title: "Sales", description: "Buy something"}, "Billing"]
  pick: ask "Which language?" {
    choices [{id: "en", title: "English"}, {id: "id", title: "Bahasa Indonesia"}]
    timeout 5m -> done
    reply.choice == "en" -> english
    reply.choice == "id" -> bahasa
    reply -> other
  }
  english: send "English it is" -> dept
  bahasa: send "Bahasa Indonesia" -> dept
  other: send "choice=[${pick.reply.choice}]" -> dept
  dept: send "Which department?" {
    choices depts
    menu "Departments"
  } -> done
}
`

func TestAskChoices(t *testing.T) {
	prog := compile(t, choicesFlow)
	tests := []struct {
		name   string
		tapped string
		text   string
		want   string
	}{
		{"tap", "id", "Bahasa Indonesia", "Bahasa Indonesia"},
		{"tap of a choice not offered", "fr", "Français", "choice=[]"},
		{"number", "", " 2 ", "Bahasa Indonesia"},
		{"number out of range", "", "3", "choice=[]"},
		{"title, any case", "", "  english ", "English it is"},
		{"none", "", "I don't know", "choice=[]"},
		{"empty", "", "", "choice=[]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := start(t, prog, "a", "hi")
			want := []engine.Choice{{ID: "en", Title: "English"}, {ID: "id", Title: "Bahasa Indonesia"}}
			if got := d.effects[0].Send.Choices; !reflect.DeepEqual(got, want) {
				t.Fatalf("offered %+v, want %+v", got, want)
			}
			if got := d.x.Wait.Choices; !reflect.DeepEqual(got, want) {
				t.Fatalf("the wait keeps %+v, want %+v", got, want)
			}
			d.step(d.event(engine.EventInbound, func(e *engine.Event) {
				e.Message = &compiler.Message{ID: "m2", Channel: "webchat", Text: tt.text, Choice: tt.tapped}
			}))
			d.expect(engine.StatusEnded, tt.want, "Which department?")
			var last *engine.SendEffect
			for _, e := range d.effects {
				if e.Kind == engine.EffectSend {
					last = e.Send
				}
			}
			wantDepts := []engine.Choice{{ID: "sales", Title: "Sales", Description: "Buy something"}, {ID: "Billing", Title: "Billing"}}
			if !reflect.DeepEqual(last.Choices, wantDepts) || last.Menu != "Departments" {
				t.Errorf("department choices %+v menu %q, want %+v menu Departments", last.Choices, last.Menu, wantDepts)
			}
		})
	}
}

func TestComputedChoicesFailAtRunTime(t *testing.T) {
	tests := []struct{ list, want string }{
		{`[{id: "a", title: "A"}, {id: "a", title: "B"}]`, `choice 2: id "a" is offered twice`},
		{`[{id: "a"}]`, `choice 1: needs a non-empty id and title`},
		{`[{id: "a", title: "A", colour: "red"}]`, `choice 1: unknown field "colour"`},
		{`[{id: "a", title: 3}]`, `choice 1: title must be a string`},
		{`[3]`, `choice 1: must be a string or a map {id, title}`},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			prog := compile(t, `
flow a {
  var opts: list = `+tt.list+`
  s: send "pick" { choices opts } -> done
}`)
			d := start(t, prog, "a", "hi")
			if d.x.Status != engine.StatusFailed || !strings.Contains(d.x.Error, tt.want) || !strings.Contains(d.x.Error, "t.flow:4:") {
				t.Errorf("status %s, error %q; want failed with %q at t.flow:4", d.x.Status, d.x.Error, tt.want)
			}
		})
	}
}

func TestPickChoice(t *testing.T) {
	offered := []engine.Choice{{ID: "en", Title: "English"}, {ID: "2", Title: "Two"}, {ID: "x", Title: "1"}}
	tests := []struct{ tapped, text, want string }{
		{"en", "whatever", "en"},
		{"", "ENGLISH", "en"},
		{"", "2", "2"}, // the id "2" is not what "2" means: the second choice is it anyway
		{"", "1", "x"}, // a title wins over a number
		{"", "3", "x"}, // the third
		{"", "4", ""},
		{"zz", "two", "2"}, // an unknown tap falls back to the text
	}
	for _, tt := range tests {
		if got := engine.PickChoice(offered, tt.tapped, tt.text); got != tt.want {
			t.Errorf("PickChoice(%q, %q) = %q, want %q", tt.tapped, tt.text, got, tt.want)
		}
	}
	if got := engine.PickChoice(nil, "en", "English"); got != "" {
		t.Errorf("with nothing offered: %q, want none", got)
	}
}
