package cli

import (
	"net/http"
	"strings"
	"testing"
)

// TestServeQuickStart checks what serve starts and prints for the
// connectors that ask for a quick start (the webchat): its default
// instance when none of its instances is configured, with its page's URL,
// and only the configured ones otherwise.
func TestServeQuickStart(t *testing.T) {
	const flow = `flow hello { start: send "hi" -> done }`
	get := func(url string) int {
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}

	addr, out := serveOutput(t, flow)
	if want := "webchat:   http://" + addr + "/webchat/default/   (open it in a browser and chat)"; !strings.Contains(out.String(), want) {
		t.Errorf("serve's output lacks %q:\n%s", want, out)
	}
	if status := get("http://" + addr + "/webchat/default/"); status != http.StatusOK {
		t.Errorf("the quick start's page: %d", status)
	}

	addr, out = serveOutput(t, flow, "--connector", "webchat/site")
	if strings.Contains(out.String(), "/webchat/default/") {
		t.Errorf("a default webchat started beside the configured one:\n%s", out)
	}
	if !strings.Contains(out.String(), "http://"+addr+"/webchat/site/") {
		t.Errorf("serve's output lacks the configured instance's page:\n%s", out)
	}
	if status := get("http://" + addr + "/webchat/default/"); status != http.StatusNotFound {
		t.Errorf("/webchat/default/ with only webchat/site configured: %d", status)
	}
}
