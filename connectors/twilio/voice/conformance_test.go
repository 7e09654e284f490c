package voice_test

import (
	"context"
	"sync"
	"testing"

	"github.com/switchboard-dev/switchboard/connectors"
	"github.com/switchboard-dev/switchboard/connectors/twilio/twiliofake"
)

// TestReceiveContract checks the parts of connectortest's contract that
// apply to a connector without Send (connectortest.Run also checks
// delivering messages, which a call does not take): Receive and Respond
// run concurrently, give the same messages to the same request, and make
// no request to the platform, since Twilio waits for them.
func TestReceiveContract(t *testing.T) {
	fake := twiliofake.New(t)
	c := newConnector(t, connectors.Config{"api_base_url": fake.URL}, connectors.Resources{HTTPClient: fake.Client()})
	ps := loadPayloads(t)
	var wg sync.WaitGroup
	errs := make(chan string, len(ps)*4)
	for range 4 {
		for _, p := range ps {
			wg.Go(func() {
				in, err := c.Receive(context.Background(), post(p.query, p.body, authToken))
				if err != nil {
					errs <- p.Name + ": " + err.Error()
					return
				}
				if len(in) != len(p.want) {
					errs <- p.Name + ": a different number of messages"
					return
				}
				for i := range in {
					if in[i].PlatformID != p.want[i].PlatformID || in[i].From == "" || in[i].Channel != connectors.ChannelVoice {
						errs <- p.Name + ": " + in[i].PlatformID
					}
				}
				_, ct, body := c.(connectors.InlineResponder).Respond(in, connectors.Reaction{Holding: "WT1"})
				if ct != "text/xml" || len(body) == 0 {
					errs <- p.Name + ": Respond gave " + ct
				}
			})
		}
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	if n := len(fake.Requests()); n > 0 {
		t.Errorf("Receive and Respond made %d requests to Twilio; they must do no network I/O", n)
	}
}
