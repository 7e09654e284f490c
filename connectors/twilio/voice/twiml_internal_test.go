package voice

import (
	"bytes"
	"encoding/xml"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twilio/twilio-go/twiml"

	"github.com/switchboard-dev/switchboard/connectors"
)

// node is an XML element with its attributes sorted, so that two
// documents that differ only in attribute order compare equal.
type node struct {
	Name     string
	Attrs    []string
	Text     string
	Children []node
}

func canonical(t *testing.T, doc string) node {
	t.Helper()
	d := xml.NewDecoder(strings.NewReader(doc))
	var stack []node
	var root node
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("%v in %s", err, doc)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			n := node{Name: tok.Name.Local}
			for _, a := range tok.Attr {
				n.Attrs = append(n.Attrs, a.Name.Local+"="+a.Value)
			}
			slices.Sort(n.Attrs)
			stack = append(stack, n)
		case xml.CharData:
			if len(stack) > 0 {
				stack[len(stack)-1].Text += string(tok)
			}
		case xml.EndElement:
			n := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if len(stack) == 0 {
				root = n
			} else {
				stack[len(stack)-1].Children = append(stack[len(stack)-1].Children, n)
			}
		}
	}
	return root
}

// TestDocumentMatchesTwilioGo: the answer's writer says what twiml.Voice
// says for the same elements, but in a stable attribute order.
func TestDocumentMatchesTwilioGo(t *testing.T) {
	r := &renderer{webhook: "https://switchboard.example.com/v1/webhooks/twilio_voice/default", voice: "alice", language: "en-US",
		holdMusic: DefaultHoldMusic, holdMessage: DefaultHoldMessage, ringTimeout: 20 * time.Second,
		now: func() time.Time { return time.Unix(1700000000, 0) }}
	els, err := r.verbs([]connectors.CallVerb{
		{Verb: "say", Text: `Tom & Jerry's "quotes" <here>`, Loop: 2},
		{Verb: "play", URL: "https://cdn.example.com/a.mp3?x=1&y=2"},
		{Verb: "gather", WaitID: "W1", Text: "Press 1.", Digits: 1, Speech: true, Timeout: 3 * time.Second},
		{Verb: "record", WaitID: "W2", MaxLength: time.Minute, Transcribe: true},
		{Verb: "dial", WaitID: "W3", Number: "+14155550142", CallerID: "+14155550199", Record: true},
		{Verb: connectors.VerbConnect, Number: "sip:ana@pbx.example.com", Task: "WT1", Worker: "ana"},
		{Verb: connectors.VerbHold, Task: "WT1"},
		{Verb: "hangup"},
	})
	if err != nil {
		t.Fatal(err)
	}
	ours := document(els)
	theirs, err := twiml.Voice(els)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := canonical(t, string(ours)), canonical(t, theirs); !equal(got, want) {
		t.Errorf("document:\n%s\ntwiml.Voice:\n%s", ours, theirs)
	}
	if !bytes.Equal(ours, document(els)) {
		t.Error("two renderings of the same elements differ")
	}
}

func equal(a, b node) bool {
	if a.Name != b.Name || a.Text != b.Text || !slices.Equal(a.Attrs, b.Attrs) || len(a.Children) != len(b.Children) {
		return false
	}
	for i := range a.Children {
		if !equal(a.Children[i], b.Children[i]) {
			return false
		}
	}
	return true
}
