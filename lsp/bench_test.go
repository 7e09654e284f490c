package lsp

import (
	"bytes"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"syscall"
	"testing"
	"time"

	protocol "github.com/tliron/glsp/protocol_3_16"

	"github.com/switchboard-dev/switchboard/internal/flowgen"
)

// benchProgram writes the program compiler's BenchmarkCompile builds (50
// flows of 100 steps, 5,000 steps in one file) and returns its path and
// text.
func benchProgram(b *testing.B) (string, string) {
	var buf bytes.Buffer
	for f := 0; f < 50; f++ {
		flowgen.Flow(&buf, f, 100, flowgen.Options{Channels: "sms, whatsapp, webchat", VIP: true})
	}
	// The collector's target of the switchboard binary (cli.Main).
	gc := debug.SetGCPercent(400)
	b.Cleanup(func() { debug.SetGCPercent(gc) })
	path := filepath.Join(b.TempDir(), "gen.flow")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		b.Fatal(err)
	}
	return path, buf.String()
}

// BenchmarkDiagnostics measures an edit of the 5,000-step program until
// its diagnostics arrive: didChange, reparse, check and publishDiagnostics,
// through the protocol, with no debounce. "ranged" sends the edit as an
// editor does under incremental sync, "whole" the whole text. The edits
// alternate between two texts of one string, so every one is a change.
func BenchmarkDiagnostics(b *testing.B) {
	path, src := benchProgram(b)
	at := strings.Index(src, `"Question 3 for`) + len(`"Question 3 `)
	texts := [2]string{src[:at] + "to" + src[at+len("for"):], src}
	doc := newText(src)
	start := doc.position(at)
	ranges := [2]protocol.Range{ // "for" → "to", then "to" → "for"
		{Start: start, End: doc.position(at + len("for"))},
		{Start: start, End: protocol.Position{Line: start.Line, Character: start.Character + 2}},
	}
	for _, whole := range []bool{false, true} {
		name := "ranged"
		if whole {
			name = "whole"
		}
		b.Run(name, func(b *testing.B) {
			c := startServer(b, Options{Debounce: -1}, filepath.Dir(path))
			c.open(path, src, 1)
			if d := c.diagnostics(path, 1); len(d.Diagnostics) != 0 {
				b.Fatalf("the generated program has diagnostics: %v", d.Diagnostics[0].Message)
			}
			cpu := cpuTime()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if whole {
					c.change(path, texts[i%2], i+2)
				} else {
					c.edit(path, ranges[i%2], [2]string{"to", "for"}[i%2], i+2)
				}
				if d := c.diagnostics(path, i+2); len(d.Diagnostics) != 0 {
					b.Fatalf("diagnostics after the edit: %v", d.Diagnostics[0].Message)
				}
			}
			b.StopTimer()
			reportCPU(b, cpu)
		})
	}
}

// cpuTime is the CPU time the process has used, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportCPU adds the CPU time per operation, client included, since
// start: on a shared machine it moves less than the wall time.
func reportCPU(b *testing.B, start time.Duration) {
	b.ReportMetric(float64((cpuTime()-start).Milliseconds())/float64(b.N), "cpu-ms/op")
}

// BenchmarkCompletion measures completion requests in the last flow of
// the 5,000-step program, where the cursor is on a line being typed: the
// program as a whole does not parse. "steady" asks with the document
// analyzed; "typing" measures a keystroke's didChange and the completion
// request sent right after it, as an editor sends them, with the default
// debounce: the keystroke is a ranged change (incremental sync), and the
// completion answers from the previous analysis.
func BenchmarkCompletion(b *testing.B) {
	path, src := benchProgram(b)
	// A step being written at the end of the last flow (before its
	// queues), and the place of the cursor in it for each case.
	at := strings.LastIndex(src, "\n}\n\nqueue q49")
	cases := []struct{ name, line string }{
		{"target", "  x: send \"hi\" -> "},
		{"member", "  x: send \"${message."},
		{"output", "  x: send \"${s97."},
		{"property", "  x: http {\n    "},
		{"kind", "  x: "},
	}
	for _, tc := range cases {
		text := src[:at] + "\n" + tc.line + src[at:]
		cursor := newText(text).position(at + 1 + len(tc.line))
		params := protocol.CompletionParams{TextDocumentPositionParams: protocol.TextDocumentPositionParams{
			TextDocument: protocol.TextDocumentIdentifier{URI: pathURI(path)}, Position: cursor}}
		b.Run(tc.name+"/steady", func(b *testing.B) {
			c := startServer(b, Options{Debounce: -1}, filepath.Dir(path))
			c.open(path, text, 1)
			c.diagnostics(path, 1)
			cpu := cpuTime()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				var items []protocol.CompletionItem
				if err := c.call(protocol.MethodTextDocumentCompletion, params, &items); err != nil || len(items) == 0 {
					b.Fatalf("completion: %v, %d items", err, len(items))
				}
			}
			b.StopTimer()
			reportCPU(b, cpu)
		})
		b.Run(tc.name+"/typing", func(b *testing.B) {
			c := startServer(b, Options{}, filepath.Dir(path))
			c.open(path, text, 1)
			c.diagnostics(path, 1)
			end := newText(text).position(len(text))
			var cpu time.Duration
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				start := cpuTime()
				// A keystroke that types and erases a space at the end of
				// the file keeps the cursor's position.
				rg := protocol.Range{Start: end, End: end}
				typed := " "
				if i%2 == 1 {
					rg.End.Character++
					typed = ""
				}
				c.edit(path, rg, typed, i+2)
				var items []protocol.CompletionItem
				if err := c.call(protocol.MethodTextDocumentCompletion, params, &items); err != nil || len(items) == 0 {
					b.Fatalf("completion: %v, %d items", err, len(items))
				}
				cpu += cpuTime() - start
				b.StopTimer()
				c.diagnostics(path, i+2) // let the analysis finish outside the measure
				b.StartTimer()
			}
			b.ReportMetric(float64(cpu.Milliseconds())/float64(b.N), "cpu-ms/op")
		})
	}
}
