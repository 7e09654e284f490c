package arch

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestArchitectureListsEveryPackage keeps docs/ARCHITECTURE.md's package
// table in step with the module: every package is in it, and every
// package in it exists.
func TestArchitectureListsEveryPackage(t *testing.T) {
	doc, err := os.ReadFile("../../docs/ARCHITECTURE.md")
	if err != nil {
		t.Fatal(err)
	}
	row := regexp.MustCompile("(?m)^\\| `([a-z0-9_/]+)` \\|")
	var documented []string
	for _, m := range row.FindAllStringSubmatch(string(doc), -1) {
		documented = append(documented, m[1])
	}
	var actual []string
	for _, p := range goList(t, module+"/...") {
		if rel := strings.TrimPrefix(p, module+"/"); rel != p {
			actual = append(actual, rel)
		}
	}
	for _, p := range actual {
		if !slices.Contains(documented, p) {
			t.Errorf("package %s is not in the table of docs/ARCHITECTURE.md", p)
		}
	}
	for _, p := range documented {
		if !slices.Contains(actual, p) {
			t.Errorf("docs/ARCHITECTURE.md lists %s, which is not a package of the module", p)
		}
	}
	if len(documented) == 0 {
		t.Fatal("no package rows found in docs/ARCHITECTURE.md")
	}
}
