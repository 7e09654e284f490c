package server

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/switchboard-dev/switchboard/internal/mediastore"
	"github.com/switchboard-dev/switchboard/runtime/node"
	"github.com/switchboard-dev/switchboard/runtime/store"
)

// The agent desktop's API beyond routing: notes on tasks and the wrap-up
// with its disposition, canned responses, a contact's history for the
// agents who served the contact, the worker's recent conversations and
// the tasks waiting in its queues, and the attachments agents send.

// Limits on what agents write.
const (
	maxNoteRunes        = 4000
	maxDispositionRunes = 64
	maxCannedTitleRunes = 120
	maxCannedTextRunes  = 4000
	// MaxAttachment bounds a file an agent sends: what messaging platforms
	// take for a document.
	MaxAttachment = 10 << 20
	// attachmentsPath serves the files agents sent, by signed link: the
	// customer's platform fetches them there.
	attachmentsPath = "/v1/attachments"
)

// deskState is the server's part of the desktop: the attachments' store,
// opened on first use.
type deskState struct {
	once  sync.Once
	media *mediastore.Store
	err   error
}

func tooLong(what, s string, limit int) error {
	if n := utf8.RuneCountInString(s); n > limit {
		return errorf(http.StatusBadRequest, "%s is %d characters long, at most %d", what, n, limit)
	}
	return nil
}

// ---- notes and wrap-up ----

// taskView is a task as GET /v1/tasks/{id} shows it: with the notes
// agents wrote on it and the wrap-up, when there is one.
type taskView struct {
	store.Task
	Notes  []store.TaskNote `json:"notes"`
	WrapUp *store.TaskNote  `json:"wrapup,omitempty"`
}

func (s *Server) viewTask(ctx context.Context, t store.Task) (taskView, error) {
	notes, err := s.cfg.Store.ListTaskNotes(ctx, store.NoteFilter{TaskID: t.ID})
	if err != nil {
		return taskView{}, err
	}
	v := taskView{Task: t, Notes: nonNil(notes)}
	for i := range notes {
		if notes[i].Kind == store.NoteWrapUp {
			v.WrapUp = &notes[i] // the latest
		}
	}
	return v, nil
}

func (s *Server) listNotes(ctx *request, c caller, p params) error {
	t, err := s.ownTask(ctx, c, p[0])
	if err != nil {
		return err
	}
	notes, err := s.cfg.Store.ListTaskNotes(ctx, store.NoteFilter{TaskID: t.ID})
	if err != nil {
		return err
	}
	writeJSON(ctx.RequestCtx, http.StatusOK, map[string]any{"notes": nonNil(notes)})
	return nil
}

// addNote stores an internal note: for agents only, never sent to the
// customer. A worker writes on the tasks it holds or held.
func (s *Server) addNote(ctx *request, c caller, p params) error {
	var b struct {
		Text string `json:"text"`
	}
	if err := decodeJSON(ctx, &b); err != nil {
		return err
	}
	b.Text = strings.TrimSpace(b.Text)
	if b.Text == "" {
		return errorf(http.StatusBadRequest, "a note needs a text: {\"text\": \"the note\"}")
	}
	if err := tooLong("the note", b.Text, maxNoteRunes); err != nil {
		return err
	}
	t, err := s.ownTask(ctx, c, p[0])
	if err != nil {
		return err
	}
	n, err := s.cfg.Store.AddTaskNote(ctx, store.TaskNote{TaskID: t.ID, WorkerID: c.worker, Kind: store.NoteInternal, Text: b.Text})
	if err != nil {
		return err
	}
	writeJSON(ctx.RequestCtx, http.StatusCreated, n)
	return nil
}

// wrapUpTask is POST /v1/tasks/{id}/wrapup: the task goes to wrap-up
// (unless its call's end put it there already) and, when the body names
// a disposition or notes, they are kept on the task and logged as a
// task.disposition event.
func (s *Server) wrapUpTask(ctx *request, c caller, p params) error {
	var b struct {
		Disposition string `json:"disposition"`
		Notes       string `json:"notes"`
	}
	if err := decodeOptionalJSON(ctx, &b); err != nil {
		return err
	}
	b.Disposition, b.Notes = strings.TrimSpace(b.Disposition), strings.TrimSpace(b.Notes)
	if err := tooLong("the disposition", b.Disposition, maxDispositionRunes); err != nil {
		return err
	}
	if err := tooLong("the notes", b.Notes, maxNoteRunes); err != nil {
		return err
	}
	if strings.ContainsAny(b.Disposition, "\r\n\t") {
		return errorf(http.StatusBadRequest, "the disposition is a single code such as \"resolved\", without breaks")
	}
	record := b.Disposition != "" || b.Notes != ""
	t, err := s.ownTask(ctx, c, p[0])
	if err != nil {
		return err
	}
	if !c.admin && t.WorkerID != c.worker {
		return errorf(http.StatusForbidden, "task %q is not yours", t.ID)
	}
	var res json.RawMessage
	if !(record && t.Status == store.TaskWrapping) {
		if res, err = s.command(ctx, node.CmdWrapUp, node.CommandArgs{Actor: c.actor(), Task: t.ID}); err != nil {
			return err
		}
	}
	out := map[string]any{}
	if res != nil {
		_ = json.Unmarshal(res, &out)
	}
	if record {
		n, err := s.cfg.Store.AddTaskNote(ctx, store.TaskNote{TaskID: t.ID, WorkerID: t.WorkerID, Kind: store.NoteWrapUp, Disposition: b.Disposition, Text: b.Notes})
		if err != nil {
			return err
		}
		data, _ := json.Marshal(map[string]any{"disposition": n.Disposition, "notes": n.Text, "note_id": n.ID})
		ev := store.RouterEvent{Type: "task.disposition", TaskID: t.ID, WorkerID: t.WorkerID, Queue: t.Queue, Data: data}
		if err := s.cfg.Store.AppendRouterEvents(ctx, []store.RouterEvent{ev}); err != nil {
			return err
		}
		out["wrapup"] = n
	}
	writeJSON(ctx.RequestCtx, http.StatusOK, out)
	return nil
}

// ---- canned responses ----

type cannedBody struct {
	Title string `json:"title"`
	Text  string `json:"text"`
}

func (b cannedBody) check() error {
	if strings.TrimSpace(b.Title) == "" || strings.TrimSpace(b.Text) == "" {
		return errorf(http.StatusBadRequest, "a canned response needs a title and a text: {\"title\": \"Greeting\", \"text\": \"Hi {{contact.name}}\"}")
	}
	if err := tooLong("the title", b.Title, maxCannedTitleRunes); err != nil {
		return err
	}
	return tooLong("the text", b.Text, maxCannedTextRunes)
}

func (s *Server) listCanned(ctx *request, _ caller, _ params) error {
	cs, err := s.cfg.Store.ListCannedResponses(ctx)
	if err != nil {
		return err
	}
	writeJSON(ctx.RequestCtx, http.StatusOK, map[string]any{"canned_responses": nonNil(cs)})
	return nil
}

func (s *Server) getCanned(ctx *request, _ caller, p params) error {
	cr, err := s.cfg.Store.GetCannedResponse(ctx, p[0])
	if err != nil {
		return cannedNotFound(err, p[0])
	}
	writeJSON(ctx.RequestCtx, http.StatusOK, cr)
	return nil
}

func (s *Server) createCanned(ctx *request, _ caller, _ params) error {
	var b cannedBody
	if err := decodeJSON(ctx, &b); err != nil {
		return err
	}
	if err := b.check(); err != nil {
		return err
	}
	cr, err := s.cfg.Store.PutCannedResponse(ctx, store.CannedResponse{Title: b.Title, Text: b.Text})
	if err != nil {
		return err
	}
	writeJSON(ctx.RequestCtx, http.StatusCreated, cr)
	return nil
}

func (s *Server) updateCanned(ctx *request, _ caller, p params) error {
	var b cannedBody
	if err := decodeJSON(ctx, &b); err != nil {
		return err
	}
	if err := b.check(); err != nil {
		return err
	}
	if _, err := s.cfg.Store.GetCannedResponse(ctx, p[0]); err != nil {
		return cannedNotFound(err, p[0])
	}
	cr, err := s.cfg.Store.PutCannedResponse(ctx, store.CannedResponse{ID: p[0], Title: b.Title, Text: b.Text})
	if err != nil {
		return err
	}
	writeJSON(ctx.RequestCtx, http.StatusOK, cr)
	return nil
}

func (s *Server) deleteCanned(ctx *request, _ caller, p params) error {
	if err := s.cfg.Store.DeleteCannedResponse(ctx, p[0]); err != nil {
		return cannedNotFound(err, p[0])
	}
	ctx.SetStatusCode(http.StatusNoContent)
	return nil
}

func cannedNotFound(err error, id string) error {
	if errors.Is(err, store.ErrNotFound) {
		return errorf(http.StatusNotFound, "no canned response %q", id)
	}
	return err
}

// ---- contacts, recent conversations, waiting tasks ----

// contactHistory is GET /v1/contacts/{id}/history: the contact with its
// addresses and attributes, and its latest conversations on every
// channel with their messages and the agents' notes. A worker reads the
// contacts it served (a task of theirs it accepted); an admin any.
func (s *Server) contactHistory(ctx *request, c caller, p params) error {
	contact, err := s.cfg.Store.GetContact(ctx, p[0])
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return errorf(http.StatusNotFound, "no contact %q", p[0])
		}
		return err
	}
	if !c.admin {
		ok, err := s.cfg.Store.ServedContact(ctx, c.worker, contact.ID)
		if err != nil {
			return err
		}
		if !ok {
			return errorf(http.StatusForbidden, "worker %q has served no task of contact %q", c.worker, contact.ID)
		}
	}
	convs, err := s.transcripts(ctx, contact.ID)
	if err != nil {
		return err
	}
	writeJSON(ctx.RequestCtx, http.StatusOK, map[string]any{"contact": contact, "conversations": convs})
	return nil
}

// transcript is a conversation with its messages and notes, oldest first.
type transcript struct {
	store.Conversation
	Messages []store.Message  `json:"messages"`
	Notes    []store.TaskNote `json:"notes"`
}

// transcripts are the contact's 20 latest conversations, oldest first,
// each with its 100 latest messages.
func (s *Server) transcripts(ctx context.Context, contactID string) ([]transcript, error) {
	convs, _, err := s.cfg.Store.ListConversations(ctx, store.ConversationFilter{ContactID: contactID}, store.Page{Newest: true, Limit: 20})
	if err != nil {
		return nil, err
	}
	notes, err := s.cfg.Store.ListTaskNotes(ctx, store.NoteFilter{ContactID: contactID})
	if err != nil {
		return nil, err
	}
	out := make([]transcript, 0, len(convs))
	for i := len(convs) - 1; i >= 0; i-- {
		msgs, _, err := s.cfg.Store.ListMessages(ctx, convs[i].ID, store.Page{Newest: true, Limit: 100})
		if err != nil {
			return nil, err
		}
		for l, r := 0, len(msgs)-1; l < r; l, r = l+1, r-1 {
			msgs[l], msgs[r] = msgs[r], msgs[l]
		}
		tr := transcript{Conversation: convs[i], Messages: nonNil(msgs), Notes: []store.TaskNote{}}
		for _, n := range notes {
			if n.ConversationID == convs[i].ID {
				tr.Notes = append(tr.Notes, n)
			}
		}
		out = append(out, tr)
	}
	return out, nil
}

// contactRef is a contact as lists show it.
type contactRef struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	// Address is the contact's first address, for a contact without a name.
	Address string `json:"address,omitempty"`
	Channel string `json:"channel,omitempty"`
}

func (s *Server) contactRef(ctx context.Context, id string, seen map[string]contactRef) contactRef {
	if r, ok := seen[id]; ok {
		return r
	}
	r := contactRef{ID: id}
	if c, err := s.cfg.Store.GetContact(ctx, id); err == nil {
		r.ID, r.Name = c.ID, c.Name
		if len(c.Addresses) > 0 {
			r.Address, r.Channel = c.Addresses[0].Address, c.Addresses[0].Channel
		}
	}
	seen[id] = r
	return r
}

// workerConversations is GET /v1/workers/{id}/conversations: the tasks
// the worker accepted, most recent first (?limit, 20 by default), with
// their contact and the conversation's channel.
func (s *Server) workerConversations(ctx *request, c caller, p params) error {
	if err := c.mayActAs(p[0]); err != nil {
		return err
	}
	limit := 20
	if q := ctx.QueryArgs().Peek("limit"); len(q) > 0 {
		n, err := ctx.QueryArgs().GetUint("limit")
		if err != nil || n < 1 || n > 200 {
			return errorf(http.StatusBadRequest, "limit=%q is not a number from 1 to 200", q)
		}
		limit = n
	}
	if _, err := s.cfg.Store.GetWorker(ctx, p[0]); err != nil {
		return err
	}
	ts, err := s.cfg.Store.WorkerTasks(ctx, p[0], limit)
	if err != nil {
		return err
	}
	type recent struct {
		store.Task
		Contact             contactRef `json:"contact"`
		ConversationChannel string     `json:"conversation_channel"`
	}
	seen := map[string]contactRef{}
	out := make([]recent, 0, len(ts))
	for _, t := range ts {
		r := recent{Task: t, Contact: s.contactRef(ctx, t.ContactID, seen)}
		if cv, err := s.cfg.Store.GetConversation(ctx, t.ConversationID); err == nil {
			r.ConversationChannel = cv.Channel
		}
		out = append(out, r)
	}
	writeJSON(ctx.RequestCtx, http.StatusOK, map[string]any{"conversations": out})
	return nil
}

// workerWaiting is GET /v1/workers/{id}/waiting: the tasks waiting in
// the queues the worker is a member of, oldest first, with how long they
// have waited and their contact.
func (s *Server) workerWaiting(ctx *request, c caller, p params) error {
	if err := c.mayActAs(p[0]); err != nil {
		return err
	}
	res, err := s.command(ctx, node.CmdWaiting, node.CommandArgs{Actor: c.actor(), Worker: p[0]})
	if err != nil {
		return err
	}
	var out struct {
		Queues []string         `json:"queues"`
		Tasks  []map[string]any `json:"tasks"`
		Total  int              `json:"total"`
	}
	if err := json.Unmarshal(res, &out); err != nil {
		return err
	}
	seen := map[string]contactRef{}
	for _, t := range out.Tasks {
		id, _ := t["contact_id"].(string)
		t["contact"] = s.contactRef(ctx, id, seen)
	}
	writeJSON(ctx.RequestCtx, http.StatusOK, out)
	return nil
}

// ---- attachments ----

// attachments opens the store of the files agents send: in
// Config.AttachmentDir, with a link key kept beside the files, so links
// stay valid across restarts.
func (s *Server) attachments() (*mediastore.Store, error) {
	d := &s.desk
	d.once.Do(func() {
		dir := s.cfg.AttachmentDir
		if dir == "" {
			dir = mediastore.DefaultDir("agent", "attachments")
		}
		if err := os.MkdirAll(dir, 0o700); err != nil {
			d.err = err
			return
		}
		keyFile := filepath.Join(dir, ".link-key") // a dot file: no id names it
		key, err := os.ReadFile(keyFile)
		if err != nil || len(key) < 32 {
			key = make([]byte, 32)
			if _, err := rand.Read(key); err != nil {
				d.err = err
				return
			}
			if err := mediastore.WriteAtomic(keyFile, key); err != nil {
				d.err = err
				return
			}
		}
		d.media, d.err = mediastore.New(mediastore.Options{Dir: dir, Key: key, Valid: validAttachmentID, Disposition: true,
			NotFound: "no such attachment"})
	})
	return d.media, d.err
}

// validAttachmentID: ids are "att_" and a store.NewID.
func validAttachmentID(id string) bool {
	return strings.HasPrefix(id, "att_") && len(id) <= 64 && mediastore.SafeID(id)
}

// publicBase is the URL the server is reached at from outside.
func (s *Server) publicBase(ctx *request) string {
	if s.cfg.PublicURL != "" {
		return strings.TrimRight(s.cfg.PublicURL, "/")
	}
	scheme := "http"
	if ctx.IsTLS() || string(ctx.Request.Header.Peek("X-Forwarded-Proto")) == "https" {
		scheme = "https"
	}
	return scheme + "://" + string(ctx.Host())
}

// sendAttachment is POST /v1/tasks/{id}/attachments: the body is the
// file (its Content-Type says what it is; ?filename names it, ?text is a
// caption), kept by the server and sent to the customer's channel as
// media, by a signed link the platform fetches.
func (s *Server) sendAttachment(ctx *request, c caller, p params) error {
	ct := string(ctx.Request.Header.ContentType())
	if ct == "" || strings.HasPrefix(ct, "multipart/") || mediastore.ContentType(ct) == "application/octet-stream" && !strings.HasPrefix(ct, "application/octet-stream") {
		return errorf(http.StatusUnsupportedMediaType, "send the file itself as the body, with its Content-Type (image/png, application/pdf, …), not %q", ct)
	}
	body := ctx.Request.Body()
	if len(body) == 0 {
		return errorf(http.StatusBadRequest, "the body is empty: send the file as the body")
	}
	if len(body) > MaxAttachment {
		return errorf(http.StatusRequestEntityTooLarge, "the file is %d bytes, at most %d", len(body), MaxAttachment)
	}
	filename := strings.TrimSpace(string(ctx.QueryArgs().Peek("filename")))
	caption := strings.TrimSpace(string(ctx.QueryArgs().Peek("text")))
	if err := tooLong("the caption", caption, maxNoteRunes); err != nil {
		return err
	}
	t, err := s.ownTask(ctx, c, p[0])
	if err != nil {
		return err
	}
	if !c.admin && t.WorkerID != c.worker {
		return errorf(http.StatusForbidden, "task %q is not yours", t.ID)
	}
	if t.Status != store.TaskAssigned && t.Status != store.TaskWrapping {
		return errorf(http.StatusConflict, "task %q is %s: attachments go to assigned tasks", t.ID, t.Status)
	}
	media, err := s.attachments()
	if err != nil {
		return err
	}
	id := "att_" + store.NewID()
	meta := mediastore.Meta{ContentType: mediastore.ContentType(ct), Filename: mediastore.SafeFilename(filename)}
	if err := media.Put(id, body, meta); err != nil {
		return err
	}
	link := s.publicBase(ctx) + attachmentsPath + "?" + url.Values{"id": {id}, "sig": {media.Sign(id)}}.Encode()
	replyID, err := s.cfg.Node.AgentSend(ctx, c.actor(), t.ID, caption, []string{link})
	if err != nil {
		return commandError(err)
	}
	writeJSON(ctx.RequestCtx, http.StatusAccepted, map[string]any{"id": replyID, "status": "queued",
		"attachment": map[string]any{"id": id, "url": link, "content_type": meta.ContentType, "filename": meta.Filename, "size": len(body)}})
	return nil
}

// serveAttachment answers a signed link to a file an agent sent.
func (s *Server) serveAttachment(ctx *request, _ caller, _ params) error {
	media, err := s.attachments()
	if err != nil {
		return err
	}
	media.Serve(ctx.RequestCtx)
	return nil
}

// ---- transfer targets with their availability ----

// liveQueue is a queue as GET /v1/queues shows it: with how many of its
// members are available and how many tasks wait, when the router answers.
type liveQueue struct {
	Name         string  `json:"name"`
	Members      *int    `json:"members,omitempty"`
	Available    *int    `json:"available,omitempty"`
	Waiting      *int    `json:"waiting,omitempty"`
	LongestWaitS float64 `json:"longest_wait_s,omitempty"`
}

// liveQueues are the active program's queues with the router's real-time
// statistics; without a router answer (no leader yet), just their names.
func (s *Server) liveQueues(ctx *request) []liveQueue {
	prog := s.cfg.Node.Active()
	out := make([]liveQueue, 0, len(prog.Queues))
	byName := map[string]int{}
	for _, q := range prog.Queues {
		byName[q.Name] = len(out)
		out = append(out, liveQueue{Name: q.Name})
	}
	c, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	res, err := s.cfg.Node.Command(c, node.CmdStats, node.CommandArgs{}, 2*time.Second)
	if err != nil {
		return out
	}
	var stats struct {
		Queues []struct {
			Queue        string  `json:"queue"`
			Members      int     `json:"members"`
			Available    int     `json:"available"`
			Waiting      int     `json:"waiting"`
			LongestWaitS float64 `json:"longest_wait_s"`
		} `json:"queues"`
	}
	if json.Unmarshal(res, &stats) != nil {
		return out
	}
	for _, q := range stats.Queues {
		if i, ok := byName[q.Queue]; ok {
			out[i].Members, out[i].Available, out[i].Waiting, out[i].LongestWaitS = &q.Members, &q.Available, &q.Waiting, q.LongestWaitS
		}
	}
	return out
}

// colleague is a worker as another worker sees it (a transfer target):
// who, whether there, and how much room it has, not its attributes.
type colleague struct {
	ID       string         `json:"id"`
	Name     string         `json:"name"` // as customers see the worker (store.Worker.DisplayName)
	Activity string         `json:"activity"`
	Capacity map[string]int `json:"capacity"`
	// Free is the capacity left per channel: capacity less the tasks
	// offered to, assigned to or wrapping with the worker.
	Free map[string]int `json:"free,omitempty"`
}

// colleagues are the workers with their free capacity, from the
// router's loads (in memory, one command for all workers); without a
// router answer, their free capacity is left out.
func (s *Server) colleagues(ctx *request, ws []store.Worker) []colleague {
	var loads struct {
		Loads map[string]map[string]int `json:"loads"`
	}
	c, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	res, err := s.cfg.Node.Command(c, node.CmdLoads, node.CommandArgs{}, 2*time.Second)
	known := err == nil && json.Unmarshal(res, &loads) == nil
	out := make([]colleague, len(ws))
	for i, w := range ws {
		out[i] = colleague{ID: w.ID, Name: w.DisplayName(), Activity: w.Activity, Capacity: w.Capacity}
		if known {
			out[i].Free = map[string]int{}
			for ch, n := range w.Capacity {
				out[i].Free[ch] = max(0, n-loads.Loads[w.ID][ch])
			}
		}
	}
	return out
}
