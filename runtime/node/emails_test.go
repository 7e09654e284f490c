package node_test

import (
	"context"
	"testing"

	"github.com/switchboard-dev/switchboard/connectors"
	"github.com/switchboard-dev/switchboard/connectors/connectortest"
	"github.com/switchboard-dev/switchboard/runtime/node"
	"github.com/switchboard-dev/switchboard/runtime/store"
)

// TestOneEmailOneContact: a customer who writes an email and then chats
// on the webchat giving the same address in its pre-chat form is one
// contact, in either order and whatever the address's case; a returning
// visitor who gives the address later joins the contact too; unless the
// runtime is told to keep them apart.
func TestOneEmailOneContact(t *testing.T) {
	for name, separate := range map[string]bool{"linked": false, "separate": true} {
		t.Run(name, func(t *testing.T) { oneEmail(t, separate) })
	}
}

func oneEmail(t *testing.T, separate bool) {
	eachStore(t, func(t *testing.T, st store.Store) {
		n := startNode(t, "flow chat {\n  hi: send \"hello\"\n}\n", node.Config{Store: st, SeparateEmailContacts: separate,
			Channels: map[string]connectors.Connector{"email/default": &connectortest.Fake{}, "webchat/default": &connectortest.Fake{}}})
		ctx := context.Background()
		receive := func(conn string, in connectors.Inbound) {
			t.Helper()
			if _, err := n.Receive(ctx, conn, "default", in, false); err != nil {
				t.Fatal(err)
			}
		}
		contactOf := func(channel, address string) store.Contact {
			t.Helper()
			c, err := st.LookupContact(ctx, channel, address)
			if err != nil {
				t.Fatalf("%s %s: %v", channel, address, err)
			}
			return c
		}

		// Email first, then the pre-chat form with the address in another case.
		receive("email", connectors.Inbound{PlatformID: "m1@example.com", Channel: "email", From: "ana@example.com",
			Email: "ana@example.com", FromName: "Ana Lima", Text: "my order"})
		receive("webchat", connectors.Inbound{PlatformID: "v_a:c_1", Channel: "webchat", From: "v_a", FromName: "Ana",
			Email: mustEmail(t, " Ana@Example.COM "), Text: "hello"})
		byMail, byChat := contactOf("email", "ana@example.com"), contactOf("webchat", "v_a")
		if (byMail.ID == byChat.ID) == separate {
			t.Fatalf("email then chat: contacts %s and %s (separate %v)", byMail.ID, byChat.ID, separate)
		}

		// The pre-chat form first, then an email from the address.
		receive("webchat", connectors.Inbound{PlatformID: "v_b:c_1", Channel: "webchat", From: "v_b", FromName: "Bo",
			Email: "bo@example.org", Text: "hi"})
		receive("email", connectors.Inbound{PlatformID: "m2@example.org", Channel: "email", From: "bo@example.org",
			Email: "bo@example.org", Text: "about the chat"})
		chatted := contactOf("webchat", "v_b")
		if !separate {
			mailed := contactOf("email", "bo@example.org")
			if mailed.ID != chatted.ID || chatted.Name != "Bo" {
				t.Fatalf("chat then email: contacts %+v and %+v", chatted, mailed)
			}
			convs, _, err := st.ListConversations(ctx, store.ConversationFilter{ContactID: chatted.ID}, store.Page{})
			if err != nil || len(convs) != 2 {
				t.Fatalf("one contact's conversations: %v, %+v", err, convs)
			}
		} else if len(chatted.Addresses) != 1 {
			t.Fatalf("separate: the visitor's contact has addresses %+v", chatted.Addresses)
		}

		// A visitor known without an address gives it later: the contact
		// of the address (Ana's) keeps both.
		receive("webchat", connectors.Inbound{PlatformID: "v_c:c_1", Channel: "webchat", From: "v_c", Text: "hi"})
		receive("webchat", connectors.Inbound{PlatformID: "v_c:c_2", Channel: "webchat", From: "v_c", Email: "ana@example.com", Text: "it's Ana"})
		if got := contactOf("webchat", "v_c").ID == contactOf("email", "ana@example.com").ID; got == separate {
			t.Fatalf("a returning visitor's address: linked %v (separate %v)", got, separate)
		}
	})
}

func mustEmail(t *testing.T, s string) string {
	t.Helper()
	e, ok := connectors.NormalizeEmail(s)
	if !ok {
		t.Fatalf("%q is not an email address", s)
	}
	return e
}
