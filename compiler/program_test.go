package compiler_test

import (
	"testing"
	"time"

	"github.com/switchboard-dev/switchboard/compiler"
)

func mustCompile(t *testing.T, src string) *compiler.Program {
	t.Helper()
	prog, list := compiler.CompileSources([]compiler.Source{{Name: "t.flow", Src: []byte(src)}}, compiler.Options{})
	if prog == nil {
		t.Fatalf("does not compile:\n%v", list)
	}
	return prog
}

func TestEvalTemplatesAndExpressions(t *testing.T) {
	prog := mustCompile(t, `
flow greet {
  var tries: number = 1
  start: switch {
    message.text matches '^\d+$' and tries < 3 -> number
    default -> hello
  }
  number: send "You sent ${message.text}, try ${tries + 1} of ${"three"}" -> done
  hello: send "Hello ${contact.name ?? "there"}${nil}!" -> done
}`)
	f := prog.Flow("greet")
	env := func(text string) map[string]any {
		return map[string]any{
			"message": compiler.Message{Text: text},
			"contact": compiler.Contact{Name: "Ana"},
			"tries":   1.0,
		}
	}
	start := f.States[f.StateIndex("start")]
	tests := []struct {
		text string
		want bool
	}{{"1234", true}, {"12a", false}, {"", false}}
	for _, tt := range tests {
		got, err := start.Guards[0].Cond.Eval(env(tt.text))
		if err != nil {
			t.Fatal(err)
		}
		if got != tt.want {
			t.Errorf("guard on %q = %v, want %v", tt.text, got, tt.want)
		}
	}
	got, err := f.States[f.StateIndex("number")].Op.(*compiler.SendOp).Text.Eval(env("42"))
	if err != nil {
		t.Fatal(err)
	}
	if want := "You sent 42, try 2 of three"; got != want {
		t.Errorf("number text = %q, want %q", got, want)
	}
	got, err = f.States[f.StateIndex("hello")].Op.(*compiler.SendOp).Text.Eval(env("hi"))
	if err != nil {
		t.Fatal(err)
	}
	if want := "Hello Ana!"; got != want {
		t.Errorf("hello text = %q, want %q", got, want)
	}
}

func TestTransitionsByIndex(t *testing.T) {
	prog := mustCompile(t, `
flow f {
  a: ask "Confirm?" {
    timeout 5m -> b
    reply.text == "yes" -> done
    reply -> b
  }
  b: send "Bye" { failed -> done } -> done
}`)
	f := prog.Flow("f")
	a, b := f.States[0], f.States[1]
	if op, ok := a.Op.(*compiler.AskOp); a.Kind != compiler.KindAsk || !ok || op.Timeout != 5*time.Minute {
		t.Fatalf("state 0 = %v %#v", a.Kind, a.Op)
	}
	if a.Next[compiler.OutTimeout] != 1 || a.Next[compiler.OutReply] != 1 || a.Guards[0].Target != compiler.End {
		t.Errorf("ask transitions = %v, guard -> %d", a.Next, a.Guards[0].Target)
	}
	if b.Next[compiler.OutNext] != compiler.End || b.Next[compiler.OutFailed] != compiler.End || b.Next[compiler.OutOK] != compiler.NoTarget {
		t.Errorf("send transitions = %v", b.Next)
	}
}

func TestVersionIsContentHash(t *testing.T) {
	src := "flow f {\n  s: send \"x\" -> done\n}\n"
	a := mustCompile(t, src)
	b := mustCompile(t, src)
	c := mustCompile(t, src+"# changed\n")
	if a.Version != b.Version || a.Version == c.Version || len(a.Version) != 16 {
		t.Errorf("versions %q %q %q", a.Version, b.Version, c.Version)
	}
}

func TestHoursOpen(t *testing.T) {
	prog := mustCompile(t, `
hours office {
  timezone "Asia/Jakarta"
  mon-fri 08:00-17:00
  sat 09:00-12:00, 13:00-15:00
  closed 2026-12-25
}
flow f {
  s: switch {
    open(office) -> done
    default -> done
  }
}`)
	h := prog.HoursNamed("office")
	jakarta, _ := time.LoadLocation("Asia/Jakarta")
	tests := []struct {
		at   time.Time
		want bool
	}{
		{time.Date(2026, 11, 24, 8, 0, 0, 0, jakarta), true},    // Tuesday opening minute
		{time.Date(2026, 11, 24, 16, 59, 0, 0, jakarta), true},  // last minute
		{time.Date(2026, 11, 24, 17, 0, 0, 0, jakarta), false},  // closing time is closed
		{time.Date(2026, 11, 24, 1, 0, 0, 0, time.UTC), true},   // 08:00 in Jakarta
		{time.Date(2026, 11, 28, 12, 30, 0, 0, jakarta), false}, // Saturday lunch break
		{time.Date(2026, 11, 28, 14, 0, 0, 0, jakarta), true},   // Saturday afternoon
		{time.Date(2026, 11, 29, 10, 0, 0, 0, jakarta), false},  // Sunday
		{time.Date(2026, 12, 25, 10, 0, 0, 0, jakarta), false},  // closed day (a Friday)
	}
	for _, tt := range tests {
		if got := h.Open(tt.at); got != tt.want {
			t.Errorf("Open(%v) = %v, want %v", tt.at, got, tt.want)
		}
	}
}

func TestOptionsFunctions(t *testing.T) {
	src := "flow f {\n  s: function lookup_crm { error -> done } -> done\n}\n"
	_, list := compiler.CompileSources([]compiler.Source{{Name: "t.flow", Src: []byte(src)}}, compiler.Options{Functions: []string{"lookup_crm_v2", "lookup_cr"}})
	if len(list) != 1 || list[0].Code != "E0213" || list[0].Hint != "did you mean `lookup_cr`?" {
		t.Fatalf("got %v", list)
	}
	if _, list := compiler.CompileSources([]compiler.Source{{Name: "t.flow", Src: []byte(src)}}, compiler.Options{}); list.HasErrors() {
		t.Fatalf("without a function list any name goes: %v", list)
	}
}
