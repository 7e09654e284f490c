// Package email is the e-mail channel: customers write to a support
// address and get their answers by mail, threaded in their mail client.
//
// It sits among the other connectors under connectors/ and registers
// itself with connectors.Default as "email" (channel "email"). Mail comes
// in two ways, both parsed alike (parse.go):
//
//   - from an IMAP mailbox (imap_url): the connector is then a
//     connectors.Puller, which the runtime runs on one node at a time. Pull
//     fetches the unseen messages, delivers them, and marks each \Seen
//     only once deliver has returned; it waits with IDLE where the server
//     has it, else polls every poll_interval;
//   - from the local MTA over LMTP (lmtp_addr), also inside Pull, each
//     message answered 250 only once delivered;
//   - as raw MIME POSTed to the instance's webhook by a forwarding service
//     (SendGrid's raw Inbound Parse, a Mailgun route to a URL ending in
//     "mime", or a plain message/rfc822 body), authenticated with the
//     shared webhook_secret.
//
// Replies go out by SMTP submission (smtp_url), with a Message-ID derived
// from the Outbound's Key (a retry sends the same message) and
// In-Reply-To/References naming the conversation's thread. Choices arrive
// folded into the text as a numbered menu: mail has no buttons.
// Automatic mail (auto-replies, bounces, read receipts, list traffic) is
// acknowledged and never delivered, so two robots cannot loop.
// Attachments are written into media_dir as they are parsed and served on
// the instance's own route by signed URL (media.go), so an agent can open
// them without access to the mailbox.
// docs/CONNECTORS.md is the full reference.
package email

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/mail"
	"strings"
	"sync"
	"time"

	"github.com/switchboard-dev/switchboard/connectors"
	"github.com/switchboard-dev/switchboard/internal/httpsurface"
)

// Name is the connector's registered name, and Channel the channel its
// messages carry.
const (
	Name    = "email"
	Channel = "email"
)

// HeaderSecret carries the webhook_secret on a raw MIME POST. A service
// that cannot set headers passes it as the password of HTTP Basic auth
// (https://switchboard:SECRET@host/v1/webhooks/email/default).
const HeaderSecret = "X-Switchboard-Email-Secret"

// Defaults and limits.
const (
	DefaultPollInterval = 60 * time.Second
	DefaultSubject      = "Your message"
	// MaxMessageBytes caps one message, POSTed or fetched; a larger one
	// is refused (413) or left unseen in the mailbox.
	MaxMessageBytes = connectors.MaxBodyBytesLimit
	// MaxIDBytes caps a Message-ID used as the dedupe key; a longer one is
	// replaced by a hash of the message.
	MaxIDBytes = 255
)

func init() { connectors.MustRegister(Spec(), New) }

// Spec returns the connector's spec.
func Spec() *connectors.Spec {
	return &connectors.Spec{
		Name:    Name,
		Summary: "e-mail in by IMAP or a forwarding service's raw MIME, out by SMTP",
		Description: "Fetches new mail from an IMAP mailbox (IDLE, else polling) or takes raw MIME POSTed by a forwarding service, " +
			"keeps only the new text of each message (quoted history and signature stripped), ignores automatic mail, " +
			"and answers by SMTP in the same thread. See docs/CONNECTORS.md.",
		MaxBodyBytes: MaxMessageBytes,
		Fields: []connectors.Field{
			{Name: "from_address", Required: true, Example: "Example Support <support@example.com>",
				Description: "The address replies are sent from (RFC 5322, a display name allowed); its domain ends our Message-IDs."},
			{Name: "imap_url", Example: "imaps://support%40example.com@imap.example.com:993/INBOX",
				Description: "The mailbox to fetch: `imaps://user@host:993/mailbox` (TLS) or `imap://` (STARTTLS when offered; plain only on loopback). Without it, mail comes through LMTP or the webhook only."},
			{Name: "imap_password", Secret: true, Example: "env:IMAP_PASSWORD",
				Description: "The IMAP password (an app password where the provider has them)."},
			{Name: "smtp_url", Example: "smtp://support%40example.com@smtp.example.com:587",
				Description: "The submission server: `smtps://user@host:465` (TLS) or `smtp://user@host:587` (STARTTLS required, except on loopback). Without it, Send fails permanently."},
			{Name: "smtp_password", Secret: true, Example: "env:SMTP_PASSWORD",
				Description: "The SMTP password."},
			{Name: "poll_interval", Type: connectors.TypeDuration, Default: "60s", Example: "30s",
				Description: "How often the mailbox is checked when the server has no IDLE, and at the latest while idling."},
			{Name: "webhook_secret", Secret: true, Example: "env:EMAIL_WEBHOOK_SECRET",
				Description: "The shared secret of the raw MIME webhook, in `" + HeaderSecret + "` or as the Basic auth password. Without it, the webhook refuses every request."},
			{Name: "lmtp_addr", Example: "127.0.0.1:2424",
				Description: "Where to take mail from the local MTA over LMTP (Postfix `lmtp:inet:127.0.0.1:2424`). Listened on by the node holding the instance's pull lease."},
			{Name: "media_dir", Example: "/var/lib/switchboard/email-media",
				Description: "Where the attachments of inbound mail are kept, served to agents by signed URL. Default: a directory under the system's temporary directory, named for the instance."},
			{Name: "subject", Default: DefaultSubject, Example: "Your request to Example",
				Description: "The subject of a message that answers no known mail (`Re: ` and the customer's subject otherwise)."},
		},
	}
}

type connector struct {
	from     *mail.Address
	domain   string
	secret   [32]byte // sha256 of webhook_secret, compared in constant time
	hasHook  bool
	subject  string
	smtp     *endpoint // nil: no outbound
	imap     *endpoint
	poll     time.Duration
	log      *slog.Logger
	now      func() time.Time
	threads  *threads
	lmtpAddr string
	pullMu   sync.Mutex // one Pull at a time per instance
	mailbox  cursor
	media    *attachStore
}

var _ httpsurface.Pages = (*connector)(nil)

// puller is a connector with a mailbox to fetch.
type puller struct{ *connector }

// New builds an email connector instance; it is the registered
// connectors.Constructor. With imap_url or lmtp_addr set, the connector
// is a connectors.Puller.
func New(cfg connectors.Config, res connectors.Resources) (connectors.Connector, error) {
	c := &connector{poll: DefaultPollInterval, subject: DefaultSubject, log: res.Logger, now: res.Now,
		threads: newThreads(maxThreads)}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.now == nil {
		c.now = time.Now
	}
	raw, err := cfg.Required("from_address")
	if err != nil {
		return nil, err
	}
	if c.from, err = mail.ParseAddress(raw); err != nil {
		return nil, &connectors.FieldError{Field: "from_address", Problem: fmt.Sprintf("not an address: %v", err)}
	}
	_, c.domain, _ = strings.Cut(c.from.Address, "@")
	if cfg.Has("webhook_secret") {
		c.secret, c.hasHook = sha256.Sum256([]byte(cfg.String("webhook_secret"))), true
	}
	if cfg.Has("subject") {
		c.subject = cfg.String("subject")
	}
	if cfg.Has("poll_interval") {
		if c.poll, err = cfg.Duration("poll_interval"); err != nil {
			return nil, err
		}
		if c.poll <= 0 {
			return nil, &connectors.FieldError{Field: "poll_interval", Problem: "must be positive"}
		}
	}
	if cfg.Has("smtp_url") {
		if c.smtp, err = parseEndpoint("smtp_url", cfg.String("smtp_url"), "smtp", "smtps", cfg.String("smtp_password")); err != nil {
			return nil, err
		}
	}
	if cfg.Has("lmtp_addr") {
		c.lmtpAddr = cfg.String("lmtp_addr")
		if _, _, err := net.SplitHostPort(c.lmtpAddr); err != nil {
			return nil, &connectors.FieldError{Field: "lmtp_addr", Problem: fmt.Sprintf("not host:port: %v", err)}
		}
	}
	if cfg.Has("imap_url") {
		if c.imap, err = parseEndpoint("imap_url", cfg.String("imap_url"), "imap", "imaps", cfg.String("imap_password")); err != nil {
			return nil, err
		}
		if c.imap.path == "" {
			c.imap.path = "INBOX"
		}
	}
	if c.media, err = configStore(cfg, res); err != nil {
		return nil, err
	}
	if c.imap == nil && c.lmtpAddr == "" {
		return c, nil
	}
	return puller{c}, nil
}

// Receive takes one raw message POSTed by a forwarding service: it checks
// the shared secret first, then parses. Automatic mail is acknowledged
// with no message.
func (c *connector) Receive(_ context.Context, r *connectors.Request) ([]connectors.Inbound, error) {
	if r.Method != http.MethodPost {
		return nil, connectors.Errorf(http.StatusMethodNotAllowed, "method %s not allowed: POST the raw message", r.Method)
	}
	if err := c.authenticate(r); err != nil {
		return nil, err
	}
	raw, err := rawMessage(r)
	if err != nil {
		return nil, err
	}
	m, err := parse(raw, c.media)
	if err != nil {
		return nil, connectors.Errorf(http.StatusBadRequest, "%v", err)
	}
	if m.automated != "" {
		c.log.Info("automatic mail acknowledged, not delivered", "kind", m.automated, "message_id", m.in.PlatformID)
		return nil, nil
	}
	c.threads.remember(m)
	return []connectors.Inbound{m.in}, nil
}

// authenticate compares the shared secret, from the header or the Basic
// auth password, in constant time (over hashes, so the length does not
// leak either).
func (c *connector) authenticate(r *connectors.Request) error {
	if !c.hasHook {
		return connectors.Errorf(http.StatusUnauthorized, "the instance has no webhook_secret: its raw MIME webhook is off")
	}
	got := r.Header.Get(HeaderSecret)
	if got == "" {
		req := http.Request{Header: r.Header}
		if _, pw, ok := req.BasicAuth(); ok {
			got = pw
		}
	}
	if got == "" {
		return connectors.Errorf(http.StatusUnauthorized, "missing %s header (or Basic auth password)", HeaderSecret)
	}
	sum := sha256.Sum256([]byte(got))
	if subtle.ConstantTimeCompare(sum[:], c.secret[:]) != 1 {
		return connectors.Errorf(http.StatusUnauthorized, "wrong webhook secret")
	}
	return nil
}
