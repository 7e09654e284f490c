package server

import (
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/switchboard-dev/switchboard/compiler"
	"github.com/switchboard-dev/switchboard/diag"
	"github.com/switchboard-dev/switchboard/runtime/server/admin"
	"github.com/switchboard-dev/switchboard/runtime/store"
)

// The admin console's page (admin.Prefix) and the routes only it needed:
// a program's flows, a flow's laid-out state machine with the executions
// waiting at each step, and the dead letters' retry and discard.

func serveAdmin(_ *Server, ctx *request, _ caller, _ params) error {
	admin.Serve(ctx.RequestCtx)
	return nil
}

// program returns a deployed version's program: 404 when none was
// deployed under that version.
func (s *Server) program(ctx *request, version string) (*compiler.Program, error) {
	prog, err := s.cfg.Node.Program(ctx, version)
	if errors.Is(err, store.ErrNotFound) {
		return nil, errorf(http.StatusNotFound, "no program version %q (GET /v1/programs lists them)", version)
	}
	return prog, err
}

// getProgram answers a version with its flows and the names of its files.
func (s *Server) getProgram(ctx *request, _ caller, p params) error {
	stored, err := s.cfg.Store.GetProgram(ctx, p[0])
	if errors.Is(err, store.ErrNotFound) {
		return errorf(http.StatusNotFound, "no program version %q (GET /v1/programs lists them)", p[0])
	} else if err != nil {
		return err
	}
	prog, err := s.program(ctx, p[0])
	if err != nil {
		return err
	}
	type flow struct {
		Name     string   `json:"name"`
		Trigger  string   `json:"trigger"`
		Channels []string `json:"channels"`
		Steps    int      `json:"steps"`
	}
	flows := make([]flow, 0, len(prog.Flows))
	for _, f := range prog.Flows {
		flows = append(flows, flow{Name: f.Name, Trigger: string(f.Trigger), Channels: nonNil(f.Channels), Steps: len(f.States)})
	}
	sort.Slice(flows, func(i, j int) bool { return flows[i].Name < flows[j].Name })
	var sources []compiler.Source
	files := []string{}
	if json.Unmarshal(stored.Source, &sources) == nil {
		for _, src := range sources {
			files = append(files, src.Name)
		}
		sort.Strings(files)
	}
	names := func(n int, name func(int) string) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = name(i)
		}
		return out
	}
	writeJSON(ctx.RequestCtx, http.StatusOK, map[string]any{
		"version": stored.Version, "active": stored.Active, "created_at": stored.CreatedAt,
		"files": files, "flows": flows,
		"queues":    names(len(prog.Queues), func(i int) string { return prog.Queues[i].Name }),
		"workflows": names(len(prog.Workflows), func(i int) string { return prog.Workflows[i].Name }),
	})
	return nil
}

// flowGraph answers a flow's state machine laid out for drawing, with the
// number of executions of that version waiting at each step now.
func (s *Server) flowGraph(ctx *request, _ caller, p params) error {
	prog, err := s.program(ctx, p[0])
	if err != nil {
		return err
	}
	f := prog.Flow(p[1])
	if f == nil {
		var names []string
		for _, f := range prog.Flows {
			names = append(names, f.Name)
		}
		slices.Sort(names)
		msg := "program " + p[0] + " has no flow " + diag.Quote(p[1]) + "; its flows: " + strings.Join(names, ", ")
		if sug := diag.Suggest(p[1], names); sug != "" {
			msg += " (did you mean " + diag.Quote(sug) + "?)"
		}
		return errorf(http.StatusNotFound, "%s", msg)
	}
	counts, err := s.cfg.Store.WaitingSteps(ctx, p[0])
	if err != nil {
		return err
	}
	g := admin.Layout(f)
	total := 0
	for _, c := range counts {
		if c.Flow != f.Name || c.State < 0 || c.State >= len(f.States) {
			continue
		}
		// Layout puts state i at g.Nodes[i].
		g.Nodes[c.State].Waiting += c.Waiting
		total += c.Waiting
	}
	writeJSON(ctx.RequestCtx, http.StatusOK, struct {
		Version string `json:"version"`
		Waiting int    `json:"waiting"`
		admin.Graph
	}{p[0], total, g})
	return nil
}

// retryDeadLetter puts a dead letter back in the outbox for one more
// attempt; the outbox performs it like any due effect, once.
func (s *Server) retryDeadLetter(ctx *request, _ caller, p params) error {
	err := s.cfg.Store.RequeueDeadLetter(ctx, p[0], time.Time{})
	if errors.Is(err, store.ErrNotFound) {
		return errorf(http.StatusNotFound, "no dead letter %q: it may have been retried or discarded already", p[0])
	} else if err != nil {
		return err
	}
	e, err := s.cfg.Store.GetEffect(ctx, p[0])
	if err != nil {
		return err
	}
	writeJSON(ctx.RequestCtx, http.StatusAccepted, e)
	return nil
}

// discardDeadLetter deletes a dead letter for good.
func (s *Server) discardDeadLetter(ctx *request, _ caller, p params) error {
	err := s.cfg.Store.DiscardDeadLetter(ctx, p[0])
	if errors.Is(err, store.ErrNotFound) {
		return errorf(http.StatusNotFound, "no dead letter %q: it may have been retried or discarded already", p[0])
	} else if err != nil {
		return err
	}
	ctx.SetStatusCode(http.StatusNoContent)
	return nil
}

// conversationFilter reads GET /v1/conversations' query: a status or
// channel it does not know, or a parameter it does not take, is the
// caller's mistake, not an empty list.
func conversationFilter(ctx *request) (store.ConversationFilter, bool, error) {
	q := ctx.QueryArgs()
	var unknown []string
	q.VisitAll(func(k, _ []byte) {
		switch string(k) {
		case "contact", "status", "channel", "address", "after", "limit", "newest":
		default:
			unknown = append(unknown, string(k))
		}
	})
	if len(unknown) > 0 {
		return store.ConversationFilter{}, false, &apiError{status: http.StatusBadRequest,
			msg:   "unknown query parameter " + diag.Quote(unknown[0]) + ": conversations are filtered by contact, address, channel and status",
			extra: map[string]any{"parameter": unknown[0]}}
	}
	status, err := queryValue(ctx, "status", string(store.ConversationOpen), string(store.ConversationClosed))
	if err != nil {
		return store.ConversationFilter{}, false, err
	}
	channel, err := queryValue(ctx, "channel", compiler.KnownChannels...)
	if err != nil {
		return store.ConversationFilter{}, false, err
	}
	newest, err := queryValue(ctx, "newest", "true", "false")
	if err != nil {
		return store.ConversationFilter{}, false, err
	}
	return store.ConversationFilter{ContactID: string(q.Peek("contact")), Status: store.ConversationStatus(status),
		Channel: channel, Address: strings.TrimSpace(string(q.Peek("address")))}, newest == "true", nil
}
