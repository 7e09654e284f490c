package compiler

// The table every step is decoded against: what a kind takes as argument,
// which properties and outcomes it has, which are required, and what the
// trailing `-> target` of a step means for it (its primary outcome).

type argKind uint8

const (
	argNone     argKind = iota
	argExpr             // an expression (text, URL, number)
	argName             // a name: workflow, flow or function
	argDuration         // a duration literal
	argAssign           // a = EXPR, b = EXPR
)

type propKind uint8

const (
	propExpr     propKind = iota
	propDuration          // a duration literal
	propMethod            // http verb: the value is the URL
	propFlag              // bool expression
	propChannel           // a channel name, or a string expression
)

type propSpec struct {
	kind    propKind
	want    Type
	outcome Outcome // with hasOutcome: `timeout 5m -> step`
	// hasOutcome: the property may carry `-> target` for this outcome.
	hasOutcome bool
}

type kindSpec struct {
	kind       Kind
	args       argKind
	argWant    Type
	argWhat    string // what the argument is, for messages
	props      map[string]propSpec
	outcomes   []Outcome
	primary    Outcome
	hasPrimary bool
	required   []Outcome
	guards     bool
	voice      bool // only in flows triggered by a call
}

var (
	timeoutProp = propSpec{kind: propDuration, outcome: OutTimeout, hasOutcome: true}
	durProp     = propSpec{kind: propDuration}
	strProp     = propSpec{kind: propExpr, want: TypeString}
	channelProp = propSpec{kind: propChannel, want: TypeString}
	anyProp     = propSpec{kind: propExpr, want: TypeAny}
	mapProp     = propSpec{kind: propExpr, want: TypeMap}
	numProp     = propSpec{kind: propExpr, want: TypeNumber}
	boolProp    = propSpec{kind: propFlag, want: TypeBool}
	methodProp  = propSpec{kind: propMethod, want: TypeString}
)

var kindSpecs = map[string]*kindSpec{
	"send": {kind: KindSend, args: argExpr, argWant: TypeAny, argWhat: "the message text",
		props:    map[string]propSpec{"to": strProp, "channel": channelProp, "media": anyProp},
		outcomes: []Outcome{OutNext, OutFailed}, primary: OutNext, hasPrimary: true},
	"ask": {kind: KindAsk, args: argExpr, argWant: TypeAny, argWhat: "the question",
		props:    map[string]propSpec{"timeout": timeoutProp, "to": strProp, "channel": channelProp, "media": anyProp},
		outcomes: []Outcome{OutReply, OutTimeout}, primary: OutReply, hasPrimary: true,
		required: []Outcome{OutReply, OutTimeout}, guards: true},
	"switch": {kind: KindSwitch, outcomes: []Outcome{OutDefault}, primary: OutDefault, hasPrimary: true,
		required: []Outcome{OutDefault}, guards: true},
	"set": {kind: KindSet, args: argAssign, argWhat: "assignments",
		outcomes: []Outcome{OutNext}, primary: OutNext, hasPrimary: true},
	"http": {kind: KindHTTP,
		props: map[string]propSpec{"get": methodProp, "post": methodProp, "put": methodProp, "patch": methodProp,
			"delete": methodProp, "headers": mapProp, "json": anyProp, "form": mapProp, "body": strProp, "timeout": durProp},
		outcomes: []Outcome{OutOK, OutError}, primary: OutOK, hasPrimary: true, required: []Outcome{OutError}},
	"function": {kind: KindFunction, args: argName, argWhat: "a function name",
		props:    map[string]propSpec{"args": mapProp, "timeout": durProp},
		outcomes: []Outcome{OutOK, OutError}, primary: OutOK, hasPrimary: true, required: []Outcome{OutError}},
	"enqueue": {kind: KindEnqueue, args: argName, argWhat: "a workflow name",
		props:    map[string]propSpec{"attributes": mapProp, "priority": numProp, "timeout": timeoutProp, "channel": channelProp},
		outcomes: []Outcome{OutCompleted, OutTimeout, OutCanceled, OutFailed}, primary: OutCompleted, hasPrimary: true},
	"subflow": {kind: KindSubflow, args: argName, argWhat: "a flow name",
		props:    map[string]propSpec{"inputs": mapProp},
		outcomes: []Outcome{OutDone, OutError}, primary: OutDone, hasPrimary: true},
	"wait": {kind: KindWait, args: argDuration, argWhat: "a duration",
		outcomes: []Outcome{OutNext}, primary: OutNext, hasPrimary: true},
	"say": {kind: KindSay, args: argExpr, argWant: TypeAny, argWhat: "the text to say",
		props:    map[string]propSpec{"voice": strProp, "language": strProp, "loop": numProp},
		outcomes: []Outcome{OutNext}, primary: OutNext, hasPrimary: true, voice: true},
	"play": {kind: KindPlay, args: argExpr, argWant: TypeString, argWhat: "the audio URL",
		props:    map[string]propSpec{"loop": numProp},
		outcomes: []Outcome{OutNext}, primary: OutNext, hasPrimary: true, voice: true},
	"gather": {kind: KindGather,
		props: map[string]propSpec{"prompt": anyProp, "digits": numProp, "finish_on": strProp, "speech": boolProp,
			"timeout": timeoutProp},
		outcomes: []Outcome{OutKeypress, OutSpeech, OutTimeout}, primary: OutTimeout, hasPrimary: true,
		required: []Outcome{OutTimeout}, guards: true, voice: true},
	"record": {kind: KindRecord,
		props:    map[string]propSpec{"max_length": durProp, "timeout": durProp, "transcribe": boolProp},
		outcomes: []Outcome{OutRecorded, OutFailed}, primary: OutRecorded, hasPrimary: true, voice: true},
	"dial": {kind: KindDial, args: argExpr, argWant: TypeString, argWhat: "the number to call",
		props:    map[string]propSpec{"timeout": durProp, "caller_id": strProp, "record": boolProp},
		outcomes: []Outcome{OutAnswered, OutNoAnswer, OutBusy, OutFailed}, primary: OutAnswered, hasPrimary: true, voice: true},
	"hangup": {kind: KindHangup, voice: true},
}

func (k *kindSpec) allows(o Outcome) bool {
	for _, x := range k.outcomes {
		if x == o {
			return true
		}
	}
	return false
}

func outcomeNamed(name string) (Outcome, bool) {
	for i, n := range outcomeNames {
		if n == name {
			return Outcome(i), true
		}
	}
	return 0, false
}

func kindNamesList() []string {
	out := make([]string, 0, len(kindSpecs))
	for n := range kindSpecs {
		out = append(out, n)
	}
	return out
}

// KnownChannels are the channel names `channels` accepts by default.
var KnownChannels = []string{"sms", "whatsapp", "webchat", "messenger", "instagram", "line", "telegram",
	"discord", "email", "voice", "custom"}
