package engine

import "github.com/switchboard-dev/switchboard/compiler"

func init() { register("switch", &executor{exec: execSwitch}) }

func execSwitch(r *run, st *compiler.State) (compiler.Outcome, int32, bool, error) {
	i, target, err := r.guards(st, r.env(nil))
	if err != nil {
		return 0, -1, false, err
	}
	if i >= 0 {
		r.guardIndex = i
	}
	return compiler.OutDefault, target, false, nil
}
