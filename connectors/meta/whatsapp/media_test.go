package whatsapp_test

import (
	"context"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/switchboard-dev/switchboard/connectors"
	"github.com/switchboard-dev/switchboard/connectors/meta/graphfake"
	"github.com/switchboard-dev/switchboard/internal/httpsurface"
)

const imageID = "1013859600285441" // the media of testdata's image.txtar

// get calls the instance's route for path+query as the server would.
func get(t testing.TB, c connectors.Connector, method, link string) *fasthttp.Response {
	t.Helper()
	u, err := url.Parse(link)
	if err != nil {
		t.Fatal(err)
	}
	prefix := "/whatsapp_cloud/default"
	for _, r := range c.(httpsurface.Pages).Routes() {
		if r.Method == method && prefix+r.Path == u.Path {
			var ctx fasthttp.RequestCtx
			ctx.Request.Header.SetMethod(method)
			ctx.Request.SetRequestURI(u.RequestURI())
			r.Handler(&ctx)
			var resp fasthttp.Response
			ctx.Response.CopyTo(&resp)
			return &resp
		}
	}
	t.Fatalf("no route %s %s", method, u.Path)
	return nil
}

func TestMediaFetchedAndServed(t *testing.T) {
	f := graphfake.New(t)
	jpeg := []byte("\xff\xd8\xff\xe0\x00\x10JFIF customer photo")
	f.AddMedia(imageID, "image/jpeg", jpeg)
	dir := t.TempDir()
	c := newConnector(t, config(t, f.URL, connectors.Config{"media_dir": dir}), connectors.Resources{HTTPClient: f.Client()})

	in, err := c.Receive(context.Background(), graphfake.Webhook(appSecret, webhook, findPayload(t, "image").Body))
	if err != nil {
		t.Fatal(err)
	}
	if len(in) != 1 || len(in[0].Media) != 1 {
		t.Fatalf("inbound %+v", in)
	}
	link := in[0].Media[0]
	if !strings.HasPrefix(link, publicURL+"/whatsapp_cloud/default/media?id="+imageID+"&sig=") {
		t.Fatalf("media link %s", link)
	}
	deadline := time.Now().Add(5 * time.Second)
	var resp *fasthttp.Response
	for {
		resp = get(t, c, http.MethodGet, link)
		if resp.StatusCode() == 200 || time.Now().After(deadline) {
			break
		}
		if resp.StatusCode() != 404 {
			t.Fatalf("before the fetch: %d, want 404", resp.StatusCode())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if resp.StatusCode() != 200 || string(resp.Body()) != string(jpeg) || string(resp.Header.ContentType()) != "image/jpeg" {
		t.Fatalf("served %d %q %q", resp.StatusCode(), resp.Header.ContentType(), resp.Body())
	}
	if head := get(t, c, http.MethodHead, link); head.StatusCode() != 200 || head.Header.ContentLength() != len(jpeg) {
		t.Errorf("HEAD: %d, length %d", head.StatusCode(), head.Header.ContentLength())
	}
	if kept, err := os.ReadFile(filepath.Join(dir, imageID)); err != nil || string(kept) != string(jpeg) {
		t.Errorf("media_dir holds %q, %v", kept, err)
	}
	var lookups, downloads int
	for _, r := range f.Requests() {
		switch {
		case r.Path == "/v23.0/"+imageID && r.Token == graphfake.Token:
			lookups++
		case r.Path == graphfake.MediaPath && r.Query.Get("mid") == imageID && r.Token == graphfake.Token:
			downloads++
		default:
			t.Errorf("unexpected request %s %s", r.Method, r.Path)
		}
	}
	if lookups != 1 || downloads != 1 {
		t.Errorf("%d lookups, %d downloads; want one each with the bearer token", lookups, downloads)
	}
	// a redelivery of the notification fetches nothing again
	if _, err := c.Receive(context.Background(), graphfake.Webhook(appSecret, webhook, findPayload(t, "image").Body)); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	if n := len(f.Requests()); n != 2 {
		t.Errorf("%d requests after the redelivery, want still 2", n)
	}
}

func TestMediaRouteRefuses(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "secret"), []byte("not media"), 0o600); err != nil {
		t.Fatal(err)
	}
	c := newConnector(t, config(t, "http://127.0.0.1:1", connectors.Config{"media_dir": filepath.Join(dir, "media")}), connectors.Resources{})
	for _, q := range []string{
		"id=" + imageID + "&sig=00000000000000000000000000000000",
		"id=" + imageID,
		"id=../secret&sig=x",
		"id=%2e%2e%2fsecret",
		"",
	} {
		if resp := get(t, c, http.MethodGet, publicURL+"/whatsapp_cloud/default/media?"+q); resp.StatusCode() != 404 || strings.Contains(string(resp.Body()), "not media") {
			t.Errorf("?%s: %d %q, want 404", q, resp.StatusCode(), resp.Body())
		}
	}
}

// TestCloseStopsFetches: a media whose fetch keeps failing is retried in
// the background; Close ends the retries at once.
func TestCloseStopsFetches(t *testing.T) {
	f := graphfake.New(t)
	for range 5 {
		f.Respond(graphfake.Path(imageID), 503, "busy", nil)
	}
	c := newConnector(t, config(t, f.URL, nil), connectors.Resources{HTTPClient: f.Client()})
	if _, err := c.Receive(context.Background(), graphfake.Webhook(appSecret, webhook, findPayload(t, "image").Body)); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Wait(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := c.(connectors.Closer).Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 500*time.Millisecond {
		t.Fatalf("Close took %v", d)
	}
	n := len(f.Requests())
	time.Sleep(1200 * time.Millisecond)
	if len(f.Requests()) != n {
		t.Fatal("fetches went on after Close")
	}
}

// TestMediaRetriedAfterTemporaryFailure: a 503 on the lookup is retried.
func TestMediaRetriedAfterTemporaryFailure(t *testing.T) {
	f := graphfake.New(t)
	f.AddMedia(imageID, "image/jpeg", []byte("jpeg"))
	f.Respond(graphfake.Path(imageID), 503, "busy", nil)
	c := newConnector(t, config(t, f.URL, nil), connectors.Resources{HTTPClient: f.Client()})
	in, err := c.Receive(context.Background(), graphfake.Webhook(appSecret, webhook, findPayload(t, "image").Body))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := f.Wait(ctx, 3); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); {
		if get(t, c, http.MethodGet, in[0].Media[0]).StatusCode() == 200 {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("the media was not served after the lookup's retry")
}
