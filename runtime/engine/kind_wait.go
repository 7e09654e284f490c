package engine

import "github.com/switchboard-dev/switchboard/compiler"

// A wait step's timer firing takes next (resume, EventTimer).
func init() { register("wait", &executor{exec: execWait}) }

func execWait(r *run, st *compiler.State) (compiler.Outcome, int32, bool, error) {
	r.wait(WaitTimer, r.nextID(), st.Op.(*compiler.WaitOp).Duration)
	return 0, -1, true, nil
}
