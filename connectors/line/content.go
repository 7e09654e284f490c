package line

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/switchboard-dev/switchboard/internal/httpsurface"
)

// contentRoute is the instance's route that serves the content of the
// customers' messages, under /line/{instance}. Routes are literal paths,
// so the message id is in the query: /content?id={message-id}&sig={hmac}.
const contentRoute = "/content"

// Limits of a content fetch.
const (
	// MaxContentBytes is the largest content served: LINE takes files up
	// to 300 MB from its apps, media far less.
	MaxContentBytes = 300 << 20
	contentTimeout  = 2 * time.Minute
)

// link is the URL of a message's content on the instance's route.
func (c *connector) link(id string) string {
	return c.base + "?" + url.Values{"id": {id}, "sig": {c.sign(id)}}.Encode()
}

func (c *connector) sign(id string) string {
	m := hmac.New(sha256.New, c.key)
	m.Write([]byte(id))
	return hex.EncodeToString(m.Sum(nil)[:16])
}

// validMessageID keeps ids that are LINE's (digits) and nothing that
// could change the data host's path.
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

// serveContent answers the content route: it fetches the message's
// content from LINE's data host with the access token, on each request,
// since LINE keeps it for a while and the token must not leave the
// server. A missing or expired content is 404; LINE's other failures 502.
func (c *connector) serveContent(ctx *fasthttp.RequestCtx) {
	id := string(ctx.QueryArgs().Peek("id"))
	sig := string(ctx.QueryArgs().Peek("sig"))
	if !validMessageID(id) || !hmac.Equal([]byte(sig), []byte(c.sign(id))) {
		ctx.Error("no such content", http.StatusNotFound)
		return
	}
	reqCtx, cancel := context.WithTimeout(context.Background(), contentTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(reqCtx, http.MethodGet, c.dataURL+"/v2/bot/message/"+id+"/content", nil)
	if err != nil {
		ctx.Error("bad content request", http.StatusInternalServerError)
		return
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	res, err := c.http.Do(req)
	if err != nil {
		c.log.Error("content not fetched", "message_id", id, "err", err)
		ctx.Error("content not fetched from LINE", http.StatusBadGateway)
		return
	}
	defer res.Body.Close()
	switch {
	case res.StatusCode == http.StatusNotFound || res.StatusCode == http.StatusGone:
		ctx.Error("content no longer kept by LINE", http.StatusNotFound)
		return
	case res.StatusCode/100 != 2:
		c.log.Error("content not fetched", "message_id", id, "status", res.StatusCode)
		ctx.Error("content not fetched from LINE", http.StatusBadGateway)
		return
	}
	data, err := io.ReadAll(io.LimitReader(res.Body, MaxContentBytes+1))
	if err != nil || len(data) > MaxContentBytes {
		ctx.Error("content not fetched from LINE", http.StatusBadGateway)
		return
	}
	ct := res.Header.Get("Content-Type")
	if ct == "" {
		ct = "application/octet-stream"
	}
	ctx.Response.Header.SetContentType(ct)
	ctx.Response.Header.Set("Cache-Control", "private, max-age=3600")
	ctx.Response.Header.Set("X-Content-Type-Options", "nosniff")
	ctx.Response.Header.Set("Content-Security-Policy", "sandbox")
	if ctx.IsHead() {
		ctx.Response.Header.SetContentLength(len(data))
		return
	}
	ctx.SetBody(data)
}

// Routes serve the content customers sent, under /line/{instance}:
// GET /content?id={message-id}&sig={…}, the URL an Inbound's Media holds.
func (c *connector) Routes() []httpsurface.Route {
	return []httpsurface.Route{
		{Method: http.MethodGet, Path: contentRoute, Handler: c.serveContent},
		{Method: http.MethodHead, Path: contentRoute, Handler: c.serveContent},
	}
}
