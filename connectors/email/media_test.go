package email_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/valyala/fasthttp"

	"github.com/switchboard-dev/switchboard/connectors"
	"github.com/switchboard-dev/switchboard/connectors/email"
	"github.com/switchboard-dev/switchboard/internal/httpsurface"
)

const publicURL = "https://switchboard.test"

// get calls the instance's media route as the server would, with the
// path and query of link.
func get(t *testing.T, c connectors.Connector, method, link string) *fasthttp.Response {
	t.Helper()
	u, err := url.Parse(link)
	if err != nil {
		t.Fatal(err)
	}
	pages, ok := c.(httpsurface.Pages)
	if !ok {
		t.Fatal("the email connector serves no routes")
	}
	for _, r := range pages.Routes() {
		if r.Method == method && "/email/default"+r.Path == u.Path {
			var ctx fasthttp.RequestCtx
			ctx.Request.Header.SetMethod(method)
			ctx.Request.SetRequestURI(u.RequestURI())
			r.Handler(&ctx)
			resp := &fasthttp.Response{}
			ctx.Response.CopyTo(resp)
			return resp
		}
	}
	t.Fatalf("no %s route for %s", method, u.Path)
	return nil
}

func receiveOne(t *testing.T, c connectors.Connector, raw []byte) connectors.Inbound {
	t.Helper()
	got, err := c.Receive(context.Background(), post(raw))
	if err != nil || len(got) != 1 {
		t.Fatalf("Receive: %v, %d messages", err, len(got))
	}
	return got[0]
}

// TestMediaServed reads the recorded Gmail message and opens each of its
// attachments by the URL in Media.
func TestMediaServed(t *testing.T) {
	dir := t.TempDir()
	c := newConnector(t, connectors.Config{"media_dir": dir}, connectors.Resources{PublicURL: publicURL})
	in := receiveOne(t, c, findPayload(t, "attachments-gmail").raw)
	want := []struct {
		contentType, disposition, prefix string
		size                             int
	}{
		{"image/png", `inline; filename="label.png"`, "\x89PNG\r\n", 70},
		{"application/pdf", `inline; filename="Invoice 2026-11.pdf"`, "%PDF-1.4", 125},
		{"text/csv", `inline; filename="Bestell_bersicht.csv"`, "Artikel;Menge\n", 36},
	}
	if len(in.Media) != len(want) {
		t.Fatalf("Media = %q, want %d URLs", in.Media, len(want))
	}
	for i, w := range want {
		link := in.Media[i]
		if !strings.HasPrefix(link, publicURL+"/email/default/media?id=") {
			t.Errorf("Media[%d] = %s: not on the instance's media route", i, link)
		}
		resp := get(t, c, http.MethodGet, link)
		if resp.StatusCode() != http.StatusOK {
			t.Fatalf("GET %s: %d %s", link, resp.StatusCode(), resp.Body())
		}
		if got := string(resp.Header.ContentType()); got != w.contentType {
			t.Errorf("%s: Content-Type %q, want %q", w.contentType, got, w.contentType)
		}
		if got := string(resp.Header.Peek("Content-Disposition")); got != w.disposition {
			t.Errorf("%s: Content-Disposition %q, want %q", w.contentType, got, w.disposition)
		}
		if got := string(resp.Header.Peek("Content-Security-Policy")); got != "sandbox" {
			t.Errorf("%s: Content-Security-Policy %q, want sandbox", w.contentType, got)
		}
		if body := resp.Body(); len(body) != w.size || !bytes.HasPrefix(body, []byte(w.prefix)) {
			t.Errorf("%s: body of %d bytes starting %q, want %d starting %q", w.contentType, len(body), body[:min(len(body), 8)], w.size, w.prefix)
		}
		head := get(t, c, http.MethodHead, link)
		if head.StatusCode() != http.StatusOK || head.Header.ContentLength() != w.size || len(head.Body()) != 0 {
			t.Errorf("HEAD %s: %d, length %d, body %d bytes", link, head.StatusCode(), head.Header.ContentLength(), len(head.Body()))
		}
	}
	entries, _ := os.ReadDir(dir)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if len(names) != 1+2*len(want) {
		t.Errorf("media_dir holds %q: want the link key and a file and its metadata per attachment", names)
	}
	for _, n := range names {
		if strings.Contains(n, "label") || strings.Contains(n, "Invoice") || strings.HasSuffix(n, ".csv") {
			t.Errorf("media_dir holds %q: a name from the mail", n)
		}
	}

	// Another instance on the same directory (a restart) serves the same links.
	again := newConnector(t, connectors.Config{"media_dir": dir}, connectors.Resources{PublicURL: publicURL})
	if resp := get(t, again, http.MethodGet, in.Media[0]); resp.StatusCode() != http.StatusOK {
		t.Errorf("after a restart, GET %s: %d", in.Media[0], resp.StatusCode())
	}
}

// TestMediaNotFound: a link not signed by the instance, or naming no kept
// file, or naming anything outside the directory, is 404.
func TestMediaNotFound(t *testing.T) {
	dir := t.TempDir()
	c := newConnector(t, connectors.Config{"media_dir": dir}, connectors.Resources{PublicURL: publicURL})
	in := receiveOne(t, c, findPayload(t, "attachment").raw)
	if len(in.Media) != 1 {
		t.Fatalf("Media = %q, want one URL", in.Media)
	}
	u, _ := url.Parse(in.Media[0])
	id, sig := u.Query().Get("id"), u.Query().Get("sig")
	key, err := os.ReadFile(filepath.Join(dir, ".link-key"))
	if err != nil {
		t.Fatal(err)
	}
	signed := func(id string) string {
		m := hmac.New(sha256.New, key)
		m.Write([]byte(id))
		return hex.EncodeToString(m.Sum(nil)[:16])
	}
	other := newConnector(t, nil, connectors.Resources{PublicURL: publicURL})
	for _, tc := range []struct {
		name  string
		c     connectors.Connector
		query url.Values
	}{
		{"wrong signature", c, url.Values{"id": {id}, "sig": {strings.Repeat("0", 32)}}},
		{"no signature", c, url.Values{"id": {id}}},
		{"signature upper-case", c, url.Values{"id": {id}, "sig": {strings.ToUpper(sig)}}},
		{"another instance's key", other, url.Values{"id": {id}, "sig": {sig}}},
		{"signed id of no file", c, url.Values{"id": {strings.Repeat("a", 32)}, "sig": {signed(strings.Repeat("a", 32))}}},
		{"signed metadata name", c, url.Values{"id": {id + ".json"}, "sig": {signed(id + ".json")}}},
		{"signed key file", c, url.Values{"id": {".link-key"}, "sig": {signed(".link-key")}}},
		{"signed path out", c, url.Values{"id": {"../" + id}, "sig": {signed("../" + id)}}},
		{"no id", c, url.Values{"sig": {sig}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := get(t, tc.c, http.MethodGet, publicURL+"/email/default/media?"+tc.query.Encode())
			if resp.StatusCode() != http.StatusNotFound {
				t.Errorf("%d %q, want 404", resp.StatusCode(), resp.Body())
			}
			if bytes.Contains(resp.Body(), []byte{0xff, 0xd8}) || bytes.Contains(resp.Body(), key) {
				t.Error("a 404 carries a file")
			}
		})
	}
	if resp := get(t, c, http.MethodGet, in.Media[0]); resp.StatusCode() != http.StatusOK {
		t.Errorf("the valid link: %d", resp.StatusCode())
	}
}

// mixed is a multipart/mixed message with a text part and the given
// base64 attachments, each "content-type; filename" and its bytes.
func mixed(parts ...[2]string) []byte {
	var b strings.Builder
	b.WriteString("From: Ana Lima <ana.lima@gmail.com>\r\nTo: support@example.com\r\nSubject: files\r\n" +
		"Message-ID: <files-1@mail.gmail.com>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n" +
		"--b1\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\nFiles attached.\r\n")
	for _, p := range parts {
		ct, name, _ := strings.Cut(p[0], "; ")
		fmt.Fprintf(&b, "--b1\r\nContent-Type: %s\r\nContent-Disposition: attachment; filename=%q\r\nContent-Transfer-Encoding: base64\r\n\r\n", ct, name)
		enc := base64.StdEncoding.EncodeToString([]byte(p[1]))
		for len(enc) > 76 {
			b.WriteString(enc[:76] + "\r\n")
			enc = enc[76:]
		}
		b.WriteString(enc + "\r\n")
	}
	b.WriteString("--b1--\r\n")
	return []byte(b.String())
}

// TestMediaOversized: a file over MaxAttachmentBytes is listed as skipped
// and gets no URL; the others of the message are kept.
func TestMediaOversized(t *testing.T) {
	dir := t.TempDir()
	c := newConnector(t, connectors.Config{"media_dir": dir}, connectors.Resources{PublicURL: publicURL})
	big := strings.Repeat("x", email.MaxAttachmentBytes+1)
	edge := strings.Repeat("y", email.MaxAttachmentBytes-(2<<20)) // well under the limit, in a 16 MB message
	in := receiveOne(t, c, mixed([2]string{"video/mp4; clip.mp4", big}, [2]string{"text/plain; notes.txt", "see the clip"}))
	if len(in.Media) != 1 {
		t.Fatalf("Media = %q, want the small file only", in.Media)
	}
	list, _ := in.Attributes["attachments"].([]any)
	if len(list) != 2 {
		t.Fatalf("attachments = %v, want both listed", in.Attributes["attachments"])
	}
	first, _ := list[0].(map[string]any)
	if first["size"] != email.MaxAttachmentBytes+1 || first["skipped"] != fmt.Sprintf("larger than %d bytes", email.MaxAttachmentBytes) {
		t.Errorf("the large file's entry: %v", first)
	}
	if second, _ := list[1].(map[string]any); second["skipped"] != nil {
		t.Errorf("the small file's entry: %v", second)
	}
	if resp := get(t, c, http.MethodGet, in.Media[0]); string(resp.Body()) != "see the clip" {
		t.Errorf("the small file: %d %q", resp.StatusCode(), resp.Body())
	}
	in = receiveOne(t, c, mixed([2]string{"application/zip; logs.zip", edge}))
	if resp := get(t, c, http.MethodGet, in.Media[0]); len(in.Media) != 1 || len(resp.Body()) != len(edge) {
		t.Errorf("a file under the limit: Media %q, served %d bytes", in.Media, len(resp.Body()))
	}
}

// TestMediaFilename: names from mail never reach the disk, and reach the
// Content-Disposition only as a quoted ASCII base name.
func TestMediaFilename(t *testing.T) {
	c := newConnector(t, nil, connectors.Resources{PublicURL: publicURL})
	for _, tc := range []struct{ name, contentType, disposition, wantType string }{
		{`../../etc/passwd`, "text/plain", `inline; filename="passwd"`, "text/plain"},
		{`C:\\Users\\ana\\report.html`, "text/html", `inline; filename="report.html"`, "text/html"},
		{`quote"d.pdf`, "application/pdf", `inline; filename="quote_d.pdf"`, "application/pdf"},
		{`dir\"d.pdf`, "application/pdf", `inline; filename="_d.pdf"`, "application/pdf"},
		{`..`, "image/gif", `inline; filename="attachment"`, "image/gif"},
		{`a.bin`, "not a type", `inline; filename="a.bin"`, "application/octet-stream"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := receiveOne(t, c, mixed([2]string{tc.contentType + "; " + tc.name, "data of " + tc.name}))
			if len(in.Media) != 1 {
				t.Fatalf("Media = %q", in.Media)
			}
			resp := get(t, c, http.MethodGet, in.Media[0])
			if got := string(resp.Header.Peek("Content-Disposition")); got != tc.disposition {
				t.Errorf("Content-Disposition %q, want %q", got, tc.disposition)
			}
			if got, _, _ := strings.Cut(string(resp.Header.ContentType()), ";"); got != tc.wantType {
				t.Errorf("Content-Type %q, want %q", got, tc.wantType)
			}
		})
	}
}
