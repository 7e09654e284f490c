package email

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-message"
	gomail "github.com/emersion/go-message/mail"
	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/switchboard-dev/switchboard/connectors"
)

// endpoint is an IMAP or SMTP server from the configuration.
type endpoint struct {
	tls      bool   // implicit TLS (imaps, smtps); else STARTTLS, except on loopback
	addr     string // host:port
	host     string
	user     string
	password string
	path     string // the IMAP mailbox
}

// parseEndpoint reads a server URL: plain scheme plainScheme, TLS
// tlsScheme, the user in the URL (percent-encoded: support%40example.com),
// the password from its own secret field.
func parseEndpoint(field, raw, plainScheme, tlsScheme, password string) (*endpoint, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, &connectors.FieldError{Field: field, Problem: fmt.Sprintf("not a URL: %v", err)}
	}
	ep := &endpoint{password: password, path: strings.Trim(u.Path, "/")}
	switch u.Scheme {
	case tlsScheme:
		ep.tls = true
	case plainScheme:
	default:
		return nil, &connectors.FieldError{Field: field, Problem: fmt.Sprintf("scheme %q: want %s:// or %s://", u.Scheme, tlsScheme, plainScheme)}
	}
	ep.host = u.Hostname()
	if ep.host == "" {
		return nil, &connectors.FieldError{Field: field, Problem: "no host"}
	}
	port := u.Port()
	if port == "" {
		port = map[string]string{"imap": "143", "imaps": "993", "smtp": "587", "smtps": "465"}[u.Scheme]
	}
	ep.addr = net.JoinHostPort(ep.host, port)
	if u.User != nil {
		ep.user = u.User.Username()
		if _, set := u.User.Password(); set {
			return nil, &connectors.FieldError{Field: field, Problem: "a password in the URL: put it in its own secret field"}
		}
	}
	return ep, nil
}

// loopback reports whether the server is on this host, where a plain
// connection crosses no network.
func (ep *endpoint) loopback() bool {
	if ep.host == "localhost" {
		return true
	}
	ip := net.ParseIP(ep.host)
	return ip != nil && ip.IsLoopback()
}

// dial connects to the server, with implicit TLS for the TLS scheme, and
// binds the connection to ctx: cancelling ctx closes it.
func (ep *endpoint) dial(ctx context.Context) (net.Conn, func() bool, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", ep.addr)
	if err != nil {
		return nil, nil, err
	}
	if ep.tls {
		tc := tls.Client(conn, ep.tlsConfig())
		if err := tc.HandshakeContext(ctx); err != nil {
			conn.Close()
			return nil, nil, err
		}
		conn = tc
	}
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	return conn, stop, nil
}

func (ep *endpoint) tlsConfig() *tls.Config {
	return &tls.Config{ServerName: ep.host, MinVersion: tls.VersionTLS12}
}

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

// maxThreads bounds the threads the connector remembers.
const maxThreads = 10000

// threads remembers, per thread, the latest customer message's references
// and subject, so that a reply names the message it answers. Another node
// (or a restart) does not know them: its reply then names the thread's
// first message, which threads as well in every mail client.
type threads struct {
	mu    sync.Mutex
	max   int
	m     map[string]thread
	order []string
}

type thread struct {
	references []string // the thread's ids, the message to answer last
	subject    string
}

func newThreads(max int) *threads { return &threads{max: max, m: map[string]thread{}} }

func (ts *threads) remember(p *parsed) {
	if p.in.Thread == "" {
		return
	}
	refs := append(append([]string(nil), p.references...), p.in.PlatformID)
	if strings.HasPrefix(p.in.PlatformID, "sha256:") {
		refs = refs[:len(refs)-1] // not a Message-ID the customer's client knows
	}
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if _, ok := ts.m[p.in.Thread]; !ok {
		ts.order = append(ts.order, p.in.Thread)
		if len(ts.order) > ts.max {
			delete(ts.m, ts.order[0])
			ts.order = ts.order[1:]
		}
	}
	ts.m[p.in.Thread] = thread{references: refs, subject: p.subject}
}

// lookup returns what is known of id's thread: at least the thread's
// first message as the one to answer.
func (ts *threads) lookup(id string) thread {
	if id == "" {
		return thread{}
	}
	ts.mu.Lock()
	t, ok := ts.m[id]
	ts.mu.Unlock()
	if ok {
		return t
	}
	if strings.HasPrefix(id, "sha256:") {
		return thread{}
	}
	return thread{references: []string{id}}
}
