package email

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/valyala/fasthttp"

	"github.com/switchboard-dev/switchboard/connectors"
	"github.com/switchboard-dev/switchboard/internal/httpsurface"
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

// attachStore keeps attachments in dir under ids derived from their
// content, never from the names mail gives them, and serves them.
type attachStore struct {
	dir   string
	key   []byte
	base  string // the media route's URL, without query
	limit int    // MaxAttachmentBytes; lower in tests
}

// attachMeta is what is kept beside an attachment's bytes.
type attachMeta struct {
	ContentType string `json:"content_type"`
	Filename    string `json:"filename"`
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
		dir = filepath.Join(os.TempDir(), "switchboard-"+Name+"-"+instance)
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
	return &attachStore{dir: dir, key: key, base: base, limit: MaxAttachmentBytes}, nil
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

func (s *attachStore) sign(id string) string {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte(id))
	return hex.EncodeToString(m.Sum(nil)[:16])
}

// link is the URL of an attachment on the instance's route.
func (s *attachStore) link(id string) string {
	return s.base + "?" + url.Values{"id": {id}, "sig": {s.sign(id)}}.Encode()
}

func (s *attachStore) path(id string) string { return filepath.Join(s.dir, id) }

// put keeps one attachment and returns its URL. The id hashes the type
// and name with the bytes, so a redelivered message reuses its files and
// two names for one file each keep theirs.
func (s *attachStore) put(data []byte, contentType, filename string) (string, error) {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00", contentType, filename)
	h.Write(data)
	id := hex.EncodeToString(h.Sum(nil)[:16])
	if _, err := os.Stat(s.path(id)); err == nil {
		return s.link(id), nil
	}
	meta, _ := json.Marshal(attachMeta{ContentType: contentType, Filename: filename})
	if err := writeAtomic(s.path(id)+".json", meta); err != nil {
		return "", err
	}
	if err := writeAtomic(s.path(id), data); err != nil {
		return "", err
	}
	return s.link(id), nil
}

func writeAtomic(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".put-*")
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
	}
	return err
}

// serve answers the media route: the attachment with its type, named
// for a download; 404 for an id or signature that names nothing.
func (s *attachStore) serve(ctx *fasthttp.RequestCtx) {
	id := string(ctx.QueryArgs().Peek("id"))
	sig := string(ctx.QueryArgs().Peek("sig"))
	if !validID(id) || !hmac.Equal([]byte(sig), []byte(s.sign(id))) {
		ctx.Error("no such attachment", http.StatusNotFound)
		return
	}
	data, err := os.ReadFile(s.path(id))
	if err != nil {
		ctx.Error("no such attachment", http.StatusNotFound)
		return
	}
	var meta attachMeta
	if raw, err := os.ReadFile(s.path(id) + ".json"); err == nil {
		_ = json.Unmarshal(raw, &meta)
	}
	ct := "application/octet-stream"
	if t, params, err := mime.ParseMediaType(meta.ContentType); err == nil && strings.Contains(t, "/") {
		ct = mime.FormatMediaType(t, params)
	}
	ctx.Response.Header.SetContentType(ct)
	ctx.Response.Header.Set("Content-Disposition", `inline; filename="`+safeFilename(meta.Filename)+`"`)
	ctx.Response.Header.Set("Cache-Control", "private, max-age=86400")
	ctx.Response.Header.Set("X-Content-Type-Options", "nosniff")
	// An attached HTML page or SVG must not run as the instance's origin.
	ctx.Response.Header.Set("Content-Security-Policy", "sandbox")
	if ctx.IsHead() {
		ctx.Response.Header.SetContentLength(len(data))
		return
	}
	ctx.SetBody(data)
}

// safeFilename is a sender's file name fit for a quoted header
// parameter: its last path element, printable ASCII without quotes or
// backslashes, at most 100 bytes; "attachment" when nothing is left.
func safeFilename(name string) string {
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	var b strings.Builder
	for _, r := range name {
		if b.Len() >= 100 {
			break
		}
		if r < 0x20 || r > 0x7e || r == '"' || r == '\\' {
			r = '_'
		}
		b.WriteRune(r)
	}
	out := strings.Trim(b.String(), " .")
	if out == "" {
		return "attachment"
	}
	return out
}

// Routes serve the attachments customers sent, under /email/{instance}:
// GET /media?id={id}&sig={…}, the URLs an Inbound's Media holds.
func (c *connector) Routes() []httpsurface.Route {
	return []httpsurface.Route{
		{Method: http.MethodGet, Path: mediaRoute, Handler: c.media.serve},
		{Method: http.MethodHead, Path: mediaRoute, Handler: c.media.serve},
	}
}
