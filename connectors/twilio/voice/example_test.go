package voice_test

import (
	"fmt"
	"time"

	"github.com/switchboard-dev/switchboard/connectors"
	"github.com/switchboard-dev/switchboard/connectors/twilio/voice"
)

// The answer to a call's webhook when the flow asks for a key: the
// gather's action brings the caller's choice back to the instance's
// webhook, with the wait it answers in the query.
func Example() {
	reg := connectors.NewRegistry()
	reg.MustRegister(voice.Spec(), voice.New)
	c, err := reg.New(voice.Name, connectors.Config{"account_sid": "ACXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX", "auth_token": "token"},
		connectors.Resources{PublicURL: "https://switchboard.example.com"})
	if err != nil {
		panic(err)
	}
	in := []connectors.Inbound{{PlatformID: "CA0123", Channel: connectors.ChannelVoice, From: "+14155550100", Thread: "CA0123"}}
	_, contentType, body := c.(connectors.InlineResponder).Respond(in, connectors.Reaction{Calls: []connectors.CallVerb{
		{Verb: "gather", WaitID: "W1", Text: "Press 1 for sales, 2 for support.", Digits: 1, Timeout: 5 * time.Second},
	}})
	fmt.Println(contentType)
	fmt.Println(string(body))
	// Output:
	// text/xml
	// <?xml version="1.0" encoding="UTF-8"?><Response><Gather action="https://switchboard.example.com/v1/webhooks/twilio_voice/default?on=result&amp;wait=W1" actionOnEmptyResult="true" input="dtmf" method="POST" numDigits="1" timeout="5"><Say>Press 1 for sales, 2 for support.</Say></Gather></Response>
}
