package line

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/switchboard-dev/switchboard/connectors"
	"github.com/switchboard-dev/switchboard/internal/httpsurface"
	"github.com/switchboard-dev/switchboard/internal/mediastore"
)

// contentRoute is the instance's route that serves the content of the
// customers' messages, under /line/{instance}. Routes are literal paths,
// so the message id is in the query: /content?id={message-id}&sig={hmac}.
const contentRoute = "/content"

// Limits of the content fetches.
const (
	// MaxContentBytes is the largest content kept: LINE takes files up to
	// 300 MB from its apps, media far less.
	MaxContentBytes = 300 << 20
	// fetchers bounds the downloads under way at once.
	fetchers = 4
	// fetchAttempts is how many times a content's fetch is tried after
	// temporary failures (a video LINE is still preparing answers 202).
	fetchAttempts = 5
	// firstFetchBackoff doubles after each failed attempt.
	firstFetchBackoff = time.Second
	// serveTimeout bounds the fetch a request for content not kept yet
	// waits for.
	serveTimeout = time.Minute
)

// contentStore fetches the content of the customers' messages from
// LINE's data host into dir, in the background as soon as a message
// arrives (LINE keeps content for a limited time, and only hands it out
// with the access token), and serves it.
type contentStore struct {
	*mediastore.Store
	dataURL string
	token   string
	http    *http.Client
	log     *slog.Logger
	fetcher *mediastore.Fetcher
}

// newContentStore opens dir; key signs content links: message ids are
// guessable, the files private. base is the content route's URL, without
// query.
func newContentStore(dir, dataURL, token string, client *http.Client, log *slog.Logger, key []byte, base string) (*contentStore, error) {
	s := &contentStore{dataURL: dataURL, token: token, http: client, log: log}
	st, err := mediastore.New(mediastore.Options{Dir: dir, Key: key, Base: base, Valid: validMessageID,
		NotFound: "no such content", Missing: s.fetchNow})
	if err != nil {
		return nil, err
	}
	s.Store = st
	s.fetcher = st.NewFetcher(mediastore.FetchOptions{Fetch: s.fetchOnce, Workers: fetchers,
		Attempts: fetchAttempts, Backoff: firstFetchBackoff,
		Failed: func(id string, attempts int, err error) {
			log.Error("content not fetched", "message_id", id, "attempts", attempts, "err", err)
		}})
	return s, nil
}

// link is the URL of a message's content on the instance's route.
func (s *contentStore) link(id string) string { return s.Link(id) }

// validMessageID keeps LINE's ids (digits): nothing that could name a
// file outside the directory or change the data host's path.
func validMessageID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for i := 0; i < len(id); i++ {
		if id[i] < '0' || id[i] > '9' {
			return false
		}
	}
	return true
}

// fetch starts fetching message id's content in the background, unless
// it is kept or being fetched already. It does not block.
func (s *contentStore) fetch(id string) { _ = s.fetcher.Start(id) }

// errGone: LINE no longer keeps the content (or never had it).
var errGone = connectors.Permanent(fmt.Errorf("line: %w", os.ErrNotExist))

// fetchOnce downloads the content into the directory, atomically: the
// file, then its content type beside it.
func (s *contentStore) fetchOnce(ctx context.Context, id string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.dataURL+"/v2/bot/message/"+id+"/content", nil)
	if err != nil {
		return connectors.Permanent(err)
	}
	req.Header.Set("Authorization", "Bearer "+s.token)
	res, err := s.http.Do(req)
	if err != nil {
		return errorf("content %s: %w", id, err)
	}
	defer res.Body.Close()
	switch {
	case res.StatusCode == http.StatusNotFound || res.StatusCode == http.StatusGone:
		return errGone
	case res.StatusCode == http.StatusAccepted, res.StatusCode == http.StatusTooManyRequests, res.StatusCode >= 500:
		return errorf("content %s: LINE answered %d", id, res.StatusCode)
	case res.StatusCode/100 != 2:
		return connectors.Permanent(errorf("content %s: LINE answered %d", id, res.StatusCode))
	}
	data, err := io.ReadAll(io.LimitReader(res.Body, MaxContentBytes+1))
	if err != nil {
		return errorf("content %s: %w", id, err)
	}
	if len(data) > MaxContentBytes {
		return connectors.Permanent(errorf("content %s: larger than %d bytes", id, MaxContentBytes))
	}
	ct := res.Header.Get("Content-Type")
	if ct == "" {
		ct = "application/octet-stream"
	}
	return connectors.Permanent(s.Put(id, data, mediastore.Meta{ContentType: ct}))
}

func (s *contentStore) close() { s.fetcher.Close() }

// fetchNow answers a link to content not kept yet: the background fetch
// may still be waiting, so it fetches it at once; 404 when LINE no
// longer has it, 502 when LINE fails.
func (s *contentStore) fetchNow(ctx *fasthttp.RequestCtx, id string) error {
	fctx, cancel := context.WithTimeout(context.Background(), serveTimeout)
	err := s.fetchOnce(fctx, id)
	cancel()
	switch {
	case err == errGone:
		mediastore.Error(ctx, http.StatusNotFound, "content no longer kept by LINE")
	case err != nil:
		s.log.Error("content not served", "message_id", id, "err", err)
		// Error resets the headers: Retry-After goes after it.
		mediastore.Error(ctx, http.StatusBadGateway, "content not fetched from LINE")
		ctx.Response.Header.Set("Retry-After", "5")
	}
	return err
}

// Routes serve the content customers sent, under /line/{instance}:
// GET /content?id={message-id}&sig={…}, the URL an Inbound's Media holds.
func (c *connector) Routes() []httpsurface.Route {
	return c.content.Routes(contentRoute)
}

// Close stops the content fetches under way and waits for them.
func (c *connector) Close(context.Context) error {
	c.content.close()
	return nil
}
