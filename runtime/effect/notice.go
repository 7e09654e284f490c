package effect

import (
	"encoding/json"

	"github.com/switchboard-dev/switchboard/connectors"
	"github.com/switchboard-dev/switchboard/runtime/store"
)

// KindNotice is the outbox kind that tells a customer's channel what
// happens to the conversation (connectors.Notice): the outbox resolves the
// conversation's route, and the agent's name and the queue position, when
// it performs the row, and hands the notice to a connectors.Notifier (a
// channel without notices ignores it).
const KindNotice = "notice"

// NoticePayload is the payload of a KindNotice row: what happened, to
// which conversation, about which task and worker.
type NoticePayload struct {
	Kind         connectors.NoticeKind `json:"kind"`
	Conversation string                `json:"conversation"`
	Task         string                `json:"task,omitempty"`
	Worker       string                `json:"worker,omitempty"`
}

// NoticeRow is the outbox row of a notice, for a unit that writes what the
// notice tells.
func NoticeRow(p NoticePayload) store.Effect {
	id := store.NewID()
	b, _ := json.Marshal(p)
	return store.Effect{ID: id, Kind: KindNotice, IdempotencyKey: id, Payload: b}
}
