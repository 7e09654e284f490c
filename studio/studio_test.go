package studio

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/switchboard-dev/switchboard/compiler"
	"github.com/switchboard-dev/switchboard/diag"
	"github.com/switchboard-dev/switchboard/lang"
)

// allowedWarnings lists the compiler warnings an import of an export made
// for these tests may have: the input of a generated subflow stub, which
// reads nothing until it is written. The real exports of testdata/samples
// have none: each imports into a program that lints clean.
var allowedWarnings = map[string][]string{
	"message_widgets.json": {"W0002 input `phone` is never read"},
	"subflow_names.json":   {"W0002 input `name` is never read", "W0002 input `stub` is never read"},
}

// TestGolden converts every export in testdata/samples (real exports, see
// testdata/README.md) and testdata/own (made for these tests) and
// compares the result with the .flow next to it, and the warnings with
// the .warnings file. The result compiles with no error and no warning
// other than allowedWarnings, as `switchboard lint` checks it.
// FLOW_UPDATE=1 rewrites both.
func TestGolden(t *testing.T) {
	files, _ := filepath.Glob("testdata/*/*.json")
	if len(files) < 18 {
		t.Fatalf("found only %d exports", len(files))
	}
	if samples, _ := filepath.Glob("testdata/samples/*.json"); len(samples) < 11 {
		t.Fatalf("found only %d real exports", len(samples))
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".json"), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			src, warnings, err := Convert(data)
			if err != nil {
				t.Fatalf("Convert: %v\n%s", err, src)
			}
			var ws bytes.Buffer
			for _, w := range warnings {
				ws.WriteString(w.String() + "\n")
			}
			base := strings.TrimSuffix(file, ".json")
			golden(t, base+".flow", src)
			golden(t, base+".warnings", ws.Bytes())

			// The output compiles, and is already formatted.
			_, diags := compiler.CompileSources([]compiler.Source{{Name: "out.flow", Src: src}}, compiler.Options{})
			if diags.HasErrors() {
				t.Fatalf("does not compile: %v", diags)
			}
			var got []string
			for _, d := range diags {
				got = append(got, d.Code+" "+d.Msg)
			}
			if want := allowedWarnings[filepath.Base(file)]; strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("compiler warnings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
			formatted, fd := lang.FormatSource("out.flow", src)
			if fd.HasErrors() || !bytes.Equal(formatted, src) {
				t.Errorf("the output is not formatted")
			}
			// Every TODO is reported as a warning.
			if n := bytes.Count(src, []byte("# TODO:")); n > 0 && len(warnings) == 0 {
				t.Errorf("%d TODO comments but no warnings", n)
			}
		})
	}
}

func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	if os.Getenv("FLOW_UPDATE") != "" {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with FLOW_UPDATE=1 to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (FLOW_UPDATE=1 rewrites it); got:\n%s", path, got)
	}
}

// TestLiquid checks the conversion of templates to string expressions.
func TestLiquid(t *testing.T) {
	c := &conv{byName: map[string]*state{}}
	c.globalNames = map[string]bool{}
	c.subflows = map[string]*subflowStub{}
	states := []*state{
		{Name: "ask", Type: "send-and-wait-for-reply"},
		{Name: "api-call", Type: "make-http-request"},
		{Name: "menu", Type: "gather-input-on-call"},
		{Name: "vm", Type: "record-voicemail"},
		{Name: "fn", Type: "run-function"},
		{Name: "sub", Type: "run-subflow", Properties: map[string]any{"flow_sid": "FW1"}},
		{Name: "office", Type: "connect-call-to"},
		{Name: "note", Type: "send-message", Properties: map[string]any{"body": "Your code is 42", "to": "{{flow.data.to}}"}},
	}
	tests := []struct{ in, want string }{
		{"plain text", `"plain text"`},
		{`say "hi" ${x}`, `"say \"hi\" \${x}"`},
		{"{{trigger.message.Body}}", `"${message.text}"`},
		{"{{ trigger.conversation.Body }}", `"${message.text}"`},
		{"{{trigger.message.From}} {{contact.channel.address}}", `"${message.from} ${message.from}"`},
		{"{{trigger.message.To}}/{{flow.channel.address}}", `"${message.to}/${message.to}"`},
		{"{{trigger.call.CallSid}}", `"${message.id}"`},
		{"{{flow.data.order_id}}", `"${message.attributes?.order_id}"`},
		{"{{trigger.request.parameters.x}}", `"${message.attributes?.x}"`},
		{"{{flow.variables.count}}", `"${count_step}"`},
		{"{{flow.variables.first_name}}", `"${first_name}"`},
		{"{{widgets.ask.inbound.Body}}", `"${ask_step.reply?.text}"`},
		{"{{widgets.ask.outbound.To}} {{widgets.ask.outbound.From}}", `"${message.from} ${message.to}"`},
		{"{{widgets.note.outbound.Body}} to {{widgets.note.outbound.To}}", `"${"Your code is 42"} to ${message.attributes?.to}"`},
		{"{{widgets.api-call.parsed.customer.name}}", `"${api_call.json?.customer?.name}"`},
		{"{{widgets.api-call.parsed.items[0]}}", `"${api_call.json?.items?.[0]}"`},
		{"{{widgets.api-call.status_code}} {{widgets.api-call.body}}", `"${api_call.status} ${api_call.body}"`},
		{"{{widgets.fn.parsed.score}}", `"${fn.json?.score}"`},
		{"{{widgets.menu.Digits}}{{widgets.menu.SpeechResult}}", `"${menu.digits}${menu.speech}"`},
		{"{{widgets.vm.RecordingUrl}}", `"${vm.url}"`},
		{"{{widgets.vm.RecordingDuration}}s: {{widgets.vm.TranscriptionText}}", `"${vm.duration}s: ${vm.transcript}"`},
		{"{{widgets.menu.Confidence}}", `"${menu.confidence}"`},
		{"{{trigger.call.From}} called {{trigger.call.To}} ({{trigger.call.CallSid}})", `"${message.from} called ${message.to} (${message.id})"`},
		{"{{trigger.call.CallStatus}}", `"${message.attributes?.CallStatus}"`},
		{"{{widgets.office.DialCallStatus}}", `"${(office.status == "answered" ? "completed" : replace(office.status ?? "", "_", "-"))}"`},
		{"{{widgets.office.DialCallStatus | upcase}}", `"${upper((office.status == "answered" ? "completed" : replace(office.status ?? "", "_", "-")))}"`},
		{"{{widgets.office.DialCallDuration}}", `"${office.duration}"`},
		{"{{widgets.sub.verified}}", `"${sub.outputs.verified}"`},
		{"{{trigger.message.Body | upcase}}", `"${upper(message.text)}"`},
		{"{{flow.variables.n | downcase}}", `"${lower(string(n ?? ""))}"`},
		{"{{trigger.message.Body | size}}", `"${len(message.text)}"`},
		{"{{flow.variables.n | default: 'friend'}}", `"${(n ?? "friend")}"`},
		{"{{trigger.message.Body | replace: 'a', 'b'}}", `"${replace(message.text, "a", "b")}"`},
		{"{{flow.variables.n | plus: 1}}", `"${(float(string(n ?? 0)) + 1)}"`},
		{"{{flow.variables.n | minus: 2}}", `"${(float(string(n ?? 0)) - 2)}"`},
		{"{{ 'now' | date: '%Y-%m-%d %H:%M' }}", `"${now.Format("2006-01-02 15:04")}"`},
		{"{{trigger.message.Body | strip | upcase}}", `"${upper(trim(message.text))}"`},
		{"{% if flow.variables.vip == 'yes' %}VIP{% else %}Hi{% endif %}", `"${(vip == "yes") ? "VIP" : "Hi"}"`},
		{"{% if flow.variables.n > 3 %}many{% elsif flow.variables.n %}some{% endif %}", `"${(float(string(n ?? 0)) > 3) ? "many" : ((n) not in [nil, false]) ? "some" : ""}"`},
		{"{% unless flow.variables.ok %}no{% endunless %}", `"${(not ((ok) not in [nil, false])) ? "no" : ""}"`},
		{"{% case flow.variables.lang %}{% when 'en' %}Hello{% when 'fr', 'be' %}Bonjour{% else %}Hi{% endcase %}", `"${(lang == "en") ? "Hello" : (lang == "fr" or lang == "be") ? "Bonjour" : "Hi"}"`},
	}
	for _, tt := range tests {
		f := newFlowConv(c, "f", "message", states)
		f.cur = states[0]
		got := f.template(tt.in)
		if got != tt.want {
			t.Errorf("template(%q)\n got %s\nwant %s", tt.in, got, tt.want)
		}
		if len(f.todos) > 0 {
			t.Errorf("template(%q): unexpected TODO %v", tt.in, f.todos)
		}
	}
}

func TestLiquidTodo(t *testing.T) {
	c := &conv{byName: map[string]*state{}, globalNames: map[string]bool{}, subflows: map[string]*subflowStub{}}
	states := []*state{
		{Name: "office", Type: "connect-call-to"},
		{Name: "vm", Type: "record-voicemail"},
		{Name: "queue", Type: "enqueue-call"},
		{Name: "app", Type: "add-twiml-redirect"},
		{Name: "ask", Type: "send-and-wait-for-reply"},
	}
	for _, in := range []string{"{{x | capitalize}}", "{% for i in (1..2) %}x{% endfor %}", "{{flow.flow_sid}}", "{{widgets.nope.Body}}", "{% if a %}x",
		"{{widgets.office.DialCallSid}}", "{{widgets.vm.RecordingSid}}", "{{widgets.ask.outbound.Sid}}", "{{widgets.queue.QueueResult}}", "{{widgets.app.choice}}"} {
		f := newFlowConv(c, "f", "call", states)
		f.template(in)
		if len(f.todos) == 0 {
			t.Errorf("template(%q): no TODO", in)
		}
	}
}

func TestErrors(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{`{"states": [`, "not a Studio flow definition: line 1: unexpected end of JSON input"},
		{`[]`, "not a Studio flow definition"},
		{`{"states": []}`, `no "states"`},
		{`{"states": [{"name": "a", "type": "send-message", "transitions": []}]}`, "no trigger widget"},
		{`{"states": [{"name": "T", "type": "trigger"}, {"name": "T", "type": "trigger"}]}`, `two widgets are named "T"`},
	} {
		_, _, err := Convert([]byte(tt.in))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Convert(%s) = %v, want %q", tt.in, err, tt.want)
		}
	}
}

// TestMissingWidget: a transition to a widget the export does not have
// (a draft's) ends the execution, with a TODO, where Studio would refuse
// to publish.
func TestMissingWidget(t *testing.T) {
	src, warnings, err := Convert([]byte(`{"initial_state": "T", "states": [
		{"name": "T", "type": "trigger", "transitions": [{"event": "incomingMessage", "next": "hi"}]},
		{"name": "hi", "type": "send-message", "properties": {"body": "Hi"}, "transitions": [{"event": "sent", "next": "x"}]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	want := "widget hi: the `sent` transition goes to \"x\", which is not a widget of the export: it ends the execution"
	if len(warnings) != 1 || warnings[0].String() != want {
		t.Errorf("warnings %q, want %q", warnings, want)
	}
	if !bytes.Contains(src, []byte(`hi: send "Hi" -> done`)) || !bytes.Contains(src, []byte("# TODO: the `sent` transition")) {
		t.Errorf("got:\n%s", src)
	}
}

func TestNames(t *testing.T) {
	for in, want := range map[string]string{
		"send_message_1": "send_message_1", "new-customer-name": "new_customer_name", "SayPlay": "say_play",
		"1st step": "w_1st_step", "Olá mundo": "ol_mundo",
	} {
		if got := lowerSnake(in); got != want {
			t.Errorf("lowerSnake(%q) = %q, want %q", in, got, want)
		}
	}
	f := newFlowConv(&conv{}, "f", "message", []*state{{Name: "reply"}, {Name: "message"}, {Name: "done"}, {Name: "Reply"}})
	for _, n := range []string{"reply", "message", "done"} {
		if f.step[n] == n {
			t.Errorf("reserved name %q kept", n)
		}
	}
	if f.step["reply"] == f.step["Reply"] {
		t.Errorf("names not unique: %v", f.step)
	}
	_ = diag.Error
}
