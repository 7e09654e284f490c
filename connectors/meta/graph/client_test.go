package graph_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-dev/switchboard/connectors"
	"github.com/switchboard-dev/switchboard/connectors/meta/graph"
	"github.com/switchboard-dev/switchboard/connectors/meta/graphfake"
)

const phoneID = "106540352242922"

type sendAnswer struct {
	Product  string `json:"messaging_product"`
	Contacts []struct {
		Input string `json:"input"`
		WaID  string `json:"wa_id"`
	} `json:"contacts"`
	Messages []struct {
		ID string `json:"id"`
	} `json:"messages"`
}

func TestPostSendsJSONWithBearerToken(t *testing.T) {
	f := graphfake.New(t)
	c := graph.New(f.Config(), f.Client())
	msg := map[string]any{"messaging_product": "whatsapp", "to": "+16505551234", "type": "text",
		"text": map[string]any{"preview_url": false, "body": "Hi"}}
	var out sendAnswer
	if err := c.Post(context.Background(), phoneID+"/messages", msg, &out); err != nil {
		t.Fatal(err)
	}
	if len(out.Messages) != 1 || !strings.HasPrefix(out.Messages[0].ID, "wamid.") || out.Contacts[0].WaID != "16505551234" {
		t.Fatalf("answer %+v", out)
	}
	reqs := f.Requests()
	if len(reqs) != 1 {
		t.Fatalf("%d requests", len(reqs))
	}
	r := reqs[0]
	if r.Method != "POST" || r.Path != "/v23.0/"+phoneID+"/messages" || r.Token != graphfake.Token {
		t.Fatalf("request %s %s token %q", r.Method, r.Path, r.Token)
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	want := `{"messaging_product":"whatsapp","text":{"body":"Hi","preview_url":false},"to":"+16505551234","type":"text"}`
	if string(r.Body) != want {
		t.Errorf("body %s\nwant %s", r.Body, want)
	}
}

func TestConfigDefaultsAndVersion(t *testing.T) {
	f := graphfake.New(t)
	c := graph.New(graph.Config{BaseURL: f.URL + "/", Version: "v21.0", Token: f.Token}, f.Client())
	_ = c.Post(context.Background(), "/"+phoneID+"/messages", map[string]string{"messaging_product": "whatsapp"}, nil)
	if p := f.Requests()[0].Path; p != "/v21.0/"+phoneID+"/messages" {
		t.Fatalf("path %s", p)
	}
	if u := graph.New(graph.Config{}, nil).URL("me/messages"); u != "https://graph.facebook.com/v23.0/me/messages" {
		t.Fatalf("default URL %s", u)
	}
}

func TestPostErrors(t *testing.T) {
	path := graphfake.Path(phoneID + "/messages")
	tests := []struct {
		name      string
		status    int
		body      string
		header    http.Header
		permanent bool
		retry     time.Duration // 0: no RetryAfter
		code      int
		text      string
	}{
		{"429 with Retry-After", 429, graphfake.ErrorJSON(130429, 0, "Rate limit hit", ""), http.Header{"Retry-After": {"7"}}, false, 7 * time.Second, 130429, "graph 130429 (HTTP 429): Rate limit hit"},
		{"503 not JSON", 503, "<html>Service Unavailable</html>", nil, false, 0, 0, "graph: HTTP 503: <html>Service Unavailable</html>"},
		{"500 Meta error", 500, graphfake.ErrorJSON(2, 0, "Service temporarily unavailable", ""), nil, false, 0, 2, "graph 2 (HTTP 500)"},
		{"pair rate limit as 400", 400, graphfake.WhatsAppErrorJSON(131056, "(Business Account, Consumer Account) pair rate limit hit", "Message failed to send because there were too many messages sent from this phone number to the same phone number in a short period of time."), nil, false, 0, 131056, "pair rate limit"},
		{"app request limit", 400, graphfake.ErrorJSON(4, 0, "(#4) Application request limit reached", ""), nil, false, 0, 4, "(#4)"},
		{"page limit 613", 400, graphfake.ErrorJSON(613, 0, "Calls to this api have exceeded the rate limit.", ""), nil, false, 0, 613, "613"},
		{"24-hour window", 400, graphfake.WhatsAppErrorJSON(131047, "Re-engagement message", "Message failed to send because more than 24 hours have passed since the customer last replied to this number."), nil, true, 0, 131047, "Re-engagement message: Message failed to send because more than 24 hours"},
		{"bad token", 401, graphfake.ErrorJSON(190, 463, "Error validating access token: Session has expired", ""), nil, true, 0, 190, "graph 190 (HTTP 401)"},
		{"transient flag", 400, `{"error":{"message":"An unexpected error has occurred.","type":"OAuthException","code":1,"is_transient":true,"fbtrace_id":"A"}}`, nil, false, 0, 1, "unexpected"},
		{"404 plain", 404, "not here", nil, true, 0, 0, "graph: HTTP 404: not here"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := graphfake.New(t)
			f.Respond(path, tt.status, tt.body, tt.header)
			c := graph.New(f.Config(), f.Client())
			err := c.Post(context.Background(), phoneID+"/messages", map[string]string{"messaging_product": "whatsapp"}, nil)
			if err == nil {
				t.Fatal("no error")
			}
			if connectors.IsPermanent(err) != tt.permanent {
				t.Errorf("IsPermanent = %v, want %v (%v)", !tt.permanent, tt.permanent, err)
			}
			d, ok := connectors.RetryDelay(err)
			if ok != (tt.retry != 0) || d != tt.retry {
				t.Errorf("RetryDelay = %v %v, want %v", d, ok, tt.retry)
			}
			var ge *graph.Error
			if !errors.As(err, &ge) || ge.Status != tt.status || ge.Code != tt.code {
				t.Fatalf("errors.As *graph.Error: %#v", ge)
			}
			if !strings.Contains(err.Error(), tt.text) {
				t.Errorf("error %q, want it to contain %q", err, tt.text)
			}
			if tt.code != 0 && !graph.IsCode(err, tt.code) {
				t.Errorf("IsCode(%d) false", tt.code)
			}
		})
	}
}

func TestErrorFields(t *testing.T) {
	f := graphfake.New(t)
	path := graphfake.Path(phoneID + "/messages")
	f.Respond(path, 400, graphfake.ErrorJSON(100, 2494010, "(#100) Invalid parameter", "OAuthException"), nil)
	err := graph.New(f.Config(), f.Client()).Post(context.Background(), phoneID+"/messages", map[string]string{}, nil)
	var ge *graph.Error
	if !errors.As(err, &ge) {
		t.Fatal(err)
	}
	want := graph.Error{Status: 400, Code: 100, Subcode: 2494010, Type: "OAuthException", Message: "(#100) Invalid parameter", TraceID: "AbCdEfGhIjKlMnOp"}
	if *ge != want {
		t.Fatalf("%+v\nwant %+v", *ge, want)
	}
}

func TestNetworkErrorIsTemporary(t *testing.T) {
	f := graphfake.New(t)
	c := graph.New(f.Config(), f.Client())
	f.Close()
	err := c.Post(context.Background(), phoneID+"/messages", map[string]string{}, nil)
	if err == nil || connectors.IsPermanent(err) {
		t.Fatalf("closed server: %v, want a temporary error", err)
	}
}

func TestUnreadable2xxIsPermanent(t *testing.T) {
	f := graphfake.New(t)
	path := graphfake.Path(phoneID + "/messages")
	f.Respond(path, 200, "not json", nil)
	var out sendAnswer
	err := graph.New(f.Config(), f.Client()).Post(context.Background(), phoneID+"/messages", map[string]string{}, &out)
	if err == nil || !connectors.IsPermanent(err) {
		t.Fatalf("%v, want a permanent error: the send was done", err)
	}
}

func TestGetAndDownloadMedia(t *testing.T) {
	f := graphfake.New(t)
	data := []byte("\xff\xd8\xff\xe0 a jpeg")
	f.AddMedia("1013859600285441", "image/jpeg", data)
	c := graph.New(f.Config(), f.Client())
	var meta struct {
		URL      string `json:"url"`
		MimeType string `json:"mime_type"`
		FileSize int    `json:"file_size"`
	}
	if err := c.Get(context.Background(), "1013859600285441", &meta); err != nil {
		t.Fatal(err)
	}
	if meta.MimeType != "image/jpeg" || meta.FileSize != len(data) || !strings.HasPrefix(meta.URL, f.URL+graphfake.MediaPath) {
		t.Fatalf("media %+v", meta)
	}
	got, ct, err := c.Download(context.Background(), meta.URL, 1<<20)
	if err != nil || ct != "image/jpeg" || string(got) != string(data) {
		t.Fatalf("Download = %q %q %v", got, ct, err)
	}
	reqs := f.Requests()
	if reqs[0].Path != "/v23.0/1013859600285441" || reqs[1].Path != graphfake.MediaPath || reqs[1].Token != graphfake.Token {
		t.Fatalf("requests %+v", reqs)
	}
	if _, _, err := c.Download(context.Background(), meta.URL, int64(len(data)-1)); err == nil || !connectors.IsPermanent(err) {
		t.Fatalf("oversized download: %v, want a permanent error", err)
	}
	_, _, err = c.Download(context.Background(), f.URL+graphfake.MediaPath+"?mid=gone", 1<<20)
	var ge *graph.Error
	if !errors.As(err, &ge) || ge.Status != 404 || !connectors.IsPermanent(err) {
		t.Fatalf("missing media: %v", err)
	}
	if err := c.Get(context.Background(), "unknown-id", &meta); !graph.IsCode(err, 100) {
		t.Fatalf("unknown id: %v", err)
	}
}

func TestWrongTokenRefused(t *testing.T) {
	f := graphfake.New(t)
	cfg := f.Config()
	cfg.Token = "stale"
	err := graph.New(cfg, f.Client()).Post(context.Background(), phoneID+"/messages", map[string]string{}, nil)
	if !graph.IsCode(err, 190) || !connectors.IsPermanent(err) {
		t.Fatalf("%v, want a permanent 190", err)
	}
}

func TestMessengerShape(t *testing.T) {
	f := graphfake.New(t)
	var out struct {
		RecipientID string `json:"recipient_id"`
		MessageID   string `json:"message_id"`
	}
	body := json.RawMessage(`{"recipient":{"id":"6783421987"},"messaging_type":"RESPONSE","message":{"text":"hi"}}`)
	if err := graph.New(f.Config(), f.Client()).Post(context.Background(), "me/messages", body, &out); err != nil {
		t.Fatal(err)
	}
	if out.RecipientID != "6783421987" || !strings.HasPrefix(out.MessageID, "m_") {
		t.Fatalf("%+v", out)
	}
}

func TestContextCancelled(t *testing.T) {
	f := graphfake.New(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := graph.New(f.Config(), f.Client()).Post(ctx, phoneID+"/messages", map[string]string{}, nil)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("%v, want context.Canceled", err)
	}
}
