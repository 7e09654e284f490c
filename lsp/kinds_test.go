package lsp

import (
	"testing"

	"github.com/switchboard-dev/switchboard/compiler"
)

// TestKindsDocumented checks that every kind, property and outcome has the
// one-line doc hover and completion show.
func TestKindsDocumented(t *testing.T) {
	for _, k := range compiler.Kinds() {
		spec := k.Spec()
		if spec.Doc == "" {
			t.Errorf("kind %s has no Doc", spec.Name)
		}
		for _, p := range spec.Props {
			if p.Doc == "" {
				t.Errorf("property %s of %s has no Doc", p.Name, spec.Name)
			}
		}
		for _, o := range spec.Outcomes {
			if o.Doc == "" {
				t.Errorf("outcome %s of %s has no Doc", o.Outcome, spec.Name)
			}
		}
	}
}
