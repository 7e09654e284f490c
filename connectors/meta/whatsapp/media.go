package whatsapp

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/switchboard-dev/switchboard/connectors"
	"github.com/switchboard-dev/switchboard/connectors/meta/graph"
	"github.com/switchboard-dev/switchboard/internal/httpsurface"
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

// mediaStore fetches media from Meta into dir and serves them.
type mediaStore struct {
	dir    string
	client *graph.Client
	log    *slog.Logger
	key    []byte // signs media links: ids are guessable, the files private
	base   string // the media route's URL, without query

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	slots  chan struct{}

	mu      sync.Mutex
	pending map[string]bool
	closed  bool
}

func newMediaStore(dir string, client *graph.Client, log *slog.Logger, key []byte, base string) *mediaStore {
	ctx, cancel := context.WithCancel(context.Background())
	return &mediaStore{dir: dir, client: client, log: log, key: key, base: base, ctx: ctx, cancel: cancel,
		slots: make(chan struct{}, fetchers), pending: map[string]bool{}}
}

// validMediaID keeps ids that cannot name anything outside the media
// directory: Meta's are digits.
func validMediaID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for i := 0; i < len(id); i++ {
		b := id[i]
		if !(b >= '0' && b <= '9' || b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b == '_' || b == '-') {
			return false
		}
	}
	return true
}

// link is the URL of a media on the instance's route.
func (s *mediaStore) link(id string) string {
	return s.base + "?" + url.Values{"id": {id}, "sig": {s.sign(id)}}.Encode()
}

func (s *mediaStore) sign(id string) string {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte(id))
	return hex.EncodeToString(m.Sum(nil)[:16])
}

func (s *mediaStore) path(id string) string { return filepath.Join(s.dir, id) }

// fetch starts fetching media id in the background, unless it is kept or
// being fetched already. It does not block.
func (s *mediaStore) fetch(id string) {
	if _, err := os.Stat(s.path(id)); err == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || s.pending[id] {
		return
	}
	s.pending[id] = true
	s.wg.Add(1)
	go s.run(id)
}

func (s *mediaStore) run(id string) {
	defer s.wg.Done()
	defer func() {
		s.mu.Lock()
		delete(s.pending, id)
		s.mu.Unlock()
	}()
	select {
	case s.slots <- struct{}{}:
		defer func() { <-s.slots }()
	case <-s.ctx.Done():
		return
	}
	wait := firstFetchBackoff
	for attempt := 1; ; attempt++ {
		err := s.fetchOnce(id)
		if err == nil {
			return
		}
		if connectors.IsPermanent(err) || attempt == fetchAttempts || s.ctx.Err() != nil {
			s.log.Error("media not fetched", "media_id", id, "attempts", attempt, "err", err)
			return
		}
		if d, ok := connectors.RetryDelay(err); ok && d > wait {
			wait = d
		}
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-s.ctx.Done():
			t.Stop()
			return
		}
		wait *= 2
	}
}

// fetchOnce looks the media up (its URL is valid for minutes only) and
// downloads it into the directory, atomically.
func (s *mediaStore) fetchOnce(id string) error {
	var meta struct {
		URL      string `json:"url"`
		MimeType string `json:"mime_type"`
	}
	if err := s.client.Get(s.ctx, id, &meta); err != nil {
		return err
	}
	if meta.URL == "" {
		return connectors.Permanent(errorf("media %s: Meta gave no URL", id))
	}
	data, ct, err := s.client.Download(s.ctx, meta.URL, MaxMediaBytes)
	if err != nil {
		return err
	}
	if meta.MimeType != "" {
		ct = meta.MimeType
	}
	if err := writeAtomic(s.path(id)+".type", []byte(ct)); err != nil {
		return connectors.Permanent(err)
	}
	return connectors.Permanent(writeAtomic(s.path(id), data))
}

func writeAtomic(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".fetch-*")
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(f.Name())
		return err
	}
	if err := f.Close(); err != nil {
		os.Remove(f.Name())
		return err
	}
	if err := os.Rename(f.Name(), path); err != nil {
		os.Remove(f.Name())
		return err
	}
	return nil
}

func (s *mediaStore) close() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.cancel()
	s.wg.Wait()
}

// serve answers the media route: the file with its content type once
// fetched, 404 before (or for an id or signature that names nothing).
func (s *mediaStore) serve(ctx *fasthttp.RequestCtx) {
	id := string(ctx.QueryArgs().Peek("id"))
	sig := string(ctx.QueryArgs().Peek("sig"))
	if !validMediaID(id) || !hmac.Equal([]byte(sig), []byte(s.sign(id))) {
		ctx.Error("no such media", http.StatusNotFound)
		return
	}
	data, err := os.ReadFile(s.path(id))
	if err != nil {
		ctx.Response.Header.Set("Retry-After", "2")
		ctx.Error("media not fetched yet", http.StatusNotFound)
		return
	}
	ct, _ := os.ReadFile(s.path(id) + ".type")
	if len(ct) == 0 {
		ct = []byte("application/octet-stream")
	}
	ctx.Response.Header.SetContentTypeBytes(ct)
	ctx.Response.Header.Set("Cache-Control", "private, max-age=86400")
	ctx.Response.Header.Set("X-Content-Type-Options", "nosniff")
	ctx.Response.Header.Set("Content-Security-Policy", "sandbox")
	if ctx.IsHead() {
		ctx.Response.Header.SetContentLength(len(data))
		return
	}
	ctx.SetBody(data)
}

// Routes serve the media customers sent, under /whatsapp_cloud/{instance}:
// GET /media?id={media-id}&sig={…}, the URL an Inbound's Media holds.
func (c *connector) Routes() []httpsurface.Route {
	return []httpsurface.Route{
		{Method: http.MethodGet, Path: mediaRoute, Handler: c.media.serve},
		{Method: http.MethodHead, Path: mediaRoute, Handler: c.media.serve},
	}
}
