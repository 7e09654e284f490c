package linefake_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/switchboard-dev/switchboard/connectors/line/linefake"
)

// TestFake: the fake answers as LINE does: the token checked, a reply
// token taken once, a push's retry key accepted once and answered 409
// with the accepted request's id after, content served from the data
// host's path, and scripted answers first.
func TestFake(t *testing.T) {
	f := linefake.New(t)
	f.AddContent("325708", "image/png", []byte("png"))
	f.Respond(linefake.PushPath, linefake.Answer{Status: 429, Body: linefake.ErrorJSON("The API rate limit has been exceeded. Try again later.")})
	call := func(method, path, token, retryKey, body string) (int, http.Header, string) {
		req, _ := http.NewRequest(method, f.URL+path, strings.NewReader(body))
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		if retryKey != "" {
			req.Header.Set("X-Line-Retry-Key", retryKey)
		}
		res, err := f.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, res.Header, string(b)
	}
	const msg = `"messages":[{"type":"text","text":"Hi"}]`
	const key = "123e4567-e89b-42d3-a456-426614174000"
	for i, tc := range []struct {
		method, path, token, key, body string
		status                         int
		answer                         string
	}{
		{"POST", linefake.ReplyPath, "wrong", "", `{"replyToken":"r1",` + msg + `}`, 401, "Authentication failed"},
		{"POST", linefake.ReplyPath, linefake.Token, "", `{"replyToken":"r1",` + msg + `}`, 200, `"id":"` + linefake.MessageID(1) + `"`},
		{"POST", linefake.ReplyPath, linefake.Token, "", `{"replyToken":"r1",` + msg + `}`, 400, "Invalid reply token"},
		{"POST", linefake.PushPath, linefake.Token, key, `{"to":"U1",` + msg + `}`, 429, "rate limit"},
		{"POST", linefake.PushPath, linefake.Token, key, `{"to":"U1",` + msg + `}`, 200, `"id":"` + linefake.MessageID(2) + `"`},
		{"POST", linefake.PushPath, linefake.Token, key, `{"to":"U1",` + msg + `}`, 409, "already accepted"},
		{"POST", linefake.PushPath, linefake.Token, "", `{` + msg + `}`, 400, "error"},
		{"GET", "/v2/bot/message/325708/content", linefake.Token, "", "", 200, "png"},
		{"GET", "/v2/bot/message/325709/content", linefake.Token, "", "", 404, "Not found"},
	} {
		status, header, answer := call(tc.method, tc.path, tc.token, tc.key, tc.body)
		if status != tc.status || !strings.Contains(answer, tc.answer) {
			t.Errorf("request %d: %d %s, want %d with %s", i, status, answer, tc.status, tc.answer)
		}
		if status == 409 && header.Get("X-Line-Accepted-Request-Id") == "" {
			t.Errorf("request %d: 409 without X-Line-Accepted-Request-Id", i)
		}
	}
	if n := len(f.Bodies(linefake.PushPath)); n != 4 {
		t.Errorf("%d pushes recorded, want 4", n)
	}
	if got := linefake.Signature("testsecret", []byte("{}")); got == "" || got == linefake.Signature("other", []byte("{}")) {
		t.Errorf("Signature does not depend on the secret: %s", got)
	}
}
