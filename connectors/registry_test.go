package connectors_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/switchboard-dev/switchboard/connectors"
)

type nopConnector struct {
	cfg connectors.Config
	res connectors.Resources
}

func (nopConnector) Receive(context.Context, *connectors.Request) ([]connectors.Inbound, error) {
	return nil, nil
}
func (nopConnector) Send(context.Context, *connectors.Outbound) (string, error) { return "", nil }

func nopCtor(cfg connectors.Config, res connectors.Resources) (connectors.Connector, error) {
	return &nopConnector{cfg, res}, nil
}

func testSpec(name string) *connectors.Spec {
	return &connectors.Spec{
		Name:    name,
		Summary: "a test connector",
		Fields: []connectors.Field{
			{Name: "token", Secret: true, Required: true},
			{Name: "api_url", Type: connectors.TypeURL, Default: "https://api.example.com"},
			{Name: "timeout", Type: connectors.TypeDuration, Default: "10s"},
			{Name: "old_name", Deprecated: true},
		},
	}
}

func TestRegisterRejectsDuplicates(t *testing.T) {
	reg := connectors.NewRegistry()
	if err := reg.Register(testSpec("sms"), nopCtor); err != nil {
		t.Fatal(err)
	}
	first, _ := reg.Lookup("sms")
	err := reg.Register(testSpec("sms"), nopCtor)
	if err == nil || !strings.Contains(err.Error(), `"sms" is already registered`) {
		t.Fatalf("second Register: %v, want an already-registered error", err)
	}
	if again, _ := reg.Lookup("sms"); again != first {
		t.Error("a failed Register replaced the first registration")
	}
}

func TestMustRegisterPanics(t *testing.T) {
	reg := connectors.NewRegistry()
	reg.MustRegister(testSpec("sms"), nopCtor)
	defer func() {
		if recover() == nil {
			t.Error("MustRegister of a duplicate did not panic")
		}
	}()
	reg.MustRegister(testSpec("sms"), nopCtor)
}

func TestRegisterValidatesSpec(t *testing.T) {
	for _, tc := range []struct {
		name string
		spec *connectors.Spec
		want string
	}{
		{"upper case", &connectors.Spec{Name: "SMS"}, `invalid connector name "SMS"`},
		{"double underscore", &connectors.Spec{Name: "a__b"}, `invalid connector name "a__b"`},
		{"trailing underscore", &connectors.Spec{Name: "a_"}, `invalid connector name "a_"`},
		{"empty", &connectors.Spec{Name: ""}, `invalid connector name ""`},
		{"bad field", &connectors.Spec{Name: "x", Fields: []connectors.Field{{Name: "Bad-Name"}}}, `invalid field name "Bad-Name"`},
		{"repeated field", &connectors.Spec{Name: "x", Fields: []connectors.Field{{Name: "a"}, {Name: "a"}}}, `field "a" declared twice`},
		{"required default", &connectors.Spec{Name: "x", Fields: []connectors.Field{{Name: "a", Required: true, Default: "1"}}}, `required fields have no default`},
		{"bad default", &connectors.Spec{Name: "x", Fields: []connectors.Field{{Name: "a", Type: connectors.TypeDuration, Default: "5"}}}, `invalid duration "5"`},
		{"bad type", &connectors.Spec{Name: "x", Fields: []connectors.Field{{Name: "a", Type: "float"}}}, `unknown type "float"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := connectors.NewRegistry().Register(tc.spec, nopCtor)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Register: %v, want an error containing %s", err, tc.want)
			}
		})
	}
	for _, name := range []string{"sms", "whatsapp", "line_v2", "a1_b2_c3", "x"} {
		if err := connectors.NewRegistry().Register(&connectors.Spec{Name: name}, nopCtor); err != nil {
			t.Errorf("Register(%q): %v", name, err)
		}
	}
	if err := connectors.NewRegistry().Register(testSpec("x"), nil); err == nil {
		t.Error("Register with a nil constructor succeeded")
	}
}

func TestSpecsSorted(t *testing.T) {
	reg := connectors.NewRegistry()
	for _, n := range []string{"whatsapp", "custom", "sms", "line"} {
		reg.MustRegister(testSpec(n), nopCtor)
	}
	var names []string
	for _, s := range reg.Specs() {
		names = append(names, s.Name)
	}
	if got := strings.Join(names, ","); got != "custom,line,sms,whatsapp" {
		t.Errorf("Specs() = %s", got)
	}
}

func TestCloneWithWithout(t *testing.T) {
	reg := connectors.NewRegistry()
	for _, n := range []string{"a", "b", "c"} {
		reg.MustRegister(testSpec(n), nopCtor)
	}
	clone := reg.Clone()
	clone.MustRegister(testSpec("d"), nopCtor)
	if _, ok := reg.Lookup("d"); ok {
		t.Error("registering with a clone changed the original")
	}

	with, err := reg.With("a", "c")
	if err != nil {
		t.Fatal(err)
	}
	if got := names(with); got != "a,c" {
		t.Errorf("With(a, c) holds %s", got)
	}
	if _, err := reg.With("a", "nope"); !errors.Is(err, connectors.ErrUnknownConnector) || !strings.Contains(err.Error(), `"nope"`) {
		t.Errorf("With(unknown): %v", err)
	}
	if got := names(reg.Without("b", "nope")); got != "a,c" {
		t.Errorf("Without(b) holds %s", got)
	}
	if got := names(reg); got != "a,b,c" {
		t.Errorf("With and Without changed the original: %s", got)
	}
}

func names(r *connectors.Registry) string {
	var ns []string
	for _, s := range r.Specs() {
		ns = append(ns, s.Name)
	}
	return strings.Join(ns, ",")
}

func TestNewValidatesConfig(t *testing.T) {
	reg := connectors.NewRegistry()
	reg.MustRegister(testSpec("sms"), nopCtor)

	_, err := reg.New("sms", connectors.Config{"tokn": "x", "timeout": "ten", "api_url": "ftp://x"}, connectors.Resources{})
	var ce *connectors.ConfigError
	if !errors.As(err, &ce) {
		t.Fatalf("New: %v, want a *ConfigError", err)
	}
	want := `connector "sms": config field "api_url": invalid URL (want an absolute http or https URL); ` +
		`config field "timeout": invalid duration "ten" (want a number with a unit: 30s, 5m); ` +
		`config field "tokn": unknown field (did you mean "token"?); ` +
		`config field "token": required`
	if err.Error() != want {
		t.Errorf("New:\n got %s\nwant %s", err, want)
	}
	var fe *connectors.FieldError
	if !errors.As(err, &fe) || fe.Field != "api_url" {
		t.Errorf("errors.As(*FieldError) = %+v", fe)
	}

	if _, err := reg.New("nope", nil, connectors.Resources{}); !errors.Is(err, connectors.ErrUnknownConnector) {
		t.Errorf("New(unknown): %v", err)
	}
}

func TestNewFillsDefaults(t *testing.T) {
	reg := connectors.NewRegistry()
	reg.MustRegister(testSpec("sms"), nopCtor)
	cfg := connectors.Config{"token": "s3cret", "timeout": ""}
	c, err := reg.New("sms", cfg, connectors.Resources{})
	if err != nil {
		t.Fatal(err)
	}
	n := c.(*nopConnector)
	if n.cfg["api_url"] != "https://api.example.com" || n.cfg["timeout"] != "10s" || n.cfg["token"] != "s3cret" {
		t.Errorf("config seen by the constructor: %v", n.cfg)
	}
	if _, ok := n.cfg["old_name"]; ok {
		t.Error("an unset field without default is present")
	}
	if len(cfg) != 2 {
		t.Errorf("New changed the caller's config: %v", cfg)
	}
	if n.res.HTTPClient == nil || n.res.Logger == nil || n.res.Now == nil || n.res.Instance != "default" {
		t.Errorf("resources not defaulted: %+v", n.res)
	}
}

func TestNewWrapsConstructorError(t *testing.T) {
	reg := connectors.NewRegistry()
	boom := errors.New("boom")
	reg.MustRegister(&connectors.Spec{Name: "bad"}, func(connectors.Config, connectors.Resources) (connectors.Connector, error) {
		return nil, boom
	})
	if _, err := reg.New("bad", nil, connectors.Resources{}); !errors.Is(err, boom) || !strings.HasPrefix(err.Error(), `connector "bad": `) {
		t.Errorf("New: %v", err)
	}
}

func TestDeprecatedFieldWarns(t *testing.T) {
	reg := connectors.NewRegistry()
	reg.MustRegister(testSpec("sms"), nopCtor)
	var log strings.Builder
	_, err := reg.New("sms", connectors.Config{"token": "x", "old_name": "y"}, connectors.Resources{Logger: newLogger(&log)})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(log.String(), "deprecated config field") || !strings.Contains(log.String(), "field=old_name") ||
		!strings.Contains(log.String(), "connector=sms") {
		t.Errorf("log: %s", log.String())
	}
}

func TestWebhookPath(t *testing.T) {
	if got := connectors.WebhookPath("custom", ""); got != "/v1/webhooks/custom/default" {
		t.Error(got)
	}
	if got := connectors.WebhookPath("sms", "eu west"); got != "/v1/webhooks/sms/eu%20west" {
		t.Error(got)
	}
}
