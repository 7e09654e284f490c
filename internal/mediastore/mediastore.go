// Package mediastore keeps the files customers send, once a connector has
// them, in the instance's media_dir and serves them on a signed route of
// the instance (internal/httpsurface): GET or HEAD {base}?id={id}&sig={hmac}.
//
// The connectors that keep files (WhatsApp, Telegram, LINE, e-mail) differ
// in how they get a file and in what their ids look like; the store holds
// what they share: the directory, which ids may name a file, writing a
// file and its metadata atomically, the signed links, the handler, and
// (Fetcher) the background fetch with bounded workers and retries of the
// connectors that get files from their platform's API.
//
// A file id is kept as {dir}/{name} with its metadata beside it in
// {name}.json; name is the id itself, or a hash of it for connectors whose
// ids are long. Only ids the connector's Valid accepts are ever joined to
// the directory, so a link cannot name the metadata, the temporary files
// or anything outside the directory.
package mediastore

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/valyala/fasthttp"

	"github.com/switchboard-dev/switchboard/internal/httpsurface"
)

// Options configure a Store. Dir, Key, Base and Valid are required.
type Options struct {
	// Dir is the media directory; New creates it.
	Dir string
	// Key signs the links: ids are guessable or known to others, the
	// files private.
	Key []byte
	// Base is the route's URL, without query.
	Base string
	// Valid reports whether id is one of the connector's. It must accept
	// nothing but letters, digits, '_' and '-' (New's ids are checked
	// against that too), so no id names a file outside Dir.
	Valid func(id string) bool
	// HashNames names files by a hash of their id, for ids too long for
	// a file name.
	HashNames bool
	// NotFound is the body of the 404 for a link that names nothing;
	// "no such file" when empty.
	NotFound string
	// NotYet is the body of the 404 for a signed link to a file not kept
	// yet, when Missing is unset; "file not fetched yet" when empty.
	NotYet string
	// Disposition adds Content-Disposition with the kept file name
	// (sanitized), for files that came with one.
	Disposition bool
	// Missing, when set, answers a signed link to a file not kept yet: it
	// may keep the file and return nil (the file is then served), or
	// answer ctx itself and return a non-nil error. Unset, such a link
	// answers 404 with Retry-After: 2, as a file being fetched.
	Missing func(ctx *fasthttp.RequestCtx, id string) error
}

// Meta is what is kept beside a file's bytes.
type Meta struct {
	ContentType string `json:"content_type"`
	Filename    string `json:"filename,omitempty"`
}

// Store is one instance's media directory. It is safe for concurrent use.
type Store struct{ o Options }

// New opens (creating it) the directory of o.
func New(o Options) (*Store, error) {
	switch {
	case o.Dir == "":
		return nil, errors.New("mediastore: no directory")
	case len(o.Key) == 0:
		return nil, errors.New("mediastore: no link key")
	case o.Valid == nil:
		return nil, errors.New("mediastore: no id check")
	}
	if err := os.MkdirAll(o.Dir, 0o700); err != nil {
		return nil, err
	}
	if o.NotFound == "" {
		o.NotFound = "no such file"
	}
	if o.NotYet == "" {
		o.NotYet = "file not fetched yet"
	}
	return &Store{o: o}, nil
}

// DefaultDir is the media_dir of an instance that names none: one under
// the system's temporary directory, named for the connector and instance.
func DefaultDir(connector, instance string) string {
	return filepath.Join(os.TempDir(), "switchboard-"+connector+"-"+instance)
}

// Dir is the store's directory.
func (s *Store) Dir() string { return s.o.Dir }

// Valid reports whether id may name a file of the store.
func (s *Store) Valid(id string) bool { return SafeID(id) && s.o.Valid(id) }

// SafeID reports whether id is letters, digits, '_' and '-' only, at most
// 512 bytes: nothing that is a path, a dot file or the metadata's name.
func SafeID(id string) bool {
	if id == "" || len(id) > 512 {
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

// Sign is the link signature of id: 16 bytes of HMAC-SHA256, in hex.
func (s *Store) Sign(id string) string {
	m := hmac.New(sha256.New, s.o.Key)
	m.Write([]byte(id))
	return hex.EncodeToString(m.Sum(nil)[:16])
}

// Link is the URL of file id on the instance's route.
func (s *Store) Link(id string) string {
	return s.o.Base + "?" + url.Values{"id": {id}, "sig": {s.Sign(id)}}.Encode()
}

// path is where file id is kept; id must be Valid.
func (s *Store) path(id string) string {
	if s.o.HashNames {
		h := sha256.Sum256([]byte(id))
		id = hex.EncodeToString(h[:16])
	}
	return filepath.Join(s.o.Dir, id)
}

// Has reports whether file id is kept.
func (s *Store) Has(id string) bool {
	if !s.Valid(id) {
		return false
	}
	_, err := os.Stat(s.path(id))
	return err == nil
}

// Put keeps file id: its metadata first, then its bytes, each written to
// a temporary file and renamed, so a file that exists is whole and has
// its metadata.
func (s *Store) Put(id string, data []byte, m Meta) error {
	if !s.Valid(id) {
		return fmt.Errorf("mediastore: %q is not an id of this store", id)
	}
	meta, err := json.Marshal(m)
	if err != nil {
		return err
	}
	if err := WriteAtomic(s.path(id)+".json", meta); err != nil {
		return err
	}
	return WriteAtomic(s.path(id), data)
}

// Get reads file id and its metadata; an error wrapping os.ErrNotExist
// when it is not kept.
func (s *Store) Get(id string) ([]byte, Meta, error) {
	var m Meta
	if !s.Valid(id) {
		return nil, m, fmt.Errorf("mediastore: %q: %w", id, os.ErrNotExist)
	}
	data, err := os.ReadFile(s.path(id))
	if err != nil {
		return nil, m, err
	}
	if raw, err := os.ReadFile(s.path(id) + ".json"); err == nil {
		_ = json.Unmarshal(raw, &m)
	} else if ct, err := os.ReadFile(s.path(id) + ".type"); err == nil {
		// Directories kept before the metadata was JSON: the type alone.
		m.ContentType = string(ct)
	}
	return data, m, nil
}

// WriteAtomic writes name through a temporary file of its directory
// (a dot file, which no valid id names) renamed over it.
func WriteAtomic(name string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(name), ".put-*")
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), name)
	}
	if err != nil {
		os.Remove(f.Name())
	}
	return err
}

// Routes are the GET and HEAD routes of the store at path (the instance's
// route, such as "/media").
func (s *Store) Routes(path string) []httpsurface.Route {
	return []httpsurface.Route{
		{Method: http.MethodGet, Path: path, Handler: s.Serve},
		{Method: http.MethodHead, Path: path, Handler: s.Serve},
	}
}

// Serve answers the route: the file with its content type, 404 for an id
// or signature that names nothing, and for a file not kept yet what
// Options.Missing says.
func (s *Store) Serve(ctx *fasthttp.RequestCtx) {
	id := string(ctx.QueryArgs().Peek("id"))
	sig := string(ctx.QueryArgs().Peek("sig"))
	if !s.Valid(id) || !hmac.Equal([]byte(sig), []byte(s.Sign(id))) {
		Error(ctx, http.StatusNotFound, s.o.NotFound)
		return
	}
	data, meta, err := s.Get(id)
	if err != nil {
		if s.o.Missing == nil {
			Error(ctx, http.StatusNotFound, s.o.NotYet)
			ctx.Response.Header.Set("Retry-After", "2")
			return
		}
		if s.o.Missing(ctx, id) != nil {
			return
		}
		if data, meta, err = s.Get(id); err != nil {
			Error(ctx, http.StatusNotFound, s.o.NotFound)
			return
		}
	}
	ctx.Response.Header.SetContentType(ContentType(meta.ContentType))
	if s.o.Disposition {
		ctx.Response.Header.Set("Content-Disposition", `inline; filename="`+SafeFilename(meta.Filename)+`"`)
	}
	ctx.Response.Header.Set("Cache-Control", "private, max-age=86400")
	ctx.Response.Header.Set("X-Content-Type-Options", "nosniff")
	// A kept HTML page or SVG must not run as the instance's origin.
	ctx.Response.Header.Set("Content-Security-Policy", "sandbox")
	if ctx.IsHead() {
		ctx.Response.Header.SetContentLength(len(data))
		return
	}
	ctx.SetBody(data)
}

// ContentType is a kept type fit for the header: a parsed media type
// re-formatted, application/octet-stream for anything else.
func ContentType(ct string) string {
	if t, params, err := mime.ParseMediaType(ct); err == nil && strings.Contains(t, "/") {
		return mime.FormatMediaType(t, params)
	}
	return "application/octet-stream"
}

// SafeFilename is a sender's file name fit for a quoted header
// parameter: its last path element, printable ASCII without quotes or
// backslashes, at most 100 bytes; "attachment" when nothing is left.
func SafeFilename(name string) string {
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

// Error answers status with the reason as the API's errors are:
// {"error": reason}. It resets the headers set before.
func Error(ctx *fasthttp.RequestCtx, status int, reason string) {
	ctx.Response.Reset()
	ctx.SetStatusCode(status)
	ctx.SetContentType("application/json")
	b, _ := json.Marshal(map[string]string{"error": reason})
	ctx.SetBody(append(b, '\n'))
}
