package compiler_test

import (
	"testing"

	"github.com/switchboard-dev/switchboard/compiler"
)

// TestWorkerSchemaRuns checks that queue expressions typed by the worker
// schema run on workers as the router sees them: attributes decoded from
// JSON (numbers as float64, lists of any), some missing.
func TestWorkerSchemaRuns(t *testing.T) {
	src := `worker {
  attributes {languages: list, department: string, level: int, vip: bool, profile: any}
}
queue english { workers "en" in worker.languages and worker.department == "support" and worker.level >= 2 order worker.level desc }
queue gold { workers worker.vip and worker.profile?.tier == "gold" }
workflow route {
  when task.vip -> gold timeout 30s, then english
  default english
}
flow chat {
  go: enqueue route { attributes {vip: true} }
}
`
	prog, diags := compiler.CompileSources([]compiler.Source{{Name: "w.flow", Src: []byte(src)}}, compiler.Options{})
	if prog == nil || len(diags) > 0 {
		t.Fatalf("does not compile cleanly: %v", diags)
	}
	queues := map[string]*compiler.Queue{}
	for _, q := range prog.Queues {
		queues[q.Name] = q
	}
	cases := []struct {
		queue  string
		worker map[string]any
		member bool
	}{
		{"english", map[string]any{"id": "ana", "languages": []any{"en", "id"}, "department": "support", "level": float64(3)}, true},
		{"english", map[string]any{"id": "budi", "languages": []any{"id"}, "department": "support", "level": float64(3)}, false},
		{"english", map[string]any{"id": "citra", "languages": []any{"en"}, "department": "support", "level": 1}, false},
		{"gold", map[string]any{"id": "dewi", "vip": true, "profile": map[string]any{"tier": "gold"}}, true},
		{"gold", map[string]any{"id": "eko", "vip": true}, false},
	}
	for _, c := range cases {
		got, err := queues[c.queue].Workers.Eval(map[string]any{"worker": c.worker})
		if err != nil {
			t.Errorf("%s, worker %v: %v", c.queue, c.worker["id"], err)
			continue
		}
		if got != c.member {
			t.Errorf("%s, worker %v: member = %v, want %v", c.queue, c.worker["id"], got, c.member)
		}
	}
	order, err := queues["english"].OrderBy.Eval(map[string]any{"worker": map[string]any{"level": float64(4)}})
	if err != nil || order != float64(4) {
		t.Errorf("order = %v, %v; want 4", order, err)
	}
}
