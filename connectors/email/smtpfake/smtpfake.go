// Package smtpfake is an in-process SMTP submission server on loopback
// for the email connector's tests and the end-to-end tests of serve: it
// records every message it accepts, checks AUTH PLAIN when given a user,
// and answers scripted SMTP errors. It is test support, not a mail
// server: it delivers nothing.
package smtpfake

import (
	"bytes"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-message/mail"
	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Fake is a running fake SMTP server.
type Fake struct {
	// Addr is its host:port on loopback; URL an smtp:// URL for smtp_url,
	// with User in it when set.
	Addr string
	URL  string
	// User and Password are the credentials AUTH PLAIN must carry, when
	// User is set (see WithAuth).
	User, Password string

	srv      *smtp.Server
	l        net.Listener
	mu       sync.Mutex
	messages []Message
	script   []*smtp.SMTPError
	authed   int
}

// Message is one message the fake accepted.
type Message struct {
	From string   // MAIL FROM
	To   []string // RCPT TO
	Raw  []byte   // the DATA, CRLF line ends
	// Header is the parsed header; Text the body decoded (quoted-printable
	// or base64 undone), with LF line ends.
	Header mail.Header
	Text   string
}

// Option configures New.
type Option func(*Fake)

// WithAuth makes the fake require AUTH PLAIN with these credentials.
func WithAuth(user, password string) Option {
	return func(f *Fake) { f.User, f.Password = user, password }
}

// New starts a fake on a loopback port, stopped when t ends.
func New(t testing.TB, opts ...Option) *Fake {
	t.Helper()
	f := &Fake{}
	for _, o := range opts {
		o(f)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f.srv = smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &session{f: f}, nil }))
	f.srv.Domain = "smtp.fake.test"
	f.srv.AllowInsecureAuth = true
	f.srv.ReadTimeout, f.srv.WriteTimeout = 10*time.Second, 10*time.Second
	f.l = l
	f.Addr = l.Addr().String()
	f.URL = "smtp://" + f.Addr
	if f.User != "" {
		f.URL = "smtp://" + strings.ReplaceAll(f.User, "@", "%40") + "@" + f.Addr
	}
	go func() { _ = f.srv.Serve(l) }()
	t.Cleanup(f.Close)
	return f
}

// Fail scripts the answers to the next messages' DATA: code (a 4xx or
// 5xx) with message, once each, before the fake accepts again.
func (f *Fake) Fail(code int, msg string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.script = append(f.script, &smtp.SMTPError{Code: code, EnhancedCode: smtp.NoEnhancedCode, Message: msg})
}

// Close stops the fake: later connections are refused.
func (f *Fake) Close() {
	f.l.Close() // before Serve may have taken it
	f.srv.Close()
}

// Messages returns the messages accepted so far.
func (f *Fake) Messages() []Message {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Message(nil), f.messages...)
}

// Authenticated returns how many sessions passed AUTH.
func (f *Fake) Authenticated() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.authed
}

// Wait returns the first accepted message for which match is true,
// waiting up to 15 s for it.
func (f *Fake) Wait(t testing.TB, match func(Message) bool) Message {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		for _, m := range f.Messages() {
			if match(m) {
				return m
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	var texts []string
	for _, m := range f.Messages() {
		texts = append(texts, m.Header.Get("Subject")+": "+m.Text)
	}
	t.Fatalf("smtpfake: no such message among %d: %q", len(texts), texts)
	return Message{}
}

type session struct {
	f      *Fake
	authed bool
	from   string
	to     []string
}

func (s *session) AuthMechanisms() []string { return []string{sasl.Plain} }

func (s *session) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, password string) error {
		if user != s.f.User || password != s.f.Password {
			return &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8}, Message: "Authentication credentials invalid"}
		}
		s.authed = true
		s.f.mu.Lock()
		s.f.authed++
		s.f.mu.Unlock()
		return nil
	}), nil
}

func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	if s.f.User != "" && !s.authed {
		return &smtp.SMTPError{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0}, Message: "Authentication required"}
	}
	s.from = from
	return nil
}

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.to = append(s.to, to)
	return nil
}

func (s *session) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.f.mu.Lock()
	defer s.f.mu.Unlock()
	if len(s.f.script) > 0 {
		e := s.f.script[0]
		s.f.script = s.f.script[1:]
		return e
	}
	m := Message{From: s.from, To: s.to, Raw: raw}
	mr, err := mail.CreateReader(bytes.NewReader(raw))
	if err != nil {
		return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 6, 0}, Message: "unreadable message: " + err.Error()}
	}
	m.Header = mr.Header
	if p, err := mr.NextPart(); err == nil {
		b, _ := io.ReadAll(p.Body)
		// SMTP ends every message with a line break the sender did not write.
		m.Text = strings.TrimSuffix(strings.ReplaceAll(string(b), "\r\n", "\n"), "\n")
	} else if !errors.Is(err, io.EOF) {
		return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 6, 0}, Message: "unreadable body: " + err.Error()}
	}
	s.f.messages = append(s.f.messages, m)
	return nil
}

func (s *session) Reset()        { s.from, s.to = "", nil }
func (s *session) Logout() error { return nil }
