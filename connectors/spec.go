package connectors

import (
	"errors"
	"fmt"
	"regexp"
)

// DefaultMaxBodyBytes is the webhook body limit of a Spec that sets none.
const DefaultMaxBodyBytes = 1 << 20

// namePattern is the shape of connector and config field names.
var namePattern = regexp.MustCompile(`^[a-z0-9]+(_[a-z0-9]+)*$`)

// ValidName reports whether name is a valid connector or field name:
// lower-case letters and digits in words joined by single underscores.
func ValidName(name string) bool { return namePattern.MatchString(name) }

// Spec describes a connector: its name, its documentation and its
// configuration fields. The registry checks configurations against it, and
// the CLI and the docs are generated from it.
type Spec struct {
	// Name is the connector's name in webhook paths and configuration,
	// matching ^[a-z0-9]+(_[a-z0-9]+)*$.
	Name string
	// Summary is one line, lower case, no final period.
	Summary string
	// Description is Markdown: what the connector does and how to set the
	// platform up.
	Description string
	// Fields are the configuration fields, in documentation order.
	Fields []Field
	// MaxBodyBytes caps a webhook's body; the server answers 413 beyond it.
	// Zero means DefaultMaxBodyBytes; at most MaxBodyBytesLimit.
	MaxBodyBytes int64
	// QuickStart asks serve to start an instance named DefaultInstance,
	// with the defaults of every field, when none is configured: the
	// channel someone who has just installed Switchboard can try at once.
	// A connector with a required field cannot start so.
	QuickStart bool
}

// MaxBodyBytesLimit is the largest MaxBodyBytes a spec may set: the
// server reads no request body larger.
const MaxBodyBytesLimit = 16 << 20

// FieldType is the type of a config field's value; the registry rejects
// values that do not parse as it.
type FieldType string

// Field types. The zero value is TypeString.
const (
	TypeString   FieldType = ""
	TypeDuration FieldType = "duration" // time.ParseDuration: 300ms, 5m, 1h30m
	TypeInt      FieldType = "int"      // decimal
	TypeBool     FieldType = "bool"     // strconv.ParseBool: true, false, 1, 0
	TypeURL      FieldType = "url"      // absolute http or https URL
)

// Field is one configuration field of a connector.
type Field struct {
	Name        string // like a connector name
	Type        FieldType
	Description string // one or two sentences, Markdown
	Default     string // value used when the field is not set ("" for none)
	Example     string // a sample value for the docs
	Secret      bool   // never logged or shown; set from the environment
	Required    bool   // must be set and non-empty; a required field has no Default
	Deprecated  bool   // still accepted, with a warning in the log
}

// Field returns the spec's field of that name.
func (s *Spec) Field(name string) (*Field, bool) {
	for i := range s.Fields {
		if s.Fields[i].Name == name {
			return &s.Fields[i], true
		}
	}
	return nil, false
}

// BodyLimit returns MaxBodyBytes, or DefaultMaxBodyBytes when it is zero.
func (s *Spec) BodyLimit() int64 {
	if s.MaxBodyBytes > 0 {
		return s.MaxBodyBytes
	}
	return DefaultMaxBodyBytes
}

// Validate checks the spec itself: the names, no repeated field, no
// default on a required field, defaults that parse as their type.
func (s *Spec) Validate() error {
	var errs []error
	if !ValidName(s.Name) {
		errs = append(errs, fmt.Errorf("invalid connector name %q: want ^[a-z0-9]+(_[a-z0-9]+)*$", s.Name))
	}
	if s.MaxBodyBytes < 0 || s.MaxBodyBytes > MaxBodyBytesLimit {
		errs = append(errs, fmt.Errorf("MaxBodyBytes %d: want 0 (the default) to %d", s.MaxBodyBytes, MaxBodyBytesLimit))
	}
	seen := map[string]bool{}
	for _, f := range s.Fields {
		switch {
		case !ValidName(f.Name):
			errs = append(errs, fmt.Errorf("invalid field name %q: want ^[a-z0-9]+(_[a-z0-9]+)*$", f.Name))
		case seen[f.Name]:
			errs = append(errs, fmt.Errorf("field %q declared twice", f.Name))
		}
		seen[f.Name] = true
		switch f.Type {
		case TypeString, TypeDuration, TypeInt, TypeBool, TypeURL:
		default:
			errs = append(errs, fmt.Errorf("field %q: unknown type %q", f.Name, f.Type))
		}
		if f.Required && s.QuickStart {
			errs = append(errs, fmt.Errorf("field %q: a QuickStart connector starts with its defaults, so no field is required", f.Name))
		}
		if f.Required && f.Default != "" {
			errs = append(errs, fmt.Errorf("field %q: required fields have no default", f.Name))
		}
		if f.Default != "" {
			if err := checkType(f.Type, f.Default); err != nil {
				errs = append(errs, fmt.Errorf("field %q: default: %v", f.Name, err))
			}
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("connector spec %q: %w", s.Name, errors.Join(errs...))
	}
	return nil
}
