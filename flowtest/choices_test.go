package flowtest_test

import (
	"strings"
	"testing"

	"github.com/switchboard-dev/switchboard/flowtest"
)

const choicesFlow = `flow support {
  trigger message
  channels whatsapp, sms
  choose_language: ask "Which language do you prefer?" {
    choices [{id: "en", title: "English"}, {id: "id", title: "Bahasa Indonesia"}]
    timeout 5m -> done
    reply.choice == "en" -> english
    reply.choice == "id" -> bahasa
    reply -> sorry
  }
  english: send "How can we help?" { choices ["Billing", "Other"] } -> done
  bahasa: send "Ada yang bisa kami bantu?" -> done
  sorry: send "Sorry, I did not get that." -> done
}
`

const choicesHead = "test \"t\" {\n  flow support\n  channel whatsapp\n  say \"hi\"\n  expect send \"Which language do you prefer?\" {choices: [{id: \"en\", title: \"English\"}, {id: \"id\", title: \"Bahasa Indonesia\"}]}\n  "

// A choice is picked by a tap, its number or its title; the offered
// choices are checked by title, or by id and title.
func TestChoices(t *testing.T) {
	pass := []string{
		"tap \"en\"\n  expect send \"How can we help?\" {choices: [\"Billing\", \"Other\"]}",
		"tap \"id\"\n  expect send \"Ada yang bisa kami bantu?\"",
		"say \"2\"\n  expect send \"Ada yang bisa kami bantu?\"",
		"say \" english \"\n  expect send \"How can we help?\" {choices: [{id: \"Billing\", title: \"Billing\"}, \"Other\"]}",
		"say \"French\"\n  expect send \"Sorry, I did not get that.\" {choices: []}",
	}
	for _, p := range pass {
		runPassing(t, loadFiles(t, "support", choicesFlow, choicesHead+p+"\n  expect end\n}\n"), 1)
	}
	fail := []struct{ line, want string }{
		{`tap "fr"`, `the question offers no choice "fr" (it offers "en", "id")`},
		{"tap \"en\"\n  expect send \"How can we help?\" {choices: [\"Billing\"]}", `the choices offered are ["Billing", "Other"], want ["Billing"]`},
		{"tap \"en\"\n  expect send \"How can we help?\" {choices: [{id: \"b\", title: \"Billing\"}, \"Other\"]}", `want [{id: "b", title: "Billing"}, "Other"]`},
		{"tap \"en\"\n  expect send \"How can we help?\"\n  expect end\n  tap \"Billing\"", `the execution has already ended`},
	}
	for _, c := range fail {
		wantFailure(t, loadFiles(t, "support", choicesFlow, choicesHead+c.line+"\n}\n"), c.line, c.want)
	}
}

func TestChoicesParse(t *testing.T) {
	tests := []struct{ src, want string }{
		{`expect send "x" {choices: "English"}`, `expect send: choices must be a list of titles, or of {id, title} maps`},
		{`expect send "x" {choices: [{id: "en", label: "English"}]}`, `expect send: choice 1: unknown field "label"`},
		{`expect send "x" {choices: [1]}`, `expect send: choice 1 must be a title or an {id, title} map`},
		{`tap ""`, `tap needs the id of an offered choice`},
	}
	for _, tt := range tests {
		_, list := flowtest.Parse("t.flowtest", []byte("test \"x\" {\n  flow support\n  "+tt.src+"\n}\n"))
		if got := diagText(list); !strings.Contains(got, tt.want) {
			t.Errorf("%s: %s, want %s", tt.src, got, tt.want)
		}
	}
}
