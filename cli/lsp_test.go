package cli

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestLSPStdio runs `switchboard lsp` as an editor does, on its standard
// input and output with Content-Length framing: initialize, a document
// with an error, its diagnostics, a hover, shutdown and exit, after which
// the process ends with status 0. The requests and answers are checked in
// depth by the lsp package's tests; this one checks the command's wiring.
func TestLSPStdio(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "switchboard") // testscript.Main runs cli.Main under this name
	if err := os.Symlink(exe, bin); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cmd := exec.Command(bin, "lsp", "--debounce", "1ms")
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	r := bufio.NewReader(stdout)
	send := func(id int, method string, params any) {
		m := map[string]any{"jsonrpc": "2.0", "method": method, "params": params}
		if id > 0 {
			m["id"] = id
		}
		b, _ := json.Marshal(m)
		fmt.Fprintf(stdin, "Content-Length: %d\r\n\r\n%s", len(b), b)
	}
	type message struct {
		ID     int             `json:"id"`
		Method string          `json:"method"`
		Params json.RawMessage `json:"params"`
		Result json.RawMessage `json:"result"`
	}
	recv := func() message {
		n := -1
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				t.Fatalf("reading the server: %v (stderr: %s)", err, stderr.String())
			}
			line = strings.TrimRight(line, "\r\n")
			if line == "" {
				break
			}
			if v, ok := strings.CutPrefix(line, "Content-Length: "); ok {
				n, _ = strconv.Atoi(v)
			}
		}
		b := make([]byte, n)
		if _, err := io.ReadFull(r, b); err != nil {
			t.Fatal(err)
		}
		var m message
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("%v: %s", err, b)
		}
		return m
	}
	// next skips notifications until the answer to id, or the first
	// notification of method.
	next := func(id int, method string) message {
		for {
			m := recv()
			if (id > 0 && m.ID == id && m.Method == "") || (method != "" && m.Method == method) {
				return m
			}
		}
	}

	send(1, "initialize", map[string]any{"rootUri": "file://" + filepath.ToSlash(dir), "capabilities": map[string]any{}})
	init := next(1, "")
	if !strings.Contains(string(init.Result), `"name":"switchboard"`) || !strings.Contains(string(init.Result), `"hoverProvider":true`) {
		t.Errorf("initialize answered %s", init.Result)
	}
	send(0, "initialized", map[string]any{})
	uri := "file://" + filepath.ToSlash(filepath.Join(dir, "main.flow"))
	send(0, "textDocument/didOpen", map[string]any{"textDocument": map[string]any{"uri": uri, "languageId": "flow", "version": 1,
		"text": "flow f {\n  s: send \"hi\" -> nowhere\n}\n"}})
	diags := next(0, "textDocument/publishDiagnostics")
	if !strings.Contains(string(diags.Params), `"code":"E0203"`) || !strings.Contains(string(diags.Params), `unknown step`) {
		t.Errorf("diagnostics %s, want E0203 unknown step", diags.Params)
	}
	send(2, "textDocument/hover", map[string]any{"textDocument": map[string]any{"uri": uri}, "position": map[string]any{"line": 1, "character": 6}})
	if h := next(2, ""); !strings.Contains(string(h.Result), "sends a message") {
		t.Errorf("hover on send answered %s", h.Result)
	}
	send(3, "shutdown", nil)
	next(3, "")
	send(0, "exit", nil)
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("switchboard lsp: %v (stderr: %s)", err, stderr.String())
		}
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
		t.Fatal("switchboard lsp did not exit after the exit notification")
	}
}
