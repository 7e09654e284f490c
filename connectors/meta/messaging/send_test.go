package messaging

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-dev/switchboard/connectors"
)

// TestRequestsSplit: the text is cut within the channel's limit,
// counted as the channel counts, after its ends are trimmed.
func TestRequestsSplit(t *testing.T) {
	for _, tc := range []struct {
		name  string
		text  string
		limit TextLimit
		want  []string
	}{
		{"within the limit, trimmed", " hello there\n", TextLimit{Max: 11}, []string{"hello there"}},
		{"at the last space", "hello there world", TextLimit{Max: 12}, []string{"hello there", "world"}},
		{"UTF-16: an emoji counts two", "ab😀cd", TextLimit{Max: 4}, []string{"ab😀", "cd"}},
		{"UTF-16: é counts one", "éééé ab", TextLimit{Max: 4}, []string{"éééé", "ab"}},
		{"bytes: é counts two", "éééé ab", TextLimit{Max: 8, Bytes: true}, []string{"éééé", "ab"}},
		{"bytes: never inside a character", "ééé", TextLimit{Max: 3, Bytes: true}, []string{"é", "é", "é"}},
		{"no limit", "anything at all", TextLimit{}, []string{"anything at all"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reqs, err := Requests(&connectors.Outbound{To: "u1", Text: tc.text}, Style{Limit: tc.limit})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, r := range reqs {
				got = append(got, r.Message.Text)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("parts of %q within %+v = %q, want %q", tc.text, tc.limit, got, tc.want)
			}
		})
	}
	if _, err := Requests(&connectors.Outbound{To: "u1", Text: " \n "}, Style{Limit: TextLimit{Max: 10}}); err == nil {
		t.Error("a blank text is sent")
	}
}

func TestQuickReplies(t *testing.T) {
	choices := func(n int, title string) []connectors.Choice {
		out := make([]connectors.Choice, n)
		for i := range out {
			out[i] = connectors.Choice{ID: fmt.Sprint("c", i), Title: title}
		}
		return out
	}
	for _, tc := range []struct {
		name    string
		choices []connectors.Choice
		ok      bool
	}{
		{"none", nil, true},
		{"13", choices(13, "Yes"), true},
		{"14", choices(14, "Yes"), false},
		{"a title of 20 characters", choices(2, "Ñandú de la Pampa 20"), true},
		{"a title of 21", choices(2, "Talk to a human agent"), false},
		{"an empty title", choices(2, ""), false},
		{"an empty id", []connectors.Choice{{Title: "Yes"}}, false},
		{"an id of 1001 characters", []connectors.Choice{{ID: strings.Repeat("x", 1001), Title: "Yes"}}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			qr, ok := QuickReplies(tc.choices)
			if ok != tc.ok || (ok && len(qr) != len(tc.choices)) {
				t.Errorf("QuickReplies = %d, %v; want ok %v", len(qr), ok, tc.ok)
			}
		})
	}
}

func TestAttachmentType(t *testing.T) {
	for _, tc := range []struct{ url, want, err string }{
		{"https://cdn.example.com/a/photo.JPG?size=large", "image", ""},
		{"https://cdn.example.com/clip.mp4", "video", ""},
		{"http://cdn.example.com/voice.ogg", "audio", ""},
		{"https://cdn.example.com/invoice.pdf", "file", ""},
		{"https://cdn.example.com/download?id=7", "file", ""},
		{"ftp://cdn.example.com/a.png", "", "absolute http or https URL"},
		{"/relative.png", "", "absolute http or https URL"},
	} {
		got, err := AttachmentType(tc.url)
		if got != tc.want || (err == nil) != (tc.err == "") || (err != nil && !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("AttachmentType(%q) = %q, %v; want %q, %q", tc.url, got, err, tc.want, tc.err)
		}
	}
}

func TestAgentReply(t *testing.T) {
	if !AgentReply(&connectors.Outbound{Agent: "w-ana"}) || AgentReply(&connectors.Outbound{Attributes: map[string]any{"agent": "w-ana"}}) {
		t.Error("an agent's reply is one that names its agent, and only that")
	}
}

func TestLedger(t *testing.T) {
	now := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	l := newLedger(func() time.Time { return now })
	l.record("a#0", "u1", "m1", now)
	l.record("a#1", "u1", "m2", now.Add(time.Second))
	l.record("b#0", "u2", "m3", now.Add(time.Second))
	if got := l.Covered("u1", now, StatusDelivered); !reflect.DeepEqual(got, []string{"m1"}) {
		t.Errorf("delivered up to now = %v, want m1", got)
	}
	if got := l.Covered("u1", now.Add(time.Minute), StatusRead); !reflect.DeepEqual(got, []string{"m1", "m2"}) {
		t.Errorf("read = %v, want m1 m2", got)
	}
	if got := l.Covered("u1", now.Add(time.Minute), StatusDelivered); len(got) != 0 {
		t.Errorf("delivered after read = %v, want none: read implies delivered", got)
	}
	if mid, ok := l.accepted("a#1"); !ok || mid != "m2" {
		t.Errorf("accepted(a#1) = %q %v", mid, ok)
	}
	now = now.Add(LedgerTTL + time.Hour)
	l.record("c#0", "u3", "m4", now)
	if _, ok := l.accepted("a#0"); ok {
		t.Error("a part older than LedgerTTL is still remembered")
	}
	if got := l.Covered("u2", now, StatusRead); len(got) != 0 {
		t.Errorf("an expired message is reported: %v", got)
	}
	if _, ok := l.accepted("c#0"); !ok {
		t.Error("the new part is forgotten")
	}
}
