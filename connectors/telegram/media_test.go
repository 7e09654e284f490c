package telegram_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/switchboard-dev/switchboard/connectors"
	"github.com/switchboard-dev/switchboard/connectors/telegram/telegramfake"
	"github.com/switchboard-dev/switchboard/internal/httpsurface"
)

// serveMedia calls the instance's media route as the server would.
func serveMedia(t *testing.T, c connectors.Connector, link string) (int, string, []byte) {
	t.Helper()
	u, err := url.Parse(link)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range c.(httpsurface.Pages).Routes() {
		if r.Method == http.MethodGet && "/telegram/default"+r.Path == u.Path {
			var ctx fasthttp.RequestCtx
			ctx.Request.SetRequestURI(u.RequestURI())
			ctx.Request.Header.SetMethod(http.MethodGet)
			r.Handler(&ctx)
			return ctx.Response.StatusCode(), string(ctx.Response.Header.ContentType()), ctx.Response.Body()
		}
	}
	t.Fatalf("no route serves %s", link)
	return 0, "", nil
}

// TestMediaFetchedAndServed: a photo's file is fetched with getFile and
// the download link, kept, and served on the instance's route under a
// signed link that does not hold the bot token.
func TestMediaFetchedAndServed(t *testing.T) {
	f := telegramfake.New(t)
	photo := []byte("\xff\xd8\xff\xe0 a jpeg")
	f.AddFile("AgACAgQAAxkBAAIBbWdUxkF0bmFjaXJlZGZpbGUtbGFyZ2UAAg", "photos/file_12.jpg", photo)
	c := newConnector(t, config(t, f.URL, nil), connectors.Resources{HTTPClient: f.Client()})
	in, err := c.Receive(context.Background(), telegramfake.Webhook(secret, webhook, findPayload(t, "photo").Body))
	if err != nil {
		t.Fatal(err)
	}
	link := in[0].Media[0]
	if strings.Contains(link, telegramfake.Token) || strings.Contains(link, "AAHdq") {
		t.Fatalf("the link holds the token: %s", link)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		status, ct, body := serveMedia(t, c, link)
		if status == http.StatusOK {
			if ct != "image/jpeg" || string(body) != string(photo) {
				t.Errorf("served %s %q", ct, body)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the file was never served: %d %s", status, body)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if calls := f.Calls("getFile"); len(calls) != 1 || calls[0].Params["file_id"] != "AgACAgQAAxkBAAIBbWdUxkF0bmFjaXJlZGZpbGUtbGFyZ2UAAg" {
		t.Errorf("getFile calls %+v", calls)
	}
	// A link with a wrong signature, or another id, names nothing.
	for _, bad := range []string{strings.Replace(link, "sig=", "sig=0", 1), strings.Replace(link, "id=AgAC", "id=AgAD", 1)} {
		if status, _, _ := serveMedia(t, c, bad); status != http.StatusNotFound {
			t.Errorf("%s: %d, want 404", bad, status)
		}
	}
}

// TestMediaUnknownFile: a file getFile refuses is not retried, and its
// link answers 404.
func TestMediaUnknownFile(t *testing.T) {
	f := telegramfake.New(t)
	c := newConnector(t, config(t, f.URL, nil), connectors.Resources{HTTPClient: f.Client()})
	in, err := c.Receive(context.Background(), telegramfake.Webhook(secret, webhook, findPayload(t, "voice").Body))
	if err != nil {
		t.Fatal(err)
	}
	f.Wait("getFile", 1)
	_ = c.(connectors.Closer).Close(context.Background())
	if n := len(f.Calls("getFile")); n != 1 {
		t.Errorf("getFile called %d times for a refused file, want 1", n)
	}
	if status, _, _ := serveMedia(t, c, in[0].Media[0]); status != http.StatusNotFound {
		t.Errorf("status %d, want 404", status)
	}
}
