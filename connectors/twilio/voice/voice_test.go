package voice_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-dev/switchboard/connectors"
	"github.com/switchboard-dev/switchboard/connectors/connectortest"
	"github.com/switchboard-dev/switchboard/connectors/twilio/voice"
)

const (
	accountSID = "AC3f2a8c1d9e4b7f6a0c5d2e8b1a9f4c7d"
	authToken  = "2c8f3b1e9d7a4c6e0b5f8a2d1c9e7b3a"
	publicURL  = "https://switchboard.example.com"
	callSID    = "CA5b9e2d7f1c8a4e3b6d0f9a2c7e1b4d8f"
	payloads   = "../../../testdata/connectors/twilio-voice"
)

var (
	now     = connectortest.Now
	webhook = publicURL + connectors.WebhookPath(voice.Name, connectors.DefaultInstance)
)

func registry(t testing.TB) *connectors.Registry {
	t.Helper()
	reg := connectors.NewRegistry()
	if err := reg.Register(voice.Spec(), voice.New); err != nil {
		t.Fatal(err)
	}
	return reg
}

// newConnector builds an instance with the test account and any extra
// config, served at webhook.
func newConnector(t testing.TB, extra connectors.Config, res connectors.Resources) connectors.Connector {
	t.Helper()
	cfg := connectors.Config{"account_sid": accountSID, "auth_token": authToken}
	for k, v := range extra {
		cfg[k] = v
	}
	if res.Now == nil {
		res.Now = func() time.Time { return now }
	}
	if res.PublicURL == "" {
		res.PublicURL = publicURL
	}
	c, err := registry(t).New(voice.Name, cfg, res)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// sign is X-Twilio-Signature computed without the packages under test:
// base64(HMAC-SHA1(token, URL + each name and value, sorted by name
// then value)).
func sign(token, fullURL string, form url.Values) string {
	mac := hmac.New(sha1.New, []byte(token))
	mac.Write([]byte(fullURL))
	names := make([]string, 0, len(form))
	for k := range form {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, k := range names {
		vs := slices.Clone(form[k])
		slices.Sort(vs)
		for _, v := range vs {
			mac.Write([]byte(k + v))
		}
	}
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// post is Twilio's POST of body to the webhook URL with query, signed
// with token.
func post(query, body, token string) *connectors.Request {
	full := webhook
	if query != "" {
		full += "?" + query
	}
	form, _ := url.ParseQuery(body)
	q, _ := url.ParseQuery(query)
	h := http.Header{}
	h.Set("Content-Type", "application/x-www-form-urlencoded")
	h.Set("X-Twilio-Signature", sign(token, full, form))
	h.Set("I-Twilio-Idempotency-Token", "0e9e4cf2-7c4f-4f4e-a0a6-3a1c2b7e5d10")
	return &connectors.Request{Method: http.MethodPost, URL: full, Path: connectors.WebhookPath(voice.Name, "default"),
		Header: h, Query: q, Body: []byte(body), RemoteAddr: "54.172.60.1:443"}
}

// payload is one recorded webhook of testdata/connectors/twilio-voice.
type payload struct {
	connectortest.Payload
	query, body string
	want        []connectors.Inbound
}

func loadPayloads(t testing.TB) []payload {
	t.Helper()
	var out []payload
	for _, rec := range connectortest.Payloads(t, payloads, "query", "body") {
		p := payload{Payload: rec, query: string(rec.Trimmed("query")), body: string(rec.Trimmed("body"))}
		if err := json.Unmarshal(rec.Sections["want"], &p.want); err != nil {
			t.Fatalf("%s: want: %v", rec.Path, err)
		}
		if p.body == "" || p.want == nil {
			t.Fatalf("%s: needs a body and a want", rec.Path)
		}
		out = append(out, p)
	}
	return out
}

func TestReceivePayloads(t *testing.T) {
	c := newConnector(t, nil, connectors.Resources{})
	for _, p := range loadPayloads(t) {
		t.Run(p.Name, func(t *testing.T) {
			got, err := c.Receive(context.Background(), post(p.query, p.body, authToken))
			if err != nil {
				t.Fatalf("Receive: %v", err)
			}
			p.CheckInbounds(t, got, false)
			if len(got) == 0 {
				return
			}
			// As Go values too: JSON would not tell a time's location or an
			// attribute's int from a float.
			if !reflect.DeepEqual(got, p.want) {
				t.Errorf("Receive gave %#v\nwant %#v", got, p.want)
			}
			again, err := c.Receive(context.Background(), post(p.query, p.body, authToken))
			if err != nil || !slices.EqualFunc(again, got, func(a, b connectors.Inbound) bool { return a.PlatformID == b.PlatformID }) {
				t.Errorf("a redelivery gave %v, %v: dedupe keys must be stable", again, err)
			}
		})
	}
}

// TestReceiveGET: a number configured with HTTP GET sends its
// parameters in the query, after the callback's own.
func TestReceiveGET(t *testing.T) {
	c := newConnector(t, nil, connectors.Resources{})
	q := "on=result&wait=W1&AccountSid=" + accountSID + "&CallSid=" + callSID + "&CallStatus=in-progress&Digits=7&From=%2B14155550100&To=%2B14155550199"
	full := webhook + "?" + q
	h := http.Header{}
	h.Set("X-Twilio-Signature", sign(authToken, full, nil))
	query, _ := url.ParseQuery(q)
	in, err := c.Receive(context.Background(), &connectors.Request{Method: http.MethodGet, URL: full, Header: h, Query: query})
	if err != nil {
		t.Fatal(err)
	}
	if len(in) != 1 || in[0].Call == nil || in[0].Call.Result.Digits != "7" || in[0].PlatformID != callSID+"/result/W1" {
		t.Errorf("Receive = %+v", in)
	}
}

func TestReceiveRefusals(t *testing.T) {
	c := newConnector(t, nil, connectors.Resources{})
	call := "AccountSid=" + accountSID + "&CallSid=" + callSID + "&CallStatus=in-progress&From=%2B14155550100&To=%2B14155550199"
	for _, tc := range []struct {
		name   string
		req    func() *connectors.Request
		status int
		reason string
	}{
		{"unsigned", func() *connectors.Request {
			r := post("", call, authToken)
			r.Header.Del("X-Twilio-Signature")
			return r
		}, 401, "X-Twilio-Signature"},
		{"wrong token", func() *connectors.Request { return post("", call, "another-token") }, 401, "X-Twilio-Signature"},
		{"tampered body", func() *connectors.Request {
			r := post("", call, authToken)
			r.Body = []byte(strings.Replace(string(r.Body), "0100", "0101", 1))
			return r
		}, 401, "X-Twilio-Signature"},
		{"tampered query", func() *connectors.Request {
			r := post("on=result&wait=W1", call+"&Digits=1", authToken)
			r.URL = strings.Replace(r.URL, "W1", "W2", 1)
			r.Query.Set("wait", "W2")
			return r
		}, 401, "X-Twilio-Signature"},
		{"put", func() *connectors.Request { r := post("", call, authToken); r.Method = http.MethodPut; return r }, 405, "POST"},
		{"json", func() *connectors.Request {
			r := post("", call, authToken)
			r.Header.Set("Content-Type", "application/json")
			return r
		}, 415, "x-www-form-urlencoded"},
		{"no CallSid", func() *connectors.Request { return post("", "From=%2B14155550100&CallStatus=ringing", authToken) }, 400, `"CallSid"`},
		{"CallSid with a slash", func() *connectors.Request { return post("", "CallSid=CA1/2&From=%2B1415555", authToken) }, 400, `"CallSid"`},
		{"no From", func() *connectors.Request { return post("", "CallSid="+callSID+"&CallStatus=ringing", authToken) }, 400, `"From"`},
		{"unknown callback", func() *connectors.Request { return post("on=transfer", call, authToken) }, 400, `on="transfer"`},
		{"result without wait", func() *connectors.Request { return post("on=result", call+"&Digits=1", authToken) }, 400, `"wait"`},
		{"bad Confidence", func() *connectors.Request {
			return post("on=result&wait=W1", call+"&SpeechResult=yes&Confidence=high", authToken)
		}, 400, `"Confidence"`},
		{"agent without task", func() *connectors.Request {
			return post("on=agent&worker=ana", call+"&DialCallStatus=busy", authToken)
		}, 400, `"task"`},
		{"agent without DialCallStatus", func() *connectors.Request { return post("on=agent&task=WT1", call, authToken) }, 400, `"DialCallStatus"`},
		{"hold without at", func() *connectors.Request { return post("on=hold&task=WT1", call, authToken) }, 400, `"at"`},
		{"bad CallDuration", func() *connectors.Request {
			return post("on=status", strings.Replace(call, "in-progress", "completed", 1)+"&CallDuration=-3", authToken)
		}, 400, `"CallDuration"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in, err := c.Receive(context.Background(), tc.req())
			var se *connectors.StatusError
			if !errors.As(err, &se) {
				t.Fatalf("Receive = %v, %v; want a %d StatusError", in, err, tc.status)
			}
			if se.Status != tc.status || !strings.Contains(se.Reason, tc.reason) {
				t.Errorf("Receive: %d %q, want %d mentioning %s", se.Status, se.Reason, tc.status, tc.reason)
			}
		})
	}
}

func TestConfig(t *testing.T) {
	base := connectors.Config{"account_sid": accountSID, "auth_token": authToken}
	with := func(kv ...string) connectors.Config {
		c := connectors.Config{}
		for k, v := range base {
			c[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			c[kv[i]] = kv[i+1]
		}
		return c
	}
	for _, tc := range []struct {
		name      string
		cfg       connectors.Config
		publicURL string
		field     string // the field the error names; "" for success
	}{
		{"defaults", base, publicURL, ""},
		{"webhook_url without public URL", with("webhook_url", "https://voice.example.com/twilio"), "", ""},
		{"no URL at all", base, "", "webhook_url"},
		{"webhook_url with a query", with("webhook_url", "https://voice.example.com/twilio?x=1"), publicURL, "webhook_url"},
		{"webhook_url with a fragment", with("webhook_url", "https://voice.example.com/twilio#rc=3"), publicURL, "webhook_url"},
		{"api key without secret", with("api_key_sid", "SK0123"), publicURL, "api_key_secret"},
		{"api key", with("api_key_sid", "SK0123", "api_key_secret", "s3cret"), publicURL, ""},
		{"ring_timeout too short", with("ring_timeout", "500ms"), publicURL, "ring_timeout"},
		{"no auth token", connectors.Config{"account_sid": accountSID}, publicURL, "auth_token"},
		{"typo", with("hold_musik", "https://example.com/a.mp3"), publicURL, "hold_musik"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := registry(t).New(voice.Name, tc.cfg, connectors.Resources{PublicURL: tc.publicURL})
			var fe *connectors.FieldError
			switch {
			case tc.field == "" && err != nil:
				t.Errorf("New: %v", err)
			case tc.field != "" && !errors.As(err, &fe):
				t.Errorf("New = %v, want a FieldError on %q", err, tc.field)
			case tc.field != "" && fe.Field != tc.field:
				t.Errorf("New: %v, want the error on %q", err, tc.field)
			}
		})
	}
}

// TestConfiguredWebhookURL: behind a proxy the console's URL is what
// Twilio signs, whatever host the request reached.
func TestConfiguredWebhookURL(t *testing.T) {
	const console = "https://calls.example.org/twilio/voice"
	c := newConnector(t, connectors.Config{"webhook_url": console}, connectors.Resources{PublicURL: "http://10.0.0.7:8080"})
	body := "AccountSid=" + accountSID + "&CallSid=" + callSID + "&CallStatus=ringing&From=%2B14155550100&To=%2B14155550199"
	form, _ := url.ParseQuery(body)
	h := http.Header{}
	h.Set("Content-Type", "application/x-www-form-urlencoded")
	h.Set("X-Twilio-Signature", sign(authToken, console, form))
	r := &connectors.Request{Method: http.MethodPost, URL: "http://10.0.0.7:8080" + connectors.WebhookPath(voice.Name, "default"), Header: h, Body: []byte(body)}
	if _, err := c.Receive(context.Background(), r); err != nil {
		t.Errorf("a request signed for the console's URL: %v", err)
	}
	h.Set("X-Twilio-Signature", sign(authToken, r.URL, form))
	if _, err := c.Receive(context.Background(), r); err == nil {
		t.Error("a request signed for the listener's URL was accepted; Twilio signs the console's")
	}
}

func TestSendUnsupported(t *testing.T) {
	c := newConnector(t, nil, connectors.Resources{})
	_, err := c.Send(context.Background(), &connectors.Outbound{Key: "k", Channel: "voice", To: "+14155550100", Text: "hi"})
	if !errors.Is(err, connectors.ErrUnsupported) || !connectors.IsPermanent(err) {
		t.Errorf("Send = %v, want a permanent ErrUnsupported", err)
	}
}

// TestQueryFromSignedURL: the callback's query is read from the URL the
// signature covers, never from a parsed query that disagrees with it.
func TestQueryFromSignedURL(t *testing.T) {
	c := newConnector(t, nil, connectors.Resources{})
	body := "AccountSid=" + accountSID + "&CallSid=" + callSID + "&CallStatus=in-progress&Digits=4&From=%2B14155550100"
	r := post("on=result&wait=W1", body, authToken)
	r.Query = url.Values{"on": {"hold"}, "task": {"WT6"}, "at": {"x"}}
	in, err := c.Receive(context.Background(), r)
	if err != nil {
		t.Fatal(err)
	}
	if len(in) != 1 || in[0].Call == nil || in[0].Call.Kind != connectors.CallResultEvent || in[0].Call.WaitID != "W1" {
		t.Errorf("Receive = %+v, want the signed URL's result for W1", in)
	}
}

// TestDialStatusOutcomes: every DialCallStatus Twilio documents maps to a
// dial outcome, and one it may add later counts as failed rather than
// refusing the callback, which would cut the caller off.
func TestDialStatusOutcomes(t *testing.T) {
	c := newConnector(t, nil, connectors.Resources{})
	for status, want := range map[string]string{"completed": "answered", "answered": "answered", "no-answer": "no_answer",
		"busy": "busy", "failed": "failed", "canceled": "failed", "teleported": "failed"} {
		body := "AccountSid=" + accountSID + "&CallSid=" + callSID + "&CallStatus=in-progress&From=%2B14155550100&DialCallStatus=" + status
		in, err := c.Receive(context.Background(), post("on=result&wait=W1", body, authToken))
		if err != nil || len(in) != 1 || in[0].Call.Result.DialStatus != want {
			t.Errorf("result, DialCallStatus %s: %+v, %v; want %s", status, in, err, want)
		}
		in, err = c.Receive(context.Background(), post("at=1&on=agent&task=WT1&worker=ana", body, authToken))
		if err != nil || len(in) != 1 || in[0].Call.Status != want {
			t.Errorf("agent, DialCallStatus %s: %+v, %v; want %s", status, in, err, want)
		}
	}
}
