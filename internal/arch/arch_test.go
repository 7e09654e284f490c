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
		{"runtime/engine", []string{module + "/runtime/store", module + "/runtime/node", module + "/runtime/server", module + "/connectors",
			module + "/cli", "github.com/valyala/fasthttp", "net/http", "database/sql", "github.com/jackc/pgx"}},
		// The router core is pure too: the runtime drives it.
		{"runtime/router", []string{module + "/runtime/store", module + "/runtime/node", module + "/runtime/server", module + "/connectors",
			module + "/cli", "github.com/valyala/fasthttp", "net/http", "database/sql"}},
		// Connectors see requests and messages, not the runtime.
		{"connectors", []string{module + "/runtime", module + "/cli", "github.com/valyala/fasthttp"}},
		{"connectors/custom", []string{module + "/runtime", module + "/cli", "github.com/valyala/fasthttp"}},
		{"connectors/webchat", []string{module + "/runtime", module + "/cli"}},
		{"runtime/store", []string{module + "/runtime/engine", module + "/runtime/node", module + "/runtime/server", module + "/connectors", module + "/cli"}},
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
