package mediastore_test

import (
	"errors"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/valyala/fasthttp"

	"github.com/switchboard-dev/switchboard/internal/mediastore"
)

const base = "https://switchboard.test/whatsapp_cloud/default/media"

func digits(id string) bool { return len(id) <= 64 && strings.Trim(id, "0123456789") == "" }

func open(t *testing.T, o mediastore.Options) *mediastore.Store {
	t.Helper()
	if o.Dir == "" {
		o.Dir = t.TempDir()
	}
	if o.Key == nil {
		o.Key = []byte("test key")
	}
	if o.Base == "" {
		o.Base = base
	}
	if o.Valid == nil {
		o.Valid = mediastore.SafeID
	}
	s, err := mediastore.New(o)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// call answers one request to the store's route with query.
func call(s *mediastore.Store, method, query string) *fasthttp.Response {
	var ctx fasthttp.RequestCtx
	ctx.Request.Header.SetMethod(method)
	ctx.Request.SetRequestURI("/whatsapp_cloud/default/media?" + query)
	s.Serve(&ctx)
	resp := &fasthttp.Response{}
	ctx.Response.CopyTo(resp)
	return resp
}

func query(s *mediastore.Store, id string) string {
	return url.Values{"id": {id}, "sig": {s.Sign(id)}}.Encode()
}

func TestNew(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	ok := mediastore.Options{Dir: t.TempDir(), Key: []byte("k"), Base: base, Valid: digits}
	cases := []struct {
		name string
		edit func(o *mediastore.Options)
		want string
	}{
		{"complete", func(*mediastore.Options) {}, ""},
		{"no dir", func(o *mediastore.Options) { o.Dir = "" }, "no directory"},
		{"no key", func(o *mediastore.Options) { o.Key = nil }, "no link key"},
		{"no id check", func(o *mediastore.Options) { o.Valid = nil }, "no id check"},
		{"dir under a file", func(o *mediastore.Options) { o.Dir = filepath.Join(file, "media") }, "not a directory"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o := ok
			tc.edit(&o)
			_, err := mediastore.New(o)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("New: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("New: %v, want an error with %q", err, tc.want)
			}
		})
	}
	nested := filepath.Join(t.TempDir(), "a", "b")
	open(t, mediastore.Options{Dir: nested})
	if fi, err := os.Stat(nested); err != nil || !fi.IsDir() || fi.Mode().Perm() != 0o700 {
		t.Fatalf("media dir not made private: %v %v", fi, err)
	}
}

func TestLink(t *testing.T) {
	a := open(t, mediastore.Options{Key: []byte("key a")})
	b := open(t, mediastore.Options{Key: []byte("key b")})
	link, err := url.Parse(a.Link("1234567890"))
	if err != nil {
		t.Fatal(err)
	}
	if got := link.Scheme + "://" + link.Host + link.Path; got != base {
		t.Errorf("link on %q, want %q", got, base)
	}
	sig := link.Query().Get("sig")
	if link.Query().Get("id") != "1234567890" || len(sig) != 32 || strings.Trim(sig, "0123456789abcdef") != "" {
		t.Errorf("query %q: want the id and 32 hex digits of signature", link.RawQuery)
	}
	if sig != a.Sign("1234567890") || sig == a.Sign("1234567891") || sig == b.Sign("1234567890") {
		t.Error("the signature does not depend on exactly the id and the key")
	}
}

func TestSafeID(t *testing.T) {
	cases := []struct {
		id   string
		want bool
	}{
		{"1234567890", true},
		{"AgACAgIAAxkBAAIBP2VHJx-_abc", true},
		{"", false},
		{"../etc/passwd", false},
		{"a/b", false},
		{`a\b`, false},
		{".link-key", false},
		{"0123456789abcdef0123456789abcdef.json", false},
		{".put-123", false},
		{"a b", false},
		{"a%2Fb", false},
		{"é", false},
		{strings.Repeat("a", 512), true},
		{strings.Repeat("a", 513), false},
	}
	for _, tc := range cases {
		if got := mediastore.SafeID(tc.id); got != tc.want {
			t.Errorf("SafeID(%q) = %v, want %v", tc.id, got, tc.want)
		}
	}
}

func TestServe(t *testing.T) {
	png := []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
	for _, hashed := range []bool{false, true} {
		s := open(t, mediastore.Options{Valid: digits, HashNames: hashed, NotFound: "no such media", NotYet: "media not fetched yet"})
		if err := s.Put("1001", png, mediastore.Meta{ContentType: "image/png"}); err != nil {
			t.Fatal(err)
		}
		if err := s.Put("1002", []byte("<svg onload=alert(1)>"), mediastore.Meta{ContentType: "text/html\r\nX-Evil: 1"}); err != nil {
			t.Fatal(err)
		}
		cases := []struct {
			name, method, query string
			status              int
			body, contentType   string
			retryAfter          string
		}{
			{"kept", "GET", query(s, "1001"), 200, string(png), "image/png", ""},
			{"kept, HEAD", "HEAD", query(s, "1001"), 200, "", "image/png", ""},
			{"bad type kept", "GET", query(s, "1002"), 200, "<svg onload=alert(1)>", "application/octet-stream", ""},
			{"not kept yet", "GET", query(s, "1003"), 404, "media not fetched yet", "", "2"},
			{"no sig", "GET", "id=1001", 404, "no such media", "", ""},
			{"another id's sig", "GET", "id=1003&sig=" + s.Sign("1001"), 404, "no such media", "", ""},
			{"sig of another key", "GET", query(open(t, mediastore.Options{Key: []byte("other")}), "1001"), 404, "no such media", "", ""},
			{"signed id the connector refuses", "GET", query(s, "abc"), 404, "no such media", "", ""},
			{"signed path out", "GET", query(s, "../1001"), 404, "no such media", "", ""},
			{"signed metadata name", "GET", query(s, "1001.json"), 404, "no such media", "", ""},
			{"no id", "GET", "sig=" + s.Sign(""), 404, "no such media", "", ""},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				resp := call(s, tc.method, tc.query)
				body := tc.body
				if tc.status == 404 {
					body = `{"error":"` + tc.body + `"}` + "\n"
				}
				if resp.StatusCode() != tc.status || string(resp.Body()) != body {
					t.Fatalf("%d %q, want %d %q", resp.StatusCode(), resp.Body(), tc.status, body)
				}
				if got := string(resp.Header.Peek("Retry-After")); got != tc.retryAfter {
					t.Errorf("Retry-After %q, want %q", got, tc.retryAfter)
				}
				if tc.status != 200 {
					return
				}
				if got := string(resp.Header.ContentType()); got != tc.contentType {
					t.Errorf("Content-Type %q, want %q", got, tc.contentType)
				}
				for h, want := range map[string]string{"X-Content-Type-Options": "nosniff", "Content-Security-Policy": "sandbox",
					"Cache-Control": "private, max-age=86400", "Content-Disposition": ""} {
					if got := string(resp.Header.Peek(h)); got != want {
						t.Errorf("%s %q, want %q", h, got, want)
					}
				}
				if tc.method == "HEAD" && resp.Header.ContentLength() != len(png) {
					t.Errorf("HEAD: Content-Length %d, want %d", resp.Header.ContentLength(), len(png))
				}
			})
		}
	}
}

func TestServeDisposition(t *testing.T) {
	s := open(t, mediastore.Options{Disposition: true})
	cases := []struct{ name, filename, want string }{
		{"plain", "Invoice 2026-11.pdf", `inline; filename="Invoice 2026-11.pdf"`},
		{"none", "", `inline; filename="attachment"`},
		{"path", `C:\Users\x\..\report.pdf`, `inline; filename="report.pdf"`},
		{"quotes and newlines", "a\"b\r\nSet-Cookie: x.txt", `inline; filename="a_b__Set-Cookie: x.txt"`},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			id := "f" + string(rune('0'+i))
			if err := s.Put(id, []byte("%PDF-1.4"), mediastore.Meta{ContentType: "application/pdf", Filename: tc.filename}); err != nil {
				t.Fatal(err)
			}
			resp := call(s, "GET", query(s, id))
			if got := string(resp.Header.Peek("Content-Disposition")); resp.StatusCode() != 200 || got != tc.want {
				t.Errorf("%d, Content-Disposition %q, want %q", resp.StatusCode(), got, tc.want)
			}
		})
	}
}

func TestServeMissing(t *testing.T) {
	cases := []struct {
		name   string
		fill   func(s **mediastore.Store) func(*fasthttp.RequestCtx, string) error
		status int
		body   string
	}{
		{"kept on demand", func(s **mediastore.Store) func(*fasthttp.RequestCtx, string) error {
			return func(_ *fasthttp.RequestCtx, id string) error {
				return (*s).Put(id, []byte("late"), mediastore.Meta{ContentType: "text/plain"})
			}
		}, 200, "late"},
		{"answered by the connector", func(*(*mediastore.Store)) func(*fasthttp.RequestCtx, string) error {
			return func(ctx *fasthttp.RequestCtx, _ string) error {
				mediastore.Error(ctx, http.StatusBadGateway, "content not fetched from LINE")
				return errors.New("LINE answered 500")
			}
		}, 502, `{"error":"content not fetched from LINE"}` + "\n"},
		{"claims it kept what it did not", func(*(*mediastore.Store)) func(*fasthttp.RequestCtx, string) error {
			return func(*fasthttp.RequestCtx, string) error { return nil }
		}, 404, `{"error":"no such content"}` + "\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var s *mediastore.Store
			s = open(t, mediastore.Options{Valid: digits, NotFound: "no such content", Missing: tc.fill(&s)})
			resp := call(s, "GET", query(s, "325708"))
			if resp.StatusCode() != tc.status || string(resp.Body()) != tc.body {
				t.Errorf("%d %q, want %d %q", resp.StatusCode(), resp.Body(), tc.status, tc.body)
			}
			if resp := call(s, "GET", "id=325708&sig=00"); resp.StatusCode() != 404 || string(resp.Body()) != `{"error":"no such content"}`+"\n" {
				t.Errorf("a bad signature reached Missing: %d %q", resp.StatusCode(), resp.Body())
			}
		})
	}
}

func TestPutGet(t *testing.T) {
	dir := t.TempDir()
	s := open(t, mediastore.Options{Dir: dir, Valid: digits})
	if s.Has("42") {
		t.Fatal("Has before Put")
	}
	if err := s.Put("42", []byte("hello"), mediastore.Meta{ContentType: "text/plain; charset=utf-8", Filename: "hi.txt"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Put("x/y", nil, mediastore.Meta{}); err == nil {
		t.Error("Put of an id the store refuses: no error")
	}
	data, meta, err := s.Get("42")
	if err != nil || string(data) != "hello" || meta != (mediastore.Meta{ContentType: "text/plain; charset=utf-8", Filename: "hi.txt"}) {
		t.Fatalf("Get = %q %+v %v", data, meta, err)
	}
	if !s.Has("42") {
		t.Error("not Has after Put")
	}
	if _, _, err := s.Get("43"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Get of no file: %v, want os.ErrNotExist", err)
	}
	if _, _, err := s.Get("../42"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Get of a path: %v, want os.ErrNotExist", err)
	}
	entries, _ := os.ReadDir(dir)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if strings.Join(names, " ") != "42 42.json" {
		t.Errorf("dir holds %q, want the file and its metadata only", names)
	}
}

// TestGetTypeFile reads a directory kept before the metadata was JSON:
// the content type alone in {name}.type.
func TestGetTypeFile(t *testing.T) {
	dir := t.TempDir()
	s := open(t, mediastore.Options{Dir: dir, Valid: digits})
	if err := os.WriteFile(filepath.Join(dir, "7"), []byte("OggS"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "7.type"), []byte("audio/ogg; codecs=opus"), 0o600); err != nil {
		t.Fatal(err)
	}
	resp := call(s, "GET", query(s, "7"))
	if got := string(resp.Header.ContentType()); resp.StatusCode() != 200 || got != "audio/ogg; codecs=opus" {
		t.Errorf("%d, Content-Type %q", resp.StatusCode(), got)
	}
}

func TestContentType(t *testing.T) {
	cases := []struct{ in, want string }{
		{"image/jpeg", "image/jpeg"},
		{"Image/JPEG", "image/jpeg"},
		{"audio/ogg; codecs=opus", "audio/ogg; codecs=opus"},
		{"text/csv;charset=\"UTF-8\"", "text/csv; charset=UTF-8"},
		{"", "application/octet-stream"},
		{"jpeg", "application/octet-stream"},
		{"text/html\r\nX-Evil: 1", "application/octet-stream"},
	}
	for _, tc := range cases {
		if got := mediastore.ContentType(tc.in); got != tc.want {
			t.Errorf("ContentType(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestSafeFilename(t *testing.T) {
	cases := []struct{ in, want string }{
		{"label.png", "label.png"},
		{"Invoice 2026-11.pdf", "Invoice 2026-11.pdf"},
		{"Bestellübersicht.csv", "Bestell_bersicht.csv"},
		{"../../etc/passwd", "passwd"},
		{`C:\temp\a.txt`, "a.txt"},
		{`say "hi".txt`, "say _hi_.txt"},
		{"  .hidden. ", "hidden"},
		{"", "attachment"},
		{"...", "attachment"},
		{strings.Repeat("x", 150) + ".pdf", strings.Repeat("x", 100)},
	}
	for _, tc := range cases {
		if got := mediastore.SafeFilename(tc.in); got != tc.want {
			t.Errorf("SafeFilename(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestWriteAtomic(t *testing.T) {
	dir := t.TempDir()
	name := filepath.Join(dir, "f")
	for _, data := range []string{"first", "second, longer"} {
		if err := mediastore.WriteAtomic(name, []byte(data)); err != nil {
			t.Fatal(err)
		}
		if got, _ := os.ReadFile(name); string(got) != data {
			t.Errorf("file holds %q, want %q", got, data)
		}
	}
	if err := mediastore.WriteAtomic(filepath.Join(dir, "none", "f"), []byte("x")); err == nil {
		t.Error("write into no directory: no error")
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("%d entries, want the file alone", len(entries))
	}
}
