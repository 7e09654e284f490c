package engine

import (
	"fmt"

	"github.com/switchboard-dev/switchboard/compiler"
)

func init() { register("subflow", &executor{exec: execSubflow}) }

// execSubflow pushes the subflow's frame and runs its first state; the
// subflow's end brings the caller back to this state with outcome done
// (finishFrame), its failure with outcome error (stepError).
func execSubflow(r *run, st *compiler.State) (compiler.Outcome, int32, bool, error) {
	op := st.Op.(*compiler.SubflowOp)
	inputs, err := r.evalMap(op.Inputs)
	if err != nil {
		return 0, -1, false, err
	}
	sub := r.prog.Flow(op.Flow)
	if sub == nil {
		return 0, -1, false, fmt.Errorf("%w %q", ErrUnknownFlow, op.Flow)
	}
	fr, err := r.newFrame(sub, inputs)
	if err != nil {
		return 0, -1, false, err
	}
	r.x.Frames = append(r.x.Frames, fr)
	r.x.Status = StatusRunning
	return r.exec()
}
