package compiler_test

import (
	"bytes"
	"fmt"
	"runtime"
	"runtime/debug"
	"testing"

	"github.com/switchboard-dev/switchboard/compiler"
	"github.com/switchboard-dev/switchboard/internal/flowgen"
)

// generateProgram writes a program of flows×steps steps (see flowgen.Flow),
// its enqueues routing VIPs to queues of their own.
func generateProgram(flows, steps int) []byte {
	var b bytes.Buffer
	for f := 0; f < flows; f++ {
		flowgen.Flow(&b, f, steps, flowgen.Options{Channels: "sms, whatsapp, webchat", VIP: true})
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
