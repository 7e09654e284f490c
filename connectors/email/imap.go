package email

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/emersion/go-imap"
	"github.com/emersion/go-imap/client"

	"github.com/switchboard-dev/switchboard/connectors"
)

// cursor is where Pull stands in the mailbox: the UIDVALIDITY it read
// and the last UID it dealt with. It lives in memory only: after a
// restart Pull starts over from the unseen messages, and the runtime's
// dedupe on Message-ID makes a redelivery harmless.
type cursor struct {
	validity uint32
	last     uint32
}

// fetchBatch is how many messages one FETCH asks for.
const fetchBatch = 20

// Pull fetches the mailbox's new messages, and takes the local MTA's on
// lmtp_addr, until ctx ends or one of them fails; see connectors.Puller
// and the package documentation.
func (p puller) Pull(ctx context.Context, deliver func(ctx context.Context, in []connectors.Inbound) error) error {
	p.pullMu.Lock()
	defer p.pullMu.Unlock()
	switch {
	case p.imap == nil:
		return p.serveLMTP(ctx, deliver)
	case p.lmtpAddr == "":
		return p.pullIMAP(ctx, deliver)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make(chan error, 2)
	go func() { errs <- p.serveLMTP(ctx, deliver) }()
	go func() { errs <- p.pullIMAP(ctx, deliver) }()
	err := <-errs
	cancel()
	<-errs
	return err
}

// pullIMAP fetches the mailbox's new messages until ctx ends.
func (p puller) pullIMAP(ctx context.Context, deliver func(ctx context.Context, in []connectors.Inbound) error) error {
	cl, changed, stop, err := p.login(ctx)
	if err != nil {
		return err
	}
	defer stop()
	defer cl.Logout()
	status, err := cl.Select(p.imap.path, false)
	if err != nil {
		return fmt.Errorf("email: select %q: %w", p.imap.path, err)
	}
	if status.UidValidity != p.mailbox.validity {
		// The server renumbered the mailbox: the old UIDs mean nothing,
		// so every unseen message is fetched again.
		p.mailbox = cursor{validity: status.UidValidity}
	}
	for {
		if err := p.fetchNew(ctx, cl, deliver); err != nil {
			return err
		}
		if err := p.wait(ctx, cl, changed); err != nil {
			return err
		}
	}
}

// login connects, upgrades to TLS as the URL says, and logs in.
func (p puller) login(ctx context.Context) (*client.Client, chan struct{}, func() bool, error) {
	ep := p.imap
	conn, stop, err := ep.dial(ctx)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("email: imap: %w", err)
	}
	cl, err := client.New(conn)
	if err != nil {
		stop()
		conn.Close()
		return nil, nil, nil, fmt.Errorf("email: imap greeting: %w", err)
	}
	cl.ErrorLog = imapLog{p.log}
	updates := make(chan client.Update, 16)
	cl.Updates = updates
	changed := make(chan struct{}, 1)
	// The client blocks its reader on a full Updates channel: keep it
	// drained, remembering only that the mailbox changed.
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case u := <-updates:
				if _, ok := u.(*client.MailboxUpdate); ok {
					select {
					case changed <- struct{}{}:
					default:
					}
				}
			}
		}
	}()
	fail := func(err error) (*client.Client, chan struct{}, func() bool, error) {
		stop()
		cl.Terminate()
		return nil, nil, nil, err
	}
	if !ep.tls {
		ok, err := cl.SupportStartTLS()
		switch {
		case err != nil:
			return fail(fmt.Errorf("email: imap: %w", err))
		case ok:
			if err := cl.StartTLS(ep.tlsConfig()); err != nil {
				return fail(fmt.Errorf("email: imap STARTTLS: %w", err))
			}
		case !ep.loopback():
			return fail(fmt.Errorf("email: imap: %s offers no STARTTLS: use imaps://", ep.addr))
		}
	}
	if err := cl.Login(ep.user, ep.password); err != nil {
		return fail(fmt.Errorf("email: imap login as %q: %w", ep.user, err))
	}
	return cl, changed, stop, nil
}

// fetchNew delivers the unseen messages above the cursor, oldest first,
// one deliver call each, and marks each \Seen once deliver returned.
func (p puller) fetchNew(ctx context.Context, cl *client.Client, deliver func(context.Context, []connectors.Inbound) error) error {
	crit := imap.NewSearchCriteria()
	crit.WithoutFlags = []string{imap.SeenFlag}
	if p.mailbox.last > 0 {
		crit.Uid = new(imap.SeqSet)
		crit.Uid.AddRange(p.mailbox.last+1, 0)
	}
	uids, err := cl.UidSearch(crit)
	if err != nil {
		return fmt.Errorf("email: imap search: %w", err)
	}
	// "n:*" always matches the highest UID, even below n.
	uids = slices.DeleteFunc(uids, func(u uint32) bool { return u <= p.mailbox.last })
	slices.Sort(uids)
	for len(uids) > 0 {
		n := min(len(uids), fetchBatch)
		if err := p.fetchBatch(ctx, cl, uids[:n], deliver); err != nil {
			return err
		}
		uids = uids[n:]
	}
	return nil
}

func (p puller) fetchBatch(ctx context.Context, cl *client.Client, uids []uint32, deliver func(context.Context, []connectors.Inbound) error) error {
	set := new(imap.SeqSet)
	set.AddNum(uids...)
	section := &imap.BodySectionName{Peek: true}
	ch := make(chan *imap.Message, len(uids))
	if err := cl.UidFetch(set, []imap.FetchItem{imap.FetchUid, imap.FetchRFC822Size, section.FetchItem()}, ch); err != nil {
		return fmt.Errorf("email: imap fetch: %w", err)
	}
	var msgs []*imap.Message
	for m := range ch {
		msgs = append(msgs, m)
	}
	slices.SortFunc(msgs, func(a, b *imap.Message) int { return int(a.Uid) - int(b.Uid) })
	for _, m := range msgs {
		if err := p.take(ctx, cl, m, section, deliver); err != nil {
			return err
		}
		p.mailbox.last = max(p.mailbox.last, m.Uid)
	}
	return nil
}

// take delivers one fetched message, then marks it \Seen. Automatic mail
// is marked \Seen undelivered; a message too large or unreadable is left
// unseen for a person to look at, and passed over.
func (p puller) take(ctx context.Context, cl *client.Client, m *imap.Message, section *imap.BodySectionName, deliver func(context.Context, []connectors.Inbound) error) error {
	lit := m.GetBody(section)
	if lit == nil || m.Size > MaxMessageBytes {
		p.log.Warn("mail left unseen: too large or without a body", "uid", m.Uid, "size", m.Size)
		return nil
	}
	raw, err := io.ReadAll(io.LimitReader(lit, MaxMessageBytes))
	if err != nil {
		return fmt.Errorf("email: imap read uid %d: %w", m.Uid, err)
	}
	pm, err := parse(raw, p.media)
	if err != nil {
		p.log.Warn("mail left unseen: unreadable", "uid", m.Uid, "error", err)
		return nil
	}
	if pm.automated != "" {
		p.log.Info("automatic mail acknowledged, not delivered", "kind", pm.automated, "message_id", pm.in.PlatformID)
	} else {
		p.threads.remember(pm)
		if err := deliver(ctx, []connectors.Inbound{pm.in}); err != nil {
			return fmt.Errorf("email: deliver uid %d: %w", m.Uid, err)
		}
	}
	set := new(imap.SeqSet)
	set.AddNum(m.Uid)
	if err := cl.UidStore(set, imap.FormatFlagsOp(imap.AddFlags, true), []any{imap.SeenFlag}, nil); err != nil {
		return fmt.Errorf("email: imap mark uid %d seen: %w", m.Uid, err)
	}
	return nil
}

// idleRestart re-issues IDLE before servers drop an idle client (RFC 2177
// allows 30 minutes of inactivity).
const idleRestart = 25 * time.Minute

// wait returns when the mailbox may have new mail: the server said so
// during IDLE, or poll_interval passed (with IDLE too: a missed
// notification costs no more than one interval).
func (p puller) wait(ctx context.Context, cl *client.Client, changed chan struct{}) error {
	select {
	case <-changed: // news of messages fetchNew has already seen
	default:
	}
	idle, err := cl.Support("IDLE")
	if err != nil {
		return fmt.Errorf("email: imap: %w", err)
	}
	timer := time.NewTimer(p.poll)
	defer timer.Stop()
	if !idle {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-timer.C:
			return cl.Noop()
		}
	}
	stop := make(chan struct{})
	done := make(chan error, 1)
	go func() { done <- cl.Idle(stop, &client.IdleOptions{LogoutTimeout: idleRestart}) }()
	select {
	case <-ctx.Done():
		close(stop)
		<-done
		return ctx.Err()
	case err := <-done:
		return fmt.Errorf("email: imap idle: %w", err)
	case <-changed:
	case <-timer.C:
	}
	close(stop)
	if err := <-done; err != nil {
		return fmt.Errorf("email: imap idle: %w", err)
	}
	return nil
}

// imapLog puts the IMAP client's own messages in the instance's log at
// debug level: they are mostly the reader noticing the connection closed
// when Pull ends, and Pull returns the errors that matter.
type imapLog struct{ log *slog.Logger }

func (l imapLog) Printf(format string, v ...any) {
	l.log.Debug("imap client: " + fmt.Sprintf(format, v...))
}
func (l imapLog) Println(v ...any) {
	l.log.Debug("imap client: " + strings.TrimSuffix(fmt.Sprintln(v...), "\n"))
}
