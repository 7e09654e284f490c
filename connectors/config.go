package connectors

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Config is a connector instance's configuration: field name → value, as
// written by the operator. The registry checks it against the Spec and
// fills in defaults before the constructor sees it, so a constructor only
// needs the typed getters below. The getters that return an error fail
// with a *FieldError naming the field when it is missing, empty or does
// not parse.
type Config map[string]string

// String returns the field's value, "" if it is not set.
func (c Config) String(name string) string { return c[name] }

// Has reports whether the field is set to a non-empty value.
func (c Config) Has(name string) bool { return c[name] != "" }

// Required returns the field's value, or an error if it is missing or
// empty.
func (c Config) Required(name string) (string, error) {
	v := c[name]
	if v == "" {
		return "", &FieldError{Field: name, Problem: "required"}
	}
	return v, nil
}

// Duration returns the field as a time.Duration ("5m", "300ms").
func (c Config) Duration(name string) (time.Duration, error) {
	v, err := c.Required(name)
	if err != nil {
		return 0, err
	}
	d, err := parseDuration(v)
	if err != nil {
		return 0, &FieldError{Field: name, Problem: err.Error()}
	}
	return d, nil
}

// Int returns the field as a decimal int.
func (c Config) Int(name string) (int, error) {
	v, err := c.Required(name)
	if err != nil {
		return 0, err
	}
	n, err := parseInt(v)
	if err != nil {
		return 0, &FieldError{Field: name, Problem: err.Error()}
	}
	return n, nil
}

// Bool returns the field as a bool (true, false, 1, 0, t, f).
func (c Config) Bool(name string) (bool, error) {
	v, err := c.Required(name)
	if err != nil {
		return false, err
	}
	b, err := parseBool(v)
	if err != nil {
		return false, &FieldError{Field: name, Problem: err.Error()}
	}
	return b, nil
}

// URL returns the field as an absolute http or https URL.
func (c Config) URL(name string) (*url.URL, error) {
	v, err := c.Required(name)
	if err != nil {
		return nil, err
	}
	u, err := parseURL(v)
	if err != nil {
		return nil, &FieldError{Field: name, Problem: err.Error()}
	}
	return u, nil
}

// Redacted returns a copy of the config with the values of the spec's
// secret fields replaced by "REDACTED", for logs and status pages.
func (c Config) Redacted(s *Spec) Config {
	out := make(Config, len(c))
	for k, v := range c {
		if f, ok := s.Field(k); ok && f.Secret && v != "" {
			v = "REDACTED"
		}
		out[k] = v
	}
	return out
}

// FieldError is a problem with one configuration field.
type FieldError struct {
	Field   string
	Problem string // "required", `invalid duration "5x"`, `unknown field (did you mean "secret"?)`
}

func (e *FieldError) Error() string { return fmt.Sprintf("config field %q: %s", e.Field, e.Problem) }

// ConfigError lists every problem Registry.New found in a configuration.
// errors.As finds each *FieldError in it.
type ConfigError struct {
	Connector string
	Fields    []*FieldError
}

func (e *ConfigError) Error() string {
	msgs := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		msgs[i] = f.Error()
	}
	return fmt.Sprintf("connector %q: %s", e.Connector, strings.Join(msgs, "; "))
}

// Unwrap returns the field errors.
func (e *ConfigError) Unwrap() []error {
	errs := make([]error, len(e.Fields))
	for i, f := range e.Fields {
		errs[i] = f
	}
	return errs
}

func checkType(t FieldType, v string) error {
	var err error
	switch t {
	case TypeDuration:
		_, err = parseDuration(v)
	case TypeInt:
		_, err = parseInt(v)
	case TypeBool:
		_, err = parseBool(v)
	case TypeURL:
		_, err = parseURL(v)
	}
	return err
}

func parseDuration(v string) (time.Duration, error) {
	d, err := time.ParseDuration(v)
	if err != nil {
		return 0, fmt.Errorf("invalid duration %q (want a number with a unit: 30s, 5m)", v)
	}
	return d, nil
}

func parseInt(v string) (int, error) {
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, fmt.Errorf("invalid integer %q", v)
	}
	return n, nil
}

func parseBool(v string) (bool, error) {
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, fmt.Errorf("invalid boolean %q (want true or false)", v)
	}
	return b, nil
}

func parseURL(v string) (*url.URL, error) {
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, errors.New("invalid URL (want an absolute http or https URL)")
	}
	return u, nil
}
