// Package telegramfake is a fake of the Telegram Bot API on loopback, for
// the tests of the telegram connector and of the server that runs it. It
// answers the methods the connector calls (setWebhook, sendMessage, the
// send methods of media, answerCallbackQuery, getFile) as the Bot API
// does, serves the files getFile names, records every call with its
// parameters as the client sent them, and answers a scripted error when
// told to. It also builds the webhook requests Telegram makes.
package telegramfake

import (
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-dev/switchboard/connectors"
)

// Token is the bot token the fake takes: the bot's id is 123456789.
const Token = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"

// BotID is the id in Token.
const BotID = "123456789"

// Call is one Bot API call the fake received.
type Call struct {
	Method string            // sendMessage, setWebhook, …
	Params map[string]string // the form's (or JSON body's) fields, as sent
}

// Fake is a running fake Bot API.
type Fake struct {
	URL string // base URL, as the connector's api_url

	t      testing.TB
	srv    *httptest.Server
	mu     sync.Mutex
	calls  []Call
	errors map[string][]string // method → error bodies to answer next
	files  map[string]file     // file_id → file
	nextID int
}

type file struct {
	path string
	data []byte
}

// New starts a fake, closed when the test ends.
func New(t testing.TB) *Fake {
	f := &Fake{t: t, errors: map[string][]string{}, files: map[string]file{}, nextID: 1000}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	f.URL = f.srv.URL
	t.Cleanup(f.srv.Close)
	return f
}

// Client is an HTTP client for the fake.
func (f *Fake) Client() *http.Client { return f.srv.Client() }

// AddFile makes getFile know the file id, at path (like
// "photos/file_0.jpg"), with its content.
func (f *Fake) AddFile(id, path string, data []byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.files[id] = file{path, data}
}

// Fail queues an error answer (see ErrorJSON) for the next call of method.
func (f *Fake) Fail(method, body string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.errors[method] = append(f.errors[method], body)
}

// ErrorJSON is the Bot API's error answer; retryAfter > 0 adds
// parameters.retry_after, as a 429 has.
func ErrorJSON(code int, description string, retryAfter int) string {
	b := map[string]any{"ok": false, "error_code": code, "description": description}
	if retryAfter > 0 {
		b["parameters"] = map[string]any{"retry_after": retryAfter}
	}
	out, _ := json.Marshal(b)
	return string(out)
}

// Calls returns the calls received so far of method, or of every method
// when it is "".
func (f *Fake) Calls(method string) []Call {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []Call
	for _, c := range f.calls {
		if method == "" || c.Method == method {
			out = append(out, c)
		}
	}
	return out
}

// Wait returns the calls of method once there are at least n, failing the
// test after 10 s.
func (f *Fake) Wait(method string, n int) []Call {
	f.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		calls := f.Calls(method)
		if len(calls) >= n {
			return calls
		}
		if time.Now().After(deadline) {
			f.t.Fatalf("telegramfake: %d calls of %s after 10 s, want %d: %+v", len(calls), method, n, f.Calls(""))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (f *Fake) serve(w http.ResponseWriter, r *http.Request) {
	if rest, ok := strings.CutPrefix(r.URL.Path, "/file/bot"+Token+"/"); ok && r.Method == http.MethodGet {
		f.serveFile(w, rest)
		return
	}
	method, ok := strings.CutPrefix(r.URL.Path, "/bot"+Token+"/")
	if !ok || r.Method != http.MethodPost {
		answer(w, http.StatusNotFound, ErrorJSON(404, "Not Found", 0))
		return
	}
	params, err := ReadParams(r)
	if err != nil {
		answer(w, http.StatusBadRequest, ErrorJSON(400, "Bad Request: "+err.Error(), 0))
		return
	}
	f.mu.Lock()
	f.calls = append(f.calls, Call{Method: method, Params: params})
	if q := f.errors[method]; len(q) > 0 {
		f.errors[method] = q[1:]
		f.mu.Unlock()
		var e struct {
			Code int `json:"error_code"`
		}
		_ = json.Unmarshal([]byte(q[0]), &e)
		answer(w, e.Code, q[0])
		return
	}
	f.nextID++
	id := f.nextID
	fl, known := f.files[params["file_id"]]
	f.mu.Unlock()
	switch method {
	case "setWebhook":
		answer(w, http.StatusOK, `{"ok":true,"result":true,"description":"Webhook was set"}`)
	case "answerCallbackQuery":
		answer(w, http.StatusOK, `{"ok":true,"result":true}`)
	case "getFile":
		if !known {
			answer(w, http.StatusBadRequest, ErrorJSON(400, "Bad Request: invalid file_id", 0))
			return
		}
		res, _ := json.Marshal(map[string]any{"file_id": params["file_id"], "file_unique_id": "AQAD" + strconv.Itoa(id),
			"file_size": len(fl.data), "file_path": fl.path})
		answer(w, http.StatusOK, `{"ok":true,"result":`+string(res)+`}`)
	case "sendMessage", "sendPhoto", "sendVideo", "sendVoice", "sendDocument":
		answer(w, http.StatusOK, `{"ok":true,"result":`+sentMessage(id, params)+`}`)
	default:
		answer(w, http.StatusNotFound, ErrorJSON(404, "Not Found: method not found", 0))
	}
}

// sentMessage is the Message the Bot API returns for a send.
func sentMessage(id int, params map[string]string) string {
	chat, _ := strconv.ParseInt(params["chat_id"], 10, 64)
	m := map[string]any{"message_id": id, "date": time.Now().Unix(),
		"from": map[string]any{"id": 123456789, "is_bot": true, "first_name": "Switchboard", "username": "switchboard_bot"},
		"chat": map[string]any{"id": chat, "type": "private"}}
	if t := params["text"]; t != "" {
		m["text"] = t
	}
	if k := params["reply_markup"]; k != "" {
		m["reply_markup"] = json.RawMessage(k)
	}
	out, _ := json.Marshal(m)
	return string(out)
}

func (f *Fake) serveFile(w http.ResponseWriter, path string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, fl := range f.files {
		if fl.path == path {
			w.Write(fl.data)
			return
		}
	}
	http.NotFound(w, nil)
}

func answer(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	io.WriteString(w, body)
}

// ReadParams reads a call's parameters from any of the encodings the Bot
// API takes: multipart/form-data, x-www-form-urlencoded, JSON.
func ReadParams(r *http.Request) (map[string]string, error) {
	mt, ps, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	params := map[string]string{}
	switch mt {
	case "multipart/form-data":
		mr := multipart.NewReader(r.Body, ps["boundary"])
		for {
			p, err := mr.NextPart()
			if err == io.EOF {
				return params, nil
			}
			if err != nil {
				return nil, err
			}
			v, err := io.ReadAll(p)
			if err != nil {
				return nil, err
			}
			params[p.FormName()] = string(v)
		}
	case "application/json":
		var m map[string]json.RawMessage
		if err := json.NewDecoder(r.Body).Decode(&m); err != nil {
			return nil, err
		}
		for k, v := range m {
			var s string
			if json.Unmarshal(v, &s) != nil {
				s = string(v)
			}
			params[k] = s
		}
		return params, nil
	default:
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return nil, err
		}
		q, err := url.ParseQuery(string(body))
		if err != nil {
			return nil, err
		}
		for k := range q {
			params[k] = q.Get(k)
		}
		return params, nil
	}
}

// Webhook is the request Telegram makes to deliver body to the webhook
// at hook, with secret in X-Telegram-Bot-Api-Secret-Token ("" for none).
func Webhook(secret, hook string, body []byte) *connectors.Request {
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	if secret != "" {
		h.Set("X-Telegram-Bot-Api-Secret-Token", secret)
	}
	path := hook
	if u, err := url.Parse(hook); err == nil {
		path = u.Path
	}
	return &connectors.Request{Method: http.MethodPost, URL: hook, Path: path, Header: h, Body: slices.Clone(body),
		RemoteAddr: "149.154.167.220:44312"}
}

// Keyboard is the inline keyboard in a call's reply_markup: each button's
// text and callback_data, row by row.
func Keyboard(c Call) ([][2]string, error) {
	var k struct {
		Rows [][]struct {
			Text string `json:"text"`
			Data string `json:"callback_data"`
		} `json:"inline_keyboard"`
	}
	if err := json.Unmarshal([]byte(c.Params["reply_markup"]), &k); err != nil {
		return nil, fmt.Errorf("reply_markup %q: %w", c.Params["reply_markup"], err)
	}
	var out [][2]string
	for _, row := range k.Rows {
		for _, b := range row {
			out = append(out, [2]string{b.Text, b.Data})
		}
	}
	return out, nil
}
