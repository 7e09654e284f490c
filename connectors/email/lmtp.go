package email

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/switchboard-dev/switchboard/connectors"
)

// serveLMTP takes mail from the local MTA over LMTP (RFC 2033) on addr
// until ctx ends. Each message is answered only once deliver returned:
// 250 when stored, 451 when not (the MTA keeps it and tries again), 554
// for a message no retry can make readable. It runs inside Pull, so on
// the one node holding the instance's lease; while no node listens the
// MTA queues the mail.
func (p puller) serveLMTP(ctx context.Context, deliver func(context.Context, []connectors.Inbound) error) error {
	l, err := new(net.ListenConfig).Listen(ctx, "tcp", p.lmtpAddr)
	if err != nil {
		return fmt.Errorf("email: lmtp: %w", err)
	}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) {
		return &lmtpSession{ctx: ctx, p: p, deliver: deliver}, nil
	}))
	srv.LMTP = true
	srv.Domain = p.domain
	srv.MaxMessageBytes = MaxMessageBytes
	srv.ReadTimeout, srv.WriteTimeout = 5*time.Minute, 5*time.Minute
	srv.ErrorLog = imapLog{p.log}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(l) }()
	select {
	case <-ctx.Done():
		srv.Close()
		<-done
		return ctx.Err()
	case err := <-done:
		return fmt.Errorf("email: lmtp: %w", err)
	}
}

type lmtpSession struct {
	ctx     context.Context
	p       puller
	deliver func(context.Context, []connectors.Inbound) error
}

func (s *lmtpSession) Mail(string, *smtp.MailOptions) error { return nil }

// Rcpt takes every recipient: the MTA decides which mail is ours.
func (s *lmtpSession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (s *lmtpSession) Reset()                               {}
func (s *lmtpSession) Logout() error                        { return nil }

func (s *lmtpSession) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	m, err := parse(raw, s.p.media)
	if err != nil {
		return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 6, 0}, Message: "unreadable message: " + err.Error()}
	}
	if m.automated != "" {
		s.p.log.Info("automatic mail acknowledged, not delivered", "kind", m.automated, "message_id", m.in.PlatformID)
		return nil
	}
	s.p.threads.remember(m)
	if err := s.deliver(s.ctx, []connectors.Inbound{m.in}); err != nil {
		s.p.log.Warn("lmtp: delivery failed; the MTA will try again", "message_id", m.in.PlatformID, "error", err)
		if errors.Is(err, context.Canceled) {
			return &smtp.SMTPError{Code: 421, EnhancedCode: smtp.EnhancedCode{4, 3, 2}, Message: "shutting down, try again later"}
		}
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "not stored, try again later"}
	}
	return nil
}
