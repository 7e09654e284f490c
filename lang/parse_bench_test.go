package lang_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/switchboard-dev/switchboard/lang"
)

// BenchmarkParse parses files of 5,000 steps in flows of different sizes.
func BenchmarkParse(b *testing.B) {
	for _, shape := range []struct{ flows, steps int }{{50, 100}, {500, 10}} {
		b.Run(fmt.Sprintf("flows=%d/steps=%d", shape.flows, shape.steps), func(b *testing.B) {
			benchmarkParse(b, shape.flows, shape.steps)
		})
	}
}

func benchmarkParse(b *testing.B, flows, steps int) {
	var sb strings.Builder
	for f := 0; f < flows; f++ {
		fmt.Fprintf(&sb, "flow f%d {\n  var tries: number = 0\n", f)
		for s := 0; s < steps; s++ {
			fmt.Fprintf(&sb, "  s%d: http {\n    post \"${env.BOT_URL}/reply/%d\"\n    json {text: message.text, step: %d}\n    timeout 3s\n    ok -> s%d\n    error -> done\n  }\n", s, s, s, s+1)
		}
		sb.WriteString("}\n\n")
	}
	src := []byte(sb.String())
	b.SetBytes(int64(len(src)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, diags := lang.Parse("bench.flow", src); len(diags) > 0 {
			b.Fatal(diags)
		}
	}
}
