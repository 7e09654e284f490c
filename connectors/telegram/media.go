package telegram

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"path"
	"time"

	"github.com/go-telegram/bot"

	"github.com/switchboard-dev/switchboard/connectors"
	"github.com/switchboard-dev/switchboard/internal/httpsurface"
	"github.com/switchboard-dev/switchboard/internal/mediastore"
)

// mediaRoute is the instance's route that serves fetched files, under
// /telegram/{instance}: /media?id={file_id}&sig={hmac}.
const mediaRoute = "/media"

// Limits of the media fetches.
const (
	// MaxMediaBytes is the largest file kept: the Bot API lets bots
	// download files of at most 20 MB.
	MaxMediaBytes = 20 << 20
	// fetchers bounds the downloads under way at once.
	fetchers = 4
	// maxPending bounds the files waiting to be fetched: beyond it a
	// file is not fetched (its link answers 404) rather than piling up.
	maxPending = 1000
	// fetchAttempts is how many times a file's fetch is tried after
	// temporary failures.
	fetchAttempts = 4
	// firstFetchBackoff doubles after each failed attempt.
	firstFetchBackoff = time.Second
)

// mediaStore fetches files from Telegram into its store and serves them.
// The Bot API's download URL holds the bot's token, so it never leaves
// the store.
type mediaStore struct {
	*mediastore.Store
	bot     *bot.Bot
	http    *http.Client
	log     *slog.Logger
	fetcher *mediastore.Fetcher
}

// newMediaStore opens dir; key signs links: a file_id is no secret to the
// chat's members. base is the media route's URL, without query. Fetches
// run with run, which ends them when the connector closes.
func newMediaStore(dir string, b *bot.Bot, client *http.Client, log *slog.Logger, key []byte, base string,
	run func(func(context.Context)) bool) (*mediaStore, error) {
	// Files are named by a hash of their id: ids are long.
	st, err := mediastore.New(mediastore.Options{Dir: dir, Key: key, Base: base, Valid: validFileID, HashNames: true})
	if err != nil {
		return nil, err
	}
	s := &mediaStore{Store: st, bot: b, http: client, log: log}
	s.fetcher = st.NewFetcher(mediastore.FetchOptions{Fetch: s.fetchOnce, Workers: fetchers,
		Attempts: fetchAttempts, Backoff: firstFetchBackoff, MaxPending: maxPending, Go: run,
		Failed: func(id string, attempts int, err error) {
			log.Error("telegram: file not fetched", "file_id", id, "attempts", attempts, "err", err)
		}})
	return s, nil
}

// validFileID keeps ids that are safe in a link: Telegram's are base64url.
func validFileID(id string) bool { return len(id) <= 256 && mediastore.SafeID(id) }

// fetch starts fetching the file in the background, unless it is kept or
// being fetched, and returns its link on the instance's route; false for
// an id that cannot be served. It does not block.
func (s *mediaStore) fetch(id string) (string, bool) {
	if !validFileID(id) {
		s.log.Warn("telegram: a file_id that is not base64url, not fetched", "file_id", id)
		return "", false
	}
	if errors.Is(s.fetcher.Start(id), mediastore.ErrBusy) {
		s.log.Warn("telegram: too many files waiting to be fetched, this one is not", "file_id", id)
	}
	return s.Link(id), true
}

// fetchOnce asks getFile for the file's path (valid for an hour) and
// downloads it into the directory, atomically.
func (s *mediaStore) fetchOnce(ctx context.Context, id string) error {
	f, err := s.bot.GetFile(ctx, &bot.GetFileParams{FileID: id})
	if err != nil {
		return classify(err, "")
	}
	if f.FilePath == "" {
		return connectors.Permanent(errorf("file %s: getFile gave no file_path", id))
	}
	if f.FileSize > MaxMediaBytes {
		return connectors.Permanent(errorf("file %s: %d bytes, beyond the Bot API's 20 MB", id, f.FileSize))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.bot.FileDownloadLink(f), nil)
	if err != nil {
		return connectors.Permanent(errorf("file %s: %v", id, err))
	}
	resp, err := s.http.Do(req)
	if err != nil {
		// The error's URL holds the token.
		return errorf("file %s: download failed", id)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		err := errorf("file %s: download answered %d", id, resp.StatusCode)
		if resp.StatusCode >= 400 && resp.StatusCode < 500 && resp.StatusCode != http.StatusTooManyRequests {
			return connectors.Permanent(err)
		}
		return err
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, MaxMediaBytes+1))
	if err != nil {
		return errorf("file %s: download cut short: %v", id, err)
	}
	if len(data) > MaxMediaBytes {
		return connectors.Permanent(errorf("file %s: larger than 20 MB", id))
	}
	ct := mime.TypeByExtension(path.Ext(f.FilePath))
	if ct == "" {
		ct = http.DetectContentType(data)
	}
	if err := s.Put(id, data, mediastore.Meta{ContentType: ct}); err != nil {
		return connectors.Permanent(fmt.Errorf("telegram: keeping a file: %w", err))
	}
	return nil
}

// Routes serve the files customers sent, under /telegram/{instance}:
// GET /media?id={file_id}&sig={…}, the URL an Inbound's Media holds.
func (c *connector) Routes() []httpsurface.Route {
	return c.media.Routes(mediaRoute)
}
