package connectors_test

import (
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/switchboard-dev/switchboard/connectors"
)

func newLogger(w io.Writer) *slog.Logger { return slog.New(slog.NewTextHandler(w, nil)) }

func TestConfigGetters(t *testing.T) {
	cfg := connectors.Config{"d": "90s", "n": "42", "b": "true", "u": "https://x.test/p", "s": "v",
		"bad_d": "soon", "bad_n": "4x", "bad_b": "yes please", "bad_u": "/relative"}

	if d, err := cfg.Duration("d"); err != nil || d != 90*time.Second {
		t.Errorf("Duration = %v, %v", d, err)
	}
	if n, err := cfg.Int("n"); err != nil || n != 42 {
		t.Errorf("Int = %v, %v", n, err)
	}
	if b, err := cfg.Bool("b"); err != nil || !b {
		t.Errorf("Bool = %v, %v", b, err)
	}
	if u, err := cfg.URL("u"); err != nil || u.Host != "x.test" {
		t.Errorf("URL = %v, %v", u, err)
	}
	if v, err := cfg.Required("s"); err != nil || v != "v" {
		t.Errorf("Required = %v, %v", v, err)
	}
	if cfg.String("missing") != "" || cfg.Has("missing") || !cfg.Has("s") {
		t.Error("String/Has")
	}

	for _, tc := range []struct {
		get  func() error
		want string
	}{
		{func() error { _, err := cfg.Required("missing"); return err }, `config field "missing": required`},
		{func() error { _, err := cfg.Duration("missing"); return err }, `config field "missing": required`},
		{func() error { _, err := cfg.Int("missing"); return err }, `config field "missing": required`},
		{func() error { _, err := cfg.Bool("missing"); return err }, `config field "missing": required`},
		{func() error { _, err := cfg.URL("missing"); return err }, `config field "missing": required`},
		{func() error { _, err := cfg.Duration("bad_d"); return err }, `config field "bad_d": invalid duration "soon" (want a number with a unit: 30s, 5m)`},
		{func() error { _, err := cfg.Int("bad_n"); return err }, `config field "bad_n": invalid integer "4x"`},
		{func() error { _, err := cfg.Bool("bad_b"); return err }, `config field "bad_b": invalid boolean "yes please" (want true or false)`},
		{func() error { _, err := cfg.URL("bad_u"); return err }, `config field "bad_u": invalid URL (want an absolute http or https URL)`},
	} {
		err := tc.get()
		var fe *connectors.FieldError
		if err == nil || err.Error() != tc.want || !errors.As(err, &fe) {
			t.Errorf("got %v, want %s", err, tc.want)
		}
	}
}

func TestConfigRedacted(t *testing.T) {
	spec := testSpec("sms")
	got := connectors.Config{"token": "s3cret", "timeout": "1s"}.Redacted(spec)
	if got["token"] != "REDACTED" || got["timeout"] != "1s" {
		t.Errorf("Redacted = %v", got)
	}
}

func TestSpecBodyLimit(t *testing.T) {
	if got := (&connectors.Spec{}).BodyLimit(); got != connectors.DefaultMaxBodyBytes {
		t.Errorf("default limit %d", got)
	}
	if got := (&connectors.Spec{MaxBodyBytes: 30 << 20}).BodyLimit(); got != 30<<20 {
		t.Errorf("limit %d", got)
	}
}
