package flowtest_test

import (
	"strings"
	"testing"

	"github.com/switchboard-dev/switchboard/flowtest"
)

const dialFlow = `flow line {
  trigger call
  menu: gather {
    prompt "Press 1 for sales"
    digits 1
    finish_on "#"
    timeout 5s -> bye
    keypress -> sales
  }
  sales: dial "+15550100" {
    timeout 20s
    caller_id message.from
    no_answer -> voicemail
  } -> bye
  voicemail: record {
    max_length 1m
    transcribe true
    failed -> bye
  } -> bye
  bye: hangup
}
`

// expect gather|record|dial check what a voice step asked for, as expect
// http checks a request.
func TestExpectVoiceRequests(t *testing.T) {
	head := "test \"t\" {\n  flow line\n  from \"+15559999\"\n  mock dial sales {status: \"no_answer\"}\n  mock record voicemail {url: \"https://rec.test/1.wav\"}\n  start\n  press \"1\"\n  "
	s := loadFiles(t, "line", dialFlow, head+`expect gather menu {prompt: "Press 1 for sales", digits: 1, finish_on: "#", timeout: 5s, speech: false}
  expect dial sales {number: "+15550100", caller_id: "+15559999", timeout: 20s, record: false}
  expect record voicemail {max_length: 1m, transcribe: true}
  expect hangup
  expect end
}
`)
	runPassing(t, s, 1)
	cases := []struct{ line, want string }{
		{`expect dial sales {timeout: 30s}`, `timeout is "20s", want "30s"; expected dial sales {"timeout":"30s"}, got dial {"caller_id":"+15559999","number":"+15550100","record":false,"timeout":"20s"}`},
		{`expect gather menu {prompt: "Press 2"}`, `prompt is "Press 1 for sales", want "Press 2"`},
		{`expect record menu {transcribe: true}`, `got no record request from step menu so far`},
	}
	for _, c := range cases {
		wantFailure(t, loadFiles(t, "line", dialFlow, head+c.line+"\n}\n"), c.line, c.want)
	}
	_, list := flowtest.Parse("t.flowtest", []byte("test \"x\" {\n  flow line\n  expect dial sales {caller: 1}\n}\n"))
	if got := diagText(list); !strings.Contains(got, `expect dial: unknown field "caller" (want number, caller_id, timeout, record)`) {
		t.Errorf("parse: %s", got)
	}
}
