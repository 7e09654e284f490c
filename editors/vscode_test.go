package editors

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/switchboard-dev/switchboard/cli"
)

// TestVSCodeEngineAgrees tokenizes every shipped source with VS Code's own
// engine (vscode-textmate on the Oniguruma library, through
// vscode/scripts/tokens.js) and checks that it gives every byte the scopes
// the engine of these tests gives it, so the tests above speak for what
// VS Code shows. It needs Node and the extension's development packages
// (`npm install` in editors/vscode) and is skipped without them: CI checks the
// grammars with the Go engine alone.
func TestVSCodeEngineAgrees(t *testing.T) {
	if _, err := os.Stat("vscode/node_modules/vscode-textmate"); err != nil {
		t.Skip("vscode-textmate is not installed: run npm install in editors/vscode")
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed")
	}
	flowG, testG := loadGrammars(t)
	flows, tests := shippedSources(t)
	type input struct {
		Name  string `json:"name"`
		Scope string `json:"scope"`
		Text  string `json:"text"`
	}
	var in []input
	byName := map[string]*grammar{}
	texts := map[string]string{}
	for _, s := range flows {
		in = append(in, input{s.name, "source.flow", s.text})
		byName[s.name], texts[s.name] = flowG, s.text
	}
	for _, s := range tests {
		in = append(in, input{s.name, "source.flowtest", s.text})
		byName[s.name], texts[s.name] = testG, s.text
	}
	data, _ := json.Marshal(in)
	cmd := exec.Command(node, "vscode/scripts/tokens.js")
	cmd.Stdin = bytes.NewReader(data)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("tokens.js: %v\n%s", err, stderr.String())
	}
	var got []struct {
		Name   string  `json:"name"`
		Tokens [][]any `json:"tokens"`
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(in) {
		t.Fatalf("tokens.js answered for %d sources, asked %d", len(got), len(in))
	}
	bytesCompared := 0
	for _, g := range got {
		src := texts[g.Name]
		ours := scopesAt(t, byName[g.Name], g.Name, src)
		theirs := make([]string, len(src))
		for _, tk := range g.Tokens {
			for i := int(tk[0].(float64)); i < int(tk[1].(float64)); i++ {
				theirs[i] = tk[2].(string)
			}
		}
		c := &checker{t: t, name: g.Name, src: src}
		for i := range src {
			if src[i] == '\n' {
				continue
			}
			bytesCompared++
			if mine := strings.Join(ours[i], " "); mine != theirs[i] {
				c.failf(i, "vscode-textmate: %q, here: %q", theirs[i], mine)
				break
			}
		}
		c.report()
	}
	t.Logf("%d sources, %d bytes with the same scopes in both engines", len(got), bytesCompared)
}

// TestMain lets the test binary stand in for the switchboard command, so
// TestExtensionStartsTheServer runs the extension against this tree's
// `switchboard lsp` without building it.
func TestMain(m *testing.M) {
	if os.Getenv("SWITCHBOARD_EDITORS_CLI") == "1" {
		os.Exit(cli.Main())
	}
	os.Exit(m.Run())
}

// TestExtensionStartsTheServer runs the committed bundle,
// vscode/dist/extension.js, in Node on a stand-in for VS Code's API
// (vscode/scripts/smoke.js): the extension must start `switchboard lsp`
// with the configured path, open a .flow and a .flowtest file through the
// protocol and receive the server's diagnostics of each. It needs Node
// only (the bundle is committed) and is skipped without it.
func TestExtensionStartsTheServer(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed")
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	files := map[string]string{
		"main.flow":     "flow greet {\n  hello: send \"hi\" -> welcom\n  welcome: send \"x\" -> done\n}\n",
		"main.flowtest": "test \"greets\" {\n  flow greet\n  say \"hi\"\n  expect sned \"hi\"\n}\n",
	}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct{ file, want string }{
		{"main.flow", "diagnostic 2:23: unknown step `welcom`"},
		{"main.flowtest", "diagnostic 4:10: cannot expect `sned`"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			cmd := exec.Command(node, "vscode/scripts/smoke.js")
			cmd.Env = append(os.Environ(), "SMOKE_BIN="+self, "SMOKE_FILE="+filepath.Join(dir, tc.file), "SWITCHBOARD_EDITORS_CLI=1")
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("smoke.js: %v\n%s", err, out)
			}
			for _, want := range []string{"Received response 'initialize", "textDocument/didOpen", tc.want} {
				if !strings.Contains(string(out), want) {
					t.Errorf("no %q in\n%s", want, out)
				}
			}
		})
	}
}
