package custom_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-dev/switchboard/connectors"
	"github.com/switchboard-dev/switchboard/connectors/connectortest"
	"github.com/switchboard-dev/switchboard/connectors/custom"
)

const (
	secret    = "whsec_test_secret"
	outSecret = "whsec_outbound_secret"
)

var now = connectortest.Now

func registry(t testing.TB) *connectors.Registry {
	reg := connectors.NewRegistry()
	if err := reg.Register(custom.Spec(), custom.New); err != nil {
		t.Fatal(err)
	}
	return reg
}

func newConnector(t testing.TB, cfg connectors.Config, res connectors.Resources) connectors.Connector {
	t.Helper()
	if res.Now == nil {
		res.Now = func() time.Time { return now }
	}
	c, err := registry(t).New(custom.Name, cfg, res)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// signed builds an inbound request for body, signed with secret at ts.
func signed(body string, ts time.Time) *connectors.Request {
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	custom.SignHeader(h, secret, ts, []byte(body))
	return &connectors.Request{Method: http.MethodPost, URL: "https://switchboard.test/v1/webhooks/custom/default",
		Path: "/v1/webhooks/custom/default", Header: h, Body: []byte(body), RemoteAddr: "127.0.0.1:9"}
}

// hmacHex is the signature computed without the package under test.
func hmacHex(key, ts string, body []byte) string {
	m := hmac.New(sha256.New, []byte(key))
	m.Write([]byte(ts + "."))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// fakeAPI is the receiving end of outbound deliveries: it checks the
// signature and the idempotency key like a careful integrator would.
func fakeAPI(api *connectortest.API) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		ts := r.Header.Get(custom.HeaderTimestamp)
		if r.Method != http.MethodPost || r.URL.Path != "/deliveries" || r.Header.Get("Content-Type") != "application/json" {
			http.Error(w, "bad request line", http.StatusBadRequest)
			return
		}
		if r.Header.Get(custom.HeaderSignature) != "v1="+hmacHex(outSecret, ts, body) || ts != strconv.FormatInt(now.Unix(), 10) {
			http.Error(w, `{"error":"bad signature"}`, http.StatusUnauthorized)
			return
		}
		var m custom.Outbound
		if err := json.Unmarshal(body, &m); err != nil || m.ID != r.Header.Get("Idempotency-Key") {
			http.Error(w, `{"error":"bad body"}`, http.StatusBadRequest)
			return
		}
		reply := api.Deliver(connectortest.Delivery{Key: m.ID, To: m.To, Text: m.Text, Header: r.Header.Clone(), Body: body})
		for k, vs := range reply.Header {
			w.Header()[k] = vs
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(reply.Status)
		if reply.Status/100 == 2 {
			json.NewEncoder(w).Encode(map[string]string{"id": reply.ID})
		} else {
			io.WriteString(w, `{"error":"scripted failure"}`)
		}
	})
}

func TestConformance(t *testing.T) {
	connectortest.Run(t, connectortest.Harness{
		New: func(t testing.TB, api *connectortest.API, res connectors.Resources) connectors.Connector {
			return newConnector(t, connectors.Config{"secret": secret, "outbound_url": api.URL + "/deliveries", "outbound_secret": outSecret}, res)
		},
		Handler: fakeAPI,
		Request: func(_ testing.TB, ts time.Time) *connectors.Request {
			return signed(`{"id":"msg-1","from":"+15550100","to":"kiosk-7","text":"Hello"}`, ts)
		},
		Unsign:    func(r *connectors.Request) { r.Header.Del(custom.HeaderSignature) },
		Malformed: func(_ testing.TB, ts time.Time) *connectors.Request { return signed(`{"id":"msg-1","from":`, ts) },
		Tolerance: custom.DefaultTolerance,
	})
}

func TestReceive(t *testing.T) {
	c := newConnector(t, connectors.Config{"secret": secret, "channel": "kiosk"}, connectors.Resources{})
	in, err := c.Receive(context.Background(), signed(`{"messages":[
		{"id":"m1","from":"+15550100","text":"live agent"},
		{"id":"m2","from":"+15550101","to":"desk-2","name":"Ana","text":"Olá","media":["https://example.com/a.jpg"],
		 "attributes":{"vip":true,"tier":2},"timestamp":"2026-01-02T15:00:00.5+07:00"}]}`, now))
	if err != nil {
		t.Fatal(err)
	}
	if len(in) != 2 {
		t.Fatalf("%d messages", len(in))
	}
	want := connectors.Inbound{PlatformID: "m2", Channel: "kiosk", From: "+15550101", To: "desk-2", FromName: "Ana", Text: "Olá",
		Media: []string{"https://example.com/a.jpg"}, Attributes: map[string]any{"vip": true, "tier": 2.0},
		At: time.Date(2026, 1, 2, 8, 0, 0, 5e8, time.UTC)}
	got := in[1]
	if got.PlatformID != want.PlatformID || got.Channel != want.Channel || got.From != want.From || got.To != want.To ||
		got.FromName != want.FromName || got.Text != want.Text || len(got.Media) != 1 || got.Media[0] != want.Media[0] ||
		got.Attributes["vip"] != true || got.Attributes["tier"] != 2.0 || !got.At.Equal(want.At) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
	if cl, ok := c.(connectors.ChannelLister); !ok || len(cl.Channels()) != 1 || cl.Channels()[0] != "kiosk" {
		t.Errorf("Channels() of an instance with channel kiosk")
	}
	if in[0].PlatformID != "m1" || in[0].Channel != "kiosk" || !in[0].At.IsZero() {
		t.Errorf("first message %+v", in[0])
	}

	in, err = c.Receive(context.Background(), signed(`{"id":"m3","from":"x","messages":null,"media":null}`, now))
	if err != nil || len(in) != 1 || in[0].PlatformID != "m3" {
		t.Errorf("null messages: %v, %v", in, err)
	}

	in, err = c.Receive(context.Background(), signed(`{"messages":[]}`, now))
	if err != nil || len(in) != 0 {
		t.Errorf("empty batch: %v, %v", in, err)
	}
}

func TestReceiveErrors(t *testing.T) {
	c := newConnector(t, connectors.Config{"secret": secret}, connectors.Resources{})
	ok := `{"id":"m1","from":"+15550100"}`
	for _, tc := range []struct {
		name   string
		req    func() *connectors.Request
		status int
		reason string
	}{
		{"GET", func() *connectors.Request { r := signed(ok, now); r.Method = "GET"; return r }, 405, "method must be POST, not GET"},
		{"form body", func() *connectors.Request {
			r := signed(ok, now)
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			return r
		}, 415, "content type must be application/json, not application/x-www-form-urlencoded"},
		{"no content type", func() *connectors.Request { r := signed(ok, now); r.Header.Del("Content-Type"); return r }, 415, "content type must be application/json, not none"},
		{"latin-1", func() *connectors.Request {
			r := signed(ok, now)
			r.Header.Set("Content-Type", "application/json; charset=iso-8859-1")
			return r
		}, 415, "charset must be utf-8, not iso-8859-1"},
		{"no timestamp", func() *connectors.Request { r := signed(ok, now); r.Header.Del(custom.HeaderTimestamp); return r }, 401, "missing X-Switchboard-Timestamp header"},
		{"timestamp in ms", func() *connectors.Request {
			r := signed(ok, now)
			r.Header.Set(custom.HeaderTimestamp, strconv.FormatInt(now.UnixMilli(), 10)+"0")
			return r
		}, 401, "malformed X-Switchboard-Timestamp header"},
		{"negative timestamp", func() *connectors.Request { r := signed(ok, now); r.Header.Set(custom.HeaderTimestamp, "-1"); return r }, 401, "malformed"},
		{"two timestamps", func() *connectors.Request { r := signed(ok, now); r.Header.Add(custom.HeaderTimestamp, "1"); return r }, 401, "malformed"},
		{"no signature", func() *connectors.Request { r := signed(ok, now); r.Header.Del(custom.HeaderSignature); return r }, 401, "missing v1 signature"},
		{"v0 only", func() *connectors.Request {
			r := signed(ok, now)
			r.Header.Set(custom.HeaderSignature, strings.Replace(r.Header.Get(custom.HeaderSignature), "v1=", "v0=", 1))
			return r
		}, 401, "missing v1 signature"},
		{"wrong secret", func() *connectors.Request {
			r := signed(ok, now)
			r.Header.Set(custom.HeaderSignature, custom.Sign("other", now.Unix(), r.Body))
			return r
		}, 401, "signature mismatch"},
		{"signature for another timestamp", func() *connectors.Request {
			r := signed(ok, now)
			r.Header.Set(custom.HeaderTimestamp, strconv.FormatInt(now.Unix()+1, 10))
			return r
		}, 401, "signature mismatch"},
		{"301 s old", func() *connectors.Request { return signed(ok, now.Add(-301*time.Second)) }, 401,
			"timestamp outside the tolerance of 5m0s: the timestamp is 5m1s off the server's clock"},
		{"301 s ahead", func() *connectors.Request { return signed(ok, now.Add(301*time.Second)) }, 401, "timestamp outside the tolerance"},
		{"empty body", func() *connectors.Request { return signed("", now) }, 400, "empty body"},
		{"not JSON", func() *connectors.Request { return signed("id=1", now) }, 400, "malformed JSON at byte 1"},
		{"truncated", func() *connectors.Request { return signed(`{"id":"m1"`, now) }, 400, "malformed JSON: unexpected end of input"},
		{"array", func() *connectors.Request { return signed(`[{"id":"m1","from":"x"}]`, now) }, 400, "body must be a JSON object, not array"},
		{"trailing data", func() *connectors.Request { return signed(ok+`{}`, now) }, 400, "unexpected data after the JSON object"},
		{"no id", func() *connectors.Request { return signed(`{"from":"x"}`, now) }, 400, `missing required field "id"`},
		{"empty id", func() *connectors.Request { return signed(`{"id":"","from":"x"}`, now) }, 400, `missing required field "id"`},
		{"no from", func() *connectors.Request { return signed(`{"id":"m1","text":"hi"}`, now) }, 400, `missing required field "from"`},
		{"numeric id", func() *connectors.Request { return signed(`{"id":7,"from":"x"}`, now) }, 400, `field "id" must be a string`},
		{"media string", func() *connectors.Request { return signed(`{"id":"m","from":"x","media":"https://a.test/x"}`, now) }, 400, `field "media" must be an array of URL strings`},
		{"media not URL", func() *connectors.Request { return signed(`{"id":"m","from":"x","media":["a.jpg"]}`, now) }, 400, `field "media[0]" must be an absolute http or https URL`},
		{"attributes array", func() *connectors.Request { return signed(`{"id":"m","from":"x","attributes":[]}`, now) }, 400, `field "attributes" must be an object`},
		{"bad timestamp", func() *connectors.Request { return signed(`{"id":"m","from":"x","timestamp":"yesterday"}`, now) }, 400, `field "timestamp" must be an RFC 3339 time`},
		{"unknown field", func() *connectors.Request { return signed(`{"id":"m","from":"x","txt":"hi"}`, now) }, 400, `unknown field "txt"`},
		{"long id", func() *connectors.Request { return signed(`{"id":"`+strings.Repeat("x", 257)+`","from":"x"}`, now) }, 400, `field "id" is longer than 256 bytes`},
		{"messages and fields", func() *connectors.Request { return signed(`{"id":"m","from":"x","messages":[]}`, now) }, 400, `"messages" cannot be combined with message fields`},
		{"messages null", func() *connectors.Request { return signed(`{"messages":null}`, now) }, 400, `missing required field "id"`},
		{"messages object", func() *connectors.Request { return signed(`{"messages":{}}`, now) }, 400, `field "messages" must be an array of message objects`},
		{"batch missing from", func() *connectors.Request {
			return signed(`{"messages":[{"id":"a","from":"x"},{"id":"b"}]}`, now)
		}, 400, `missing required field "messages[1].from"`},
		{"batch wrong type", func() *connectors.Request {
			return signed(`{"messages":[{"id":"a","from":"x","text":1}]}`, now)
		}, 400, `field "messages[0].text" must be a string`},
		{"batch unknown field", func() *connectors.Request {
			return signed(`{"messages":[{"id":"a","from":"x","messages":[]}]}`, now)
		}, 400, `unknown field "messages[0].messages"`},
		{"batch unknown field in element", func() *connectors.Request {
			return signed(`{"messages":[{"id":"a","from":"x","txt":"hi"}]}`, now)
		}, 400, `unknown field "messages[0].txt"`},
		{"batch element not object", func() *connectors.Request { return signed(`{"messages":[1]}`, now) }, 400, "messages[0] must be a JSON object, not number"},
		{"batch repeated id", func() *connectors.Request {
			return signed(`{"messages":[{"id":"a","from":"x"},{"id":"b","from":"x"},{"id":"a","from":"y"}]}`, now)
		}, 400, `field "messages[2].id" repeats the id of messages[0]`},
		{"batch too long", func() *connectors.Request {
			return signed(`{"messages":[`+strings.Repeat(`{"id":"a","from":"x"},`, custom.MaxMessages)+`{"id":"b","from":"x"}]}`, now)
		}, 400, "too many messages: 1001, at most 1000 per request"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.Receive(context.Background(), tc.req())
			var se *connectors.StatusError
			if !errors.As(err, &se) {
				t.Fatalf("Receive: %v, want a StatusError", err)
			}
			if se.Status != tc.status || !strings.Contains(se.Reason, tc.reason) {
				t.Errorf("Receive: %d %q\n          want %d containing %q", se.Status, se.Reason, tc.status, tc.reason)
			}
		})
	}
}

func TestReceiveRotation(t *testing.T) {
	c := newConnector(t, connectors.Config{"secret": secret}, connectors.Resources{})
	r := signed(`{"id":"m1","from":"x"}`, now)
	good := r.Header.Get(custom.HeaderSignature)
	old := custom.Sign("the_old_secret", now.Unix(), r.Body)
	for _, h := range []string{
		old + "," + good,
		good + ", " + old,
		"v2=abcdef, " + old + " , " + good,
		"v1=zz," + good,
		strings.ToUpper(good[:3]) + good[3:], // "V1=" is not the scheme
	} {
		r.Header.Set(custom.HeaderSignature, h)
		_, err := c.Receive(context.Background(), r)
		if strings.HasPrefix(h, "V1=") {
			if err == nil {
				t.Errorf("accepted scheme V1: %s", h)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", h, err)
		}
	}
	r.Header.Set(custom.HeaderSignature, old)
	r.Header.Add(custom.HeaderSignature, good) // two header lines
	if _, err := c.Receive(context.Background(), r); err != nil {
		t.Errorf("two signature headers: %v", err)
	}
	hexUpper := "v1=" + strings.ToUpper(strings.TrimPrefix(good, "v1="))
	r.Header.Set(custom.HeaderSignature, hexUpper)
	if _, err := c.Receive(context.Background(), r); err != nil {
		t.Errorf("upper-case hex: %v", err)
	}
}

func TestRespond(t *testing.T) {
	c := newConnector(t, connectors.Config{"secret": secret}, connectors.Resources{})
	ir := c.(connectors.InlineResponder)
	in := []connectors.Inbound{{PlatformID: "m1", From: "+15550100", Channel: "custom"}}
	status, ct, body := ir.Respond(in, connectors.Reaction{
		Replies: []connectors.Outbound{
			{Key: "eff-1", ConversationID: "conv-9", Text: "Hi! Type 'live agent' to talk to a person."},
			{Key: "eff-2", To: "+15550199", Text: "pic", Media: []string{"https://example.com/p.png"}},
		},
		Enqueued: []connectors.EnqueuedTask{{TaskID: "task-3", Workflow: "support_routing", Priority: 10, Attributes: map[string]any{"vip": true}}},
	})
	want := `{"replies":[{"id":"eff-1","conversation":"conv-9","to":"+15550100","text":"Hi! Type 'live agent' to talk to a person."},` +
		`{"id":"eff-2","to":"+15550199","text":"pic","media":["https://example.com/p.png"]}],` +
		`"enqueued":[{"task":"task-3","workflow":"support_routing","priority":10,"attributes":{"vip":true}}]}`
	if status != 200 || ct != "application/json" || string(body) != want {
		t.Errorf("Respond = %d %s\n%s\nwant\n%s", status, ct, body, want)
	}
	_, _, body = ir.Respond(nil, connectors.Reaction{})
	if string(body) != `{"replies":[],"enqueued":[]}` {
		t.Errorf("empty reaction: %s", body)
	}
}

func TestSend(t *testing.T) {
	var got *http.Request
	var gotBody []byte
	status := http.StatusAccepted
	answer := `{"id": 12345}`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, gotBody = r, must(io.ReadAll(r.Body))
		if status == http.StatusTooManyRequests {
			w.Header().Set("Retry-After", "120")
		}
		if status == http.StatusFound {
			w.Header().Set("Location", "/elsewhere")
		}
		w.WriteHeader(status)
		io.WriteString(w, answer)
	}))
	defer srv.Close()
	c := newConnector(t, connectors.Config{"secret": secret, "outbound_url": srv.URL + "/hook?x=1"}, connectors.Resources{HTTPClient: srv.Client()})
	m := &connectors.Outbound{Key: "eff-7", Channel: "custom", To: "+15550100", Text: "Your ticket is #42", ConversationID: "conv-1",
		Media: []string{"https://example.com/t.pdf"}, Attributes: map[string]any{"lang": "en"}}

	id, err := c.Send(context.Background(), m)
	if err != nil || id != "12345" {
		t.Fatalf("Send = %q, %v", id, err)
	}
	if got.URL.String() != "/hook?x=1" || got.Header.Get("Idempotency-Key") != "eff-7" || got.Header.Get("User-Agent") != "Switchboard" {
		t.Errorf("request %s %v", got.URL, got.Header)
	}
	// The default outbound secret is the inbound one.
	ts := got.Header.Get(custom.HeaderTimestamp)
	if ts != "1767366245" || got.Header.Get(custom.HeaderSignature) != "v1="+hmacHex(secret, ts, gotBody) {
		t.Errorf("signature headers %v", got.Header)
	}
	want := `{"id":"eff-7","conversation":"conv-1","to":"+15550100","text":"Your ticket is #42","media":["https://example.com/t.pdf"],"attributes":{"lang":"en"}}`
	if string(gotBody) != want {
		t.Errorf("body\n%s\nwant\n%s", gotBody, want)
	}

	answer = "ok"
	if id, err := c.Send(context.Background(), m); err != nil || id != "" {
		t.Errorf("non-JSON 200: %q, %v", id, err)
	}

	status, answer = http.StatusTooManyRequests, `{"error":"slow down"}`
	_, err = c.Send(context.Background(), m)
	if d, ok := connectors.RetryDelay(err); connectors.IsPermanent(err) || !ok || d != 2*time.Minute {
		t.Errorf("429: %v (delay %v)", err, d)
	}
	if err == nil || err.Error() != `custom: outbound_url answered 429 Too Many Requests: {"error":"slow down"}` {
		t.Errorf("429 error text: %v", err)
	}

	for _, s := range []int{http.StatusRequestTimeout, http.StatusServiceUnavailable} {
		status = s
		if _, err := c.Send(context.Background(), m); err == nil || connectors.IsPermanent(err) {
			t.Errorf("%d: %v, want temporary", s, err)
		}
	}
	for _, s := range []int{http.StatusBadRequest, http.StatusUnauthorized, http.StatusGone, http.StatusFound} {
		status = s
		if _, err := c.Send(context.Background(), m); !connectors.IsPermanent(err) {
			t.Errorf("%d: %v, want permanent", s, err)
		}
	}
	if _, err := c.Send(context.Background(), &connectors.Outbound{To: "x", Text: "no key"}); !connectors.IsPermanent(err) {
		t.Errorf("no key: %v", err)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func TestSendWithoutOutboundURL(t *testing.T) {
	c := newConnector(t, connectors.Config{"secret": secret}, connectors.Resources{})
	_, err := c.Send(context.Background(), &connectors.Outbound{Key: "k", To: "x", Text: "hi"})
	if !errors.Is(err, connectors.ErrUnsupported) || !connectors.IsPermanent(err) {
		t.Errorf("Send: %v", err)
	}
}

func TestConfig(t *testing.T) {
	if f, _ := custom.Spec().Field("tolerance"); f.Default != "5m" || custom.DefaultTolerance != 5*time.Minute {
		t.Errorf("tolerance default %q, DefaultTolerance %v", f.Default, custom.DefaultTolerance)
	}
	reg := registry(t)
	for _, tc := range []struct {
		cfg  connectors.Config
		want string
	}{
		{connectors.Config{}, `connector "custom": config field "secret": required`},
		{connectors.Config{"secret": "s", "tolerance": "0s"}, `connector "custom": config field "tolerance": must be positive`},
		{connectors.Config{"secret": "s", "tolerance": "5"}, `config field "tolerance": invalid duration "5"`},
		{connectors.Config{"secret": "s", "channel": "Kiosk"}, `config field "channel": invalid channel name "Kiosk"`},
		{connectors.Config{"secret": "s", "outbound_url": "example.com/hook"}, `config field "outbound_url": invalid URL`},
		{connectors.Config{"secret": "s", "outbound": "https://x.test"}, `config field "outbound": unknown field (did you mean "outbound_url"?)`},
	} {
		_, err := reg.New(custom.Name, tc.cfg, connectors.Resources{})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("New(%v): %v, want %s", tc.cfg, err, tc.want)
		}
	}
	c, err := reg.New(custom.Name, connectors.Config{"secret": secret, "tolerance": "1s"}, connectors.Resources{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Receive(context.Background(), signed(`{"id":"a","from":"b"}`, now.Add(-2*time.Second))); connectors.StatusOf(err) != 401 {
		t.Errorf("tolerance 1s: %v", err)
	}
}
