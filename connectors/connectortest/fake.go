package connectortest

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"sync"

	"github.com/switchboard-dev/switchboard/connectors"
)

// Fake is an in-memory channel: Receive reads unsigned JSON messages (see
// Request), Send records the message. Sends are idempotent on Key, like a
// platform that honours idempotency keys. Set the exported fields before
// first use. A Fake is safe for concurrent use.
type Fake struct {
	// Channel is the channel of received messages. Default: "fake".
	Channel string
	// Secret, if set, must come as "Authorization: Bearer <Secret>", or
	// Receive fails with 401.
	Secret string
	// SendHook, if set, is called by Send for each attempt; an error it
	// returns is Send's (mark it with connectors.Permanent as needed) and
	// the message is not recorded.
	SendHook func(m *connectors.Outbound) error

	mu       sync.Mutex
	sent     []connectors.Outbound
	ids      map[string]string // key → platform id
	attempts int
	changed  chan struct{} // closed and replaced on every new send
}

var _ connectors.Connector = (*Fake)(nil)

// FakeMessage is the JSON a Fake receives: one object, or an array of them.
type FakeMessage struct {
	ID         string         `json:"id"`
	From       string         `json:"from"`
	To         string         `json:"to,omitempty"`
	Name       string         `json:"name,omitempty"`
	Text       string         `json:"text,omitempty"`
	Media      []string       `json:"media,omitempty"`
	Attributes map[string]any `json:"attributes,omitempty"`
}

// Request builds a webhook request that f receives as msgs.
func (f *Fake) Request(msgs ...FakeMessage) *connectors.Request {
	body, _ := json.Marshal(msgs)
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	if f.Secret != "" {
		h.Set("Authorization", "Bearer "+f.Secret)
	}
	return &connectors.Request{Method: http.MethodPost, URL: "https://switchboard.test/v1/webhooks/fake/default",
		Path: "/v1/webhooks/fake/default", Header: h, Body: body, RemoteAddr: "127.0.0.1:1"}
}

// Receive parses the JSON of Request: 401 without the secret, 415 if it
// is not JSON, 400 if it does not parse or a message lacks its id or from.
func (f *Fake) Receive(_ context.Context, r *connectors.Request) ([]connectors.Inbound, error) {
	if f.Secret != "" {
		got := []byte(r.Header.Get("Authorization"))
		if subtle.ConstantTimeCompare(got, []byte("Bearer "+f.Secret)) != 1 {
			return nil, connectors.Errorf(http.StatusUnauthorized, "missing or wrong bearer token")
		}
	}
	if err := r.RequireMediaType("application/json"); err != nil {
		return nil, err
	}
	var msgs []FakeMessage
	if len(r.Body) > 0 && r.Body[0] == '{' {
		msgs = make([]FakeMessage, 1)
		err := json.Unmarshal(r.Body, &msgs[0])
		if err != nil {
			return nil, connectors.Errorf(http.StatusBadRequest, "malformed JSON: %v", err)
		}
	} else if err := json.Unmarshal(r.Body, &msgs); err != nil {
		return nil, connectors.Errorf(http.StatusBadRequest, "malformed JSON: %v", err)
	}
	channel := f.Channel
	if channel == "" {
		channel = "fake"
	}
	in := make([]connectors.Inbound, len(msgs))
	for i, m := range msgs {
		if m.ID == "" || m.From == "" {
			return nil, connectors.Errorf(http.StatusBadRequest, "message %d: missing required field \"id\" or \"from\"", i)
		}
		in[i] = connectors.Inbound{PlatformID: m.ID, Channel: channel, From: m.From, To: m.To, FromName: m.Name,
			Text: m.Text, Media: m.Media, Attributes: m.Attributes}
	}
	return in, nil
}

// Send records m and returns its platform id, "fake-N". A Key sent before
// returns the first send's id and is not recorded twice.
func (f *Fake) Send(ctx context.Context, m *connectors.Outbound) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	f.mu.Lock()
	f.attempts++
	f.mu.Unlock()
	if f.SendHook != nil {
		if err := f.SendHook(m); err != nil {
			return "", err
		}
	}
	if m.Key == "" {
		return "", connectors.Permanent(errors.New("fake: outbound message has no key"))
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if id, ok := f.ids[m.Key]; ok {
		return id, nil
	}
	if f.ids == nil {
		f.ids = map[string]string{}
	}
	id := "fake-" + strconv.Itoa(len(f.sent)+1)
	f.ids[m.Key] = id
	c := *m
	c.Media = slices.Clone(m.Media)
	f.sent = append(f.sent, c)
	if f.changed != nil {
		close(f.changed)
		f.changed = nil
	}
	return id, nil
}

// Sent returns the messages delivered so far, once each, in order.
func (f *Fake) Sent() []connectors.Outbound {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.sent)
}

// Attempts returns how many times Send was called, retries included.
func (f *Fake) Attempts() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.attempts
}

// WaitSent waits until at least n messages were delivered and returns
// them, or fails when ctx ends.
func (f *Fake) WaitSent(ctx context.Context, n int) ([]connectors.Outbound, error) {
	for {
		f.mu.Lock()
		if len(f.sent) >= n {
			sent := slices.Clone(f.sent)
			f.mu.Unlock()
			return sent, nil
		}
		if f.changed == nil {
			f.changed = make(chan struct{})
		}
		ch := f.changed
		have := len(f.sent)
		f.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, fmt.Errorf("fake: %d of %d messages sent: %w", have, n, ctx.Err())
		}
	}
}

// InlineFake is a Fake that answers webhooks inline
// (connectors.InlineResponder): 200 with the reaction as JSON, and
// records the reactions.
type InlineFake struct {
	Fake
	rmu       sync.Mutex
	reactions []connectors.Reaction
}

var _ connectors.InlineResponder = (*InlineFake)(nil)

// Respond records the reaction and answers 200 with
// {"replies": [{"key", "to", "text"}], "enqueued": [{"task", "workflow"}]}.
func (f *InlineFake) Respond(in []connectors.Inbound, r connectors.Reaction) (int, string, []byte) {
	f.rmu.Lock()
	f.reactions = append(f.reactions, r)
	f.rmu.Unlock()
	type reply struct {
		Key  string `json:"key"`
		To   string `json:"to"`
		Text string `json:"text"`
	}
	type task struct {
		Task     string `json:"task"`
		Workflow string `json:"workflow"`
	}
	out := struct {
		Replies  []reply `json:"replies"`
		Enqueued []task  `json:"enqueued"`
	}{Replies: []reply{}, Enqueued: []task{}}
	for _, m := range r.Replies {
		out.Replies = append(out.Replies, reply{m.Key, m.To, m.Text})
	}
	for _, t := range r.Enqueued {
		out.Enqueued = append(out.Enqueued, task{t.TaskID, t.Workflow})
	}
	body, _ := json.Marshal(out)
	return http.StatusOK, "application/json", body
}

// Reactions returns what Respond was given so far.
func (f *InlineFake) Reactions() []connectors.Reaction {
	f.rmu.Lock()
	defer f.rmu.Unlock()
	return slices.Clone(f.reactions)
}

// Register adds c to reg under name, with a spec that has no config
// fields: reg.New(name, nil, res) returns c itself, whatever the instance.
func Register(reg *connectors.Registry, name string, c connectors.Connector) error {
	spec := &connectors.Spec{Name: name, Summary: "test connector"}
	return reg.Register(spec, func(connectors.Config, connectors.Resources) (connectors.Connector, error) { return c, nil })
}
