package connectors_test

import (
	"testing"

	"github.com/switchboard-dev/switchboard/connectors"
)

func TestNormalizeEmail(t *testing.T) {
	for _, c := range []struct {
		in, want string
		ok       bool
	}{
		{"ana@example.com", "ana@example.com", true},
		{"  Ana.Lima@Example.COM \n", "ana.lima@example.com", true},
		{"<ana@example.com>", "ana@example.com", true},
		{"mailto:Ana@Example.com", "ana@example.com", true},
		{"MAILTO: <ana+shop@example.co.id>", "ana+shop@example.co.id", true},
		// Kept as written: dots and tags are part of the address elsewhere.
		{"a.n.a@gmail.com", "a.n.a@gmail.com", true},
		{"", "", false},
		{"ana", "", false},
		{"@example.com", "", false},
		{"ana@", "", false},
		{"ana@localhost", "", false},
		{"ana@example.", "", false},
		{"ana@.example.com", "", false},
		{"ana@example..com", "", false},
		{"ana@@example.com", "", false},
		{"ana@b@example.com", "", false},
		{"ana lima@example.com", "", false},
		{"ana@exa\tmple.com", "", false},
		{"Ana <ana@example.com>", "", false}, // a display name is the connector's to strip
		{"ana@example.com, bob@example.com", "", false},
		{string(make([]byte, 250)) + "@example.com", "", false},
	} {
		got, ok := connectors.NormalizeEmail(c.in)
		if got != c.want || ok != c.ok {
			t.Errorf("NormalizeEmail(%q) = %q, %v; want %q, %v", c.in, got, ok, c.want, c.ok)
		}
	}
}
