package engine

import "github.com/switchboard-dev/switchboard/compiler"

// The call steps each emit one VoiceEffect; gather, record and dial wait
// for its result (WaitVoice), hangup ends the execution.

func init() {
	register("say", &executor{exec: execSay})
	register("play", &executor{exec: execPlay})
	register("gather", &executor{exec: execGather, result: resultGather})
	register("record", &executor{exec: execRecord, result: resultRecord})
	register("dial", &executor{exec: execDial, result: resultDial})
	register("hangup", &executor{exec: execHangup})
}

func execSay(r *run, st *compiler.State) (compiler.Outcome, int32, bool, error) {
	op := st.Op.(*compiler.SayOp)
	v := &VoiceEffect{Verb: "say"}
	err := r.evalStrings(strField{op.Text, &v.Text}, strField{op.Voice, &v.Voice}, strField{op.Language, &v.Language})
	if err == nil {
		v.Loop, err = r.evalInt(op.Loop)
	}
	return r.voice(v, err, false)
}

func execPlay(r *run, st *compiler.State) (compiler.Outcome, int32, bool, error) {
	op := st.Op.(*compiler.PlayOp)
	v := &VoiceEffect{Verb: "play"}
	err := r.evalStrings(strField{op.URL, &v.URL})
	if err == nil {
		v.Loop, err = r.evalInt(op.Loop)
	}
	return r.voice(v, err, false)
}

func execGather(r *run, st *compiler.State) (compiler.Outcome, int32, bool, error) {
	op := st.Op.(*compiler.GatherOp)
	v := &VoiceEffect{Verb: "gather", Timeout: op.Timeout}
	if v.Timeout == 0 {
		v.Timeout = DefaultGatherTimeout
	}
	err := r.evalStrings(strField{op.Prompt, &v.Text}, strField{op.FinishOn, &v.FinishOn})
	if err == nil {
		v.Digits, err = r.evalInt(op.Digits)
	}
	if err == nil && op.Speech != nil {
		v.Speech, err = r.evalBool(op.Speech)
	}
	if op.ListensForSpeech {
		v.Speech = true
	}
	return r.voice(v, err, true)
}

// resultGather takes the caller's input: the first guard that holds on
// it, else keypress or speech; no input is a timeout.
func resultGather(r *run, st *compiler.State, fr *Frame, res Result) compiler.Outcome {
	fr.Outputs[st.Name] = output(st, compiler.GatherOutput{Digits: res.Digits, Speech: res.Speech, Confidence: res.Confidence})
	if res.Digits == "" && res.Speech == "" {
		return compiler.OutTimeout
	}
	r.customerWrote() // keys pressed or words said are the caller's answer
	i, target, err := r.guards(st, r.env(map[string]any{compiler.NameDigits: res.Digits, compiler.NameSpeech: res.Speech}))
	if err != nil {
		r.fail(err)
		return compiler.OutTimeout
	}
	if i >= 0 {
		r.guard, r.guardIndex = target, i
		return compiler.OutKeypress
	}
	if res.Digits != "" {
		return compiler.OutKeypress
	}
	return compiler.OutSpeech
}

func execRecord(r *run, st *compiler.State) (compiler.Outcome, int32, bool, error) {
	op := st.Op.(*compiler.RecordOp)
	v := &VoiceEffect{Verb: "record", Timeout: op.Timeout, MaxLength: op.MaxLength}
	var err error
	if op.Transcribe != nil {
		v.Transcribe, err = r.evalBool(op.Transcribe)
	}
	return r.voice(v, err, true)
}

func resultRecord(_ *run, st *compiler.State, fr *Frame, res Result) compiler.Outcome {
	fr.Outputs[st.Name] = output(st, compiler.RecordOutput{URL: res.RecordingURL, Duration: res.Duration, Transcript: res.Transcript,
		ID: res.RecordingID, Key: res.Digits})
	if res.Err != "" || res.RecordingURL == "" {
		return compiler.OutFailed
	}
	return compiler.OutRecorded
}

func execDial(r *run, st *compiler.State) (compiler.Outcome, int32, bool, error) {
	op := st.Op.(*compiler.DialOp)
	v := &VoiceEffect{Verb: "dial", Timeout: op.Timeout}
	err := r.evalStrings(strField{op.Number, &v.Number}, strField{op.CallerID, &v.CallerID})
	if err == nil && op.Record != nil {
		v.Record, err = r.evalBool(op.Record)
	}
	return r.voice(v, err, true)
}

func resultDial(_ *run, st *compiler.State, fr *Frame, res Result) compiler.Outcome {
	fr.Outputs[st.Name] = output(st, compiler.DialOutput{Status: res.DialStatus, Duration: res.Duration})
	switch res.DialStatus {
	case "answered", "completed":
		return compiler.OutAnswered
	case "no_answer", "no-answer":
		return compiler.OutNoAnswer
	case "busy":
		return compiler.OutBusy
	}
	return compiler.OutFailed
}

func execHangup(r *run, _ *compiler.State) (compiler.Outcome, int32, bool, error) {
	r.emit(Effect{Kind: EffectVoice, Voice: &VoiceEffect{Verb: "hangup"}})
	r.end(StatusEnded, "hangup")
	return 0, -1, true, nil
}

// voice emits a call instruction built without error; one that waits
// records a wait for its result.
func (r *run) voice(v *VoiceEffect, err error, waits bool) (compiler.Outcome, int32, bool, error) {
	if err != nil {
		return 0, -1, false, err
	}
	if !waits {
		r.emit(Effect{Kind: EffectVoice, Voice: v})
		return compiler.OutNext, -1, false, nil
	}
	return r.emitAwaited(Effect{Kind: EffectVoice, Voice: v}, WaitVoice)
}

// strField is a string expression and where its value goes.
type strField struct {
	e   *compiler.Expr
	dst *string
}

// evalStrings evaluates fields in order, stopping at the first error; a
// nil expression leaves "".
func (r *run) evalStrings(fields ...strField) error {
	for _, f := range fields {
		s, err := r.evalString(f.e)
		if err != nil {
			return err
		}
		*f.dst = s
	}
	return nil
}

func (r *run) evalInt(e *compiler.Expr) (int, error) {
	if e == nil {
		return 0, nil
	}
	n, err := r.evalNumber(e)
	return toInt(n), err
}
