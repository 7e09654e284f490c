package webchat

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/switchboard-dev/switchboard/connectors"
)

// TestUpload checks a visitor's attachment: the upload endpoint refuses
// a missing token (401), an empty body (400), a file without a type (415)
// and one too large (413); it keeps a file and answers its id and signed
// link, which serves the bytes; a message naming the id carries the link
// in Inbound.Media (and in the echo), with or without text; an id that
// names nothing is refused.
func TestUpload(t *testing.T) {
	ts := startServer(t, connectors.Config{"secret": testSecret, "media_dir": t.TempDir()})
	s := ts.session(t, "")
	auth := map[string]string{"Authorization": "Bearer " + s.Token, "Content-Type": "image/png"}
	png := "\x89PNG\r\n\x1a\nnot really a picture"

	for _, c := range []struct {
		header map[string]string
		body   string
		want   int
	}{
		{map[string]string{"Content-Type": "image/png"}, png, http.StatusUnauthorized},
		{auth, "", http.StatusBadRequest},
		{map[string]string{"Authorization": "Bearer " + s.Token}, png, http.StatusUnsupportedMediaType},
		{auth, strings.Repeat("x", MaxUploadBytes+1), http.StatusRequestEntityTooLarge},
	} {
		if code, _, body := ts.do(t, http.MethodPost, "/webchat/default/upload?name=lid.png", c.header, c.body); code != c.want {
			t.Errorf("upload: %d %s, want %d", code, body, c.want)
		}
	}

	code, _, body := ts.do(t, http.MethodPost, "/webchat/default/upload?name=broken%20lid.png", auth, png)
	var up struct{ ID, URL, Name string }
	if code != http.StatusOK || json.Unmarshal(body, &up) != nil || !validUploadID(up.ID) || up.Name != "broken lid.png" {
		t.Fatalf("upload: %d %s", code, body)
	}
	path := strings.TrimPrefix(up.URL, ts.c.publicURL)
	code, h, got := ts.do(t, http.MethodGet, path, nil, "")
	if code != http.StatusOK || string(got) != png || h.Get("Content-Type") != "image/png" {
		t.Fatalf("GET %s: %d %s %q", path, code, h.Get("Content-Type"), got)
	}
	if code, _, _ := ts.do(t, http.MethodGet, strings.Replace(path, "sig=", "sig=0", 1), nil, ""); code != http.StatusNotFound {
		t.Errorf("a link with a wrong signature: %d", code)
	}

	ctx := context.Background()
	ins, err := ts.c.Receive(ctx, webhook(s.Token, `{"id":"c_1","media":["`+up.ID+`"]}`))
	if err != nil || len(ins) != 1 || len(ins[0].Media) != 1 || ins[0].Media[0] != up.URL || ins[0].Text != "" {
		t.Fatalf("a file alone: %v %+v", err, ins)
	}
	ins, err = ts.c.Receive(ctx, webhook(s.Token, `{"id":"c_2","text":"the lid","media":["`+up.ID+`"]}`))
	if err != nil || ins[0].Text != "the lid" || ins[0].Media[0] != up.URL {
		t.Fatalf("a file with text: %v %+v", err, ins)
	}
	code, _, body = ts.do(t, http.MethodGet, "/webchat/default/messages?wait=0", map[string]string{"Authorization": "Bearer " + s.Token}, "")
	if code != http.StatusOK || !strings.Contains(string(body), `"media":["`+strings.ReplaceAll(up.URL, "&", `\u0026`)) &&
		!strings.Contains(string(body), `"media":["`+up.URL) {
		t.Errorf("the echo lacks the file: %s", body)
	}
	for body, want := range map[string]string{
		`{"id":"c_3","media":["u_aaaaaaaaaaaaaaaaaaaaaaaaaa"]}`: `field "media[0]" names no uploaded file`,
		`{"id":"c_3","media":["../../etc/passwd"]}`:             `field "media[0]" is not the id of an uploaded file`,
		`{"id":"c_3","media":["a","b","c","d","e"]}`:            `field "media" lists more than 4 files`,
	} {
		_, err := ts.c.Receive(ctx, webhook(s.Token, body))
		var se *connectors.StatusError
		if !errors.As(err, &se) || se.Status != http.StatusBadRequest || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want 400 %q", body, err, want)
		}
	}
}
