package messagingtest

import (
	"encoding/json"
	"sort"
	"testing"

	"github.com/switchboard-dev/switchboard/connectors"
)

// AttributeKeys returns the attribute names the payloads' want sections
// hold: every one Receive gave for a recorded webhook.
func AttributeKeys(t testing.TB, payloads []Payload) []string {
	t.Helper()
	seen := map[string]bool{}
	for _, p := range payloads {
		var want []connectors.Inbound
		if err := json.Unmarshal(p.Want, &want); err != nil {
			t.Fatalf("%s: %v", p.File, err)
		}
		for _, m := range want {
			for k := range m.Attributes {
				seen[k] = true
			}
		}
	}
	keys := make([]string, 0, len(seen))
	for k := range seen {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
