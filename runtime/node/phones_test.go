package node_test

import (
	"context"
	"sort"
	"strings"
	"testing"

	"github.com/switchboard-dev/switchboard/connectors"
	"github.com/switchboard-dev/switchboard/connectors/connectortest"
	"github.com/switchboard-dev/switchboard/runtime/node"
	"github.com/switchboard-dev/switchboard/runtime/store"
)

// TestOnePhoneOneContact: a caller who then texts and writes on WhatsApp
// from the same number is one contact, unless told otherwise.
func TestOnePhoneOneContact(t *testing.T) {
	for name, separate := range map[string]bool{"linked": false, "separate": true} {
		t.Run(name, func(t *testing.T) { onePhone(t, separate) })
	}
}

func onePhone(t *testing.T, separate bool) {
	eachStore(t, func(t *testing.T, st store.Store) {
		src := "flow chat {\n  hi: send \"hello\"\n}\nflow call {\n  trigger call\n  bye: hangup\n}\n"
		ph := newPhone()
		n := startNode(t, src, node.Config{Store: st, SeparatePhoneContacts: separate,
			Channels: map[string]connectors.Connector{"phone/default": ph, "sms/default": &connectortest.Fake{}}})
		ctx := context.Background()
		for _, in := range []connectors.Inbound{
			{PlatformID: "CA1", Channel: "voice", From: "+14155550100", Phone: "+14155550100", Thread: "CA1"},
			{PlatformID: "SM1", Channel: "sms", From: "+14155550100", Phone: "+14155550100", Text: "hi"},
			{PlatformID: "SM2", Channel: "whatsapp", From: "+14155550100", Phone: "+14155550100", Text: "hi", FromName: "Ana"},
			{PlatformID: "SM3", Channel: "whatsapp", From: "+14155550100", Phone: "+14155550100", Text: "again"},
		} {
			conn := "sms"
			if in.Channel == "voice" {
				conn = "phone"
			}
			if _, err := n.Receive(ctx, conn, "default", in, true); err != nil {
				t.Fatal(err)
			}
		}
		ids := map[string]bool{}
		for _, ch := range []string{"voice", "sms", "whatsapp"} {
			c, err := st.LookupContact(ctx, ch, "+14155550100")
			if err != nil {
				t.Fatalf("%s: %v", ch, err)
			}
			ids[c.ID] = true
		}
		switch {
		case separate && len(ids) != 3:
			t.Fatalf("separate contacts: %d", len(ids))
		case !separate && len(ids) != 1:
			t.Fatalf("one number made %d contacts", len(ids))
		case !separate:
			c, _ := st.LookupContact(ctx, "sms", "+14155550100")
			var chans []string
			for _, a := range c.Addresses {
				chans = append(chans, a.Channel)
			}
			sort.Strings(chans)
			if strings.Join(chans, ",") != "sms,voice,whatsapp" {
				t.Fatalf("addresses %+v", c.Addresses)
			}
		}
	})
}
