package email

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/emersion/go-message"
	_ "github.com/emersion/go-message/charset" // ISO-8859-*, Windows-125x, GB18030, … bodies and headers
	"github.com/emersion/go-message/mail"

	"github.com/switchboard-dev/switchboard/connectors"
)

// rawMessage returns the RFC 5322 message a request carries: the body of
// a message/rfc822 POST, SendGrid's raw `email` field, or Mailgun's
// `body-mime`.
func rawMessage(r *connectors.Request) ([]byte, error) {
	switch r.MediaType() {
	case "message/rfc822":
		return r.Body, nil
	case "application/x-www-form-urlencoded":
		form, err := url.ParseQuery(string(r.Body))
		if err != nil {
			return nil, connectors.Errorf(http.StatusBadRequest, "form body: %v", err)
		}
		if v := form.Get("body-mime"); v != "" {
			return []byte(v), nil
		}
		return nil, connectors.Errorf(http.StatusBadRequest, "form without a body-mime field: have the route forward to a URL ending in mime")
	case "multipart/form-data":
		return multipartMessage(r)
	}
	return nil, r.RequireMediaType("message/rfc822", "multipart/form-data", "application/x-www-form-urlencoded")
}

func multipartMessage(r *connectors.Request) ([]byte, error) {
	_, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if params["boundary"] == "" {
		return nil, connectors.Errorf(http.StatusBadRequest, "multipart body without a boundary")
	}
	mr := multipart.NewReader(bytes.NewReader(r.Body), params["boundary"])
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			return nil, connectors.Errorf(http.StatusBadRequest, "form without an email (SendGrid raw) or body-mime (Mailgun) field: post the raw MIME message")
		}
		if err != nil {
			return nil, connectors.Errorf(http.StatusBadRequest, "multipart body: %v", err)
		}
		if name := p.FormName(); name == "email" || name == "body-mime" {
			b, err := io.ReadAll(p)
			if err != nil {
				return nil, connectors.Errorf(http.StatusBadRequest, "multipart field %s: %v", name, err)
			}
			return b, nil
		}
	}
}

// Kinds of automatic mail, acknowledged and never delivered.
const (
	autoReply = "auto-reply" // RFC 3834 Auto-Submitted, X-Autoreply, vacation responders
	bulk      = "bulk"       // Precedence: bulk, junk, list
	bounce    = "bounce"     // a delivery status notification (RFC 3464)
	receipt   = "receipt"    // a read receipt (RFC 8098)
)

// parsed is one message as the connector reads it.
type parsed struct {
	in         connectors.Inbound
	automated  string   // one of the kinds above, or "" for a person's mail
	references []string // References, then In-Reply-To when not in them
	subject    string
}

var errNoFrom = errors.New("message without a From address")

// parse reads one RFC 5322 message. Only a header it cannot read, or a
// person's mail without a From address, is an error: mail in the wild is
// often slightly broken, so a body part that does not decode is passed
// over, and one in an unknown charset or transfer encoding read as it is.
//
// With a store, each attachment (inline images too) is kept there and its
// URL put in the Inbound's Media; the bytes are in hand, so this is a
// local write, no network.
func parse(raw []byte, store *attachStore) (*parsed, error) {
	e, err := message.Read(bytes.NewReader(raw))
	if e == nil {
		return nil, fmt.Errorf("message header: %v", err)
	}
	h := mail.Header{Header: e.Header}
	p := &parsed{automated: automated(h)}
	from, err := h.AddressList("From")
	if err != nil || len(from) == 0 || from[0].Address == "" {
		if p.automated != "" {
			// A bounce from <> may have no usable From: still acknowledged.
			p.in.PlatformID = messageID(h, raw)
			return p, nil
		}
		if err != nil {
			return nil, fmt.Errorf("From header: %v", err)
		}
		return nil, errNoFrom
	}
	in := &p.in
	in.PlatformID = messageID(h, raw)
	in.Channel = Channel
	in.From = normalize(from[0].Address)
	if e, ok := connectors.NormalizeEmail(in.From); ok {
		in.Email = e // one contact with the same address elsewhere (the webchat's pre-chat form)
	}
	in.FromName = strings.TrimSpace(from[0].Name)
	if to, err := h.AddressList("To"); err == nil && len(to) > 0 {
		in.To = normalize(to[0].Address)
	}
	if t, err := h.Date(); err == nil {
		in.At = t.UTC()
	}
	p.subject, _ = h.Subject()
	refs, _ := h.MsgIDList("References")
	reply, _ := h.MsgIDList("In-Reply-To")
	p.references = refs
	if len(reply) > 0 && !slices.Contains(refs, reply[0]) {
		p.references = append(p.references, reply[0])
	}
	in.Thread = in.PlatformID
	if len(p.references) > 0 && len(p.references[0]) <= MaxIDBytes {
		in.Thread = p.references[0]
	}
	body := readBody(e, store)
	in.Text = newText(body.text)
	in.Media = body.media
	in.Attributes = map[string]any{
		"subject": p.subject,
		"body":    body.text,
	}
	if !strings.HasPrefix(in.PlatformID, "sha256:") {
		in.Attributes["message_id"] = in.PlatformID
	}
	if len(reply) > 0 {
		in.Attributes["in_reply_to"] = reply[0]
	}
	if len(refs) > 0 {
		in.Attributes["references"] = strings.Join(refs, " ")
	}
	if len(body.attachments) > 0 {
		in.Attributes["attachments"] = body.attachments
	}
	return p, nil
}

// normalize returns an address as one contact key (connectors.NormalizeEmail),
// or, for what is not quite an address, trimmed and in lower case.
func normalize(addr string) string {
	if e, ok := connectors.NormalizeEmail(addr); ok {
		return e
	}
	return strings.ToLower(strings.TrimSpace(addr))
}

// messageID returns the dedupe key: the Message-ID without its angle
// brackets, or, when it is missing or unreasonably long, a hash of the
// raw message (identical in every redelivery of it).
func messageID(h mail.Header, raw []byte) string {
	id, err := h.MessageID()
	if err == nil && id != "" && len(id) <= MaxIDBytes {
		return id
	}
	sum := sha256.Sum256(raw)
	return "sha256:" + hex.EncodeToString(sum[:16])
}

// automated says which kind of automatic mail h heads, "" for none.
func automated(h mail.Header) string {
	ct, params, _ := h.ContentType()
	if ct == "multipart/report" {
		switch strings.ToLower(params["report-type"]) {
		case "delivery-status":
			return bounce
		case "disposition-notification":
			return receipt
		}
	}
	if v := headerToken(h, "Auto-Submitted"); v != "" && v != "no" {
		return autoReply
	}
	if h.Has("X-Autoreply") || h.Has("X-Autorespond") {
		return autoReply
	}
	switch headerToken(h, "Precedence") {
	case "bulk", "junk", "list":
		return bulk
	case "auto_reply":
		return autoReply
	}
	return ""
}

// headerToken is a header's value up to any ";" parameter, lower-case.
func headerToken(h mail.Header, key string) string {
	v, _, _ := strings.Cut(h.Get(key), ";")
	return strings.ToLower(strings.TrimSpace(v))
}

// body is what a message says: its text, and the files it carries.
type body struct {
	text        string
	attachments []any    // {"filename", "content_type", "size"} each, and "skipped" when not kept
	media       []string // the kept attachments' URLs
}

// maxPartBytes caps how much of one text part is read.
const maxPartBytes = 4 << 20

// readBody walks the MIME tree: the first text/plain part outside
// attachments is the text; else the first text/html, converted. Parts
// that are attachments, or neither of these nor multipart, are listed.
// Attachments are kept in store, when there is one.
func readBody(e *message.Entity, store *attachStore) body {
	var plain, html string
	var havePlain, haveHTML bool
	var b body
	_ = e.Walk(func(_ []int, part *message.Entity, err error) error {
		if err != nil && !message.IsUnknownCharset(err) && !message.IsUnknownEncoding(err) {
			return nil
		}
		ct, params, _ := part.Header.ContentType()
		if ct == "" {
			ct = "text/plain"
		}
		if strings.HasPrefix(ct, "multipart/") || ct == "message/delivery-status" {
			return nil
		}
		disp, dparams, _ := part.Header.ContentDisposition()
		if disp == "attachment" || ct != "text/plain" && ct != "text/html" {
			name := dparams["filename"]
			if name == "" {
				name = params["name"]
			}
			b.attach(part.Body, ct, name, store)
			return nil
		}
		data, _ := io.ReadAll(io.LimitReader(part.Body, maxPartBytes))
		switch {
		case ct == "text/plain" && !havePlain:
			plain, havePlain = string(data), true
		case ct == "text/html" && !haveHTML:
			html, haveHTML = string(data), true
		}
		return nil
	})
	switch {
	case havePlain:
		b.text = plain
	case haveHTML:
		b.text = htmlText(html)
	}
	b.text = strings.TrimSpace(strings.ReplaceAll(strings.ToValidUTF8(b.text, "\uFFFD"), "\r\n", "\n"))
	return b
}

// attach lists one attachment and keeps it in store. A file over the
// store's limit is counted to its end, never held whole, and listed as
// skipped, as is one the store failed to write.
func (b *body) attach(r io.Reader, ct, name string, store *attachStore) {
	limit := MaxAttachmentBytes
	if store != nil {
		limit = store.limit
	}
	data, _ := io.ReadAll(io.LimitReader(r, int64(limit)+1))
	size := len(data)
	if size > limit {
		rest, _ := io.Copy(io.Discard, r)
		size += int(rest)
	}
	a := map[string]any{"filename": name, "content_type": ct, "size": size}
	b.attachments = append(b.attachments, a)
	switch {
	case store == nil:
	case size > limit:
		a["skipped"] = fmt.Sprintf("larger than %d bytes", limit)
	default:
		u, err := store.put(data, ct, name)
		if err != nil {
			a["skipped"] = "not stored: the media_dir could not be written"
			return
		}
		b.media = append(b.media, u)
	}
}
