package webchat

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/fasthttp/websocket"
	"github.com/valyala/fasthttp"

	"github.com/switchboard-dev/switchboard/internal/httpsurface"
)

//go:embed static
var staticFS embed.FS

// asset is an embedded file served as is.
type asset struct {
	body        []byte
	contentType string
	etag        string
}

var (
	assets   = map[string]asset{}
	pageTmpl *template.Template
)

func init() {
	for name, ct := range map[string]string{
		"widget.js":  "text/javascript; charset=utf-8",
		"widget.css": "text/css; charset=utf-8",
	} {
		b, err := staticFS.ReadFile("static/" + name)
		if err != nil {
			panic(err)
		}
		sum := sha256.Sum256(b)
		assets["/"+name] = asset{body: b, contentType: ct, etag: `"` + hex.EncodeToString(sum[:8]) + `"`}
	}
	pageTmpl = template.Must(template.ParseFS(staticFS, "static/index.html"))
}

// Limits of the page endpoints.
const (
	maxSessionBody = 4 << 10
	maxClientFrame = 4 << 10 // the widget sends nothing but keepalives
	writeWait      = 10 * time.Second
	pongWait       = 75 * time.Second
)

// Routes are the widget's page and endpoints, under /webchat/{instance};
// the package documentation lists them. The server answers other methods
// and paths under the prefix (405 with Allow, 404).
func (c *Connector) Routes() []httpsurface.Route {
	page := func(ctx *fasthttp.RequestCtx) { c.servePage(ctx) }
	asset := func(name string) fasthttp.RequestHandler {
		return func(ctx *fasthttp.RequestCtx) { serveAsset(ctx, assets[name]) }
	}
	withCORS := func(h func(*fasthttp.RequestCtx)) fasthttp.RequestHandler {
		return func(ctx *fasthttp.RequestCtx) {
			if c.cors(ctx) {
				h(ctx)
			}
		}
	}
	preflight := func(methods string) fasthttp.RequestHandler {
		return func(ctx *fasthttp.RequestCtx) { c.preflight(ctx, methods) }
	}
	return []httpsurface.Route{
		{Method: http.MethodGet, Path: "", Handler: redirectToPage},
		{Method: http.MethodHead, Path: "", Handler: redirectToPage},
		{Method: http.MethodGet, Path: "/", Handler: page},
		{Method: http.MethodHead, Path: "/", Handler: page},
		{Method: http.MethodGet, Path: "/index.html", Handler: page},
		{Method: http.MethodHead, Path: "/index.html", Handler: page},
		{Method: http.MethodGet, Path: "/widget.js", Handler: asset("/widget.js")},
		{Method: http.MethodHead, Path: "/widget.js", Handler: asset("/widget.js")},
		// The embed snippet's name for the same script: loaded without
		// data-mode, it adds the launcher and the panel to any page.
		{Method: http.MethodGet, Path: "/embed.js", Handler: asset("/widget.js")},
		{Method: http.MethodHead, Path: "/embed.js", Handler: asset("/widget.js")},
		{Method: http.MethodGet, Path: "/widget.css", Handler: asset("/widget.css")},
		{Method: http.MethodHead, Path: "/widget.css", Handler: asset("/widget.css")},
		{Method: http.MethodPost, Path: "/session", Handler: withCORS(c.serveSession)},
		{Method: http.MethodOptions, Path: "/session", Handler: preflight("POST, OPTIONS")},
		{Method: http.MethodGet, Path: "/messages", Handler: withCORS(c.serveMessages)},
		{Method: http.MethodOptions, Path: "/messages", Handler: preflight("GET, OPTIONS")},
		{Method: http.MethodGet, Path: "/ws", Handler: c.serveSocket},
		{Method: http.MethodPost, Path: "/upload", Handler: withCORS(c.serveUpload)},
		{Method: http.MethodOptions, Path: "/upload", Handler: preflight("POST, OPTIONS")},
		{Method: http.MethodGet, Path: "/media", Handler: c.serveMedia},
		{Method: http.MethodHead, Path: "/media", Handler: c.serveMedia},
	}
}

// redirectToPage sends /webchat/{instance} to the page below it, with a
// relative redirect ("{instance}/"), right behind a proxy that serves
// Switchboard under a path prefix too.
func redirectToPage(ctx *fasthttp.RequestCtx) {
	path := string(ctx.Path())
	target := url.PathEscape(path[strings.LastIndexByte(path, '/')+1:]) + "/"
	if q := ctx.URI().QueryString(); len(q) > 0 {
		target += "?" + string(q)
	}
	ctx.Response.Header.Set("Location", target)
	ctx.SetStatusCode(http.StatusPermanentRedirect)
}

// HomePage is the chat page's URL, which serve prints at start.
func (c *Connector) HomePage() (string, string) {
	return c.publicURL + "/webchat/" + url.PathEscape(c.instance) + "/", "(open it in a browser and chat)"
}

// WebhookCORS is called by the server before it handles a request to the
// instance's webhook: for a page on an allowed origin it sets the CORS
// headers, and it answers the browser's preflight (OPTIONS) itself, in
// which case it returns true.
func (c *Connector) WebhookCORS(ctx *fasthttp.RequestCtx) (answered bool) {
	if ctx.IsOptions() {
		c.preflight(ctx, "POST, OPTIONS")
		return true
	}
	c.cors(ctx)
	return false
}

func writeJSON(ctx *fasthttp.RequestCtx, status int, v any) {
	ctx.SetStatusCode(status)
	ctx.SetContentType("application/json")
	ctx.Response.Header.Set("Cache-Control", "no-store")
	enc := json.NewEncoder(ctx)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

func writeError(ctx *fasthttp.RequestCtx, status int, reason string) {
	ctx.ResetBody()
	writeJSON(ctx, status, map[string]string{"error": reason})
}

// origins are the other sites allowed to embed the widget.
type origins struct {
	any  bool
	list []string // "scheme://host[:port]", lower case
}

// parseOrigins reads the allowed_origins field.
func parseOrigins(s string) (origins, error) {
	var o origins
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\n' }) {
		if f == "*" {
			o.any = true
			continue
		}
		u, err := url.Parse(f)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
			(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
			return o, fmt.Errorf("%q is not an origin (want scheme://host[:port], like https://www.example.com)", f)
		}
		o.list = append(o.list, strings.ToLower(u.Scheme+"://"+u.Host))
	}
	return o, nil
}

func (o origins) allows(origin string) bool {
	if o.any {
		return true
	}
	origin = strings.ToLower(origin)
	for _, a := range o.list {
		if a == origin {
			return true
		}
	}
	return false
}

// sameOrigin reports whether a browser's Origin is the server's own: its
// host is the request's Host (the scheme may differ behind a TLS proxy).
func sameOrigin(ctx *fasthttp.RequestCtx, origin string) bool {
	u, err := url.Parse(origin)
	return err == nil && u.Host != "" && strings.EqualFold(u.Host, string(ctx.Host()))
}

// originOK reports whether the request may use the endpoints: it has no
// Origin (not a browser, or a same-origin GET), comes from the server's
// own origin, or from an allowed one.
func (c *Connector) originOK(ctx *fasthttp.RequestCtx) bool {
	origin := string(ctx.Request.Header.Peek("Origin"))
	return origin == "" || sameOrigin(ctx, origin) || c.origins.allows(origin)
}

// cors sets the CORS headers for an allowed cross-origin request, and
// answers 403 to a browser on an origin that is not allowed.
func (c *Connector) cors(ctx *fasthttp.RequestCtx) bool {
	origin := string(ctx.Request.Header.Peek("Origin"))
	if origin == "" || sameOrigin(ctx, origin) {
		return true
	}
	if !c.origins.allows(origin) {
		writeError(ctx, http.StatusForbidden, fmt.Sprintf("origin %s may not use this webchat (see allowed_origins)", origin))
		return false
	}
	if c.origins.any {
		ctx.Response.Header.Set("Access-Control-Allow-Origin", "*")
	} else {
		ctx.Response.Header.Set("Access-Control-Allow-Origin", origin)
		ctx.Response.Header.Add("Vary", "Origin")
	}
	return true
}

// preflight answers a CORS preflight request.
func (c *Connector) preflight(ctx *fasthttp.RequestCtx, methods string) {
	if !c.cors(ctx) {
		return
	}
	h := &ctx.Response.Header
	h.Set("Access-Control-Allow-Methods", methods)
	h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type")
	h.Set("Access-Control-Max-Age", "600")
	ctx.SetStatusCode(http.StatusNoContent)
}

func serveAsset(ctx *fasthttp.RequestCtx, a asset) {
	h := &ctx.Response.Header
	h.Set("Content-Type", a.contentType)
	h.Set("Cache-Control", "no-cache")
	h.Set("ETag", a.etag)
	h.Set("X-Content-Type-Options", "nosniff")
	// Any site may load the script and its style sheet; what they may do
	// with the endpoints is allowed_origins' business.
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Cross-Origin-Resource-Policy", "cross-origin")
	if match := string(ctx.Request.Header.Peek("If-None-Match")); match != "" && strings.Contains(match, a.etag) {
		ctx.SetStatusCode(http.StatusNotModified)
		return
	}
	ctx.SetBody(a.body)
}

// servePage renders the chat page.
func (c *Connector) servePage(ctx *fasthttp.RequestCtx) {
	var buf bytes.Buffer
	if err := pageTmpl.Execute(&buf, struct{ Title, Greeting string }{c.title, c.greeting}); err != nil {
		c.log.Error("webchat page", "err", err)
		writeError(ctx, http.StatusInternalServerError, "internal error")
		return
	}
	host := string(ctx.Host())
	ancestors := "'self'"
	switch {
	case c.origins.any:
		ancestors = "*"
	case len(c.origins.list) > 0:
		ancestors += " " + strings.Join(c.origins.list, " ")
	}
	h := &ctx.Response.Header
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "strict-origin-when-cross-origin")
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "+
		"connect-src 'self' ws://"+host+" wss://"+host+"; base-uri 'none'; form-action 'none'; frame-ancestors "+ancestors)
	ctx.SetBody(buf.Bytes())
}

// sessionResponse is the answer of POST session.
type sessionResponse struct {
	Visitor  string `json:"visitor"`
	Token    string `json:"token"`
	Title    string `json:"title"`
	Greeting string `json:"greeting"`
	// Prechat lists the fields the pre-chat form asks for (name, email),
	// none when there is no form.
	Prechat []string `json:"prechat"`
}

// serveSession keeps a visitor's valid token or issues a new visitor one.
func (c *Connector) serveSession(ctx *fasthttp.RequestCtx) {
	body := ctx.PostBody()
	var req struct {
		Token string `json:"token"`
	}
	if len(body) > maxSessionBody {
		writeError(ctx, http.StatusRequestEntityTooLarge, fmt.Sprintf("body is %d bytes; at most %d", len(body), maxSessionBody))
		return
	}
	if len(bytes.TrimSpace(body)) > 0 {
		if mt, _, _ := mime.ParseMediaType(string(ctx.Request.Header.ContentType())); mt != "application/json" {
			writeError(ctx, http.StatusUnsupportedMediaType, "content type must be application/json")
			return
		}
		if err := json.Unmarshal(body, &req); err != nil {
			writeError(ctx, http.StatusBadRequest, `body must be JSON {"token": "..."} or empty`)
			return
		}
	}
	if err := c.signer.ready(ctx); err != nil {
		c.log.Error("webchat session", "err", err)
		writeError(ctx, http.StatusServiceUnavailable, "the chat is starting: try again in a moment")
		return
	}
	visitor, ok := c.signer.verify(req.Token)
	token := req.Token
	if !ok {
		visitor, token = c.NewVisitor()
	}
	writeJSON(ctx, http.StatusOK, sessionResponse{Visitor: visitor, Token: token, Title: c.title, Greeting: c.greeting,
		Prechat: append([]string{}, c.prechat...)})
}

// requestToken returns the visitor of the request's token: the
// Authorization header's, else the token query parameter's.
func (c *Connector) requestToken(ctx *fasthttp.RequestCtx) (string, bool) {
	tok, ok := strings.CutPrefix(string(ctx.Request.Header.Peek("Authorization")), "Bearer ")
	if !ok {
		tok = string(ctx.QueryArgs().Peek("token"))
	}
	return c.signer.verify(strings.TrimSpace(tok))
}

// position reads the after and epoch query parameters.
func position(ctx *fasthttp.RequestCtx) (after uint64, epoch string, err error) {
	args := ctx.QueryArgs()
	if a := args.Peek("after"); len(a) > 0 {
		after, err = strconv.ParseUint(string(a), 10, 64)
		if err != nil {
			return 0, "", errors.New(`query parameter "after" must be a sequence number`)
		}
	}
	epoch = string(args.Peek("epoch"))
	if len(epoch) > 64 {
		return 0, "", errors.New(`query parameter "epoch" is too long`)
	}
	return after, epoch, nil
}

// serveMessages is the REST fallback: the visitor's messages after
// ?after=SEQ (of ?epoch=EPOCH), waiting for one up to LongPollWait (or
// ?wait=SECONDS, less) when there are none.
func (c *Connector) serveMessages(ctx *fasthttp.RequestCtx) {
	visitor, ok := c.requestToken(ctx)
	if !ok {
		writeError(ctx, http.StatusUnauthorized, "missing or invalid visitor token")
		return
	}
	after, epoch, err := position(ctx)
	if err != nil {
		writeError(ctx, http.StatusBadRequest, err.Error())
		return
	}
	wait := c.pollWait
	if w := ctx.QueryArgs().Peek("wait"); len(w) > 0 {
		secs, err := strconv.ParseFloat(string(w), 64)
		if err != nil || secs < 0 {
			writeError(ctx, http.StatusBadRequest, `query parameter "wait" must be a number of seconds`)
			return
		}
		wait = min(wait, time.Duration(secs*float64(time.Second)))
	}
	p, err := c.hub.poll(ctx, visitor, after, epoch, wait)
	if err != nil {
		writeError(ctx, http.StatusServiceUnavailable, "webchat is shutting down")
		return
	}
	writeJSON(ctx, http.StatusOK, p)
}

var upgrader = websocket.FastHTTPUpgrader{
	ReadBufferSize:  1024,
	WriteBufferSize: 4096,
	// The origin is checked before Upgrade, against allowed_origins.
	CheckOrigin: func(*fasthttp.RequestCtx) bool { return true },
}

// serveSocket upgrades to the visitor's live WebSocket.
func (c *Connector) serveSocket(ctx *fasthttp.RequestCtx) {
	visitor, ok := c.requestToken(ctx)
	if !ok {
		writeError(ctx, http.StatusUnauthorized, "missing or invalid visitor token")
		return
	}
	if !c.originOK(ctx) {
		writeError(ctx, http.StatusForbidden, fmt.Sprintf("origin %s may not use this webchat (see allowed_origins)", ctx.Request.Header.Peek("Origin")))
		return
	}
	after, epoch, err := position(ctx)
	if err != nil {
		writeError(ctx, http.StatusBadRequest, err.Error())
		return
	}
	if !websocket.FastHTTPIsWebSocketUpgrade(ctx) {
		writeError(ctx, http.StatusBadRequest, "want a WebSocket upgrade (use GET messages for long-polling)")
		return
	}
	if c.hub.isClosed() {
		writeError(ctx, http.StatusServiceUnavailable, "webchat is shutting down")
		return
	}
	if c.hub.sockets(visitor) >= c.hub.cfg.maxSockets {
		writeError(ctx, http.StatusTooManyRequests, errTooManySockets.Error())
		return
	}
	err = upgrader.Upgrade(ctx, func(conn *websocket.Conn) { c.runSocket(conn, visitor, after, epoch) })
	if err != nil {
		c.log.Debug("webchat: websocket handshake", "err", err)
	}
}

// runSocket serves one upgraded WebSocket until it closes.
func (c *Connector) runSocket(conn *websocket.Conn, visitor string, after uint64, epoch string) {
	defer conn.Close()
	sock, first, err := c.hub.attach(visitor, after, epoch)
	if err != nil {
		code := websocket.CloseGoingAway
		if errors.Is(err, errTooManySockets) {
			code = websocket.ClosePolicyViolation
		}
		_ = conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, err.Error()), time.Now().Add(writeWait))
		return
	}
	defer c.hub.detach(visitor, sock)

	// The reader only keeps the connection alive and notices its end: the
	// widget sends its messages to the webhook, not here.
	readerDone := make(chan struct{})
	conn.SetReadLimit(maxClientFrame)
	_ = conn.SetReadDeadline(time.Now().Add(pongWait))
	conn.SetPongHandler(func(string) error { return conn.SetReadDeadline(time.Now().Add(pongWait)) })
	go func() {
		defer close(readerDone)
		for {
			if _, _, err := conn.NextReader(); err != nil {
				return
			}
			_ = conn.SetReadDeadline(time.Now().Add(pongWait))
		}
	}()
	defer func() { conn.Close(); <-readerDone }()

	write := func(b []byte) error {
		_ = conn.SetWriteDeadline(time.Now().Add(writeWait))
		return conn.WriteMessage(websocket.TextMessage, b)
	}
	for _, f := range first {
		if write(f) != nil {
			return
		}
	}
	ping := time.NewTicker(c.pingEvery)
	defer ping.Stop()
	keepalive := []byte(`{"type":"ping"}`)
	for {
		select {
		case f := <-sock.out:
			if write(f) != nil {
				return
			}
		case <-ping.C:
			// A control ping for the server to notice a dead client, a
			// text one for the widget to notice a dead server.
			if conn.WriteControl(websocket.PingMessage, nil, time.Now().Add(writeWait)) != nil || write(keepalive) != nil {
				return
			}
		case <-sock.kicked:
			code, reason := websocket.CloseTryAgainLater, "too slow: reconnect to catch up"
			if c.hub.isClosed() {
				code, reason = websocket.CloseGoingAway, "server closing"
			}
			_ = conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, reason), time.Now().Add(writeWait))
			return
		case <-readerDone:
			return
		}
	}
}
