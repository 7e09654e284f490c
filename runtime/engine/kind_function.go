package engine

import "github.com/switchboard-dev/switchboard/compiler"

func init() { register("function", &executor{exec: execFunction, result: resultFunction}) }

func execFunction(r *run, st *compiler.State) (compiler.Outcome, int32, bool, error) {
	op := st.Op.(*compiler.FunctionOp)
	args, err := r.evalMap(op.Args)
	if err != nil {
		return 0, -1, false, err
	}
	timeout := op.Timeout
	if timeout == 0 {
		timeout = DefaultFunctionTimeout
	}
	return r.emitAwaited(Effect{Kind: EffectFunction, Function: &FunctionEffect{Name: op.Name, Args: args, Timeout: timeout},
		NotBefore: r.backoff(st)}, WaitFunction)
}

func resultFunction(r *run, st *compiler.State, fr *Frame, res Result) compiler.Outcome {
	fr.Outputs[st.Name] = output(st, compiler.FunctionOutput{Result: res.Value})
	r.countFailure(fr, st, res.Err != "")
	if res.Err != "" {
		return compiler.OutError
	}
	return compiler.OutOK
}
