package webchat

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/valyala/fasthttp"

	"github.com/switchboard-dev/switchboard/connectors"
	"github.com/switchboard-dev/switchboard/internal/mediastore"
)

// Files a visitor attaches: the widget uploads the file (POST upload,
// the file's bytes as the body, its type as Content-Type, ?name= its
// name), gets an id, and sends a message whose "media" lists the ids. The
// files are kept in the instance's media_dir (internal/mediastore) and
// served on GET media?id=…&sig=… to whoever has the signed link: the
// agent's desktop, from the message's media.
const (
	MaxUploadBytes = 5 << 20 // one attached file
	MaxMedia       = 4       // files in one message
	uploadPrefix   = "u_"
)

// mediaFiles is the instance's media store, opened once the signing key is
// known: the links are signed with a key derived from it.
type mediaFiles struct {
	dir  string
	once sync.Mutex
	st   *mediastore.Store
}

func (c *Connector) mediaStore() (*mediastore.Store, error) {
	c.media.once.Lock()
	defer c.media.once.Unlock()
	if c.media.st != nil {
		return c.media.st, nil
	}
	if err := c.signer.ready(context.Background()); err != nil {
		return nil, err
	}
	key := hmac.New(sha256.New, c.signer.secret)
	key.Write([]byte("switchboard webchat media links"))
	st, err := mediastore.New(mediastore.Options{Dir: c.media.dir, Key: key.Sum(nil), Base: c.mediaBase(), Valid: validUploadID,
		Disposition: true})
	if err != nil {
		return nil, err
	}
	c.media.st = st
	return st, nil
}

// mediaBase is the media route's URL: absolute when the server's public
// URL is known.
func (c *Connector) mediaBase() string {
	return c.publicURL + "/webchat/" + url.PathEscape(c.instance) + "/media"
}

// validUploadID keeps the ids upload makes: "u_" and 26 base32 characters.
func validUploadID(id string) bool {
	return len(id) == len(uploadPrefix)+26 && strings.HasPrefix(id, uploadPrefix) && mediastore.SafeID(id)
}

// serveUpload keeps a visitor's file and answers its id and link.
func (c *Connector) serveUpload(ctx *fasthttp.RequestCtx) {
	if _, ok := c.requestToken(ctx); !ok {
		writeError(ctx, http.StatusUnauthorized, "missing or invalid visitor token")
		return
	}
	body := ctx.PostBody()
	switch ct := string(ctx.Request.Header.ContentType()); {
	case len(body) == 0:
		writeError(ctx, http.StatusBadRequest, "empty body: POST the file's bytes")
		return
	case len(body) > MaxUploadBytes:
		writeError(ctx, http.StatusRequestEntityTooLarge, fmt.Sprintf("the file is %d bytes; at most %d", len(body), MaxUploadBytes))
		return
	case ct == "" || mediastore.ContentType(ct) == "application/octet-stream" && !strings.HasPrefix(ct, "application/octet-stream"):
		writeError(ctx, http.StatusUnsupportedMediaType, "Content-Type must be the file's media type (image/png, application/pdf, …)")
		return
	}
	st, err := c.mediaStore()
	if err != nil {
		c.log.Error("webchat upload", "err", err)
		writeError(ctx, http.StatusServiceUnavailable, "files cannot be kept right now: try again in a moment")
		return
	}
	name := mediastore.SafeFilename(string(ctx.QueryArgs().Peek("name")))
	id := uploadPrefix + randomID(16)
	if err := st.Put(id, body, mediastore.Meta{ContentType: mediastore.ContentType(string(ctx.Request.Header.ContentType())), Filename: name}); err != nil {
		c.log.Error("webchat upload", "err", err)
		writeError(ctx, http.StatusInternalServerError, "the file could not be kept")
		return
	}
	writeJSON(ctx, http.StatusOK, map[string]string{"id": id, "url": link(st, id, name), "name": name})
}

// link is a file's signed link with its name, which the route ignores and
// pages show (and tell an image by).
func link(st *mediastore.Store, id, name string) string {
	return st.Link(id) + "&name=" + url.QueryEscape(name)
}

// serveMedia serves a kept file to whoever has its signed link.
func (c *Connector) serveMedia(ctx *fasthttp.RequestCtx) {
	st, err := c.mediaStore()
	if err != nil {
		writeError(ctx, http.StatusServiceUnavailable, "files cannot be served right now")
		return
	}
	st.Serve(ctx)
}

// mediaLinks turns the ids of a visitor's message into their links; an id
// that names no kept file is refused.
func (c *Connector) mediaLinks(ids []string) ([]string, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	for i, id := range ids {
		if !validUploadID(id) {
			return nil, connectors.Errorf(http.StatusBadRequest, `field "media[%d]" is not the id of an uploaded file`, i)
		}
	}
	st, err := c.mediaStore()
	if err != nil {
		return nil, err // answered 500: the widget retries
	}
	links := make([]string, len(ids))
	for i, id := range ids {
		_, meta, err := st.Get(id)
		if err != nil {
			return nil, connectors.Errorf(http.StatusBadRequest, `field "media[%d]" names no uploaded file`, i)
		}
		links[i] = link(st, id, meta.Filename)
	}
	return links, nil
}
