package flowtest_test

import (
	"strings"
	"testing"

	"github.com/switchboard-dev/switchboard/flowtest"
)

const templateFlow = `flow remind {
  trigger api
  channels whatsapp
  remind: send "Hi ${contact.name}, see you at ${message.attributes.time}." {
    template "HX0001"
    variables {"1": contact.name, "2": message.attributes.time, "3": 2}
    failed -> done
  } -> done
}
`

// expect send checks a template and its variables, which the engine
// evaluates to strings.
func TestExpectSendTemplate(t *testing.T) {
	head := "test \"t\" {\n  flow remind\n  channel whatsapp\n  contact {name: \"Ana\"}\n  attributes {time: \"10:00\"}\n  start\n  "
	s := loadFiles(t, "remind", templateFlow, head+`expect send "Hi Ana, see you at 10:00." {template: "HX0001", variables: {"1": "Ana", "2": "10:00", "3": "2"}}
  expect end
}
`)
	runPassing(t, s, 1)
	cases := []struct{ line, want string }{
		{`expect send matches "Hi" {template: "HX0002"}`, `the message is not that template`},
		{`expect send matches "Hi" {variables: {"1": "Budi"}}`, `the template's variables are {"1":"Ana","2":"10:00","3":"2"}, want {"1":"Budi"}`},
	}
	for _, c := range cases {
		wantFailure(t, loadFiles(t, "remind", templateFlow, head+c.line+"\n}\n"), c.line, c.want)
	}
	_, list := flowtest.Parse("t.flowtest", []byte("test \"x\" {\n  flow remind\n  expect send \"x\" {body: 1}\n}\n"))
	if got := diagText(list); !strings.Contains(got, `expect send: unknown field "body" (want template, variables, choices)`) {
		t.Errorf("parse: %s", got)
	}
}
