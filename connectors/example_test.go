package connectors_test

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/switchboard-dev/switchboard/connectors"
	"github.com/switchboard-dev/switchboard/connectors/custom"
)

// A runtime builds each configured instance from a registry, hands it the
// webhooks addressed to it, and answers with Respond or ErrorResponse.
func Example() {
	reg := connectors.NewRegistry() // a real runtime starts from connectors.Default()
	reg.MustRegister(custom.Spec(), custom.New)

	now := time.Unix(1700000000, 0)
	c, err := reg.New("custom", connectors.Config{"secret": "whsec_test_secret"},
		connectors.Resources{Now: func() time.Time { return now }})
	if err != nil {
		fmt.Println(err)
		return
	}

	body := []byte(`{"id":"msg-1","from":"+15550100","text":"Hello"}`)
	h := http.Header{"Content-Type": {"application/json"}}
	custom.SignHeader(h, "whsec_test_secret", now, body)
	in, err := c.Receive(context.Background(), &connectors.Request{Method: "POST", Header: h, Body: body})
	if err != nil {
		status, _, answer := connectors.ErrorResponse(err)
		fmt.Println(status, string(answer))
		return
	}
	fmt.Printf("%s from %s on %s: %q\n", in[0].PlatformID, in[0].From, in[0].Channel, in[0].Text)

	// The flow answered; the connector answers inline.
	reply := connectors.Outbound{Key: "eff-1", To: in[0].From, Text: "Hi! Type 'live agent' to talk to a person."}
	status, contentType, answer := c.(connectors.InlineResponder).Respond(in, connectors.Reaction{Replies: []connectors.Outbound{reply}})
	fmt.Println(status, contentType)
	fmt.Println(string(answer))

	// A tampered body is refused.
	body[len(body)-3] = 'X'
	_, err = c.Receive(context.Background(), &connectors.Request{Method: "POST", Header: h, Body: body})
	status, _, answer = connectors.ErrorResponse(err)
	fmt.Println(status, string(answer))
	// Output:
	// msg-1 from +15550100 on custom: "Hello"
	// 200 application/json
	// {"replies":[{"id":"eff-1","to":"+15550100","text":"Hi! Type 'live agent' to talk to a person."}],"enqueued":[]}
	// 401 {"error":"signature mismatch"}
}

func ExampleRegistry_New() {
	reg := connectors.NewRegistry()
	reg.MustRegister(custom.Spec(), custom.New)
	_, err := reg.New("custom", connectors.Config{"secert": "x", "tolerance": "five minutes"}, connectors.Resources{})
	fmt.Println(err)
	// Output:
	// connector "custom": config field "secert": unknown field (did you mean "secret"?); config field "tolerance": invalid duration "five minutes" (want a number with a unit: 30s, 5m); config field "secret": required
}
