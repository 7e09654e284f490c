package server

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/valyala/fasthttp"
)

// DemoBotPath is where the built-in demo bot answers: POST
// {"text": "..."} to DemoBotPath+"/reply" and get {"reply": "..."}.
const DemoBotPath = "/demo/bot"

// demoBot answers a few questions the way a support bot would, enough for
// the example flows to hold a conversation with nothing else running.
func demoBot(ctx *fasthttp.RequestCtx) {
	var req struct {
		Text string `json:"text"`
	}
	if err := json.Unmarshal(ctx.Request.Body(), &req); err != nil {
		writeJSON(ctx, http.StatusBadRequest, map[string]string{"error": "send JSON {\"text\": \"...\"}"})
		return
	}
	text := strings.ToLower(req.Text)
	reply := "I am the demo bot. Ask me about your order, opening hours or prices, or type 'live agent' to talk to a person."
	switch {
	case strings.Contains(text, "order"):
		reply = "Your order is on its way and should arrive within 2 working days."
	case strings.Contains(text, "hour") || strings.Contains(text, "open"):
		reply = "We are open Monday to Friday, 08:00 to 17:00."
	case strings.Contains(text, "price") || strings.Contains(text, "cost"):
		reply = "Plans start at 10 EUR a month; see our pricing page for details."
	case strings.Contains(text, "hello") || strings.Contains(text, "hi"):
		reply = "Hello! How can I help you today?"
	}
	writeJSON(ctx, http.StatusOK, map[string]string{"reply": reply})
}
