package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/switchboard-dev/switchboard/runtime/store"
)

// The token API: every token has a public id, so an admin lists them and
// revokes one at a time; a worker sees and revokes its own. The secret is
// shown once, when the token is issued, and only its hash is stored.

// workerIDPattern is what a worker id may be: it appears in URL paths
// (/v1/workers/{id}/…), in logs and in flows' expressions, so it is short,
// printable and has no slash.
var workerIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$`)

// ValidWorkerID reports whether id may name a new worker.
func ValidWorkerID(id string) bool { return workerIDPattern.MatchString(id) }

func checkWorkerID(id string) error {
	if !ValidWorkerID(id) {
		return errorf(http.StatusBadRequest, "a worker id is 1 to 128 letters, digits, '.', '_', '@' or '-', starting with a letter or digit")
	}
	return nil
}

// IssueToken creates a token and returns its secret, which is not stored
// and cannot be read again: an admin token when worker is "", else one
// bound to that worker (store.ErrNotFound when there is none). A zero
// expiresAt never expires.
func IssueToken(ctx context.Context, st store.Store, worker string, expiresAt time.Time) (string, store.Token, error) {
	t := store.Token{ID: "tok_" + store.NewID(), Role: store.RoleAdmin, Subject: "admin", CreatedAt: store.Now(time.Time{}), ExpiresAt: store.Micro(expiresAt)}
	prefix := "sbk_"
	if worker != "" {
		t.Role, t.Subject, prefix = store.RoleWorker, worker, "sbw_"
	}
	secret, err := NewToken(prefix)
	if err != nil {
		return "", t, err
	}
	t.Hash = HashToken(secret)
	if err := st.CreateToken(ctx, t); err != nil {
		return "", t, err
	}
	return secret, t, nil
}

// TokenExpiry turns an expiry given as a duration from now (Go's "720h",
// or days: "30d") or as an RFC 3339 time into the time it expires; both
// empty is no expiry (zero).
func TokenExpiry(expiresIn, expiresAt string, now time.Time) (time.Time, error) {
	switch {
	case expiresIn != "" && expiresAt != "":
		return time.Time{}, errors.New("give expires_in or expires_at, not both")
	case expiresIn != "":
		d, err := time.ParseDuration(expiresIn)
		if days, ok := strings.CutSuffix(expiresIn, "d"); ok && err != nil {
			var n int
			if n, err = strconv.Atoi(days); err == nil && n <= 100*366 { // no overflow
				d = time.Duration(n) * 24 * time.Hour
			}
		}
		if err != nil || d <= 0 {
			return time.Time{}, fmt.Errorf("expires_in %q: want a positive duration such as 720h or 30d", expiresIn)
		}
		return now.Add(d), nil
	case expiresAt != "":
		t, err := time.Parse(time.RFC3339, expiresAt)
		if err != nil {
			return time.Time{}, fmt.Errorf("expires_at %q: want an RFC 3339 time such as 2027-01-31T00:00:00Z", expiresAt)
		}
		if !t.After(now) {
			return time.Time{}, fmt.Errorf("expires_at %s has passed", expiresAt)
		}
		return t, nil
	}
	return time.Time{}, nil
}

// TokenView is how the API and the CLI show a token: never its secret or
// its hash.
type TokenView struct {
	ID         string     `json:"id"`
	Role       store.Role `json:"role"`
	Worker     string     `json:"worker,omitempty"`
	CreatedAt  time.Time  `json:"created_at"`
	ExpiresAt  *time.Time `json:"expires_at"`   // null: never
	LastUsedAt *time.Time `json:"last_used_at"` // null: never; updated at most once a minute
	Expired    bool       `json:"expired,omitempty"`
}

// ViewToken is t as TokenView shows it at now.
func ViewToken(t store.Token, now time.Time) TokenView {
	v := TokenView{ID: t.ID, Role: t.Role, CreatedAt: t.CreatedAt, Expired: t.Expired(now)}
	if t.Role == store.RoleWorker {
		v.Worker = t.Subject
	}
	if !t.ExpiresAt.IsZero() {
		v.ExpiresAt = &t.ExpiresAt
	}
	if !t.LastUsedAt.IsZero() {
		v.LastUsedAt = &t.LastUsedAt
	}
	return v
}

// tokenBody is the body of POST /v1/tokens.
type tokenBody struct {
	Role      store.Role `json:"role"`
	Worker    string     `json:"worker"`
	ExpiresIn string     `json:"expires_in"`
	ExpiresAt string     `json:"expires_at"`
}

const tokenBodyHelp = `body must be JSON {"role": "admin"} or {"role": "worker", "worker": ID}, with an optional "expires_in" ("720h", "30d") or "expires_at" (RFC 3339)`

// listTokens answers every token to an admin (or one worker's:
// ?worker=ID), its own to a worker.
func (s *Server) listTokens(ctx *request, c caller, _ params) error {
	toks, err := s.cfg.Store.ListTokens(ctx)
	if err != nil {
		return err
	}
	worker := string(ctx.QueryArgs().Peek("worker"))
	if !c.admin {
		worker = c.worker
	}
	now := time.Now()
	out := []TokenView{}
	for _, t := range toks {
		if worker == "" || (t.Role == store.RoleWorker && t.Subject == worker) {
			out = append(out, ViewToken(t, now))
		}
	}
	writeJSON(ctx.RequestCtx, http.StatusOK, map[string]any{"tokens": out})
	return nil
}

func (s *Server) createToken(ctx *request, _ caller, _ params) error {
	var b tokenBody
	if err := decodeJSON(ctx, &b); err != nil {
		return err
	}
	if b.Role == "" && b.Worker != "" {
		b.Role = store.RoleWorker
	}
	switch {
	case b.Role == store.RoleAdmin && b.Worker != "":
		return errorf(http.StatusBadRequest, "an admin token names no worker: %s", tokenBodyHelp)
	case b.Role == store.RoleWorker && b.Worker == "":
		return errorf(http.StatusBadRequest, "a worker token names its worker: %s", tokenBodyHelp)
	case b.Role != store.RoleAdmin && b.Role != store.RoleWorker:
		return errorf(http.StatusBadRequest, "%s", tokenBodyHelp)
	case b.Worker != "":
		if err := checkWorkerID(b.Worker); err != nil {
			return err
		}
	}
	now := time.Now()
	expires, err := TokenExpiry(b.ExpiresIn, b.ExpiresAt, now)
	if err != nil {
		return errorf(http.StatusBadRequest, "%v", err)
	}
	secret, tok, err := IssueToken(ctx, s.cfg.Store, b.Worker, expires)
	if errors.Is(err, store.ErrNotFound) {
		return errorf(http.StatusNotFound, "no worker %q", b.Worker)
	}
	if err != nil {
		return err
	}
	writeJSON(ctx.RequestCtx, http.StatusCreated, struct {
		TokenView
		Token string `json:"token"`
	}{ViewToken(tok, now), secret})
	return nil
}

func (s *Server) revokeToken(ctx *request, c caller, p params) error {
	id := p[0]
	if !c.admin {
		// A worker revokes its own tokens; another's is not found, so
		// ids cannot be probed.
		if !s.ownsToken(ctx, c.worker, id) {
			return errorf(http.StatusNotFound, "no token %q", id)
		}
	}
	if err := s.cfg.Store.DeleteToken(ctx, id); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return errorf(http.StatusNotFound, "no token %q", id)
		}
		return err
	}
	s.used.forget(id)
	ctx.SetStatusCode(http.StatusNoContent)
	return nil
}

func (s *Server) ownsToken(ctx context.Context, worker, id string) bool {
	toks, err := s.cfg.Store.ListTokens(ctx)
	if err != nil {
		return false
	}
	for _, t := range toks {
		if t.ID == id {
			return t.Role == store.RoleWorker && t.Subject == worker
		}
	}
	return false
}

// tokenGone says why the token with that hash no longer authenticates, or
// "" while it does. A store that fails to answer does not end a stream:
// the stream's next read of the event log fails too, or the next check
// decides.
func (s *Server) tokenGone(hash string) string {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return tokenVerdict(s.cfg.Store.LookupToken(ctx, hash))
}

// tokenVerdict is why a stream holding tok, as a lookup found it, must
// end, or "".
func tokenVerdict(tok store.Token, err error) string {
	switch {
	case errors.Is(err, store.ErrNotFound):
		return "token revoked"
	case err != nil:
		return ""
	case tok.Expired(time.Now()):
		return "token expired"
	}
	return ""
}

// tokenSnapshotAge is how old the list of live tokens that idle streams
// check their tokens against may be: a revoked token's idle stream ends
// within streamPing and this.
const tokenSnapshotAge = 5 * time.Second

// tokenSnapshot is every live token by hash, read at once for the idle
// streams' checks: twenty thousand streams pinging every 30 s would
// otherwise look up hundreds of tokens a second.
type tokenSnapshot struct {
	mu      sync.Mutex
	at      time.Time
	byHash  map[string]store.Token
	loading chan struct{} // closed when the read in flight ends; nil when none is
}

// idleTokenGone is tokenGone for a stream's periodic check: against the
// snapshot, read again when older than tokenSnapshotAge; a token it does
// not hold (issued since, or revoked) is looked up.
func (s *Server) idleTokenGone(hash string) string {
	tokens := s.liveTokens()
	if tok, ok := tokens[hash]; ok {
		return tokenVerdict(tok, nil)
	}
	return s.tokenGone(hash)
}

// liveTokens returns the snapshot, read again if stale by one caller while
// the others wait for it; nil if the store fails to list them.
func (s *Server) liveTokens() map[string]store.Token {
	ts := &s.tokenSnap
	ts.mu.Lock()
	for ts.loading != nil {
		ch := ts.loading
		ts.mu.Unlock()
		<-ch
		ts.mu.Lock()
	}
	if ts.byHash != nil && time.Since(ts.at) < tokenSnapshotAge {
		defer ts.mu.Unlock()
		return ts.byHash
	}
	ch := make(chan struct{})
	ts.loading = ch
	ts.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	at := time.Now()
	list, err := s.cfg.Store.ListTokens(ctx)
	var byHash map[string]store.Token
	if err == nil {
		byHash = make(map[string]store.Token, len(list))
		for _, t := range list {
			byHash[t.Hash] = t
		}
	}
	ts.mu.Lock()
	ts.byHash, ts.at, ts.loading = byHash, at, nil
	ts.mu.Unlock()
	close(ch)
	return byHash
}

// touchEvery is how often a token's last_used_at is written at most: an
// admin wants to know which tokens are in use, not each request, and a
// write per request would cost the agent API a commit each.
const touchEvery = time.Minute

// tokenUse throttles and batches the writes of tokens' last use: at most
// one per token per touchEvery, written in the background, so that
// authenticating a request adds no write to it.
type tokenUse struct {
	mu       sync.Mutex
	written  map[string]time.Time // token id → the last use written (or read)
	pending  map[string]time.Time // to write
	flushing bool
}

// tokenUsed records that tok authenticated a request at now.
func (s *Server) tokenUsed(tok store.Token, now time.Time) {
	u := &s.used
	u.mu.Lock()
	defer u.mu.Unlock()
	last := u.written[tok.ID]
	if tok.LastUsedAt.After(last) {
		last = tok.LastUsedAt // written by another node, or before a restart
	}
	if now.Sub(last) < touchEvery {
		return
	}
	if u.written == nil {
		u.written = map[string]time.Time{}
	}
	if u.pending == nil {
		u.pending = map[string]time.Time{}
	}
	u.written[tok.ID], u.pending[tok.ID] = now, now
	// The flush counts as work in flight, so a shutdown writes it before
	// it closes the store; the request calling this holds the gate, so
	// hold fails only once the drain has given up on waiting.
	if !u.flushing {
		if _, ok := s.gate.hold(false); ok {
			u.flushing = true
			go func() {
				defer s.gate.release()
				s.flushTokenUse()
			}()
		}
	}
}

// flushTokenUse writes the pending uses until there are none left.
func (s *Server) flushTokenUse() {
	u := &s.used
	for {
		u.mu.Lock()
		batch := u.pending
		u.pending = nil
		if len(batch) == 0 {
			u.flushing = false
			u.mu.Unlock()
			return
		}
		u.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := s.cfg.Store.TouchTokens(ctx, batch)
		cancel()
		if err != nil && !errors.Is(err, store.ErrClosed) {
			// Not worth more: the next use a minute later writes again.
			s.log.Warn("recording tokens' last use", "tokens", len(batch), "err", err)
		}
	}
}

func (u *tokenUse) forget(id string) {
	u.mu.Lock()
	delete(u.written, id)
	u.mu.Unlock()
}
