package rcs

import (
	"crypto/hmac"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard-dev/switchboard/connectors"
)

// envelope is the Pub/Sub push message RBM posts to the webhook. Only
// data is signed: the rest is not read.
type envelope struct {
	Message struct {
		Data *string `json:"data"`
	} `json:"message"`
}

// Signature returns the X-Goog-Signature of an event: base64 of the
// HMAC-SHA512 of its JSON (message.data decoded) keyed with the client
// token.
func Signature(clientToken string, event []byte) string {
	mac := hmac.New(sha512.New, []byte(clientToken))
	mac.Write(event)
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// verify returns the event the request carries, decoded from the
// envelope's message.data, once X-Goog-Signature is found to sign it. The
// envelope is read before the check because the signature covers only
// the data inside it; nothing of the envelope is used otherwise, and a
// body without data can carry no authentic event (401).
func verify(r *connectors.Request, clientToken []byte) ([]byte, error) {
	sig := r.Header.Get(HeaderSignature)
	if sig == "" {
		return nil, connectors.Errorf(http.StatusUnauthorized, "missing %s header", HeaderSignature)
	}
	want, err := base64.StdEncoding.DecodeString(sig)
	if err != nil || len(want) != sha512.Size {
		return nil, connectors.Errorf(http.StatusUnauthorized, "%s is not a base64 HMAC-SHA512", HeaderSignature)
	}
	var env envelope
	if json.Unmarshal(r.Body, &env) != nil || env.Message.Data == nil {
		return nil, connectors.Errorf(http.StatusUnauthorized, "the body is not an RBM push envelope with message.data, which %s signs", HeaderSignature)
	}
	data, err := base64.StdEncoding.DecodeString(*env.Message.Data)
	if err != nil {
		return nil, connectors.Errorf(http.StatusUnauthorized, "message.data is not base64, so %s cannot sign it", HeaderSignature)
	}
	mac := hmac.New(sha512.New, clientToken)
	mac.Write(data)
	if !hmac.Equal(mac.Sum(nil), want) {
		return nil, connectors.Errorf(http.StatusUnauthorized, "bad signature: %s does not match message.data for the instance's client_token", HeaderSignature)
	}
	return data, nil
}

// event is an RBM user message or user event, the JSON in message.data.
type event struct {
	AgentID           *string `json:"agentId"`
	SenderPhoneNumber string  `json:"senderPhoneNumber"`
	MessageID         string  `json:"messageId"`
	SendTime          string  `json:"sendTime"`
	// A user message has one of these.
	Text               *string `json:"text"`
	SuggestionResponse *struct {
		PostbackData string `json:"postbackData"`
		Text         string `json:"text"`
		Type         string `json:"type"`
	} `json:"suggestionResponse"`
	UserFile *struct {
		Thumbnail *fileInfo `json:"thumbnail"`
		Payload   *fileInfo `json:"payload"`
	} `json:"userFile"`
	Location *struct {
		Latitude  float64 `json:"latitude"`
		Longitude float64 `json:"longitude"`
	} `json:"location"`
	// A user event has these.
	EventType string `json:"eventType"`
	EventID   string `json:"eventId"`
}

type fileInfo struct {
	MimeType      string `json:"mimeType"`
	FileSizeBytes int64  `json:"fileSizeBytes"`
	FileURI       string `json:"fileUri"`
	FileName      string `json:"fileName"`
}

// parse turns an authentic event into Inbound messages: one for a user
// message or a delivery report, none for what flows do not see (typing,
// another agent's event).
func (c *connector) parse(data []byte) ([]connectors.Inbound, error) {
	var ev event
	if err := json.Unmarshal(data, &ev); err != nil {
		return nil, connectors.Errorf(http.StatusBadRequest, "message.data is not an RBM event: %s", jsonProblem(data, err))
	}
	if ev.AgentID != nil && strings.TrimSuffix(*ev.AgentID, agentDomain) != c.agentID {
		// A partner webhook receives every agent's events: another
		// instance, or no one here, serves this agent.
		c.log.Debug("event of another agent ignored", "agent", *ev.AgentID)
		return nil, nil
	}
	if ev.SenderPhoneNumber == "" {
		return nil, connectors.Errorf(http.StatusBadRequest, "event without senderPhoneNumber")
	}
	from, err := phone(ev.SenderPhoneNumber)
	if err != nil {
		return nil, connectors.Errorf(http.StatusBadRequest, "senderPhoneNumber: %v", err)
	}
	in := connectors.Inbound{Channel: Channel, From: from, Phone: from, To: c.agentID,
		Attributes: map[string]any{"agent_id": c.agentID}}
	if ev.SendTime != "" {
		at, err := time.Parse(time.RFC3339Nano, ev.SendTime)
		if err != nil {
			return nil, connectors.Errorf(http.StatusBadRequest, "sendTime %q is not an RFC 3339 time", ev.SendTime)
		}
		in.At = at.UTC()
	}
	if ev.EventType != "" {
		return c.userEvent(&ev, in)
	}
	if ev.MessageID == "" {
		return nil, connectors.Errorf(http.StatusBadRequest, "user message without messageId")
	}
	in.PlatformID = ev.MessageID
	known, err := userMessage(&ev, &in)
	if err != nil {
		return nil, err
	}
	if !known {
		// A kind of message added to RBM later: refusing it would stall
		// the partner's queue for days of retries, so it is acknowledged.
		c.log.Warn("user message of a kind this connector does not know, acknowledged and dropped", "message_id", ev.MessageID)
		return nil, nil
	}
	return []connectors.Inbound{in}, nil
}

// userMessage fills in what the customer sent; known is false for a
// message with none of the contents it knows.
func userMessage(ev *event, in *connectors.Inbound) (known bool, err error) {
	switch {
	case ev.Text != nil:
		in.Attributes["message_type"] = "text"
		in.Text = *ev.Text
	case ev.SuggestionResponse != nil:
		s := ev.SuggestionResponse
		in.Attributes["message_type"] = "suggestion_response"
		in.Attributes["suggestion_type"] = strings.ToLower(s.Type)
		in.Text, in.Choice = s.Text, s.PostbackData
	case ev.UserFile != nil && ev.UserFile.Payload != nil:
		f := ev.UserFile.Payload
		if f.FileURI == "" {
			return false, connectors.Errorf(http.StatusBadRequest, "userFile.payload without fileUri")
		}
		in.Attributes["message_type"] = "file"
		in.Media = []string{f.FileURI}
		in.Attributes["mime_type"] = f.MimeType
		in.Attributes["file_size"] = f.FileSizeBytes
		if f.FileName != "" {
			in.Attributes["file_name"] = f.FileName
		}
		if t := ev.UserFile.Thumbnail; t != nil && t.FileURI != "" {
			in.Attributes["thumbnail_url"] = t.FileURI
		}
	case ev.Location != nil:
		in.Attributes["message_type"] = "location"
		in.Attributes["latitude"] = ev.Location.Latitude
		in.Attributes["longitude"] = ev.Location.Longitude
		in.Text = strconv.FormatFloat(ev.Location.Latitude, 'f', -1, 64) + "," + strconv.FormatFloat(ev.Location.Longitude, 'f', -1, 64)
	default:
		return false, nil
	}
	return true, nil
}

// userEvent turns DELIVERED and READ into delivery reports on the agent's
// message messageId; IS_TYPING and event types added later say nothing a
// flow waits for.
func (c *connector) userEvent(ev *event, in connectors.Inbound) ([]connectors.Inbound, error) {
	var status string
	switch ev.EventType {
	case "DELIVERED":
		status = "delivered"
	case "READ":
		status = "read"
	default:
		return nil, nil
	}
	if ev.MessageID == "" {
		return nil, connectors.Errorf(http.StatusBadRequest, "%s event without messageId", ev.EventType)
	}
	// The event is about the agent's message: its id with the status is
	// stable across redeliveries, and a DELIVERED and a READ stay apart.
	in.PlatformID = ev.MessageID + "/" + status
	in.Status = &connectors.DeliveryStatus{PlatformID: ev.MessageID, Status: status}
	in.Attributes["message_type"] = "event"
	in.Attributes["event_type"] = ev.EventType
	if ev.EventID != "" {
		in.Attributes["event_id"] = ev.EventID
	}
	return []connectors.Inbound{in}, nil
}

// jsonProblem says where JSON stopped making sense: the offset of a
// syntax error, or the field of a type mismatch.
func jsonProblem(data []byte, err error) string {
	switch e := err.(type) {
	case *json.SyntaxError:
		return e.Error() + " at byte " + strconv.FormatInt(e.Offset, 10)
	case *json.UnmarshalTypeError:
		return "field " + e.Field + " is " + e.Value + ", want " + e.Type.String() + " (byte " + strconv.FormatInt(e.Offset, 10) + ")"
	}
	if len(data) == 0 {
		return "empty"
	}
	return err.Error()
}

// decode unmarshals an API answer.
func decode(b []byte, v any) error { return json.Unmarshal(b, v) }
