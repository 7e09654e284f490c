package twilioapi

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"net/http"
	"net/url"
	"sort"
	"strings"

	"github.com/switchboard-dev/switchboard/connectors"
)

// HeaderSignature is the header Twilio signs its webhooks in.
const HeaderSignature = "X-Twilio-Signature"

// Verify checks the request's X-Twilio-Signature and returns its
// parameters: the decoded form of a POST
// (application/x-www-form-urlencoded, repeated keys kept; any other
// content type is refused with 415), the query of a GET (405 for other
// methods). The URL signed is webhookURL (the public URL as configured in
// the Twilio console, without query) followed by "?" and req's raw query
// when it has one; when webhookURL is "" it is req.URL. The URL is
// accepted with and without the scheme's default port (:443, :80), as
// twilio-go's validator does. A missing or wrong signature is refused
// with a 401 *connectors.StatusError, a body that is not a form with 400.
func Verify(req *connectors.Request, webhookURL, authToken string) (url.Values, error) {
	var params, signed url.Values
	switch req.Method {
	case http.MethodPost:
		if err := req.RequireMediaType("application/x-www-form-urlencoded"); err != nil {
			return nil, err
		}
	case http.MethodGet:
	default:
		return nil, connectors.Errorf(http.StatusMethodNotAllowed, "method must be POST or GET, not %s", req.Method)
	}
	sig := req.Header.Get(HeaderSignature)
	if sig == "" {
		return nil, connectors.Errorf(http.StatusUnauthorized, "missing %s header", HeaderSignature)
	}
	full := signedURL(req, webhookURL)
	if req.Method == http.MethodPost {
		form, err := url.ParseQuery(string(req.Body))
		if err != nil {
			// The signature cannot be checked over parameters that do
			// not decode, and Twilio never sends such a body.
			return nil, connectors.Errorf(http.StatusUnauthorized, "bad %s: body is not a form: %v", HeaderSignature, err)
		}
		params, signed = form, form
	}
	if !valid(authToken, full, signed, sig) {
		return nil, connectors.Errorf(http.StatusUnauthorized, "bad %s for %s", HeaderSignature, stripQuery(full))
	}
	if req.Method == http.MethodGet {
		params = query(req)
	}
	return params, nil
}

// valid reports whether sig signs params posted to full, with or without
// the default port. Which of the two matched is no secret, so the second
// is computed only when the first does not match.
func valid(authToken, full string, params url.Values, sig string) bool {
	urls := portVariants(full)
	if hmac.Equal([]byte(Signature(authToken, urls[0], params)), []byte(sig)) {
		return true
	}
	return urls[1] != urls[0] && hmac.Equal([]byte(Signature(authToken, urls[1], params)), []byte(sig))
}

// Signature returns the X-Twilio-Signature of params posted to fullURL
// (for a GET, params is nil: they are in fullURL). Every value of a
// repeated key counts, sorted by name, then value.
func Signature(authToken, fullURL string, params url.Values) string {
	keys := make([]string, 0, len(params))
	n := len(fullURL)
	for k, vs := range params {
		keys = append(keys, k)
		for _, v := range vs {
			n += len(k) + len(v)
		}
	}
	sort.Strings(keys)
	msg := make([]byte, 0, n)
	msg = append(msg, fullURL...)
	for _, k := range keys {
		vs := params[k]
		if len(vs) > 1 && !sort.StringsAreSorted(vs) {
			vs = append([]string(nil), vs...)
			sort.Strings(vs)
		}
		for _, v := range vs {
			msg = append(msg, k...)
			msg = append(msg, v...)
		}
	}
	mac := hmac.New(sha1.New, []byte(authToken))
	mac.Write(msg)
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// signedURL is the URL Twilio signed for req.
func signedURL(req *connectors.Request, webhookURL string) string {
	if webhookURL == "" {
		return req.URL
	}
	if q := rawQuery(req); q != "" {
		return webhookURL + "?" + q
	}
	return webhookURL
}

// rawQuery is req's query exactly as sent, which is what Twilio signed;
// re-encoding Query could reorder or re-escape it.
func rawQuery(req *connectors.Request) string {
	if req.URL != "" {
		_, q, _ := strings.Cut(req.URL, "?")
		q, _, _ = strings.Cut(q, "#")
		return q
	}
	return req.Query.Encode()
}

// query returns the parameters of a GET.
func query(req *connectors.Request) url.Values {
	if req.Query != nil {
		return req.Query
	}
	q, _ := url.ParseQuery(rawQuery(req))
	return q
}

// portVariants returns u with the scheme's default port and without any
// port, as twilio-go's validator tries them; a URL with another port, or
// none that can be told, is itself twice. It edits the authority in place
// rather than re-encoding the URL, which could change what was signed.
func portVariants(u string) [2]string {
	scheme, rest, ok := strings.Cut(u, "://")
	if !ok {
		return [2]string{u, u}
	}
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	authority, tail := rest[:end], rest[end:]
	var def string
	switch strings.ToLower(scheme) {
	case "https":
		def = "443"
	case "http":
		def = "80"
	default:
		return [2]string{u, u}
	}
	host, port := authority, ""
	if i := strings.LastIndexByte(authority, ':'); i >= 0 && !strings.Contains(authority[i:], "]") {
		host, port = authority[:i], authority[i+1:]
	}
	switch port {
	case "":
		return [2]string{u, scheme + "://" + host + ":" + def + tail}
	case def:
		return [2]string{scheme + "://" + host + tail, u}
	}
	return [2]string{u, u}
}

// stripQuery drops the query of a URL for an error message: it may carry
// parameters the caller should not see echoed.
func stripQuery(u string) string {
	u, _, _ = strings.Cut(u, "?")
	return u
}
