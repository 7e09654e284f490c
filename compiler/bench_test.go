package compiler_test

import (
	"bytes"
	"fmt"
	"runtime"
	"runtime/debug"
	"testing"

	"github.com/switchboard-dev/switchboard/compiler"
)

// generateProgram writes a program of flows×steps steps: each flow cycles
// through switch, http, send, ask, set and enqueue steps with guards,
// interpolation and step outputs, plus the queues and workflows they use.
func generateProgram(flows, steps int) []byte {
	var b bytes.Buffer
	for f := 0; f < flows; f++ {
		fmt.Fprintf(&b, "flow f%d {\n  trigger message\n  channels sms, whatsapp, webchat\n", f)
		fmt.Fprintf(&b, "  var language: string = contact.attributes.language ?? \"en\"\n  var tries: number = 0\n\n")
		for s := 0; s < steps; s++ {
			next := fmt.Sprintf("s%d", s+1)
			if s == steps-1 {
				next = "done"
			}
			switch s % 6 {
			case 0:
				fmt.Fprintf(&b, "  s%d: switch {\n    message.text matches \"(?i)agent %d\" -> %s\n    language == \"id\" and tries < %d -> %s\n    default -> %s\n  }\n", s, s, next, s, next, next)
			case 1:
				fmt.Fprintf(&b, "  s%d: http {\n    post \"${env.BOT_URL}/reply/%d\"\n    json {text: message.text, conversation: conversation.id, step: %d}\n    timeout 3s\n    ok -> %s\n    error -> %s\n  }\n", s, s, s, next, next)
			case 2:
				fmt.Fprintf(&b, "  s%d: send \"Hello ${contact.name}, step %d: ${s%d.json.reply ?? \"n/a\"}\" -> %s\n", s, s, s-1, next)
			case 3:
				fmt.Fprintf(&b, "  s%d: ask \"Question %d for ${contact.name}?\" {\n    timeout 5m -> %s\n    reply.text == \"2\" -> %s\n    reply -> %s\n  }\n", s, s, next, next, next)
			case 4:
				fmt.Fprintf(&b, "  s%d: set tries = tries + 1, language = s%d.reply.text == \"2\" ? \"id\" : language -> %s\n", s, s-1, next)
			case 5:
				fmt.Fprintf(&b, "  s%d: enqueue w%d {\n    attributes {language: language, vip: contact.attributes.vip ?? false, channel: message.channel}\n    priority contact.attributes.vip ? 10 : %d\n    timeout 10m -> %s\n    completed -> %s\n  }\n", s, f, s%7, next, next)
			}
		}
		fmt.Fprintf(&b, "}\n\nqueue q%d { workers \"en\" in worker.languages and worker.department == \"d%d\" }\n", f, f)
		fmt.Fprintf(&b, "queue v%d { workers worker.vip == true  order worker.level desc }\n\n", f)
		fmt.Fprintf(&b, "workflow w%d {\n  when task.vip -> v%d timeout 30s, then q%d\n  default q%d\n}\n\n", f, f, f, f)
	}
	return b.Bytes()
}

func TestGeneratedProgramCompiles(t *testing.T) {
	src := generateProgram(3, 12)
	prog, list := compiler.CompileSources([]compiler.Source{{Name: "gen.flow", Src: src}}, compiler.Options{})
	if prog == nil {
		t.Fatalf("generated program does not compile:\n%v", list)
	}
	if got := len(prog.Flows) * len(prog.Flows[0].States); got != 36 {
		t.Fatalf("got %d states, want 36", got)
	}
}

// BenchmarkCompile parses, checks and compiles a program of 5,000 steps
// across 50 flows. The figure to watch is ns/op (one whole program), with
// the garbage collector at Go's default target (gogc=100) and at the one
// the switchboard binary sets for its commands (gogc=400, cli.Main): a
// compile allocates about 160 bytes per byte of source, and at the default
// target the collector takes about a third of its time.
func BenchmarkCompile(b *testing.B) {
	src := generateProgram(50, 100)
	lines := bytes.Count(src, []byte("\n"))
	for _, gogc := range []int{100, 400} {
		b.Run(fmt.Sprintf("gogc=%d", gogc), func(b *testing.B) {
			defer debug.SetGCPercent(debug.SetGCPercent(gogc))
			runtime.GC()
			b.SetBytes(int64(len(src)))
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				prog, list := compiler.CompileSources([]compiler.Source{{Name: "gen.flow", Src: src}}, compiler.Options{})
				if prog == nil {
					b.Fatal(list)
				}
			}
			b.ReportMetric(float64(lines)*float64(b.N)/b.Elapsed().Seconds(), "lines/s")
		})
	}
}
