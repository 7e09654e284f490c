package server

import (
	"net/http"
)

// agentTyping tells the customer of a task that its agent is typing: the
// task's worker, or an admin. The body is {} (or empty). Channels that show
// it (the webchat) show "Ana is typing…" for a few seconds; the others
// ignore it. Nothing is stored: a desktop sends it again every few seconds
// while the agent types.
func (s *Server) agentTyping(ctx *request, c caller, p params) error {
	var b struct{}
	if err := decodeOptionalJSON(ctx, &b); err != nil {
		return err
	}
	if err := s.cfg.Node.AgentTyping(ctx, c.actor(), p[0]); err != nil {
		return commandError(err)
	}
	ctx.SetStatusCode(http.StatusNoContent)
	return nil
}
