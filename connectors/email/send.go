package email

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"time"

	"github.com/emersion/go-message"
	gomail "github.com/emersion/go-message/mail"
	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/switchboard-dev/switchboard/connectors"
)

// sendTimeout bounds one Send without a deadline of its own.
const sendTimeout = 2 * time.Minute

// Send submits the message by SMTP; see the package documentation.
func (c *connector) Send(ctx context.Context, m *connectors.Outbound) (string, error) {
	if c.smtp == nil {
		return "", fmt.Errorf("email: no smtp_url configured: %w", connectors.ErrUnsupported)
	}
	to, err := mail.ParseAddress(m.To)
	if err != nil {
		return "", connectors.Permanent(fmt.Errorf("email: recipient %q: %v", m.To, err))
	}
	id := c.messageID(m.Key)
	msg, err := c.compose(m, to, id)
	if err != nil {
		return "", connectors.Permanent(err)
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, sendTimeout)
		defer cancel()
	}
	if err := c.submit(ctx, to.Address, msg); err != nil {
		return "", classify(ctx, err)
	}
	return id, nil
}

// messageID derives our Message-ID from the Outbound's Key, so that a
// retry of a message the server had in fact accepted carries the same id
// and the customer's client shows it once.
func (c *connector) messageID(key string) string {
	safe := key != "" && len(key) <= 128 && strings.Trim(key, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_") == ""
	if !safe {
		sum := sha256.Sum256([]byte(key))
		key = hex.EncodeToString(sum[:16])
	}
	return "switchboard." + key + "@" + c.domain
}

// compose writes the message: the thread's headers, a text/plain body
// in UTF-8 with media links after the text.
func (c *connector) compose(m *connectors.Outbound, to *mail.Address, id string) ([]byte, error) {
	var h gomail.Header
	h.SetAddressList("From", []*gomail.Address{{Name: c.from.Name, Address: c.from.Address}})
	h.SetAddressList("To", []*gomail.Address{{Name: to.Name, Address: to.Address}})
	h.SetDate(c.now())
	h.SetMessageID(id)
	t := c.threads.lookup(m.Thread)
	subject := c.subject
	if s, ok := m.Attributes["subject"].(string); ok && s != "" {
		subject = s
	} else if t.subject != "" {
		subject = reSubject(t.subject)
	}
	h.SetSubject(subject)
	if len(t.references) > 0 {
		h.SetMsgIDList("In-Reply-To", t.references[len(t.references)-1:])
		h.SetMsgIDList("References", t.references)
	}
	if m.Agent == "" {
		// RFC 3834: a flow's answer is automatic, so the customer's own
		// auto-responder does not answer it back.
		h.Set("Auto-Submitted", "auto-replied")
	}
	h.SetContentType("text/plain", map[string]string{"charset": "utf-8"})
	h.Set("Content-Transfer-Encoding", "quoted-printable")
	text := m.Text
	for _, u := range m.Media {
		text += "\n" + u
	}
	var buf bytes.Buffer
	w, err := message.CreateWriter(&buf, h.Header)
	if err != nil {
		return nil, fmt.Errorf("email: message: %v", err)
	}
	if _, err := w.Write([]byte(strings.ReplaceAll(text, "\n", "\r\n"))); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// reSubject prefixes "Re: " unless the subject has it.
func reSubject(s string) string {
	if len(s) >= 3 && strings.EqualFold(s[:3], "re:") {
		return s
	}
	return "Re: " + s
}

// submit runs one SMTP session: TLS (implicit, or STARTTLS except on
// loopback), AUTH PLAIN when a user is configured, then the message.
func (c *connector) submit(ctx context.Context, rcpt string, msg []byte) error {
	ep := c.smtp
	conn, stop, err := ep.dial(ctx)
	if err != nil {
		return err
	}
	defer stop()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	var sc *smtp.Client
	if ep.tls || ep.loopback() {
		sc = smtp.NewClient(conn)
	} else if sc, err = smtp.NewClientStartTLS(conn, ep.tlsConfig()); err != nil {
		conn.Close()
		return err
	}
	defer sc.Close()
	if err := sc.Hello(c.domain); err != nil {
		return err
	}
	if ep.user != "" {
		if err := sc.Auth(sasl.NewPlainClient("", ep.user, ep.password)); err != nil {
			return err
		}
	}
	if err := sc.SendMail(c.from.Address, []string{rcpt}, bytes.NewReader(msg)); err != nil {
		return err
	}
	return sc.Quit()
}

// classify marks the server's 5xx refusals Permanent; 4xx replies and
// network trouble stay temporary.
func classify(ctx context.Context, err error) error {
	var se *smtp.SMTPError
	if errors.As(err, &se) {
		if se.Code >= 500 {
			return connectors.Permanent(fmt.Errorf("email: smtp: %w", err))
		}
		return fmt.Errorf("email: smtp (temporary): %w", err)
	}
	if ctx.Err() != nil {
		return fmt.Errorf("email: smtp: %w (%v)", ctx.Err(), err)
	}
	return fmt.Errorf("email: smtp: %w", err)
}
