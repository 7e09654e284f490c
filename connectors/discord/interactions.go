package discord

import (
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard-dev/switchboard/connectors"
)

// Interaction types, as Discord numbers them.
const (
	interactionPing         = 1
	interactionCommand      = 2
	interactionComponent    = 3
	interactionAutocomplete = 4
	interactionModalSubmit  = 5
)

// Interaction callback types of Respond's answers.
const (
	callbackPong           = 1
	callbackMessage        = 4 // CHANNEL_MESSAGE_WITH_SOURCE
	callbackDeferredReply  = 5 // DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE: "thinking…"
	callbackDeferredUpdate = 6 // DEFERRED_UPDATE_MESSAGE: a component acknowledged
)

// Values of Attributes["interaction"], which tell Respond how to answer.
const (
	kindCommand   = "command"
	kindComponent = "component"
	kindModal     = "modal"
)

// interaction is the part of Discord's Interaction object the connector
// reads.
type interaction struct {
	ID            string          `json:"id"`
	ApplicationID string          `json:"application_id"`
	Type          int             `json:"type"`
	Data          json.RawMessage `json:"data"`
	GuildID       string          `json:"guild_id"`
	ChannelID     string          `json:"channel_id"`
	Member        *struct {
		User *user `json:"user"`
	} `json:"member"`
	User    *user    `json:"user"`
	Message *message `json:"message"`
	Locale  string   `json:"locale"`
}

type user struct {
	ID         string `json:"id"`
	Username   string `json:"username"`
	GlobalName string `json:"global_name"`
	Bot        bool   `json:"bot"`
}

func (u *user) name() string {
	if u.GlobalName != "" {
		return u.GlobalName
	}
	return u.Username
}

// commandData is an APPLICATION_COMMAND's data.
type commandData struct {
	Name    string          `json:"name"`
	Options []commandOption `json:"options"`
}

type commandOption struct {
	Name    string          `json:"name"`
	Type    int             `json:"type"`
	Value   json.RawMessage `json:"value"`
	Options []commandOption `json:"options"`
}

// componentData is a MESSAGE_COMPONENT's or a MODAL_SUBMIT's data.
type componentData struct {
	CustomID      string      `json:"custom_id"`
	ComponentType int         `json:"component_type"`
	Values        []string    `json:"values"`
	Components    []component `json:"components"` // a modal's rows of inputs
}

// Receive verifies an interaction's signature, then turns a slash command,
// a button or select menu, or a modal's submission into an Inbound; a PING
// gives none (Respond answers PONG).
func (c *Conn) Receive(_ context.Context, r *connectors.Request) ([]connectors.Inbound, error) {
	if r.Method != http.MethodPost {
		return nil, connectors.Errorf(http.StatusMethodNotAllowed, "interactions come by POST, not %s", r.Method)
	}
	if err := c.verify(r); err != nil {
		return nil, err
	}
	if err := r.RequireMediaType("application/json"); err != nil {
		return nil, err
	}
	var it interaction
	if err := json.Unmarshal(r.Body, &it); err != nil {
		return nil, connectors.Errorf(http.StatusBadRequest, "the interaction is not JSON: %v", jsonError(err))
	}
	if it.Type == interactionPing {
		return nil, nil
	}
	in, err := c.parse(&it)
	if err != nil {
		return nil, err
	}
	return []connectors.Inbound{in}, nil
}

// verify checks X-Signature-Ed25519, the signature of timestamp + body.
// Discord probes a new endpoint with bad signatures and drops one that
// accepts them.
func (c *Conn) verify(r *connectors.Request) error {
	sigHex, ts := r.Header.Get(HeaderSignature), r.Header.Get(HeaderTimestamp)
	if sigHex == "" || ts == "" {
		return connectors.Errorf(http.StatusUnauthorized, "missing %s or %s header", HeaderSignature, HeaderTimestamp)
	}
	sig, err := hex.DecodeString(sigHex)
	if err != nil || len(sig) != ed25519.SignatureSize {
		return connectors.Errorf(http.StatusUnauthorized, "%s is not %d hex digits", HeaderSignature, 2*ed25519.SignatureSize)
	}
	msg := make([]byte, 0, len(ts)+len(r.Body))
	msg = append(append(msg, ts...), r.Body...)
	if !ed25519.Verify(c.pub, msg, sig) {
		return connectors.Errorf(http.StatusUnauthorized, "bad signature: %s does not match the timestamp and body for the public key", HeaderSignature)
	}
	return nil
}

// parse makes the Inbound of an authentic interaction other than a PING.
func (c *Conn) parse(it *interaction) (connectors.Inbound, error) {
	var who *user
	switch {
	case it.User != nil:
		who = it.User
	case it.Member != nil && it.Member.User != nil:
		who = it.Member.User
	}
	switch {
	case it.ID == "":
		return connectors.Inbound{}, connectors.Errorf(http.StatusBadRequest, "the interaction has no id")
	case it.ChannelID == "":
		return connectors.Inbound{}, connectors.Errorf(http.StatusBadRequest, "interaction %s has no channel_id", it.ID)
	case who == nil || who.ID == "":
		return connectors.Inbound{}, connectors.Errorf(http.StatusBadRequest, "interaction %s has neither user nor member.user", it.ID)
	case c.appID != "" && it.ApplicationID != c.appID:
		return connectors.Inbound{}, connectors.Errorf(http.StatusBadRequest, "interaction %s is for application %q, this instance serves %q", it.ID, it.ApplicationID, c.appID)
	}
	in := connectors.Inbound{
		PlatformID: it.ID, Channel: Channel, From: it.ChannelID, To: it.ApplicationID, FromName: who.name(),
		At: snowflakeTime(it.ID), Attributes: map[string]any{"user_id": who.ID, "username": who.Username},
	}
	if it.GuildID != "" {
		in.Attributes["guild_id"] = it.GuildID
	}
	if it.Locale != "" {
		in.Attributes["locale"] = it.Locale
	}
	var err error
	switch it.Type {
	case interactionCommand:
		err = commandInbound(it, &in)
	case interactionComponent:
		err = componentInbound(it, &in)
	case interactionModalSubmit:
		err = modalInbound(it, &in)
	case interactionAutocomplete:
		err = connectors.Errorf(http.StatusBadRequest, "interaction %s: autocomplete is not supported: register the commands without autocomplete options", it.ID)
	default:
		err = connectors.Errorf(http.StatusBadRequest, "interaction %s: unknown type %d", it.ID, it.Type)
	}
	return in, err
}

func commandInbound(it *interaction, in *connectors.Inbound) error {
	var d commandData
	if err := json.Unmarshal(it.Data, &d); err != nil || d.Name == "" {
		return connectors.Errorf(http.StatusBadRequest, "interaction %s: the command's data has no name", it.ID)
	}
	var b strings.Builder
	b.WriteString("/" + d.Name)
	writeOptions(&b, d.Options)
	in.Text = b.String()
	in.Attributes["interaction"] = kindCommand
	in.Attributes["command"] = d.Name
	return nil
}

// writeOptions writes a command's options as a user types them:
// subcommands by name, values as name:value.
func writeOptions(b *strings.Builder, opts []commandOption) {
	for _, o := range opts {
		b.WriteByte(' ')
		if len(o.Value) == 0 {
			b.WriteString(o.Name)
			writeOptions(b, o.Options)
			continue
		}
		var s string
		if json.Unmarshal(o.Value, &s) != nil {
			s = string(o.Value)
		}
		b.WriteString(o.Name + ":" + s)
	}
}

func componentInbound(it *interaction, in *connectors.Inbound) error {
	var d componentData
	if err := json.Unmarshal(it.Data, &d); err != nil || d.CustomID == "" {
		return connectors.Errorf(http.StatusBadRequest, "interaction %s: the component's data has no custom_id", it.ID)
	}
	in.Choice = d.CustomID
	if d.ComponentType == componentStringSelect {
		if len(d.Values) == 0 {
			return connectors.Errorf(http.StatusBadRequest, "interaction %s: select menu %q with no value chosen", it.ID, d.CustomID)
		}
		in.Choice = d.Values[0]
	}
	in.Text = in.Choice
	if it.Message != nil {
		if label := it.Message.label(d.CustomID, in.Choice); label != "" {
			in.Text = label
		}
		in.Attributes["message_id"] = it.Message.ID
	}
	in.Attributes["interaction"] = kindComponent
	return nil
}

func modalInbound(it *interaction, in *connectors.Inbound) error {
	var d componentData
	if err := json.Unmarshal(it.Data, &d); err != nil || d.CustomID == "" {
		return connectors.Errorf(http.StatusBadRequest, "interaction %s: the modal's data has no custom_id", it.ID)
	}
	var values []string
	for _, row := range d.Components {
		for _, f := range row.Components {
			if f.Value != "" {
				values = append(values, f.Value)
			}
		}
	}
	in.Text = strings.Join(values, "\n")
	in.Attributes["interaction"] = kindModal
	in.Attributes["modal"] = d.CustomID
	return nil
}

// Respond answers an interaction within Discord's 3 seconds: PONG to a
// PING; the flow's replies as the interaction's message when there are
// some; else a deferral (a component's "nothing to change", a command's
// "thinking…" until a later message).
//
// Discord takes one message as the answer, so several replies become one,
// their texts a paragraph each, with the last reply's choices; a text
// beyond 2000 characters is cut at the limit.
func (c *Conn) Respond(in []connectors.Inbound, reaction connectors.Reaction) (int, string, []byte) {
	if len(in) == 0 {
		return answer(callbackResponse{Type: callbackPong})
	}
	if len(reaction.Replies) > 0 {
		var texts []string
		var last *connectors.Outbound
		for i := range reaction.Replies {
			m := &reaction.Replies[i]
			if t := withMedia(m); t != "" {
				texts = append(texts, t)
			}
			if len(m.Choices) > 0 {
				last = m
			}
		}
		out := outMessage{}
		text := strings.Join(texts, "\n\n")
		if last != nil {
			text, out.Components = renderChoices(text, last.Choices, last.Menu)
		}
		if parts := connectors.SplitText(text, MaxText, nil); len(parts) > 0 {
			out.Content = parts[0]
		}
		if out.Content != "" || len(out.Components) > 0 { // Discord refuses an empty message
			return answer(callbackResponse{Type: callbackMessage, Data: &out})
		}
	}
	kind, _ := in[0].Attributes["interaction"].(string)
	if kind == kindComponent {
		return answer(callbackResponse{Type: callbackDeferredUpdate})
	}
	return answer(callbackResponse{Type: callbackDeferredReply})
}

type callbackResponse struct {
	Type int         `json:"type"`
	Data *outMessage `json:"data,omitempty"`
}

func answer(r callbackResponse) (int, string, []byte) {
	body, _ := json.Marshal(r) // only strings, numbers and slices of them: it cannot fail
	return http.StatusOK, "application/json", body
}

// discordEpoch is the first millisecond of 2015, where snowflakes count
// from.
const discordEpoch = 1420070400000

// snowflakeTime is when Discord made an id: its top 42 bits are
// milliseconds since discordEpoch. Zero for an id that is not a number.
func snowflakeTime(id string) time.Time {
	n, err := strconv.ParseUint(id, 10, 64)
	if err != nil {
		return time.Time{}
	}
	return time.UnixMilli(int64(n>>22) + discordEpoch).UTC()
}

// jsonError says where a body failed to decode.
func jsonError(err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return fmt.Sprintf("%v at byte %d", syn, syn.Offset)
	case errors.As(err, &typ):
		return fmt.Sprintf("%s is a JSON %s (read up to byte %d), want %s", typ.Field, typ.Value, typ.Offset, typ.Type)
	}
	return err.Error()
}
