package engine

import (
	"encoding/json"
	"fmt"

	"github.com/switchboard-dev/switchboard/compiler"
)

// exec performs the current state. An instantaneous state returns the
// outcome to take (or a guard's target); a waiting one emits its effects,
// records the wait and returns waits = true.
func (r *run) exec() (o compiler.Outcome, guard int32, waits bool, err error) {
	st := r.state()
	guard = -1
	if !r.spend() {
		return 0, -1, true, nil // the execution failed: nothing more runs
	}
	r.visit("")
	switch st.Kind {
	case compiler.KindSend:
		send, err := r.sendEffect(st)
		if err != nil {
			return 0, -1, false, err
		}
		if st.Next[compiler.OutFailed] == compiler.NoTarget {
			r.emit(Effect{Kind: EffectSend, Send: send})
			return compiler.OutNext, -1, false, nil
		}
		id := r.nextID()
		r.emit(Effect{Kind: EffectSend, Send: send, WaitID: id})
		r.wait(WaitSend, id, 0)
		return 0, -1, true, nil

	case compiler.KindAsk:
		send, err := r.sendEffect(st)
		if err != nil {
			return 0, -1, false, err
		}
		r.emit(Effect{Kind: EffectSend, Send: send})
		r.wait(WaitReply, r.nextID(), st.Timeout)
		return 0, -1, true, nil

	case compiler.KindSwitch:
		env := r.env(nil)
		for i, g := range st.Guards {
			ok, err := r.truth(g.Cond, env)
			if err != nil {
				return 0, -1, false, err
			}
			if ok {
				r.guardIndex = i
				return compiler.OutDefault, g.Target, false, nil
			}
		}
		return compiler.OutDefault, -1, false, nil

	case compiler.KindSet:
		fr := r.frame()
		types := varTypes(r.flow())
		for _, a := range st.Assign {
			v, err := r.eval(a.Value) // later assignments see earlier ones
			if err != nil {
				return 0, -1, false, err
			}
			fr.Vars[a.Name] = coerce(v, types[a.Name])
		}
		return compiler.OutNext, -1, false, nil

	case compiler.KindHTTP:
		h, err := r.httpEffect(st)
		if err != nil {
			return 0, -1, false, err
		}
		id := r.nextID()
		r.emit(Effect{Kind: EffectHTTP, HTTP: h, WaitID: id, NotBefore: r.backoff(st)})
		r.wait(WaitHTTP, id, 0)
		return 0, -1, true, nil

	case compiler.KindFunction:
		args, err := r.evalMap(st.Args)
		if err != nil {
			return 0, -1, false, err
		}
		timeout := st.Timeout
		if timeout == 0 {
			timeout = DefaultFunctionTimeout
		}
		id := r.nextID()
		r.emit(Effect{Kind: EffectFunction, Function: &FunctionEffect{Name: st.Target, Args: args, Timeout: timeout}, WaitID: id,
			NotBefore: r.backoff(st)})
		r.wait(WaitFunction, id, 0)
		return 0, -1, true, nil

	case compiler.KindEnqueue:
		e, err := r.enqueueEffect(st)
		if err != nil {
			return 0, -1, false, err
		}
		r.frame().Outputs[st.Name] = &Output{Enqueue: &compiler.EnqueueOutput{Task: compiler.TaskInfo{ID: e.TaskID, Attributes: e.Attributes}}}
		r.emit(Effect{Kind: EffectEnqueue, Enqueue: e, WaitID: e.TaskID})
		r.wait(WaitTask, e.TaskID, st.Timeout)
		r.x.Wait.Task = e.TaskID
		return 0, -1, true, nil

	case compiler.KindSubflow:
		inputs, err := r.evalMap(st.Args)
		if err != nil {
			return 0, -1, false, err
		}
		sub := r.prog.Flow(st.Target)
		if sub == nil {
			return 0, -1, false, fmt.Errorf("%w %q", ErrUnknownFlow, st.Target)
		}
		fr, err := r.newFrame(sub, inputs)
		if err != nil {
			return 0, -1, false, err
		}
		r.x.Frames = append(r.x.Frames, fr)
		// The subflow's first state runs next; its end brings the caller
		// back to this state with outcome done (finishFrame).
		return r.runSubflowStart()

	case compiler.KindWait:
		id := r.nextID()
		r.wait(WaitTimer, id, st.Timeout)
		return 0, -1, true, nil

	case compiler.KindSay, compiler.KindPlay:
		v, err := r.voiceEffect(st)
		if err != nil {
			return 0, -1, false, err
		}
		r.emit(Effect{Kind: EffectVoice, Voice: v})
		return compiler.OutNext, -1, false, nil

	case compiler.KindGather, compiler.KindRecord, compiler.KindDial:
		v, err := r.voiceEffect(st)
		if err != nil {
			return 0, -1, false, err
		}
		id := r.nextID()
		r.emit(Effect{Kind: EffectVoice, Voice: v, WaitID: id})
		r.wait(WaitVoice, id, 0)
		return 0, -1, true, nil

	case compiler.KindHangup:
		r.emit(Effect{Kind: EffectVoice, Voice: &VoiceEffect{Verb: "hangup"}})
		r.end(StatusEnded, "hangup")
		return 0, -1, true, nil
	}
	return 0, -1, false, fmt.Errorf("step kind %s cannot run", st.Kind)
}

// runSubflowStart hands control to the subflow just pushed: the loop goes
// on from its first state.
func (r *run) runSubflowStart() (compiler.Outcome, int32, bool, error) {
	r.x.Status = StatusRunning
	o, guard, waits, err := r.exec()
	return o, guard, waits, err
}

func varTypes(f *compiler.Flow) map[string]compiler.Type {
	types := make(map[string]compiler.Type, len(f.Vars)+len(f.Outputs))
	for _, group := range [][]compiler.Var{f.Vars, f.Inputs, f.Outputs} {
		for _, v := range group {
			types[v.Name] = v.Type
		}
	}
	return types
}

func (r *run) sendEffect(st *compiler.State) (*SendEffect, error) {
	text, err := r.evalString(st.Text)
	if err != nil {
		return nil, err
	}
	s := &SendEffect{Text: text}
	if s.To, err = r.evalString(st.To); err != nil {
		return nil, err
	}
	if s.Channel, err = r.evalString(st.Channel); err != nil {
		return nil, err
	}
	media, err := r.eval(st.Media)
	if err != nil {
		return nil, err
	}
	switch m := media.(type) {
	case nil:
	case string:
		if m != "" {
			s.Media = []string{m}
		}
	case []any:
		for _, x := range m {
			s.Media = append(s.Media, compiler.Stringify(x))
		}
	case []string:
		s.Media = m
	default:
		return nil, fmt.Errorf("%s: media must be a URL or a list of URLs, got %T", st.Media.Span, media)
	}
	return s, nil
}

func (r *run) httpEffect(st *compiler.State) (*HTTPEffect, error) {
	u, err := r.evalString(st.URL)
	if err != nil {
		return nil, err
	}
	h := &HTTPEffect{Method: st.Method, URL: u, Timeout: st.Timeout}
	if h.Timeout == 0 {
		h.Timeout = DefaultHTTPTimeout
	}
	headers, err := r.evalMap(st.Headers)
	if err != nil {
		return nil, err
	}
	h.Headers = stringMap(headers)
	switch st.BodyAs {
	case "json":
		v, err := r.eval(st.Body)
		if err != nil {
			return nil, err
		}
		b, err := json.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", st.Body.Span, err)
		}
		h.Body, h.ContentType = string(b), "application/json"
	case "form":
		m, err := r.evalMap(st.Body)
		if err != nil {
			return nil, err
		}
		h.Body, h.ContentType = formBody(m), "application/x-www-form-urlencoded"
	case "body":
		if h.Body, err = r.evalString(st.Body); err != nil {
			return nil, err
		}
		h.ContentType = "text/plain; charset=utf-8"
	}
	return h, nil
}

func (r *run) enqueueEffect(st *compiler.State) (*EnqueueEffect, error) {
	attrs, err := r.evalMap(st.Attributes)
	if err != nil {
		return nil, err
	}
	prio, err := r.evalNumber(st.Priority)
	if err != nil {
		return nil, err
	}
	channel, err := r.evalString(st.Channel)
	if err != nil {
		return nil, err
	}
	if channel == "" {
		channel = r.taskChannel()
	}
	return &EnqueueEffect{TaskID: r.nextID(), Workflow: st.Target, Attributes: attrs, Priority: prio, Channel: channel}, nil
}

// taskChannel is the router channel a task uses by default: voice for
// calls, email for email, chat for every messaging channel.
func (r *run) taskChannel() string {
	if r.prog.Flow(r.x.Flow).Trigger == compiler.TriggerCall {
		return "voice"
	}
	switch r.x.Trigger.Channel {
	case "voice":
		return "voice"
	case "email":
		return "email"
	}
	return "chat"
}

func (r *run) voiceEffect(st *compiler.State) (*VoiceEffect, error) {
	v := &VoiceEffect{Verb: st.Kind.String(), Timeout: st.Timeout, MaxLength: st.MaxLength}
	var err error
	switch st.Kind {
	case compiler.KindSay, compiler.KindGather:
		v.Text, err = r.evalString(st.Text)
	case compiler.KindPlay:
		v.URL, err = r.evalString(st.Text)
	case compiler.KindDial:
		v.Number, err = r.evalString(st.Text)
	}
	if err != nil {
		return nil, err
	}
	strs := []struct {
		e   *compiler.Expr
		dst *string
	}{{st.Voice, &v.Voice}, {st.Language, &v.Language}, {st.FinishOn, &v.FinishOn}, {st.CallerID, &v.CallerID}}
	for _, s := range strs {
		if *s.dst, err = r.evalString(s.e); err != nil {
			return nil, err
		}
	}
	if st.Loop != nil {
		n, err := r.evalNumber(st.Loop)
		if err != nil {
			return nil, err
		}
		v.Loop = toInt(n)
	}
	if st.Digits != nil {
		n, err := r.evalNumber(st.Digits)
		if err != nil {
			return nil, err
		}
		v.Digits = toInt(n)
	}
	if st.Speech != nil {
		if v.Speech, err = r.evalBool(st.Speech); err != nil {
			return nil, err
		}
	}
	if st.Kind == compiler.KindGather && st.ListensForSpeech {
		v.Speech = true
	}
	if st.Record != nil {
		b, err := r.evalBool(st.Record)
		if err != nil {
			return nil, err
		}
		if st.Kind == compiler.KindRecord {
			v.Transcribe = b
		} else {
			v.Record = b
		}
	}
	if st.Kind == compiler.KindGather && v.Timeout == 0 {
		v.Timeout = DefaultGatherTimeout
	}
	return v, nil
}
