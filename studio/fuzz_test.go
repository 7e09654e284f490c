package studio

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/rogpeppe/go-internal/txtar"
)

// FuzzConvert checks that no export, however malformed, makes Convert
// panic, and that what it returns without error compiles (Convert
// compiles it, so an error-free result is one the compiler accepted).
// The seeds are the exports of testdata.
func FuzzConvert(f *testing.F) {
	files, _ := filepath.Glob("testdata/*/*.json")
	for _, file := range files {
		if data, err := os.ReadFile(file); err == nil {
			f.Add(data)
		}
	}
	archives, _ := filepath.Glob("testdata/*/*.txtar")
	for _, file := range archives {
		ar, err := txtar.ParseFile(file)
		if err != nil {
			continue
		}
		for _, af := range ar.Files {
			if af.Name == "in.json" {
				f.Add(af.Data)
			}
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		src, _, err := Convert(data)
		if err == nil && len(src) == 0 {
			t.Errorf("no error and no output for %q", data)
		}
	})
}
