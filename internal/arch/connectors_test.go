package arch

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/switchboard-dev/switchboard/connectors"
	_ "github.com/switchboard-dev/switchboard/connectors/all" // the registered names
)

// TestSignatureIsALeaf: the signature scheme, which the custom connector
// and the router's event webhook share, depends on neither side.
func TestSignatureIsALeaf(t *testing.T) {
	for _, dep := range goList(t, "-deps", module+"/internal/hmacsig") {
		if hasPrefix(dep, module) && dep != module+"/internal/hmacsig" {
			t.Errorf("internal/hmacsig depends on %s", dep)
		}
	}
}

// connectorNeutral are the packages under connectors/ that the runtime may
// import: the registry and its interfaces, not a connector.
var connectorNeutral = []string{module + "/connectors", module + "/internal/httpsurface"}

// TestConnectorsSeeNoRuntime checks every package under connectors/: none
// depends on the runtime or the CLI.
func TestConnectorsSeeNoRuntime(t *testing.T) {
	for _, line := range goList(t, "-f", `{{.ImportPath}}:{{join .Deps ","}}`, module+"/connectors/...") {
		pkg, deps, _ := strings.Cut(line, ":")
		for _, dep := range strings.Split(deps, ",") {
			if hasPrefix(dep, module+"/runtime") || hasPrefix(dep, module+"/cli") {
				t.Errorf("%s depends on %s", pkg, dep)
			}
		}
	}
}

// TestRuntimeNamesNoConnector checks that no package under runtime/
// depends on a connector's package: the runtime reaches connectors through
// the registry's interfaces, so adding a channel changes no runtime code.
// (Tests may use a real connector.)
func TestRuntimeNamesNoConnector(t *testing.T) {
	for _, line := range goList(t, "-f", `{{.ImportPath}}:{{join .Deps ","}}`, module+"/runtime/...") {
		pkg, deps, _ := strings.Cut(line, ":")
		for _, dep := range strings.Split(deps, ",") {
			if hasPrefix(dep, module+"/connectors") && !slices.Contains(connectorNeutral, dep) {
				t.Errorf("%s depends on %s", pkg, dep)
			}
		}
	}
}

// TestServeNamesNoConnector checks the code of the server and of serve for
// the names of the registered connectors, in string literals and imports:
// what a connector serves, starts by default or prints at start, it
// declares (its Spec and the interfaces of connectors and
// internal/httpsurface), and connectors/all is the registry's list.
func TestServeNamesNoConnector(t *testing.T) {
	var names []string
	for _, s := range connectors.Default().Specs() {
		names = append(names, s.Name)
	}
	if len(names) < 2 {
		t.Fatalf("registered connectors: %v", names)
	}
	files, _ := filepath.Glob("../../runtime/server/*.go")
	files = append(files, "../../cli/serve.go")
	fset := token.NewFileSet()
	for _, path := range files {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			if kv, ok := n.(*ast.KeyValueExpr); ok {
				if k, ok := kv.Key.(*ast.Ident); ok && slices.Contains([]string{"Short", "Long", "Example"}, k.Name) {
					return false // a command's help, whose examples name connectors for people
				}
			}
			lit, ok := n.(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				return true
			}
			v, _ := strconv.Unquote(lit.Value)
			if v == module+"/connectors/all" {
				return true // the registry's list
			}
			for _, word := range strings.FieldsFunc(v, func(r rune) bool { return r == '/' || r == '"' || r == ' ' || r == ',' || r == ':' }) {
				if slices.Contains(names, word) {
					t.Errorf("%s: %q names the connector %s", fset.Position(lit.Pos()), v, word)
				}
			}
			return true
		})
	}
}
