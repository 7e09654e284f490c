package engine

import "github.com/switchboard-dev/switchboard/compiler"

func init() { register("set", &executor{exec: execSet}) }

func execSet(r *run, st *compiler.State) (compiler.Outcome, int32, bool, error) {
	fr := r.frame()
	types := varTypes(r.flow())
	for _, a := range st.Op.(*compiler.SetOp).Assign {
		v, err := r.eval(a.Value) // later assignments see earlier ones
		if err != nil {
			return 0, -1, false, err
		}
		fr.Vars[a.Name] = coerce(v, types[a.Name])
	}
	return compiler.OutNext, -1, false, nil
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
