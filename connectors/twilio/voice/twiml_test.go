package voice_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/txtar"

	"github.com/switchboard-dev/switchboard/connectors"
	"github.com/switchboard-dev/switchboard/connectors/twilio/voice"
)

// goldenTwiML holds the TwiML answer of every case of TestRespondGolden,
// one section each; FLOW_UPDATE=1 rewrites it.
var goldenTwiML = filepath.Join(payloads, "twiml", "answers.txtar")

// callIn is the Inbound of a call's own webhook.
var callIn = []connectors.Inbound{{PlatformID: callSID, Channel: "voice", From: "+14155550100", Thread: callSID}}

// respondCases are reactions to the call's webhook, by golden section.
var respondCases = []struct {
	name string
	in   []connectors.Inbound
	re   connectors.Reaction
}{
	{"say.xml", callIn, connectors.Reaction{Calls: []connectors.CallVerb{
		{Verb: "say", Text: "Thanks for calling Acme & Sons. Calls are recorded <for quality>."},
		{Verb: "say", Text: "Hola", Voice: "Polly.Lupe", Language: "es-US", Loop: 2},
	}}},
	{"play.xml", callIn, connectors.Reaction{Calls: []connectors.CallVerb{{Verb: "play", URL: "https://cdn.example.com/welcome.mp3?v=2&x=1", Loop: 3}}}},
	{"gather-dtmf.xml", callIn, connectors.Reaction{Calls: []connectors.CallVerb{{Verb: "gather", WaitID: "W1", Text: "Press 1 for sales, 2 for support.",
		Digits: 1, FinishOn: "#", Timeout: 5 * time.Second}}}},
	{"gather-speech.xml", callIn, connectors.Reaction{Calls: []connectors.CallVerb{{Verb: "gather", WaitID: "W2", Text: "How can we help?",
		Speech: true, Language: "en-GB", Timeout: 4500 * time.Millisecond}}}},
	{"record.xml", callIn, connectors.Reaction{Calls: []connectors.CallVerb{{Verb: "record", WaitID: "W4", Text: "Leave a message after the beep.",
		MaxLength: 2 * time.Minute, Timeout: 5 * time.Second, Transcribe: true}}}},
	{"dial-number.xml", callIn, connectors.Reaction{Calls: []connectors.CallVerb{{Verb: "dial", WaitID: "W5", Number: "+1 (415) 555-0142",
		CallerID: "+14155550199", Timeout: 25 * time.Second, Record: true}}}},
	{"dial-sip.xml", callIn, connectors.Reaction{Calls: []connectors.CallVerb{{Verb: "dial", Number: "sip:frontdesk@pbx.example.com;transport=tls"}}}},
	{"dial-client.xml", callIn, connectors.Reaction{Calls: []connectors.CallVerb{{Verb: "dial", WaitID: "W7", Number: "client:reception"}}}},
	{"hangup.xml", callIn, connectors.Reaction{Calls: []connectors.CallVerb{{Verb: "say", Text: "Goodbye."}, {Verb: "hangup"}}}},
	{"hangup-flag.xml", callIn, connectors.Reaction{Calls: []connectors.CallVerb{{Verb: "say", Text: "Goodbye."}}, Hangup: true}},
	{"hold.xml", callIn, connectors.Reaction{Calls: []connectors.CallVerb{{Verb: "say", Text: "All our agents are busy."}}, Holding: "WT1"}},
	{"hold-position.xml", callIn, connectors.Reaction{Holding: "WT1", Position: 3}},
	{"connect.xml", callIn, connectors.Reaction{Calls: []connectors.CallVerb{{Verb: connectors.VerbConnect, Number: "+14155550111", Task: "WT1", Worker: "ana"}}}},
	{"connect-client.xml", callIn, connectors.Reaction{Calls: []connectors.CallVerb{{Verb: connectors.VerbConnect, Number: "client:ben",
		Task: "WT1", Worker: "ben", Timeout: 30 * time.Second}}}},
	{"reply.xml", callIn, connectors.Reaction{Replies: []connectors.Outbound{{Key: "k1", Text: "Your order shipped today."}},
		Calls: []connectors.CallVerb{{Verb: "gather", WaitID: "W8", Text: "Press 1 to hear it again.", Digits: 1}}}},
	{"nothing.xml", callIn, connectors.Reaction{}},
	{"unknown-verb-left-out.xml", callIn, connectors.Reaction{Calls: []connectors.CallVerb{{Verb: "pause"}, {Verb: "say", Text: "Still here."}}}},
	{"status-callback.xml", nil, connectors.Reaction{}},
	{"ended.xml", []connectors.Inbound{{PlatformID: callSID + "/ended", Channel: "voice", From: "+14155550100", Thread: callSID,
		Call: &connectors.CallEvent{Kind: connectors.CallEndedEvent, Status: "completed"}}},
		connectors.Reaction{Calls: []connectors.CallVerb{{Verb: "say", Text: "Too late."}}}},
}

func TestRespondGolden(t *testing.T) {
	c := newConnector(t, connectors.Config{"voice": "Polly.Joanna", "language": "en-US"}, connectors.Resources{}).(connectors.InlineResponder)
	update := os.Getenv("FLOW_UPDATE") != ""
	ar, err := txtar.ParseFile(goldenTwiML)
	if err != nil && !update {
		t.Fatal(err)
	}
	golden := map[string][]byte{}
	if ar != nil {
		for _, f := range ar.Files {
			golden[f.Name] = bytes.TrimSuffix(f.Data, []byte("\n"))
		}
	}
	out := &txtar.Archive{Comment: []byte("TwiML answers of TestRespondGolden (connectors/twilio/voice), one per case; FLOW_UPDATE=1 go test rewrites them.\n")}
	for _, tc := range respondCases {
		status, ct, body := c.Respond(tc.in, tc.re)
		if status != 200 || ct != "text/xml" {
			t.Errorf("%s: status %d, content type %q", tc.name, status, ct)
		}
		out.Files = append(out.Files, txtar.File{Name: tc.name, Data: append(body, '\n')})
		if want, ok := golden[tc.name]; !update && (!ok || !bytes.Equal(body, want)) {
			t.Errorf("%s:\n got %s\nwant %s", tc.name, body, want)
		}
	}
	if update {
		if err := os.WriteFile(goldenTwiML, txtar.Format(out), 0o644); err != nil {
			t.Fatal(err)
		}
	} else if len(golden) != len(respondCases) {
		t.Errorf("%s has %d sections, there are %d cases: run with FLOW_UPDATE=1", goldenTwiML, len(golden), len(respondCases))
	}
}

// TestRespondAfterReceive: the answer to a received call that now waits
// for a task loops back to the instance's webhook.
func TestRespondAfterReceive(t *testing.T) {
	c := newConnector(t, nil, connectors.Resources{})
	in, err := c.Receive(context.Background(), post("", "AccountSid="+accountSID+"&CallSid="+callSID+"&CallStatus=ringing&From=%2B14155550100&To=%2B14155550199", authToken))
	if err != nil {
		t.Fatal(err)
	}
	_, _, body := c.(connectors.InlineResponder).Respond(in, connectors.Reaction{Holding: "WT9"})
	want := `<Redirect method="POST">` + webhook + `?at=`
	if !bytes.Contains(body, []byte(want)) || !bytes.Contains(body, []byte("on=hold&amp;task=WT9</Redirect>")) {
		t.Errorf("hold answer %s\ndoes not redirect to the webhook with on=hold", body)
	}
}

// TestHoldAnnouncements: the place in line and the hold message say what
// the instance configures, or nothing for "-".
func TestHoldAnnouncements(t *testing.T) {
	cases := []struct {
		cfg       connectors.Config
		want, not []string
	}{
		{nil, []string{">You are caller number 2.</Say>", ">" + voice.DefaultHoldMessage + "</Say>"}, nil},
		{connectors.Config{"position_message": "{position} callers are ahead of you, counting you."},
			[]string{">2 callers are ahead of you, counting you.</Say>"}, []string{"caller number"}},
		{connectors.Config{"position_message": "-", "hold_message": "-"}, []string{"<Play>"}, []string{"<Say"}},
	}
	for _, c := range cases {
		conn := newConnector(t, c.cfg, connectors.Resources{})
		_, _, body := conn.(connectors.InlineResponder).Respond(callIn, connectors.Reaction{Holding: "WT9", Position: 2})
		for _, w := range c.want {
			if !bytes.Contains(body, []byte(w)) {
				t.Errorf("%v: %s lacks %s", c.cfg, body, w)
			}
		}
		for _, n := range c.not {
			if bytes.Contains(body, []byte(n)) {
				t.Errorf("%v: %s has %s", c.cfg, body, n)
			}
		}
	}
}

// TestRespondToAnsweredAgent: the agent who picked up hears nothing
// before the caller is put through; an empty answer connects them at once.
func TestRespondToAnsweredAgent(t *testing.T) {
	c := newConnector(t, nil, connectors.Resources{})
	in := []connectors.Inbound{{PlatformID: "CA2/answered", Channel: "voice", From: "+14155550100", Thread: callSID,
		Call: &connectors.CallEvent{Kind: connectors.CallAnsweredEvent, Task: "WT1", Worker: "ana"}}}
	_, _, body := c.(connectors.InlineResponder).Respond(in, connectors.Reaction{})
	if want := `<?xml version="1.0" encoding="UTF-8"?><Response/>`; string(body) != want {
		t.Errorf("answer %s, want %s", body, want)
	}
}
