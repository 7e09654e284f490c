package store_test

import (
	"encoding/json"
	"testing"

	"github.com/switchboard-dev/switchboard/runtime/store"
)

func TestText(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"hello", "hello"},
		{"Olá 👋", "Olá 👋"},
		{"a\x00b", "a\uFFFDb"},
		{"\x00", "\uFFFD"},
		{"caf\xe9", "caf\uFFFD"},               // Latin-1, not UTF-8
		{"\xff\xfe", "\uFFFD\uFFFD"},           // each invalid byte
		{"\xe2\x82", "\uFFFD\uFFFD"},           // a truncated sequence
		{"\xed\xa0\x80", "\uFFFD\uFFFD\uFFFD"}, // an encoded surrogate
		{"ok\x00\xffé", "ok\uFFFD\uFFFDé"},
	}
	for _, tt := range tests {
		if got := store.Text(tt.in); got != tt.want {
			t.Errorf("Text(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if got := string(store.TextBytes([]byte(tt.in))); got != tt.want {
			t.Errorf("TextBytes(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestCleanJSON(t *testing.T) {
	tests := []struct{ in, want string }{
		{`{"a":"b"}`, `{"a":"b"}`},
		{`{"a":"x\u0000y"}`, `{"a":"x\ufffdy"}`},
		{`{"\u0000":1}`, `{"\ufffd":1}`},
		{`["\\u0000"]`, `["\\u0000"]`}, // an escaped backslash, then text
		{`["\\\u0000"]`, `["\\\ufffd"]`},
		{`["\u00e9\u0041"]`, `["\u00e9\u0041"]`},
		{`["\ud83d\ude00"]`, `["\ud83d\ude00"]`}, // a surrogate pair: 😀
		{`["\ud83d"]`, `["\ufffd"]`},
		{`["\ud83dx"]`, `["\ufffdx"]`},
		{`["\ude00\ud83d"]`, `["\ufffd\ufffd"]`},
		{`["\ud83d\u0041"]`, `["\ufffd\u0041"]`},
		{"[\"caf\xe9\"]", `["caf` + "\uFFFD" + `"]`},
		{`["\u0000\u0000", "\"\u0000"]`, `["\ufffd\ufffd", "\"\ufffd"]`},
		{`["\u00"]`, `["\u00"]`}, // not JSON: left alone
	}
	for _, tt := range tests {
		got := string(store.CleanJSON([]byte(tt.in)))
		if got != tt.want {
			t.Errorf("CleanJSON(%s) = %s, want %s", tt.in, got, tt.want)
		}
		var v any
		if json.Valid([]byte(tt.in)) && json.Unmarshal([]byte(got), &v) != nil {
			t.Errorf("CleanJSON(%s) = %s is not JSON", tt.in, got)
		}
	}
}

func TestObjectCleans(t *testing.T) {
	got, err := store.Object(json.RawMessage(`{"name":"a\u0000b"}`))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]string
	if err := json.Unmarshal(got, &m); err != nil || m["name"] != "a\uFFFDb" {
		t.Fatalf("Object = %s (%v)", got, err)
	}
}
