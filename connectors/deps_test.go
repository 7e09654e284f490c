package connectors_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDependencies keeps the connectors transport-neutral: the core, the
// custom connector and the kit use no HTTP server library and nothing of
// the runtime, the compiler or the CLI.
func TestDependencies(t *testing.T) {
	const module = "github.com/switchboard-dev/switchboard"
	pkgs := []string{module + "/connectors", module + "/connectors/custom", module + "/connectors/connectortest"}
	out, err := exec.Command("go", append([]string{"list", "-deps"}, pkgs...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, dep := range strings.Fields(string(out)) {
		for _, bad := range []string{"github.com/valyala/fasthttp", module + "/runtime", module + "/compiler", module + "/cli", module + "/lang"} {
			if dep == bad || strings.HasPrefix(dep, bad+"/") {
				t.Errorf("connectors depend on %s", dep)
			}
		}
		if !strings.Contains(strings.SplitN(dep, "/", 2)[0], ".") || strings.HasPrefix(dep, module) {
			continue // standard library or this module
		}
		t.Errorf("connectors depend on the third-party package %s", dep)
	}
}
