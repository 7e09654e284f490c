package email_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-message/mail"
	"github.com/emersion/go-smtp"

	"github.com/switchboard-dev/switchboard/connectors"
	"github.com/switchboard-dev/switchboard/connectors/connectortest"
	"github.com/switchboard-dev/switchboard/connectors/email"
)

// TestConformance runs the connector kit. The kit's fake platform speaks
// HTTP, so the connector submits to a relay that hands each message to
// it (Key from our Message-ID, the recipient, the text) and answers SMTP
// as the fake answered HTTP: 2xx 250, 429 and 5xx 451, other 4xx 550, no
// answer 421.
func TestConformance(t *testing.T) {
	connectortest.Run(t, connectortest.Harness{
		New: func(t testing.TB, api *connectortest.API, res connectors.Resources) connectors.Connector {
			relay := startRelay(t, api)
			return newConnector(t, connectors.Config{"smtp_url": "smtp://" + relay}, res)
		},
		Handler: func(api *connectortest.API) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				var d connectortest.Delivery
				if err := json.NewDecoder(r.Body).Decode(&d); err != nil {
					http.Error(w, err.Error(), http.StatusBadRequest)
					return
				}
				w.WriteHeader(api.Deliver(d).Status)
			})
		},
		Request: func(t testing.TB, _ time.Time) *connectors.Request { return post(findPayload(t, "plain").raw) },
		Unsign:  func(r *connectors.Request) { r.Header.Del(email.HeaderSecret) },
		Tamper:  func(r *connectors.Request) { r.Header.Set(email.HeaderSecret, strings.ToUpper(secret)) },
		Malformed: func(testing.TB, time.Time) *connectors.Request {
			return post([]byte("Subject: no sender\r\n\r\nhello"))
		},
		Outbound: func() *connectors.Outbound {
			return &connectors.Outbound{Key: "effect-0001", Channel: "email", To: "bo@example.org", Text: "Hello from the kit", ConversationID: "conv-1"}
		},
		// Our Message-ID is the message's id: there is no platform id.
		NoPlatformID: true,
	})
}

func startRelay(t testing.TB, api *connectortest.API) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &relay{api: api}, nil }))
	srv.Domain = "relay.test"
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { l.Close(); srv.Close() })
	return l.Addr().String()
}

type relay struct {
	api *connectortest.API
	to  string
}

func (s *relay) Mail(string, *smtp.MailOptions) error { return nil }
func (s *relay) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.to = to
	return nil
}
func (s *relay) Reset()        {}
func (s *relay) Logout() error { return nil }

func (s *relay) Data(r io.Reader) error {
	mr, err := mail.CreateReader(r)
	if err != nil {
		return &smtp.SMTPError{Code: 554, Message: err.Error()}
	}
	id, _ := mr.Header.MessageID()
	key := strings.TrimSuffix(strings.TrimPrefix(id, "switchboard."), "@example.com")
	p, err := mr.NextPart()
	if err != nil {
		return &smtp.SMTPError{Code: 554, Message: err.Error()}
	}
	text, _ := io.ReadAll(p.Body)
	body, _ := json.Marshal(connectortest.Delivery{Key: key, To: s.to, Text: strings.TrimSuffix(string(text), "\r\n")})
	resp, err := s.api.Client.Post(s.api.URL, "application/json", bytes.NewReader(body))
	if err != nil {
		return &smtp.SMTPError{Code: 421, Message: "4.4.1 next hop unreachable"}
	}
	resp.Body.Close()
	switch {
	case resp.StatusCode < 300:
		return nil
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		return &smtp.SMTPError{Code: 451, Message: "4.3.0 " + resp.Status}
	default:
		return &smtp.SMTPError{Code: 550, Message: "5.0.0 " + resp.Status}
	}
}
