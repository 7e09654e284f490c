package compiler

import "time"

// The call steps: each becomes one instruction to the call's connector.

// KindSay speaks a text on the call.
var KindSay = registerKind(sayKind{&KindSpec{
	Name: "say",
	Doc:  "speaks a text on the call",
	Arg:  Arg{Kind: ArgExpr, Want: TypeAny, What: "the text to say", Doc: "text"},
	Props: []Prop{
		{Name: "voice", Kind: PropExpr, Want: TypeString, Doc: "the text-to-speech voice"},
		{Name: "language", Kind: PropExpr, Want: TypeString, Doc: "the language, e.g. en-US"},
		{Name: "loop", Kind: PropExpr, Want: TypeNumber, Doc: "how many times to say it"},
	},
	Outcomes: []OutcomeSpec{{Outcome: OutNext, Primary: true, Doc: "always"}},
	Voice:    true,
}})

type sayKind struct{ *KindSpec }

// SayOp is a say step's speech.
type SayOp struct {
	Text, Voice, Language, Loop *Expr
}

func (sayKind) lower(l *lowering) Op {
	return &SayOp{Text: l.arg, Voice: l.expr("voice"), Language: l.expr("language"), Loop: l.expr("loop")}
}

func (o *SayOp) disasm() (string, []string) { return head("", o.Text, "", nil, 0), nil }

// KindPlay plays an audio file on the call.
var KindPlay = registerKind(playKind{&KindSpec{
	Name: "play",
	Doc:  "plays an audio file on the call",
	Arg:  Arg{Kind: ArgExpr, Want: TypeString, What: "the audio URL", Doc: "audio URL"},
	Props: []Prop{
		{Name: "loop", Kind: PropExpr, Want: TypeNumber, Doc: "how many times to play it"},
	},
	Outcomes: []OutcomeSpec{{Outcome: OutNext, Primary: true, Doc: "always"}},
	Voice:    true,
}})

type playKind struct{ *KindSpec }

// PlayOp is a play step's audio.
type PlayOp struct {
	URL, Loop *Expr
}

func (playKind) lower(l *lowering) Op { return &PlayOp{URL: l.arg, Loop: l.expr("loop")} }

func (o *PlayOp) disasm() (string, []string) { return head("", o.URL, "", nil, 0), nil }

// KindGather collects keypresses or speech from the caller.
var KindGather = registerKind(gatherKind{&KindSpec{
	Name: "gather",
	Doc:  "collects keypresses or speech from the caller",
	Props: []Prop{
		{Name: "prompt", Kind: PropExpr, Want: TypeAny, Doc: "what to say while listening"},
		{Name: "digits", Kind: PropExpr, Want: TypeNumber, Doc: "how many digits to collect"},
		{Name: "finish_on", Kind: PropExpr, Want: TypeString, Doc: "the key that ends the input"},
		{Name: "speech", Kind: PropExpr, Want: TypeBool, Doc: "listen for speech too"},
		{Name: "timeout", Kind: PropDuration, Outcome: OutTimeout, HasOutcome: true, ArrowOptional: true, Bare: true,
			Doc: "how long to wait for input; default 5s"},
	},
	Outcomes: []OutcomeSpec{
		{Outcome: OutKeypress, Doc: "keys were pressed that no guard took"},
		{Outcome: OutSpeech, Doc: "words were said that no guard took"},
		{Outcome: OutTimeout, Primary: true, Required: true, Doc: "no input in time"},
	},
	Guards:     true,
	GuardNames: map[string]any{NameDigits: "", NameSpeech: ""},
	Voice:      true,
	Waits:      true,
	Output:     GatherOutput{},
}})

type gatherKind struct{ *KindSpec }

// GatherOutput is what a gather step leaves behind.
type GatherOutput struct {
	Digits     string  `expr:"digits" json:"digits"`
	Speech     string  `expr:"speech" json:"speech"`
	Confidence float64 `expr:"confidence" json:"confidence"`
}

// GatherOp is a gather step's listening.
type GatherOp struct {
	Prompt, Digits, FinishOn *Expr
	Speech                   *Expr // bool
	Timeout                  time.Duration
	// ListensForSpeech: a speech outcome or a guard on speech asks for it.
	ListensForSpeech bool
}

func (gatherKind) lower(l *lowering) Op {
	op := &GatherOp{Prompt: l.expr("prompt"), Digits: l.expr("digits"), FinishOn: l.expr("finish_on"), Speech: l.expr("speech"),
		Timeout: l.dur("timeout")}
	for _, g := range l.st.Guards {
		if reads(g.Cond, NameSpeech) {
			op.ListensForSpeech = true
		}
	}
	if l.st.Next[OutSpeech] != NoTarget {
		op.ListensForSpeech = true
	}
	return op
}

func (o *GatherOp) disasm() (string, []string) { return head("", o.Prompt, "", nil, o.Timeout), nil }

// KindRecord records the caller.
var KindRecord = registerKind(recordKind{&KindSpec{
	Name: "record",
	Doc:  "records the caller, e.g. a voicemail",
	Props: []Prop{
		{Name: "max_length", Kind: PropDuration, Doc: "the longest recording"},
		{Name: "timeout", Kind: PropDuration, Doc: "silence that ends the recording"},
		{Name: "transcribe", Kind: PropExpr, Want: TypeBool, Doc: "transcribe the recording"},
	},
	Outcomes: []OutcomeSpec{
		{Outcome: OutRecorded, Primary: true, Doc: "a recording was made"},
		{Outcome: OutFailed, Doc: "nothing was recorded"},
	},
	Voice:  true,
	Waits:  true,
	Output: RecordOutput{},
}})

type recordKind struct{ *KindSpec }

// RecordOutput is what a record step leaves behind.
type RecordOutput struct {
	URL        string  `expr:"url" json:"url"`
	Duration   float64 `expr:"duration" json:"duration"` // seconds
	Transcript string  `expr:"transcript" json:"transcript"`
	ID         string  `expr:"id" json:"id,omitempty"`   // the platform's id of the recording
	Key        string  `expr:"key" json:"key,omitempty"` // the key the caller pressed to end it
}

// RecordOp is a record step's recording.
type RecordOp struct {
	MaxLength, Timeout time.Duration
	Transcribe         *Expr // bool
}

func (recordKind) lower(l *lowering) Op {
	return &RecordOp{MaxLength: l.dur("max_length"), Timeout: l.dur("timeout"), Transcribe: l.expr("transcribe")}
}

func (o *RecordOp) disasm() (string, []string) { return head("", nil, "", nil, o.Timeout), nil }

// KindDial connects the caller to a number.
var KindDial = registerKind(dialKind{&KindSpec{
	Name: "dial",
	Doc:  "connects the call to a number",
	Arg:  Arg{Kind: ArgExpr, Want: TypeString, What: "the number to call", Doc: "number"},
	Props: []Prop{
		{Name: "timeout", Kind: PropDuration, Doc: "how long to ring"},
		{Name: "caller_id", Kind: PropExpr, Want: TypeString, Doc: "the number shown to the callee"},
		{Name: "record", Kind: PropExpr, Want: TypeBool, Doc: "record the call"},
	},
	Outcomes: []OutcomeSpec{
		{Outcome: OutAnswered, Primary: true, Doc: "the callee answered"},
		{Outcome: OutNoAnswer, Doc: "no answer"},
		{Outcome: OutBusy, Doc: "the line was busy"},
		{Outcome: OutFailed, Doc: "the call could not be made"},
	},
	Voice:  true,
	Waits:  true,
	Output: DialOutput{},
}})

type dialKind struct{ *KindSpec }

// DialOutput is what a dial step leaves behind.
type DialOutput struct {
	Status   string  `expr:"status" json:"status"`
	Duration float64 `expr:"duration" json:"duration"` // seconds
}

// DialOp is a dial step's call.
type DialOp struct {
	Number   *Expr
	Timeout  time.Duration
	CallerID *Expr
	Record   *Expr // bool
}

func (dialKind) lower(l *lowering) Op {
	return &DialOp{Number: l.arg, Timeout: l.dur("timeout"), CallerID: l.expr("caller_id"), Record: l.expr("record")}
}

func (o *DialOp) disasm() (string, []string) { return head("", o.Number, "", nil, o.Timeout), nil }

// KindHangup ends the call and the execution.
var KindHangup = registerKind(hangupKind{&KindSpec{
	Name:  "hangup",
	Doc:   "ends the call and the execution",
	Voice: true,
}})

type hangupKind struct{ *KindSpec }

// HangupOp is a hangup step.
type HangupOp struct{}

func (hangupKind) lower(*lowering) Op { return &HangupOp{} }

func (*HangupOp) disasm() (string, []string) { return "", nil }
