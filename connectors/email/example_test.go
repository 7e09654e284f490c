package email_test

import (
	"context"
	"fmt"
	"net/http"

	"github.com/switchboard-dev/switchboard/connectors"
	"github.com/switchboard-dev/switchboard/connectors/email"
)

// A forwarding service posts a reply; the flow sees only what is new in it.
func Example() {
	reg := connectors.NewRegistry()
	reg.MustRegister(email.Spec(), email.New)
	c, err := reg.New(email.Name, connectors.Config{"from_address": "support@example.com", "webhook_secret": "s3cret"}, connectors.Resources{})
	if err != nil {
		panic(err)
	}
	h := http.Header{}
	h.Set("Content-Type", "message/rfc822")
	h.Set(email.HeaderSecret, "s3cret")
	raw := "From: Ana Lima <Ana@Example.org>\r\n" +
		"Message-ID: <2@example.org>\r\n" +
		"In-Reply-To: <1@example.org>\r\n" +
		"Subject: Re: My order\r\n\r\n" +
		"It has arrived, thanks!\r\n\r\n" +
		"On Mon, 7 Dec 2026 at 14:05, Support <support@example.com> wrote:\r\n" +
		"> Your order left our warehouse.\r\n"
	in, err := c.Receive(context.Background(), &connectors.Request{Method: http.MethodPost, Header: h, Body: []byte(raw)})
	if err != nil {
		panic(err)
	}
	fmt.Println(in[0].From, in[0].Thread)
	fmt.Println(in[0].Text)
	// Output:
	// ana@example.org 1@example.org
	// It has arrived, thanks!
}
