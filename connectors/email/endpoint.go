package email

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/url"
	"strings"

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
