package ingest

import (
	"github.com/switchboard-dev/switchboard/connectors"
	"github.com/switchboard-dev/switchboard/runtime/store"
)

// cleanInbound applies the store's text rule (store.Text) to every string
// of a customer's message where it enters the runtime: a NUL or invalid
// UTF-8 becomes U+FFFD. The message is never refused for one (a platform
// would redeliver it forever, and the customer's words would be lost), and
// the flow sees the text as both stores keep it: the sender's address, the
// stored text and message.text agree.
func cleanInbound(in connectors.Inbound) connectors.Inbound {
	for _, s := range []*string{&in.PlatformID, &in.Channel, &in.From, &in.To, &in.FromName, &in.Text, &in.Email} {
		*s = store.Text(*s)
	}
	if dirty(in.Media) {
		media := make([]string, len(in.Media))
		for i, m := range in.Media {
			media[i] = store.Text(m)
		}
		in.Media = media
	}
	if dirty(in.Attributes) {
		in.Attributes = cleanValue(in.Attributes).(map[string]any)
	}
	return in
}

// dirty reports whether a decoded JSON value (or a []string) has a string,
// key or element, that store.Text would change. Nearly none has: the
// message is then passed on without a copy.
func dirty(v any) bool {
	switch v := v.(type) {
	case string:
		return store.Text(v) != v
	case []string:
		for _, s := range v {
			if store.Text(s) != s {
				return true
			}
		}
	case []any:
		for _, e := range v {
			if dirty(e) {
				return true
			}
		}
	case map[string]any:
		for k, e := range v {
			if store.Text(k) != k || dirty(e) {
				return true
			}
		}
	}
	return false
}

// cleanValue returns a copy of a decoded JSON value with store.Text
// applied to its strings, keys included.
func cleanValue(v any) any {
	switch v := v.(type) {
	case string:
		return store.Text(v)
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = cleanValue(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			out[store.Text(k)] = cleanValue(e)
		}
		return out
	}
	return v
}
