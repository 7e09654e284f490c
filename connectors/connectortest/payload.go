package connectortest

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/switchboard-dev/switchboard/connectors"
)

// Payload is one recorded request of a connector's testdata: a txtar
// archive (the format of golang.org/x/tools/txtar, read here with the
// standard library alone so that the kit keeps no third-party
// dependency) whose sections hold what the platform sent and, in the
// "want" section, the JSON of the []connectors.Inbound that Receive must
// give for it:
//
//	A text message from a user, as recorded from the platform.
//	-- body --
//	{"events":[...]}
//	-- want --
//	[
//	 {"Channel": "line", ...}
//	]
type Payload struct {
	Name     string            // the file's name without .txtar
	Path     string            // the file, for messages and rewrites
	Comment  []byte            // the text before the first section
	Sections map[string][]byte // every section's data as the file has it
	order    []string          // section names in file order, for rewrites
}

// Payloads reads every dir/*.txtar. When sections are named, a file may
// have no section but those and want: a misspelt section is a test that
// silently checks less. A file without a want section (a request that
// Receive must refuse, say) is read; CheckInbounds fails on it.
func Payloads(t testing.TB, dir string, sections ...string) []Payload {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.txtar"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no payloads in %s: %v", dir, err)
	}
	out := make([]Payload, 0, len(files))
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		p, err := parsePayload(f, data, sections)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, p)
	}
	return out
}

// PayloadNamed is the payload dir/name.txtar, read as Payloads reads it.
func PayloadNamed(t testing.TB, dir, name string, sections ...string) Payload {
	t.Helper()
	for _, p := range Payloads(t, dir, sections...) {
		if p.Name == name {
			return p
		}
	}
	t.Fatalf("no payload %s in %s", name, dir)
	return Payload{}
}

// Trimmed is the named section without its final newline, which txtar
// adds to every section but the platform did not send.
func (p Payload) Trimmed(name string) []byte {
	return bytes.TrimSuffix(p.Sections[name], []byte("\n"))
}

// CheckOption changes how CheckInbounds compares.
type CheckOption func(*checkOptions)

type checkOptions struct {
	normalize func([]byte) []byte
	exact     bool
}

// Normalize rewrites the JSON of what Receive gave before it is compared
// or written, for values that differ from run to run (a signature made
// with a per-run key, say). The want section holds the normalized form.
func Normalize(f func(gotJSON []byte) []byte) CheckOption {
	return func(o *checkOptions) { o.normalize = f }
}

// Exact compares the JSON of what Receive gave with the want section byte
// for byte, layout included, instead of comparing decoded values.
func Exact() CheckOption {
	return func(o *checkOptions) { o.exact = true }
}

// CheckInbounds compares got with the want section, as decoded values so
// that the file's layout does not matter; with update set it writes got
// into the want section of the file instead. A nil got is written and
// compared as an empty list, so that "no message" is recorded, not
// missing.
func (p Payload) CheckInbounds(t testing.TB, got []connectors.Inbound, update bool, opts ...CheckOption) {
	t.Helper()
	var o checkOptions
	for _, opt := range opts {
		opt(&o)
	}
	if got == nil {
		got = []connectors.Inbound{}
	}
	gj, err := json.MarshalIndent(got, "", " ")
	if err != nil {
		t.Fatalf("%s: encoding what Receive gave: %v", p.Path, err)
	}
	gj = append(gj, '\n')
	if o.normalize != nil {
		gj = o.normalize(gj)
	}
	if update {
		p.Sections["want"] = gj
		if err := os.WriteFile(p.Path, p.format(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, ok := p.Sections["want"]
	if !ok {
		t.Fatalf("%s: no want section", p.Path)
	}
	if o.exact {
		if !bytes.Equal(gj, want) {
			t.Errorf("%s: Receive gave\n%s\nwant\n%s", p.Path, gj, want)
		}
		return
	}
	wj, err := canonical(want)
	if err != nil {
		t.Fatalf("%s: want section: %v", p.Path, err)
	}
	// Decoded and encoded again like want, so that numbers and key order
	// compare as JSON has them.
	bj, err := canonical(gj)
	if err != nil {
		t.Fatalf("%s: decoding what Receive gave: %v", p.Path, err)
	}
	if !bytes.Equal(bj, wj) {
		t.Errorf("%s: Receive gave\n%s\nwant\n%s", p.Path, gj, wj)
	}
}

func canonical(data []byte) ([]byte, error) {
	var in []connectors.Inbound
	if err := json.Unmarshal(data, &in); err != nil {
		return nil, err
	}
	return json.MarshalIndent(in, "", " ")
}

var marker = []byte("\n-- ")

// parsePayload reads data as txtar does: a section starts at a line
// "-- name --" and runs to the next such line.
func parsePayload(path string, data []byte, allowed []string) (Payload, error) {
	p := Payload{
		Name:     strings.TrimSuffix(filepath.Base(path), ".txtar"),
		Path:     path,
		Sections: map[string][]byte{},
	}
	var name string
	p.Comment, name, data = nextSection(data)
	for name != "" {
		if _, dup := p.Sections[name]; dup {
			return Payload{}, &payloadError{path, "section " + strconv.Quote(name) + " appears twice"}
		}
		if len(allowed) > 0 && name != "want" && !slices.Contains(allowed, name) {
			return Payload{}, &payloadError{path, "unknown section " + strconv.Quote(name) + ", want one of " + strings.Join(allowed, ", ") + ", want"}
		}
		sec, next, rest := nextSection(data)
		p.Sections[name] = sec
		p.order = append(p.order, name)
		name, data = next, rest
	}
	return p, nil
}

// nextSection splits data at the first section marker line.
func nextSection(data []byte) (before []byte, name string, after []byte) {
	i := 0
	for {
		if name, after := markerLine(data[i:]); name != "" {
			return data[:i], name, after
		}
		j := bytes.Index(data[i:], marker)
		if j < 0 {
			return withNewline(data), "", nil
		}
		i += j + 1
	}
}

func markerLine(data []byte) (name string, after []byte) {
	if !bytes.HasPrefix(data, marker[1:]) {
		return "", nil
	}
	if i := bytes.IndexByte(data, '\n'); i >= 0 {
		data, after = data[:i], data[i+1:]
	}
	if !bytes.HasSuffix(data, []byte(" --")) || len(data) < len("-- ")+len(" --") {
		return "", nil
	}
	return strings.TrimSpace(string(data[3 : len(data)-3])), after
}

func withNewline(data []byte) []byte {
	if len(data) == 0 || data[len(data)-1] == '\n' {
		return data
	}
	return append(data[:len(data):len(data)], '\n')
}

// format writes the payload back as txtar, sections in their file order.
func (p Payload) format() []byte {
	var buf bytes.Buffer
	buf.Write(withNewline(p.Comment))
	for _, name := range p.order {
		buf.WriteString("-- " + name + " --\n")
		buf.Write(withNewline(p.Sections[name]))
	}
	return buf.Bytes()
}

type payloadError struct{ path, msg string }

func (e *payloadError) Error() string { return e.path + ": " + e.msg }

// Recorded is a recorded request whose "body" section is what the
// platform posted.
type Recorded struct {
	Payload
	Body []byte
}

// Bodies reads dir's recordings of requests Receive must accept: each
// holds a body and a want section, and nothing else.
func Bodies(t testing.TB, dir string) []Recorded {
	t.Helper()
	var out []Recorded
	for _, p := range Payloads(t, dir, "body") {
		if len(p.Trimmed("body")) == 0 || p.Sections["want"] == nil {
			t.Fatalf("%s: needs a body and a want", p.Path)
		}
		out = append(out, Recorded{Payload: p, Body: p.Trimmed("body")})
	}
	return out
}

// BodyNamed is the recording dir/name.txtar, read as Bodies reads it.
func BodyNamed(t testing.TB, dir, name string) Recorded {
	t.Helper()
	for _, r := range Bodies(t, dir) {
		if r.Name == name {
			return r
		}
	}
	t.Fatalf("no payload %s in %s", name, dir)
	return Recorded{}
}
