package whatsapp

import (
	"context"
	"log/slog"
	"time"

	"github.com/switchboard-dev/switchboard/connectors"
	"github.com/switchboard-dev/switchboard/connectors/meta/graph"
	"github.com/switchboard-dev/switchboard/internal/httpsurface"
	"github.com/switchboard-dev/switchboard/internal/mediastore"
)

// mediaRoute is the instance's route that serves fetched media, under
// /whatsapp_cloud/{instance}. Routes are literal paths, so the media id is
// in the query: /media?id={media-id}&sig={hmac}.
const mediaRoute = "/media"

// Limits of the media fetches.
const (
	// MaxMediaBytes is the largest media kept: WhatsApp's limit for
	// documents is 100 MB.
	MaxMediaBytes = 100 << 20
	// fetchers bounds the downloads under way at once.
	fetchers = 4
	// fetchAttempts is how many times a media's fetch is tried after
	// temporary failures.
	fetchAttempts = 4
	// firstFetchBackoff doubles after each failed attempt.
	firstFetchBackoff = time.Second
)

// mediaStore fetches media from Meta into its store and serves them.
type mediaStore struct {
	*mediastore.Store
	client  *graph.Client
	fetcher *mediastore.Fetcher
}

// newMediaStore opens dir; key signs media links: ids are guessable, the
// files private. base is the media route's URL, without query.
func newMediaStore(dir string, client *graph.Client, log *slog.Logger, key []byte, base string) (*mediaStore, error) {
	st, err := mediastore.New(mediastore.Options{Dir: dir, Key: key, Base: base, Valid: validMediaID,
		NotFound: "no such media", NotYet: "media not fetched yet"})
	if err != nil {
		return nil, err
	}
	s := &mediaStore{Store: st, client: client}
	s.fetcher = st.NewFetcher(mediastore.FetchOptions{Fetch: s.fetchOnce, Workers: fetchers,
		Attempts: fetchAttempts, Backoff: firstFetchBackoff,
		Failed: func(id string, attempts int, err error) {
			log.Error("media not fetched", "media_id", id, "attempts", attempts, "err", err)
		}})
	return s, nil
}

// validMediaID keeps ids that cannot name anything outside the media
// directory: Meta's are digits.
func validMediaID(id string) bool { return len(id) <= 128 && mediastore.SafeID(id) }

// link is the URL of a media on the instance's route.
func (s *mediaStore) link(id string) string { return s.Link(id) }

// fetch starts fetching media id in the background, unless it is kept or
// being fetched already. It does not block.
func (s *mediaStore) fetch(id string) { _ = s.fetcher.Start(id) }

// fetchOnce looks the media up (its URL is valid for minutes only) and
// downloads it into the directory, atomically.
func (s *mediaStore) fetchOnce(ctx context.Context, id string) error {
	var meta struct {
		URL      string `json:"url"`
		MimeType string `json:"mime_type"`
	}
	if err := s.client.Get(ctx, id, &meta); err != nil {
		return err
	}
	if meta.URL == "" {
		return connectors.Permanent(errorf("media %s: Meta gave no URL", id))
	}
	data, ct, err := s.client.Download(ctx, meta.URL, MaxMediaBytes)
	if err != nil {
		return err
	}
	if meta.MimeType != "" {
		ct = meta.MimeType
	}
	return connectors.Permanent(s.Put(id, data, mediastore.Meta{ContentType: ct}))
}

func (s *mediaStore) close() { s.fetcher.Close() }

// Routes serve the media customers sent, under /whatsapp_cloud/{instance}:
// GET /media?id={media-id}&sig={…}, the URL an Inbound's Media holds.
func (c *connector) Routes() []httpsurface.Route {
	return c.media.Routes(mediaRoute)
}
