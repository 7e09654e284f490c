package connectors

import (
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
)

// Registry holds connectors by name: a Spec and a Constructor each. It is
// safe for concurrent use. Connector packages add themselves to Default in
// their init functions; tests build their own with NewRegistry.
type Registry struct {
	mu      sync.RWMutex
	entries map[string]entry
}

type entry struct {
	spec *Spec
	ctor Constructor
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{entries: map[string]entry{}} }

var defaultRegistry = NewRegistry()

// Default returns the process-wide registry that connector packages
// register with in init (import connectors/all to get them all). The
// runtime clones it (or narrows it with With and Without) rather than
// changing it.
func Default() *Registry { return defaultRegistry }

// MustRegister adds a connector to Default and panics on error; it is for
// connector packages' init functions:
//
//	func init() { connectors.MustRegister(Spec(), New) }
func MustRegister(spec *Spec, ctor Constructor) { defaultRegistry.MustRegister(spec, ctor) }

// Register adds a connector. It fails if the spec is invalid (see
// Spec.Validate), ctor is nil, or the name is already registered: a
// registration never replaces another. The registry keeps spec; do not
// change it afterwards.
func (r *Registry) Register(spec *Spec, ctor Constructor) error {
	if spec == nil || ctor == nil {
		return fmt.Errorf("connectors: Register needs a spec and a constructor")
	}
	if err := spec.Validate(); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, dup := r.entries[spec.Name]; dup {
		return fmt.Errorf("connector %q is already registered", spec.Name)
	}
	r.entries[spec.Name] = entry{spec, ctor}
	return nil
}

// MustRegister is Register that panics on error, for init functions.
func (r *Registry) MustRegister(spec *Spec, ctor Constructor) {
	if err := r.Register(spec, ctor); err != nil {
		panic(err)
	}
}

// Clone returns an independent copy: registering with one does not change
// the other.
func (r *Registry) Clone() *Registry {
	r.mu.RLock()
	defer r.mu.RUnlock()
	c := NewRegistry()
	for k, v := range r.entries {
		c.entries[k] = v
	}
	return c
}

// With returns a new registry holding only the named connectors. It fails
// if one of them is not registered.
func (r *Registry) With(names ...string) (*Registry, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	c := NewRegistry()
	for _, n := range names {
		e, ok := r.entries[n]
		if !ok {
			return nil, fmt.Errorf("%w %q", ErrUnknownConnector, n)
		}
		c.entries[n] = e
	}
	return c, nil
}

// Without returns a new registry holding every connector but the named
// ones. Names that are not registered are ignored.
func (r *Registry) Without(names ...string) *Registry {
	c := r.Clone()
	for _, n := range names {
		delete(c.entries, n)
	}
	return c
}

// Specs returns the registered specs sorted by name.
func (r *Registry) Specs() []*Spec {
	r.mu.RLock()
	defer r.mu.RUnlock()
	specs := make([]*Spec, 0, len(r.entries))
	for _, e := range r.entries {
		specs = append(specs, e.spec)
	}
	sort.Slice(specs, func(i, j int) bool { return specs[i].Name < specs[j].Name })
	return specs
}

// Lookup returns the spec of the named connector.
func (r *Registry) Lookup(name string) (*Spec, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	e, ok := r.entries[name]
	return e.spec, ok
}

// New builds an instance of the named connector. It checks cfg against the
// spec first and reports every problem at once in a *ConfigError: unknown
// fields (with a suggestion), required fields that are missing or empty,
// values that do not parse as their field's type. It then fills in the
// defaults of unset fields and of res's zero fields, warns about
// deprecated fields in res.Logger, and calls the constructor; cfg itself
// is not modified. An unknown name fails with ErrUnknownConnector.
func (r *Registry) New(name string, cfg Config, res Resources) (Connector, error) {
	r.mu.RLock()
	e, ok := r.entries[name]
	r.mu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("%w %q", ErrUnknownConnector, name)
	}
	spec := e.spec

	full, errs := checkConfig(spec, cfg)
	if len(errs) > 0 {
		return nil, &ConfigError{Connector: name, Fields: errs}
	}

	if res.Instance == "" {
		res.Instance = DefaultInstance
	}
	if res.HTTPClient == nil {
		res.HTTPClient = &http.Client{Timeout: 30 * time.Second}
	}
	if res.Now == nil {
		res.Now = time.Now
	}
	if res.Logger == nil {
		res.Logger = slog.New(slog.DiscardHandler)
	}
	res.Logger = res.Logger.With("connector", name, "instance", res.Instance)
	for _, f := range spec.Fields {
		if f.Deprecated && cfg[f.Name] != "" {
			res.Logger.Warn("deprecated config field", "field", f.Name)
		}
	}

	c, err := e.ctor(full, res)
	if err != nil {
		return nil, fmt.Errorf("connector %q: %w", name, err)
	}
	if c == nil {
		return nil, fmt.Errorf("connector %q: constructor returned no connector", name)
	}
	return c, nil
}

// NewInstance builds instance name of the named connector, as New does,
// and returns it with the connector's spec, as the runtime serves it.
func (r *Registry) NewInstance(connector, name string, cfg Config, res Resources) (Instance, error) {
	spec, ok := r.Lookup(connector)
	if !ok {
		return Instance{}, fmt.Errorf("%w %q", ErrUnknownConnector, connector)
	}
	if name == "" {
		name = DefaultInstance
	}
	res.Instance = name
	c, err := r.New(connector, cfg, res)
	if err != nil {
		return Instance{}, err
	}
	return Instance{Connector: connector, Name: name, Conn: c, Spec: spec}, nil
}

// QuickStart returns the specs of the connectors serve starts an instance
// of when none is configured (Spec.QuickStart), sorted by name.
func (r *Registry) QuickStart() []*Spec {
	var out []*Spec
	for _, s := range r.Specs() {
		if s.QuickStart {
			out = append(out, s)
		}
	}
	return out
}

// checkConfig validates cfg against spec and returns a copy with the
// defaults filled in.
func checkConfig(spec *Spec, cfg Config) (Config, []*FieldError) {
	var errs []*FieldError
	keys := make([]string, 0, len(cfg))
	for k := range cfg {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		f, ok := spec.Field(k)
		if !ok {
			problem := "unknown field"
			if s := suggest(k, spec.Fields); s != "" {
				problem += fmt.Sprintf(" (did you mean %q?)", s)
			}
			errs = append(errs, &FieldError{Field: k, Problem: problem})
			continue
		}
		if v := cfg[k]; v != "" {
			if err := checkType(f.Type, v); err != nil {
				errs = append(errs, &FieldError{Field: k, Problem: err.Error()})
			}
		}
	}
	full := make(Config, len(spec.Fields))
	for _, f := range spec.Fields {
		v := cfg[f.Name]
		if v == "" {
			v = f.Default
		}
		if v == "" && f.Required {
			errs = append(errs, &FieldError{Field: f.Name, Problem: "required"})
		}
		if v != "" {
			full[f.Name] = v
		}
	}
	return full, errs
}

// suggest returns the field name closest to name, within an edit distance
// of 2, else the first field whose name starts with name's words, or "".
func suggest(name string, fields []Field) string {
	best, bestDist := "", 3
	for _, f := range fields {
		if d := levenshtein(name, f.Name); d < bestDist {
			best, bestDist = f.Name, d
		}
	}
	if best != "" {
		return best
	}
	for _, f := range fields {
		if strings.HasPrefix(f.Name, name+"_") {
			return f.Name
		}
	}
	return ""
}

func levenshtein(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}
