package editors

import (
	"strings"
	"testing"
)

// TestEngine checks the TextMate engine itself on small grammars, one
// rule of the format per case, so a disagreement between the flow
// grammar and the lexer is the grammar's and not the engine's.
func TestEngine(t *testing.T) {
	tests := []struct {
		name    string
		grammar string
		src     string
		want    []string // "text: innermost scope" for each run
	}{
		{"earliest match wins, then the first listed", `{"scopeName": "source.t", "patterns": [
			{"name": "b", "match": "bc"}, {"name": "a", "match": "ab"}, {"name": "x", "match": "x"}, {"name": "xx", "match": "xx"}]}`,
			"abc xx", []string{"ab: a", "c : source.t", "xx: x"}},
		{"captures paint inside the match, outer groups first", `{"scopeName": "source.t", "patterns": [
			{"name": "m", "match": "(a(b))c", "captures": {"1": {"name": "one"}, "2": {"name": "two"}}}]}`,
			"abc", []string{"a: one", "b: two", "c: m"}},
		{"begin and end, content name, captures", `{"scopeName": "source.t", "patterns": [
			{"name": "str", "contentName": "body", "begin": "<", "end": ">", "beginCaptures": {"0": {"name": "open"}}, "endCaptures": {"0": {"name": "close"}},
			 "patterns": [{"name": "esc", "match": "\\\\."}]}]}`,
			"x<a\\>b>y", []string{"x: source.t", "<: open", "a: body", `\>: esc`, "b: body", ">: close", "y: source.t"}},
		{"the end is tried before the patterns at the same place", `{"scopeName": "source.t", "patterns": [
			{"name": "r", "begin": "\\(", "end": "\\)", "patterns": [{"name": "inner", "match": "\\)\\)"}]}]}`,
			"(a))", []string{"(a): r", "): source.t"}},
		{"regions span lines", `{"scopeName": "source.t", "patterns": [{"name": "c", "begin": "/\\*", "end": "\\*/"}]}`,
			"a/*b\nc*/d", []string{"a: source.t", "/*b: c", "c*/: c", "d: source.t"}},
		{"back-references in end", `{"scopeName": "source.t", "patterns": [
			{"name": "heredoc", "begin": "<<(\\w+)", "end": "^\\1$"}]}`,
			"<<EOF\nEND\nEOF\nx", []string{"<<EOF: heredoc", "END: heredoc", "EOF: heredoc", "x: source.t"}},
		{"while continues a region while each line matches", `{"scopeName": "source.t", "patterns": [
			{"name": "quote", "begin": "^>", "while": "^>", "whileCaptures": {"0": {"name": "mark"}}, "patterns": [{"name": "word", "match": "[a-z]+"}]}]}`,
			">ab\n>cd\nef", []string{">: quote", "ab: word", ">: mark", "cd: word", "ef: source.t"}},
		{"includes: repository, nested repository, $self", `{"scopeName": "source.t", "patterns": [{"include": "#paren"}, {"include": "#word"}],
			"repository": {
				"word": {"name": "w", "match": "[a-z]+"},
				"paren": {"name": "p", "begin": "\\(", "end": "\\)", "patterns": [{"include": "#num"}, {"include": "$self"}],
					"repository": {"num": {"name": "n", "match": "[0-9]+"}}}}}`,
			"a(1(b))", []string{"a: w", "(: p", "1: n", "(: p", "b: w", "): p", "): p"}},
		{"lookbehind sees the text before the position", `{"scopeName": "source.t", "patterns": [
			{"name": "after-colon", "match": "(?<=:)\\s*[a-z]+"}, {"name": "w", "match": "[a-z]+"}]}`,
			"a: b", []string{"a: w", ":: source.t", " b: after-colon"}},
		{"a pattern that matches nothing stops the line", `{"scopeName": "source.t", "patterns": [
			{"name": "empty", "match": "(?=b)"}, {"name": "a", "match": "a"}]}`,
			"abab", []string{"a: a", "bab: source.t"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g, err := parseGrammar([]byte(tc.grammar), map[string]*grammar{})
			if err != nil {
				t.Fatal(err)
			}
			toks, err := g.tokenize(tc.src)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, tk := range toks {
				got = append(got, tc.src[tk.Start:tk.End]+": "+innermost(tk.Scopes))
			}
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("got\n\t%s\nwant\n\t%s", strings.Join(got, "\n\t"), strings.Join(tc.want, "\n\t"))
			}
		})
	}
}

// TestEngineIncludesOtherGrammars checks an include of another grammar's
// repository entry, as the flowtest grammar includes the flow grammar's
// strings, and that a pattern regexp2 cannot compile is reported with
// its rule.
func TestEngineIncludesOtherGrammars(t *testing.T) {
	reg := map[string]*grammar{}
	if _, err := parseGrammar([]byte(`{"scopeName": "source.a", "patterns": [], "repository": {"num": {"name": "num.a", "match": "[0-9]+"}}}`), reg); err != nil {
		t.Fatal(err)
	}
	b, err := parseGrammar([]byte(`{"scopeName": "source.b", "patterns": [{"include": "source.a#num"}]}`), reg)
	if err != nil {
		t.Fatal(err)
	}
	toks, err := b.tokenize("x42")
	if err != nil {
		t.Fatal(err)
	}
	if len(toks) != 2 || innermost(toks[1].Scopes) != "num.a" || toks[1].Start != 1 {
		t.Errorf("tokens %v", toks)
	}
	if _, err := parseGrammar([]byte(`{"scopeName": "source.c", "patterns": [{"name": "x", "match": "(a"}]}`), reg); err == nil || !strings.Contains(err.Error(), "patterns[0].match") {
		t.Errorf("a bad pattern: error %v", err)
	}
}
