package twilioapi_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/switchboard-dev/switchboard/connectors"
	"github.com/switchboard-dev/switchboard/connectors/twilio/twilioapi"
)

// vector is one signature vector of testdata/vectors.json: CHANNELS.md
// §14 T1–T5, from twilio-python's tests/unit/test_request_validator.py.
type vector struct {
	Name      string      `json:"name"`
	Token     string      `json:"token"`
	URL       string      `json:"url"`
	Params    [][2]string `json:"params"`
	Signature string      `json:"signature"`
}

func (v vector) values() url.Values {
	vs := url.Values{}
	for _, p := range v.Params {
		vs.Add(p[0], p[1])
	}
	return vs
}

func loadVectors(t testing.TB) map[string]vector {
	data, err := os.ReadFile("testdata/vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var list []vector
	if err := json.Unmarshal(data, &list); err != nil {
		t.Fatal(err)
	}
	out := map[string]vector{}
	for _, v := range list {
		out[strings.Fields(v.Name)[0]+portName(v.URL)] = v
	}
	return out
}

// portName tells the two T3 vectors apart.
func portName(u string) string {
	if strings.Contains(u, ":1234/") {
		return ":1234"
	}
	return ""
}

func TestSignatureVectors(t *testing.T) {
	for _, v := range loadVectors(t) {
		t.Run(v.Name, func(t *testing.T) {
			if got := twilioapi.Signature(v.Token, v.URL, v.values()); got != v.Signature {
				t.Errorf("Signature = %s, want %s", got, v.Signature)
			}
		})
	}
}

// post builds a form POST of params to fullURL, signed with sig.
func post(fullURL string, params url.Values, sig string) *connectors.Request {
	h := http.Header{}
	h.Set("Content-Type", "application/x-www-form-urlencoded")
	if sig != "" {
		h.Set(twilioapi.HeaderSignature, sig)
	}
	return &connectors.Request{Method: http.MethodPost, URL: fullURL, Header: h, Body: []byte(params.Encode())}
}

func TestVerify(t *testing.T) {
	vs := loadVectors(t)
	t1, t2, t3, t3p, t4 := vs["T1"], vs["T2"], vs["T3"], vs["T3:1234"], vs["T4"]
	const console = "https://mycompany.com/myapp.php"
	tampered := t1.values()
	tampered.Set("Digits", "1235")
	extra := t1.values()
	extra.Add("Digits", "9999")
	cases := []struct {
		name       string
		req        *connectors.Request
		webhookURL string
		status     int    // 0: accepted
		reason     string // part of the refusal's reason
	}{
		{"T1 at the request URL", post(t1.URL, t1.values(), t1.Signature), "", 0, ""},
		{"T1 at the console URL", post("http://10.0.0.7:8080/v1/webhooks/twilio/default?foo=1&bar=2", t1.values(), t1.Signature), console, 0, ""},
		{"T1 signed with port 443", post(t1.URL, t1.values(), t2.Signature), "", 0, ""},
		{"T2 request with port, signed without", post(t2.URL, t2.values(), t1.Signature), "", 0, ""},
		{"T3 http, signed with port 80", post("http://mycompany.com/myapp.php?foo=1&bar=2", t3.values(), t3.Signature), "", 0, ""},
		{"T3 http port 1234", post(t3p.URL, t3p.values(), t3p.Signature), "", 0, ""},
		{"T3 port 1234 is not the default port", post("http://mycompany.com/myapp.php?foo=1&bar=2", t3p.values(), t3p.Signature), "", 401, "bad X-Twilio-Signature"},
		{"T4 repeated keys", post(t4.URL, t4.values(), t4.Signature), "", 0, ""},
		{"tampered parameter", post(t1.URL, tampered, t1.Signature), "", 401, "bad X-Twilio-Signature for https://mycompany.com/myapp.php"},
		{"added repeated value", post(t1.URL, extra, t1.Signature), "", 401, "bad X-Twilio-Signature"},
		{"wrong scheme", post(strings.Replace(t1.URL, "https:", "http:", 1), t1.values(), t1.Signature), "", 401, "bad X-Twilio-Signature for http://mycompany.com/myapp.php"},
		{"wrong host", post(t1.URL, t1.values(), t1.Signature), "https://mycompany.org/myapp.php", 401, "bad X-Twilio-Signature"},
		{"wrong path", post(t1.URL, t1.values(), t1.Signature), "https://mycompany.com/other.php", 401, "bad X-Twilio-Signature"},
		{"query dropped", post(console, t1.values(), t1.Signature), "", 401, "bad X-Twilio-Signature"},
		{"wrong token", post(t1.URL, t1.values(), twilioapi.Signature("54321", t1.URL, t1.values())), "", 401, "bad X-Twilio-Signature"},
		{"missing header", post(t1.URL, t1.values(), ""), "", 401, "missing X-Twilio-Signature header"},
		{"body not a form", func() *connectors.Request {
			r := post(t1.URL, nil, t1.Signature)
			r.Body = []byte("Body=%zz")
			return r
		}(), "", 401, "body is not a form"},
		{"JSON body", func() *connectors.Request {
			r := post(t1.URL, t1.values(), t1.Signature)
			r.Header.Set("Content-Type", "application/json")
			return r
		}(), "", 415, "content type must be application/x-www-form-urlencoded, not application/json"},
		{"PUT", func() *connectors.Request {
			r := post(t1.URL, t1.values(), t1.Signature)
			r.Method = http.MethodPut
			return r
		}(), "", 405, "method must be POST or GET, not PUT"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			params, err := twilioapi.Verify(c.req, c.webhookURL, "12345")
			if c.status == 0 {
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				want, _ := url.ParseQuery(string(c.req.Body))
				if params.Encode() != want.Encode() || len(params["Digits"]) != len(want["Digits"]) {
					t.Errorf("params = %v, want %v", params, want)
				}
				return
			}
			var se *connectors.StatusError
			if !errors.As(err, &se) || se.Status != c.status {
				t.Fatalf("err = %v, want a %d StatusError", err, c.status)
			}
			if !strings.Contains(se.Reason, c.reason) {
				t.Errorf("reason %q does not contain %q", se.Reason, c.reason)
			}
		})
	}
}

func TestVerifyRepeatedKeysKept(t *testing.T) {
	v := loadVectors(t)["T4"]
	params, err := twilioapi.Verify(post(v.URL, v.values(), v.Signature), "", v.Token)
	if err != nil {
		t.Fatal(err)
	}
	if got := params["Digits"]; len(got) != 2 || got[0] != "5678" || got[1] != "1234" {
		t.Errorf("Digits = %q, want both values in the order sent", got)
	}
}

func TestVerifyGET(t *testing.T) {
	const console = "https://example.com/v1/webhooks/twilio/default"
	q := "MessageSid=SM0123456789abcdef0123456789abcdef&From=%2B14155550100&Body=hi+there"
	full := console + "?" + q
	sig := twilioapi.Signature("tok", full, nil)
	parsed, _ := url.ParseQuery(q)
	for _, c := range []struct {
		name       string
		req        connectors.Request
		webhookURL string
		ok         bool
	}{
		{"request URL", connectors.Request{URL: full}, "", true},
		{"console URL and the request's query", connectors.Request{URL: "http://127.0.0.1:8080/v1/webhooks/twilio/default?" + q, Query: parsed}, console, true},
		{"query reordered", connectors.Request{URL: console + "?From=%2B14155550100&MessageSid=SM0123456789abcdef0123456789abcdef&Body=hi+there"}, "", false},
		{"query changed", connectors.Request{URL: strings.Replace(full, "hi+there", "hi+there!", 1)}, "", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := c.req
			r.Method = http.MethodGet
			r.Header = http.Header{twilioapi.HeaderSignature: {sig}}
			params, err := twilioapi.Verify(&r, c.webhookURL, "tok")
			if !c.ok {
				if connectors.StatusOf(err) != 401 {
					t.Fatalf("err = %v, want 401", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if params.Get("Body") != "hi there" || params.Get("From") != "+14155550100" {
				t.Errorf("params = %v", params)
			}
		})
	}
}

func TestE164(t *testing.T) {
	for _, c := range []struct {
		in, want string
		ok       bool
	}{
		{"+14155550100", "+14155550100", true},
		{"whatsapp:+1 (415) 555-0100", "+14155550100", true},
		{"WhatsApp:+6281234567890", "+6281234567890", true},
		{"sms:+44 20 7946 0958", "+442079460958", true},
		{"tel:+33.1.23.45.67.89", "+33123456789", true},
		{" +14155550100 ", "+14155550100", true},
		{"client:ana", "", false},
		{"sip:ana@example.sip.twilio.com", "", false},
		{"whatsapp:US.13491208655302741918", "", false}, // a BSUID
		{"14155550100", "", false},                      // no +
		{"+0123456789", "", false},
		{"+123456", "", false},           // too short
		{"+1234567890123456", "", false}, // 16 digits
		{"+1415555010a", "", false},
		{"+", "", false},
		{"", "", false},
		{"12345", "", false}, // a short code
	} {
		got, ok := twilioapi.E164(c.in)
		if got != c.want || ok != c.ok {
			t.Errorf("E164(%q) = %q, %v; want %q, %v", c.in, got, ok, c.want, c.ok)
		}
	}
}
