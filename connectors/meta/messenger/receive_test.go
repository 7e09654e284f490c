package messenger_test

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-dev/switchboard/connectors"
	"github.com/switchboard-dev/switchboard/connectors/meta/graphfake"
	"github.com/switchboard-dev/switchboard/connectors/meta/messenger"
)

// TestReceiveRefusals: what Meta must not send again as is.
func TestReceiveRefusals(t *testing.T) {
	c := meta.Offline(t)
	for _, tc := range []struct {
		name   string
		body   string
		ct     string
		status int
		reason string
	}{
		{"not JSON", `{"object":"page","entry":[}`, "", 400, "the notification is not JSON: invalid character '}' looking for beginning of value at byte 27"},
		{"a field of the wrong type", `{"object":"page","entry":[{"id":104729681234567}]}`, "", 400,
			"the notification: entry.id is a JSON number (read up to byte 47), want string"},
		{"Instagram's object", `{"object":"instagram","entry":[]}`, "", 400, `object "instagram": this webhook takes "page" notifications`},
		{"a form", `{"object":"page","entry":[]}`, "application/x-www-form-urlencoded", 415, "content type must be application/json, not application/x-www-form-urlencoded"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := graphfake.Webhook(secret, hook, []byte(tc.body))
			if tc.ct != "" {
				r.Header.Set("Content-Type", tc.ct)
			}
			_, err := c.Receive(context.Background(), r)
			var se *connectors.StatusError
			if !errors.As(err, &se) || se.Status != tc.status || se.Reason != tc.reason {
				t.Errorf("err = %v, want %d %q", err, tc.status, tc.reason)
			}
		})
	}
}

// TestReceiveSkips: an event that lacks what its kind needs is logged and
// left out, and the others of the notification are taken.
func TestReceiveSkips(t *testing.T) {
	var log strings.Builder
	c := meta.New(t, meta.Config("http://127.0.0.1:1", nil), connectors.Resources{Logger: slog.New(slog.NewTextHandler(&log, nil))})
	body := `{"object":"page","entry":[{"id":"104729681234567","time":1796634903517,"messaging":[` +
		`{"recipient":{"id":"104729681234567"},"timestamp":1796634903000,"message":{"mid":"m_1","text":"no sender"}},` +
		`{"sender":{"id":"6783451209876543"},"recipient":{"id":"104729681234567"},"timestamp":1796634903000,"message":{"text":"no mid"}},` +
		`{"sender":{"id":"6783451209876543"},"recipient":{"id":"104729681234567"},"timestamp":"soon","message":{"mid":"m_2"}},` +
		`{"sender":{"id":"6783451209876543"},"recipient":{"id":"104729681234567"},"timestamp":1796634903000,"reaction":{"action":"react"}},` +
		`{"sender":{"id":"6783451209876543"},"recipient":{"id":"104729681234567"},"timestamp":1796634903000,"optin":{"type":"notification_messages","notification_messages_token":"7623"}},` +
		`{"sender":{"user_ref":"ref-7f3a9c"},"recipient":{"id":"104729681234567"},"timestamp":1796634903000,"message":{"mid":"m_3","text":"a guest"}}]}]}`
	in, err := c.Receive(context.Background(), graphfake.Webhook(secret, hook, []byte(body)))
	if err != nil {
		t.Fatal(err)
	}
	if len(in) != 1 || in[0].From != "user_ref:ref-7f3a9c" || in[0].Text != "a guest" {
		t.Errorf("Receive = %+v, want the guest's message alone", in)
	}
	for _, want := range []string{"entry[0].messaging[0]", "no sender.id", "entry[0].messaging[1]", "a message without mid",
		"entry[0].messaging[2]", "timestamp is a JSON string", "a reaction without mid", "fields=\"[optin recipient sender timestamp]\""} {
		if !strings.Contains(log.String(), want) {
			t.Errorf("the log does not say %q:\n%s", want, log.String())
		}
	}
}

// TestReadWatermark: Messenger's read receipt names no message; the
// messages this instance sent to the reader before its watermark are
// reported read, once.
func TestReadWatermark(t *testing.T) {
	f := graphfake.New(t)
	now := time.UnixMilli(1796635300000).UTC()
	c := meta.New(t, meta.Config(f.URL, nil), connectors.Resources{HTTPClient: f.Client(), Now: func() time.Time { return now }})
	var mids []string
	for i, text := range []string{"first", "second"} {
		mid, err := c.Send(context.Background(), &connectors.Outbound{Key: "k" + text, Channel: messenger.Channel, To: psid, Text: text})
		if err != nil {
			t.Fatal(err)
		}
		mids = append(mids, mid)
		now = now.Add(time.Duration(i+1) * time.Minute)
	}
	read := func(watermark time.Time, who string) []connectors.Inbound {
		body := `{"object":"page","entry":[{"id":"104729681234567","time":1796635380660,"messaging":[{"sender":{"id":"` + who +
			`"},"recipient":{"id":"104729681234567"},"timestamp":1796635380402,"read":{"watermark":` +
			strconv.FormatInt(watermark.UnixMilli(), 10) + `}}]}]}`
		in, err := c.Receive(context.Background(), graphfake.Webhook(secret, hook, []byte(body)))
		if err != nil {
			t.Fatal(err)
		}
		return in
	}
	start := time.UnixMilli(1796635300000).UTC()
	if in := read(start.Add(30*time.Second), "7012345678901234"); len(in) != 0 {
		t.Errorf("another customer's read receipt reported %+v", in)
	}
	in := read(start.Add(30*time.Second), psid)
	if len(in) != 1 || in[0].Status == nil || in[0].Status.PlatformID != mids[0] || in[0].Status.Status != "read" ||
		in[0].PlatformID != mids[0]+"/read" || in[0].From != psid {
		t.Fatalf("read receipt after the first message: %+v", in)
	}
	in = read(start.Add(2*time.Minute), psid)
	if len(in) != 1 || in[0].Status.PlatformID != mids[1] {
		t.Errorf("read receipt after both: %+v, want the second alone", in)
	}
	if in = read(start.Add(time.Hour), psid); len(in) != 0 {
		t.Errorf("a later receipt reported again: %+v", in)
	}
}
