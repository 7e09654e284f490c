package server_test

import (
	"context"
	"testing"

	"github.com/valyala/fasthttp"

	"github.com/switchboard-dev/switchboard/connectors"
	"github.com/switchboard-dev/switchboard/runtime/server"
)

// quiet is a connector whose webhooks carry no message (a status
// callback): what is left to measure is the server's own work on the way.
type quiet struct{}

func (quiet) Receive(context.Context, *connectors.Request) ([]connectors.Inbound, error) {
	return nil, nil
}

func (quiet) Send(context.Context, *connectors.Outbound) (string, error) { return "", nil }

// BenchmarkWebhookRouting measures the server's path from a webhook's
// arrival to its answer, minus the store: routing, the body limit, the
// adaption of the request for the connector and the answer. It reports the
// allocations each request costs.
func BenchmarkWebhookRouting(b *testing.B) {
	srv := server.New(server.Config{Instances: []server.Instance{{Connector: "quiet", Name: "default", Conn: quiet{}}}})
	h := srv.Handler()
	var ctx fasthttp.RequestCtx
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ctx.Request.Reset()
		ctx.Response.Reset()
		ctx.Request.Header.SetMethod(fasthttp.MethodPost)
		ctx.Request.SetRequestURI("/v1/webhooks/quiet/default")
		ctx.Request.Header.SetContentType("application/json")
		ctx.Request.SetBodyString(`{"status":"delivered"}`)
		h(&ctx)
		if ctx.Response.StatusCode() != 200 {
			b.Fatalf("status %d: %s", ctx.Response.StatusCode(), ctx.Response.Body())
		}
	}
}
