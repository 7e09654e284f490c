package engine

import (
	"fmt"

	"github.com/switchboard-dev/switchboard/compiler"
)

func init() { register("send", &executor{exec: execSend, result: resultSend}) }

// execSend sends at once, unless the step handles a failed delivery: then
// it waits for the channel's answer.
func execSend(r *run, st *compiler.State) (compiler.Outcome, int32, bool, error) {
	send, err := r.sendEffect(st.Op.(*compiler.SendOp))
	if err != nil {
		return 0, -1, false, err
	}
	if st.Next[compiler.OutFailed] == compiler.NoTarget {
		r.emit(Effect{Kind: EffectSend, Send: send})
		return compiler.OutNext, -1, false, nil
	}
	return r.emitAwaited(Effect{Kind: EffectSend, Send: send}, WaitSend)
}

func resultSend(_ *run, _ *compiler.State, _ *Frame, res Result) compiler.Outcome {
	if res.Err != "" {
		return compiler.OutFailed
	}
	return compiler.OutNext
}

func (r *run) sendEffect(op *compiler.SendOp) (*SendEffect, error) {
	text, err := r.evalString(op.Text)
	if err != nil {
		return nil, err
	}
	s := &SendEffect{Text: text}
	if s.To, err = r.evalString(op.To); err != nil {
		return nil, err
	}
	if s.Channel, err = r.evalString(op.Channel); err != nil {
		return nil, err
	}
	media, err := r.eval(op.Media)
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
		return nil, fmt.Errorf("%s: media must be a URL or a list of URLs, got %T", op.Media.Span, media)
	}
	if err := r.choices(op, s); err != nil {
		return nil, err
	}
	return s, r.template(op, s)
}

// template adds the step's template, when it names one.
func (r *run) template(op *compiler.SendOp, s *SendEffect) error {
	name, err := r.evalString(op.Template)
	if err != nil || name == "" {
		return err
	}
	t := &Template{Name: name}
	if t.Language, err = r.evalString(op.TemplateLanguage); err != nil {
		return err
	}
	vars, err := r.evalMap(op.Variables)
	if err != nil {
		return err
	}
	for k, v := range vars {
		if t.Variables == nil {
			t.Variables = map[string]string{}
		}
		t.Variables[k] = compiler.Stringify(v)
	}
	s.Template = t
	return nil
}
