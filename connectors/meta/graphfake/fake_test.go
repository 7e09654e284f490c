package graphfake_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/switchboard-dev/switchboard/connectors"
	"github.com/switchboard-dev/switchboard/connectors/meta/graph"
	"github.com/switchboard-dev/switchboard/connectors/meta/graphfake"
)

func TestScriptedAnswersInOrderThenDefault(t *testing.T) {
	f := graphfake.New(t)
	path := graphfake.Path("106540352242922/messages")
	f.Respond(path, 429, "", http.Header{"Retry-After": {"2"}})
	f.Respond(path, 503, "busy", nil)
	c := graph.New(f.Config(), f.Client())
	msg := map[string]string{"messaging_product": "whatsapp", "to": "16505551234"}
	var statuses []int
	for range 3 {
		_ = c.Post(context.Background(), "106540352242922/messages", msg, nil)
	}
	reqs, err := f.Wait(context.Background(), 3)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range reqs {
		statuses = append(statuses, r.Answer)
	}
	if statuses[0] != 429 || statuses[1] != 503 || statuses[2] != 200 {
		t.Fatalf("answers %v, want 429 503 200", statuses)
	}
	if got := len(f.Bodies(path)); got != 3 {
		t.Fatalf("Bodies: %d", got)
	}
}

func TestWaitTimesOut(t *testing.T) {
	f := graphfake.New(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := f.Wait(ctx, 1); err == nil {
		t.Fatal("Wait returned without a request")
	}
}

func TestWebhookIsSigned(t *testing.T) {
	body := []byte(`{"object":"whatsapp_business_account","entry":[]}`)
	req := graphfake.Webhook("s3cret", "https://example.com/v1/webhooks/whatsapp_cloud/default?x=1", body)
	if req.Path != "/v1/webhooks/whatsapp_cloud/default" || req.Query.Get("x") != "1" || req.MediaType() != "application/json" {
		t.Fatalf("request %+v", req)
	}
	if err := graph.VerifySignature(req, "s3cret"); err != nil {
		t.Fatal(err)
	}
	if err := graph.VerifySignature(req, "other"); connectors.StatusOf(err) != 401 {
		t.Fatalf("wrong secret: %v", err)
	}
}
