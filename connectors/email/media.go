package email

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/valyala/fasthttp"

	"github.com/switchboard-dev/switchboard/connectors"
	"github.com/switchboard-dev/switchboard/internal/httpsurface"
	"github.com/switchboard-dev/switchboard/internal/mediastore"
)

// mediaRoute is the instance's route that serves kept attachments, under
// /email/{instance}. Routes are literal paths, so the id is in the query:
// /media?id={id}&sig={hmac}.
const mediaRoute = "/media"

// MaxAttachmentBytes is the largest attachment kept, decoded; a larger
// one is listed in the attributes as skipped. A message is at most
// MaxMessageBytes anyway, and base64 makes its files smaller still.
const MaxAttachmentBytes = 10 << 20

// keyFile holds the key that signs media links, in the media directory:
// created once, it keeps links valid across restarts without depending on
// a secret the instance may not have (an IMAP-only instance has no
// webhook_secret).
const keyFile = ".link-key"

// attachStore keeps attachments in its store under ids derived from
// their content, never from the names mail gives them, and serves them.
type attachStore struct {
	*mediastore.Store
	limit int // MaxAttachmentBytes; lower in tests
}

// configStore opens the instance's media_dir, by default one under the
// system's temporary directory named for the instance, as WhatsApp's.
func configStore(cfg connectors.Config, res connectors.Resources) (*attachStore, error) {
	instance := res.Instance
	if instance == "" {
		instance = connectors.DefaultInstance
	}
	dir := cfg.String("media_dir")
	if dir == "" {
		dir = mediastore.DefaultDir(Name, instance)
	}
	s, err := newAttachStore(dir, strings.TrimRight(res.PublicURL, "/")+"/"+Name+"/"+instance+mediaRoute)
	if err != nil {
		return nil, &connectors.FieldError{Field: "media_dir", Problem: err.Error()}
	}
	return s, nil
}

func newAttachStore(dir, base string) (*attachStore, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	key, err := loadKey(filepath.Join(dir, keyFile))
	if err != nil {
		return nil, err
	}
	st, err := mediastore.New(mediastore.Options{Dir: dir, Key: key, Base: base, Valid: validID,
		NotFound: "no such attachment", Disposition: true, Missing: noAttachment})
	if err != nil {
		return nil, err
	}
	return &attachStore{Store: st, limit: MaxAttachmentBytes}, nil
}

// loadKey reads the link key, creating it when missing; of two instances
// creating it at once, the first one's is kept and read by both.
func loadKey(path string) ([]byte, error) {
	if key, err := os.ReadFile(path); err == nil && len(key) == 32 {
		return key, nil
	}
	key := make([]byte, 32)
	rand.Read(key)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		if key, err := os.ReadFile(path); err == nil && len(key) == 32 {
			return key, nil
		}
		return nil, fmt.Errorf("%s: not a link key (32 bytes): remove it to have a new one made", path)
	}
	if err != nil {
		return nil, err
	}
	if _, err := f.Write(key); err != nil {
		f.Close()
		return nil, err
	}
	return key, f.Close()
}

// validID keeps ids that cannot name anything outside the directory:
// the store's own, 32 lower-case hex digits.
func validID(id string) bool {
	if len(id) != 32 {
		return false
	}
	for i := 0; i < len(id); i++ {
		if b := id[i]; !(b >= '0' && b <= '9' || b >= 'a' && b <= 'f') {
			return false
		}
	}
	return true
}

// noAttachment answers a signed link to no kept attachment: attachments
// are kept while the message is parsed, so it will not come later.
func noAttachment(ctx *fasthttp.RequestCtx, _ string) error {
	mediastore.Error(ctx, http.StatusNotFound, "no such attachment")
	return os.ErrNotExist
}

// put keeps one attachment and returns its URL. The id hashes the type
// and name with the bytes, so a redelivered message reuses its files and
// two names for one file each keep theirs.
func (s *attachStore) put(data []byte, contentType, filename string) (string, error) {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00", contentType, filename)
	h.Write(data)
	id := hex.EncodeToString(h.Sum(nil)[:16])
	if s.Has(id) {
		return s.Link(id), nil
	}
	if err := s.Put(id, data, mediastore.Meta{ContentType: contentType, Filename: filename}); err != nil {
		return "", err
	}
	return s.Link(id), nil
}

// Routes serve the attachments customers sent, under /email/{instance}:
// GET /media?id={id}&sig={…}, the URLs an Inbound's Media holds.
func (c *connector) Routes() []httpsurface.Route {
	return c.media.Routes(mediaRoute)
}
