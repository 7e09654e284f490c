package engine

import "github.com/switchboard-dev/switchboard/compiler"

func init() { register("ask", &executor{exec: execAsk, inbound: inboundAsk}) }

func execAsk(r *run, st *compiler.State) (compiler.Outcome, int32, bool, error) {
	op := st.Op.(*compiler.AskOp)
	send, err := r.sendEffect(&op.SendOp)
	if err != nil {
		return 0, -1, false, err
	}
	r.emit(Effect{Kind: EffectSend, Send: send})
	r.wait(WaitReply, r.nextID(), op.Timeout)
	r.x.Wait.Choices = send.Choices
	return 0, -1, true, nil
}

// inboundAsk takes the reply: the first guard that holds on it, or reply.
func inboundAsk(r *run, st *compiler.State, fr *Frame, msg compiler.Message) {
	fr.Outputs[st.Name] = output(st, compiler.AskOutput{Reply: msg})
	i, target, err := r.guards(st, r.env(map[string]any{compiler.NameReply: msg}))
	if err != nil {
		r.fail(err)
		return
	}
	r.pending, r.havePending, r.guard, r.guardIndex = compiler.OutReply, true, target, i
}
