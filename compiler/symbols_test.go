package compiler_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/switchboard-dev/switchboard/compiler"
	"github.com/switchboard-dev/switchboard/diag"
	"github.com/switchboard-dev/switchboard/lang"
)

const symbolsSrc = `flow support {
  var language: string = contact.attributes.language ?? "en"
  var tries: number = 0

  start: switch {
    open(office) and language == "en" -> bot
    vars.tries > 2 -> handoff
    default -> bot
  }
  bot: http {
    post "https://bot/${language}/${tries}"
    json {language: language}
    timeout 3s
    ok -> answer
    error -> handoff
  }
  answer: send "${bot.json.reply ?? language}" -> count
  count: set tries = tries + 1 -> handoff
  handoff: enqueue routing {
    timeout 10m -> done
  }
}

flow other {
  var tries: number = 1
  start: subflow helper -> done
}

flow helper {
  trigger subflow
  go: send "hi" -> done
}

queue english { workers "en" in worker.languages and open(office) }
workflow routing {
  when task.vip -> english timeout 30s, then english
  default english
}
hours office { mon-fri 08:00-17:00 }
worker { attributes {languages: list} }
`

// TestIndexSymbols checks where each name of a program is declared and
// used: what the checker resolves, map keys and property names excluded.
func TestIndexSymbols(t *testing.T) {
	f, diags := lang.Parse("a.flow", []byte(symbolsSrc))
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	if _, list := compiler.Compile([]*lang.File{f}, compiler.Options{}); list.HasErrors() {
		t.Fatalf("the program must compile, so the index is checked against what the checker accepts:\n%v", []*diag.Diagnostic(list))
	}
	x := compiler.IndexSymbols([]*lang.File{f})
	lines := strings.Split(symbolsSrc, "\n")
	where := func(r compiler.Ref) string {
		return fmt.Sprintf("%d:%s", r.Span.Start.Line, lines[r.Span.Start.Line-1][r.Span.Start.Col-1:r.Span.End.Col-1])
	}
	tests := []struct {
		kind       compiler.SymbolKind
		flow, name string
		want       string // the references, declaration first, as line:text
	}{
		{compiler.SymVar, "support", "language", "2:language 6:language 11:language 12:language 17:language"},
		{compiler.SymVar, "support", "tries", "3:tries 7:tries 11:tries 18:tries 18:tries"},
		{compiler.SymVar, "other", "tries", "25:tries"},
		{compiler.SymStep, "support", "start", "5:start"},
		{compiler.SymStep, "support", "bot", "10:bot 6:bot 8:bot 17:bot"},
		{compiler.SymStep, "support", "handoff", "19:handoff 7:handoff 15:handoff 18:handoff"},
		{compiler.SymStep, "support", "count", "18:count 17:count"},
		{compiler.SymFlow, "", "helper", "29:helper 26:helper"},
		{compiler.SymWorkflow, "", "routing", "35:routing 19:routing"},
		{compiler.SymQueue, "", "english", "34:english 36:english 36:english 37:english"},
		{compiler.SymHours, "", "office", "39:office 6:office 34:office"},
	}
	for _, tt := range tests {
		s := x.Lookup(tt.kind, tt.flow, tt.name)
		if s == nil {
			t.Errorf("%s %s not declared", tt.kind, tt.name)
			continue
		}
		var got []string
		for _, r := range x.RefsTo(s) {
			got = append(got, where(r))
		}
		if strings.Join(got, " ") != tt.want {
			t.Errorf("%s %s.%s: references %s, want %s", tt.kind, tt.flow, tt.name, strings.Join(got, " "), tt.want)
		}
	}
	for _, s := range x.Symbols {
		if s.Name == "worker" {
			t.Errorf("the worker schema, which has no name, is a %s symbol", s.Kind)
		}
	}
	// At finds a reference from any offset inside it or just after it.
	off := strings.Index(symbolsSrc, "-> answer") + len("-> ans")
	if r, ok := x.At("a.flow", off); !ok || r.Sym.Name != "answer" || r.Decl {
		t.Errorf("At(%d) = %v %v, want the use of step answer", off, r, ok)
	}
	if r, ok := x.At("a.flow", strings.Index(symbolsSrc, "json {")+1); ok {
		t.Errorf("At on a property = %s, want nothing", r.Sym.Name)
	}
}

func TestFieldsOf(t *testing.T) {
	var got []string
	for _, f := range compiler.FieldsOf(compiler.Environment()[compiler.NameMessage]) {
		got = append(got, f.Name+" "+f.Type)
	}
	want := "id string,channel string,from string,to string,text string,media list,attributes map,choice string"
	if strings.Join(got, ",") != want {
		t.Errorf("message fields %s, want %s", strings.Join(got, ","), want)
	}
	out := compiler.FieldsOf(compiler.EnqueueOutput{})
	if len(out) != 1 || out[0].Name != "task" || out[0].Type != "record" || compiler.FieldsOf(out[0].Value) == nil {
		t.Errorf("enqueue output fields %+v, want task, a record with fields", out)
	}
}

// BenchmarkIndexSymbols indexes the program BenchmarkCompile compiles
// (5,000 steps), as the language server does after every edit.
func BenchmarkIndexSymbols(b *testing.B) {
	f, diags := lang.Parse("gen.flow", generateProgram(50, 100))
	if diags.HasErrors() {
		b.Fatal(diags)
	}
	files := []*lang.File{f}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if x := compiler.IndexSymbols(files); len(x.Symbols) == 0 {
			b.Fatal("no symbols")
		}
	}
}
