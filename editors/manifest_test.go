package editors

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/dlclark/regexp2"
)

// TestManifest checks the extension's package.json against the files it
// names: each language's grammar exists, loads and carries the scope and
// the file types the manifest gives it; the entry point, the language
// configuration and the server's setting are there; and the language
// configuration's patterns compile.
func TestManifest(t *testing.T) {
	loadGrammars(t)
	var manifest struct {
		Main        string
		Contributes struct {
			Languages []struct {
				ID            string
				Extensions    []string
				Configuration string
			}
			Grammars []struct {
				Language  string
				ScopeName string
				Path      string
			}
			Configuration struct {
				Properties map[string]struct {
					Type    string
					Default any
				}
			}
			Commands []struct{ Command string }
		}
	}
	data, err := os.ReadFile("vscode/package.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &manifest); err != nil {
		t.Fatal(err)
	}
	c := manifest.Contributes
	exists := func(p string) {
		t.Helper()
		if _, err := os.Stat(filepath.Join("vscode", p)); err != nil {
			t.Errorf("package.json names %s: %v", p, err)
		}
	}
	exists(manifest.Main)
	want := map[string]string{"flow": ".flow", "flowtest": ".flowtest"}
	if len(c.Languages) != len(want) {
		t.Errorf("languages %+v, want %v", c.Languages, want)
	}
	for _, l := range c.Languages {
		if !slices.Equal(l.Extensions, []string{want[l.ID]}) {
			t.Errorf("language %s: extensions %v, want %s", l.ID, l.Extensions, want[l.ID])
		}
		exists(l.Configuration)
	}
	for _, g := range c.Grammars {
		exists(g.Path)
		loaded, ok := grammars[g.ScopeName]
		if !ok {
			t.Errorf("grammar %s (%s) is not one the tests load", g.ScopeName, g.Path)
			continue
		}
		if g.Language != "" && !slices.Equal(loaded.FileTypes, []string{want[g.Language][1:]}) {
			t.Errorf("grammar %s: fileTypes %v, want %s", g.ScopeName, loaded.FileTypes, want[g.Language][1:])
		}
	}
	if p, ok := c.Configuration.Properties["switchboard.path"]; !ok || p.Type != "string" || p.Default != "switchboard" {
		t.Errorf("switchboard.path: %+v", p)
	}
	if !slices.ContainsFunc(c.Commands, func(cmd struct{ Command string }) bool { return cmd.Command == "switchboard.restartServer" }) {
		t.Errorf("no restart command in %+v", c.Commands)
	}

	var conf struct {
		IndentationRules map[string]string
		WordPattern      struct{ Pattern string }
		Comments         struct{ LineComment string }
	}
	data, err = os.ReadFile("vscode/language-configuration.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &conf); err != nil {
		t.Fatal(err)
	}
	if conf.Comments.LineComment != "#" {
		t.Errorf("line comment %q", conf.Comments.LineComment)
	}
	// The patterns are JavaScript's; the constructs they use (lookahead,
	// \p{L} under the u flag) read the same in regexp2's syntax.
	compile := func(name, p string) *regexp2.Regexp {
		t.Helper()
		re, err := regexp2.Compile(p, regexp2.None)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return re
	}
	words := compile("wordPattern", conf.WordPattern.Pattern)
	var got []string
	for m, _ := words.FindStringMatch("wait 1h30m café_2 12.5"); m != nil; m, _ = words.FindNextMatch(m) {
		got = append(got, m.String())
	}
	if !slices.Equal(got, []string{"wait", "1h30m", "café_2", "12.5"}) {
		t.Errorf("word pattern: %q", got)
	}
	increase := compile("increaseIndentPattern", conf.IndentationRules["increaseIndentPattern"])
	decrease := compile("decreaseIndentPattern", conf.IndentationRules["decreaseIndentPattern"])
	for _, tc := range []struct {
		line     string
		re       *regexp2.Regexp
		matching bool
	}{
		{"flow a {", increase, true},
		{`  s: send "x" {  # a comment`, increase, true},
		{`  post "${env.X}/a" {`, increase, true},
		{"  x: f(  // arguments", increase, true},
		{`  x: send "{"`, increase, false},
		{"  json {a: 1}", increase, false},
		{"# a {", increase, false},
		{"  }", decrease, true},
		{"  ] -> next", decrease, true},
		{"  s: send", decrease, false},
	} {
		if ok, _ := tc.re.MatchString(tc.line); ok != tc.matching {
			t.Errorf("%q: matched %v, want %v", tc.line, ok, tc.matching)
		}
	}
}
