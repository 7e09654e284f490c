package lang

import (
	"os"
	"strings"
	"testing"
)

func TestLex(t *testing.T) {
	tests := []struct {
		src  string
		want string // kind:text pairs, space separated
	}{
		{`a -> b`, "name:a `->`:-> name:b"},
		{`timeout 5m`, `name:timeout duration:5m`},
		{`wait 1h30m`, `name:wait duration:1h30m`},
		{`t 500ms`, `name:t duration:500ms`},
		{`mon-fri 08:00-17:00`, `name:mon symbol:- name:fri time:08:00 symbol:- time:17:00`},
		{`closed 2026-12-25, 2027-01-01`, `name:closed date:2026-12-25 symbol:, date:2027-01-01`},
		{`x == 1.5e3 + 0x1F - 1_000`, `name:x symbol:== number:1.5e3 symbol:+ number:0x1F symbol:- number:1_000`},
		{`1..5`, `number:1 symbol:.. number:5`},
		{`worker.order desc`, `name:worker member:.order name:desc`},
		{`a?.b ?? c`, `name:a member:?.b symbol:?? name:c`},
		{`send "hi ${contact.name} ${ {"a": "}"}["a"] }"`, `name:send string:"hi ${contact.name} ${ {"a": "}"}["a"] }"`},
		{`'\d+' ` + "`raw`", `string:'\d+' string:` + "`raw`"},
		{"a # comment\nb", `name:a comment:# comment end of line:` + "\n" + ` name:b`},
		{"a // comment", `name:a comment:// comment`},
		{`filter(xs, # > 1) # note`, `name:filter symbol:( name:xs symbol:, symbol:# symbol:> number:1 symbol:) comment:# note`},
		{`{a: 1} # c`, `symbol:{ name:a symbol:: number:1 symbol:} comment:# c`},
		{`a; b`, `name:a end of line:; name:b`},
		{`f(a; b)`, `name:f symbol:( name:a symbol:; name:b symbol:)`},
		{`ünïcode: send "ok"`, `name:ünïcode symbol:: name:send string:"ok"`},
	}
	for _, tt := range tests {
		toks, diags := Lex("t.flow", []byte(tt.src))
		if len(diags) > 0 {
			t.Errorf("Lex(%q): unexpected %v", tt.src, diags)
		}
		var got []string
		for _, tok := range toks[:len(toks)-1] {
			got = append(got, tok.Kind.String()+":"+tok.Text)
		}
		if strings.Join(got, " ") != tt.want {
			t.Errorf("Lex(%q)\n got %s\nwant %s", tt.src, strings.Join(got, " "), tt.want)
		}
	}
}

func TestLexPositions(t *testing.T) {
	toks, _ := Lex("t.flow", []byte("flow ä {\n\tx: send \"é\"\n}"))
	want := []struct {
		text           string
		line, col, off int
	}{
		{"flow", 1, 1, 0}, {"ä", 1, 6, 5}, {"{", 1, 8, 8}, {"\n", 1, 9, 9},
		{"x", 2, 2, 11}, {":", 2, 3, 12}, {"send", 2, 5, 14}, {`"é"`, 2, 10, 19}, {"\n", 2, 13, 23}, {"}", 3, 1, 24},
	}
	for i, w := range want {
		got := toks[i]
		if got.Text != w.text || got.Span.Start.Line != w.line || got.Span.Start.Col != w.col || got.Span.Start.Offset != w.off {
			t.Errorf("token %d = %q at %d:%d (+%d), want %q at %d:%d (+%d)", i, got.Text,
				got.Span.Start.Line, got.Span.Start.Col, got.Span.Start.Offset, w.text, w.line, w.col, w.off)
		}
	}
}

func TestLexErrors(t *testing.T) {
	tests := []struct{ src, code string }{
		{`"open`, "E0103"},
		{`'open`, "E0103"},
		{`"a ${ b `, "E0103"},
		{`5x`, "E0102"},
		{`§`, "E0101"},
	}
	for _, tt := range tests {
		_, diags := Lex("t.flow", []byte(tt.src))
		if len(diags) != 1 || diags[0].Code != tt.code {
			t.Errorf("Lex(%q) = %v, want one %s", tt.src, diags, tt.code)
		}
	}
}

func TestParseKeepsEveryDeclaration(t *testing.T) {
	src := "# leading\nflow a {\n  s: send \"x\" -> done\n}\n\nqueue q { workers true }\nworkflow w {\n  default q\n}\nhours h {\n  mon 09:00-10:00\n}\n"
	f, diags := Parse("t.flow", []byte(src))
	if len(diags) > 0 {
		t.Fatal(diags)
	}
	var kinds []string
	for _, d := range f.Decls {
		kinds = append(kinds, d.Keyword+" "+d.Name.Value)
	}
	if got := strings.Join(kinds, ", "); got != "flow a, queue q, workflow w, hours h" {
		t.Errorf("decls = %s", got)
	}
	if len(f.Comments) != 1 || f.Comments[0].Text != "# leading" {
		t.Errorf("comments = %v", f.Comments)
	}
	s := f.Decls[0].Body.Items[0].Step
	if s.Name.Value != "s" || s.Kind.Value != "send" || s.Args.Text() != `"x"` || s.Next.Value != "done" {
		t.Errorf("step = %+v", s)
	}
	if sp := s.Name.Span(); sp.Start.Line != 3 || sp.Start.Col != 3 || sp.End.Col != 4 {
		t.Errorf("step name span = %v..%v", sp.Start, sp.End)
	}
}

// TestGrammar keeps lang/grammar.ebnf, the grammar as participle sees it,
// up to date. FLOW_UPDATE=1 rewrites it.
func TestGrammar(t *testing.T) {
	got := Grammar()
	if os.Getenv("FLOW_UPDATE") != "" {
		if err := os.WriteFile("grammar.ebnf", []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile("grammar.ebnf")
	if err != nil {
		t.Fatal(err)
	}
	if string(want) != got {
		t.Errorf("grammar.ebnf is stale; run FLOW_UPDATE=1 go test ./lang\n got:\n%s", got)
	}
}
