// Package arch holds the tests that keep the layers pointing one way:
// diag → lang → compiler → runtime, with connectors and the CLI on top.
package arch

import (
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/switchboard-dev/switchboard"

func goList(t *testing.T, args ...string) []string {
	t.Helper()
	out, err := exec.Command("go", append([]string{"list"}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("go list %v: %v\n%s", args, err, out)
	}
	return strings.Fields(string(out))
}

func hasPrefix(dep, prefix string) bool { return dep == prefix || strings.HasPrefix(dep, prefix+"/") }

// runtimeParts are the packages of the runtime by role, under the node
// that wires them. A fresh slice each time: rules append to it.
func runtimeParts() []string {
	return []string{module + "/runtime/node", module + "/runtime/ingest", module + "/runtime/outbox", module + "/runtime/timers",
		module + "/runtime/leader", module + "/runtime/agents"}
}

// TestLayers checks what each layer may depend on, directly or not.
func TestLayers(t *testing.T) {
	rules := []struct {
		pkg       string
		forbidden []string
	}{
		{"diag", []string{module + "/lang", module + "/compiler", module + "/runtime", module + "/connectors", module + "/cli", "github.com/alecthomas/participle", "github.com/expr-lang"}},
		{"lang", []string{module + "/compiler", module + "/runtime", module + "/connectors", module + "/cli", "github.com/expr-lang", "github.com/valyala/fasthttp"}},
		{"compiler", []string{module + "/runtime", module + "/connectors", module + "/cli", "github.com/valyala/fasthttp", "net/http"}},
		// The engine is pure: no store, no network, no server.
		{"runtime/engine", append(runtimeParts(), module+"/runtime/effect", module+"/runtime/execution", module+"/runtime/store", module+"/runtime/server",
			module+"/connectors", module+"/cli", "github.com/valyala/fasthttp", "net/http", "database/sql", "github.com/jackc/pgx")},
		// The router core is pure too: the runtime drives it.
		{"runtime/router", append(runtimeParts(), module+"/runtime/effect", module+"/runtime/execution", module+"/runtime/store", module+"/runtime/server",
			module+"/connectors", module+"/cli", "github.com/valyala/fasthttp", "net/http", "database/sql")},
		// Connectors see requests and messages, not the runtime.
		{"connectors", []string{module + "/runtime", module + "/cli", "github.com/valyala/fasthttp"}},
		{"connectors/custom", []string{module + "/runtime", module + "/cli", "github.com/valyala/fasthttp"}},
		{"connectors/webchat", []string{module + "/runtime", module + "/cli"}},
		{"runtime/store", []string{module + "/runtime/engine", module + "/runtime/node", module + "/runtime/server", module + "/connectors", module + "/cli"}},
		// The effect interpreter knows the engine, the store's rows and the
		// connectors' interfaces; the runtime's parts and the test runner
		// depend on it, never the reverse.
		{"runtime/effect", append(runtimeParts(), module+"/runtime/execution", module+"/runtime/server", module+"/cli", module+"/flowtest",
			"github.com/valyala/fasthttp", "database/sql")},
		// The runtime's parts sit under the node that wires them and the
		// server that exposes them.
		{"runtime/execution", append(runtimeParts(), module+"/runtime/server", module+"/cli", "github.com/valyala/fasthttp")},
		{"runtime/ingest", []string{module + "/runtime/node", module + "/runtime/server", module + "/runtime/outbox", module + "/runtime/leader", module + "/cli", "github.com/valyala/fasthttp"}},
		{"runtime/outbox", []string{module + "/runtime/node", module + "/runtime/server", module + "/runtime/ingest", module + "/runtime/leader", module + "/cli", "github.com/valyala/fasthttp"}},
		{"runtime/timers", []string{module + "/runtime/node", module + "/runtime/server", module + "/runtime/outbox", module + "/runtime/ingest", module + "/cli", "github.com/valyala/fasthttp"}},
		{"runtime/leader", []string{module + "/runtime/node", module + "/runtime/server", module + "/runtime/outbox", module + "/runtime/ingest", module + "/runtime/agents", module + "/cli", "github.com/valyala/fasthttp"}},
		{"runtime/agents", []string{module + "/runtime/node", module + "/runtime/server", module + "/runtime/outbox", module + "/runtime/ingest", module + "/cli", "github.com/valyala/fasthttp"}},
		// The flow test runner shares the interpreter, not the node.
		{"flowtest", []string{module + "/runtime/node", module + "/runtime/server", module + "/runtime/execution", module + "/runtime/store/sqlite", module + "/runtime/store/postgres", module + "/cli"}},
		// The language server reads programs: the language, the compiler and
		// the test files' parser, never the node, the server or a store.
		{"lsp", []string{module + "/runtime/node", module + "/runtime/server", module + "/runtime/execution", module + "/runtime/store/sqlite",
			module + "/runtime/store/postgres", module + "/runtime/ingest", module + "/runtime/outbox", module + "/runtime/timers", module + "/cli",
			"github.com/valyala/fasthttp"}},
	}
	for _, r := range rules {
		for _, dep := range goList(t, "-deps", module+"/"+r.pkg) {
			for _, f := range r.forbidden {
				if hasPrefix(dep, f) {
					t.Errorf("%s depends on %s", r.pkg, dep)
				}
			}
		}
	}
}

// TestParticipleStaysInLang checks that only lang imports the parser
// generator: everything else sees the AST through lang's methods.
func TestParticipleStaysInLang(t *testing.T) {
	for _, line := range goList(t, "-f", `{{.ImportPath}}:{{join .Imports ","}}`, module+"/...") {
		pkg, imports, _ := strings.Cut(line, ":")
		if pkg == module+"/lang" {
			continue
		}
		for _, imp := range strings.Split(imports, ",") {
			if hasPrefix(imp, "github.com/alecthomas/participle") {
				t.Errorf("%s imports %s", pkg, imp)
			}
		}
	}
}
