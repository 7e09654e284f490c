package messaging_test

import (
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/switchboard-dev/switchboard/connectors/twilio/messaging"
)

// TestSplitLimit: every part of a long text fits Twilio's limit counted
// in UTF-16, and the parts keep every word in order.
func TestSplitLimit(t *testing.T) {
	var b strings.Builder
	for i := range 900 {
		b.WriteString([]string{"order ", "pedido😀 ", "注文 ", "x\n"}[i%4])
	}
	text := strings.TrimSpace(b.String())
	parts := messaging.Split(text, messaging.MaxBody)
	if len(parts) < 2 {
		t.Fatalf("%d parts", len(parts))
	}
	for i, p := range parts {
		if n := len(utf16.Encode([]rune(p))); n > messaging.MaxBody || p == "" {
			t.Errorf("part %d: %d UTF-16 units", i, n)
		}
	}
	if strings.Join(strings.Fields(strings.Join(parts, " ")), " ") != strings.Join(strings.Fields(text), " ") {
		t.Error("the parts do not keep the words in order")
	}
	if got := messaging.Split(text, 0); strings.Join(got, "|") != strings.Join(parts, "|") {
		t.Error("a limit of 0 is not MaxBody")
	}
}
