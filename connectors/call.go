package connectors

import (
	"context"
	"time"
)

// CallPerformer is implemented by connectors that carry phone calls: it
// performs one verb of a voice flow (say, play, gather, record, dial,
// hangup) on the call of a conversation. The runtime looks it up on the
// connector instance the conversation came through, so a flow's voice
// steps run wherever such a connector is configured, and a connector
// without calls (SMS, webchat…) dead-letters them naming this interface.
//
// PerformCall returns when the verb is done: at once for say, play and
// hangup; with the caller's input, the recording or the dialled party's
// answer for gather, record and dial. Errors follow Send's rules: one
// marked Permanent is not retried, any other is retried with backoff under
// the same Key, so the platform must not repeat a verb it performed.
type CallPerformer interface {
	PerformCall(ctx context.Context, a *CallAction) (CallResult, error)
}

// CallAction is one verb of a voice flow, on the call of ConversationID
// with the caller at To.
type CallAction struct {
	Key            string // unique per action and stable across retries
	ConversationID string
	To             string
	Verb           string // say, play, gather, record, dial or hangup

	Text       string // say; gather's prompt
	URL        string // play
	Voice      string
	Language   string
	Loop       int
	Digits     int // gather: how many keys end the input
	FinishOn   string
	Speech     bool
	Timeout    time.Duration
	MaxLength  time.Duration // record
	Transcribe bool
	Number     string // dial
	CallerID   string
	Record     bool
}

// CallResult is what a gather, record or dial gave.
type CallResult struct {
	Digits       string // gather
	Speech       string
	Confidence   float64
	RecordingURL string  // record
	Duration     float64 // seconds, record and dial
	Transcript   string
	DialStatus   string // dial: answered, no_answer, busy or failed
}
