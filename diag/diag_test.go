package diag

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

var src = []byte("flow a {\n\ts: send whatsap \"hé\" -> done\n}\n")

func at(line, col, off int) Pos { return Pos{Offset: off, Line: line, Col: col} }

func sample() List {
	var l List
	l.Errorf("E0209", Span{File: "/w/flows/a.flow", Start: at(2, 10, 18), End: at(2, 17, 25)}, "unknown channel %s", Quote("whatsap")).
		WithHint("did you mean %s?", Quote("whatsapp")).
		WithRelated(Span{File: "/w/flows/a.flow", Start: at(1, 6, 5), End: at(1, 7, 6)}, "flow declared here")
	l.Warnf("W0001", Span{File: "/w/flows/a.flow", Start: at(2, 2, 10), End: at(2, 3, 11)}, "step %s is never reached", Quote("s"))
	return l
}

func TestWriteText(t *testing.T) {
	l := sample()
	l.Sort()
	var b bytes.Buffer
	if err := Write(&b, l, Sources{"/w/flows/a.flow": src}, Options{Cwd: "/w"}); err != nil {
		t.Fatal(err)
	}
	want := "flows/a.flow:2:2: warning[W0001]: step `s` is never reached\n" +
		"  2 | \ts: send whatsap \"hé\" -> done\n" +
		"    | \t^\n" +
		"flows/a.flow:2:10: error[E0209]: unknown channel `whatsap`\n" +
		"  2 | \ts: send whatsap \"hé\" -> done\n" +
		"    | \t        ^^^^^^^\n" +
		"      = note: flows/a.flow:1:6: flow declared here\n" +
		"      = hint: did you mean `whatsapp`?\n"
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}

func TestWriteJSONAndGitHub(t *testing.T) {
	var b bytes.Buffer
	if err := Write(&b, sample(), nil, Options{Format: JSON, Cwd: "/w"}); err != nil {
		t.Fatal(err)
	}
	var got []map[string]any
	if err := json.Unmarshal(b.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0]["code"] != "E0209" || got[0]["file"] != "flows/a.flow" || got[0]["hint"] != "did you mean `whatsapp`?" {
		t.Errorf("json = %v", got)
	}
	b.Reset()
	if err := Write(&b, sample(), nil, Options{Format: GitHub}); err != nil {
		t.Fatal(err)
	}
	first := strings.SplitN(b.String(), "\n", 2)[0]
	if want := "::error file=/w/flows/a.flow,line=2,col=10,endLine=2,endColumn=17,title=E0209::unknown channel `whatsap`%0Ahint: did you mean `whatsapp`?"; first != want {
		t.Errorf("github =\n%s\nwant\n%s", first, want)
	}
	if err := Write(&b, sample(), nil, Options{Format: "sarif"}); err == nil {
		t.Error("unknown format accepted")
	}
}

func TestSortRemovesDuplicates(t *testing.T) {
	var l List
	sp := Span{File: "a", Start: at(1, 1, 0), End: at(1, 2, 1)}
	l.Errorf("E1", Span{File: "b", Start: at(1, 1, 0)}, "later file")
	l.Errorf("E1", sp, "same")
	l.Errorf("E1", sp, "same")
	l.Warnf("W1", sp, "warning after error at the same place")
	l.Sort()
	if len(l) != 3 || l[0].Msg != "same" || l[1].Code != "W1" || l[2].Span.File != "b" {
		t.Errorf("sorted = %v", l)
	}
	if e, w := l.Count(); e != 2 || w != 1 || !l.HasErrors() || l.Err() == nil {
		t.Errorf("count = %d, %d", e, w)
	}
	if !strings.HasSuffix(l.Error(), "(and 2 more)") {
		t.Errorf("Error() = %q", l.Error())
	}
}

func TestSuggest(t *testing.T) {
	tests := []struct {
		name  string
		cands []string
		want  string
	}{
		{"sned", []string{"set", "send", "say"}, "send"},
		{"whatsap", []string{"whatsapp", "webchat"}, "whatsapp"},
		{"xyz", []string{"send"}, ""},
		{"ok", []string{"ok", "or"}, "or"},
		{"defualt", []string{"default"}, "default"},
		{"ab", []string{"ba", "ac"}, "ac"}, // ties go to the first alphabetically
	}
	for _, tt := range tests {
		if got := Suggest(tt.name, tt.cands); got != tt.want {
			t.Errorf("Suggest(%q) = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestPosOf(t *testing.T) {
	if p := PosOf(src, 20); p != at(2, 12, 20) {
		t.Errorf("PosOf = %+v", p)
	}
}
