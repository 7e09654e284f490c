package engine

import (
	"encoding/json"
	"fmt"
	"reflect"

	"github.com/switchboard-dev/switchboard/compiler"
)

// What the engine does for each step kind lives in kind_NAME.go, beside
// the kind's description in compiler/kind_NAME.go: an executor registered
// under the kind's name.

// executor runs the states of one kind.
type executor struct {
	// exec performs the state. An instantaneous state returns the outcome
	// to take (or a guard's target); a waiting one emits its effects,
	// records the wait and returns waits = true.
	exec func(r *run, st *compiler.State) (o compiler.Outcome, guard int32, waits bool, err error)
	// result stores what the state's effect produced and picks the
	// outcome it leads to (it may set r.guard for a guard's target). Nil:
	// the kind waits for no effect's result.
	result func(r *run, st *compiler.State, fr *Frame, res Result) compiler.Outcome
	// inbound takes a message from the customer while the state waits for
	// a reply (WaitReply), and picks the outcome (or guard) to take.
	inbound func(r *run, st *compiler.State, fr *Frame, msg compiler.Message)
	// task takes the end of the state's routed task (WaitTask) and picks
	// the outcome.
	task func(r *run, st *compiler.State, fr *Frame, t *TaskResult) compiler.Outcome
}

// executors are indexed by compiler.Kind.
var executors []*executor

func register(name string, e *executor) {
	k, ok := compiler.KindNamed(name)
	if !ok {
		panic("engine: no step kind " + name)
	}
	for len(executors) <= int(k) {
		executors = append(executors, nil)
	}
	if executors[k] != nil {
		panic("engine: two executors for step kind " + name)
	}
	executors[k] = e
}

func executorOf(k compiler.Kind) *executor {
	if int(k) < len(executors) {
		return executors[k]
	}
	return nil
}

// exec performs the current state with its kind's executor.
func (r *run) exec() (o compiler.Outcome, guard int32, waits bool, err error) {
	st := r.state()
	if !r.spend() {
		return 0, -1, true, nil // the execution failed: nothing more runs
	}
	r.visit("")
	e := executorOf(st.Kind)
	if e == nil {
		return 0, -1, false, fmt.Errorf("step kind %s cannot run", st.Kind)
	}
	return e.exec(r, st)
}

// Output is what a step left behind: a value of its kind's output type
// (compiler.HTTPOutput for http, …). It encodes as {"KIND": value}.
type Output struct {
	Kind  string
	Value any
}

func output(st *compiler.State, v any) *Output { return &Output{Kind: st.Kind.String(), Value: v} }

// value is the output as expressions see it.
func (o *Output) value() any { return o.Value }

// MarshalJSON encodes the output as one field named by its kind.
func (o *Output) MarshalJSON() ([]byte, error) {
	if o.Kind == "" {
		return []byte("{}"), nil
	}
	return json.Marshal(map[string]any{o.Kind: o.Value})
}

// UnmarshalJSON decodes an output by its kind's output type.
func (o *Output) UnmarshalJSON(b []byte) error {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	if len(m) > 1 {
		return fmt.Errorf("engine: an output has one field, the step's kind; got %d", len(m))
	}
	for name, raw := range m {
		k, ok := compiler.KindNamed(name)
		if !ok || compiler.OutputOf(k) == nil {
			return fmt.Errorf("engine: no output for step kind %q", name)
		}
		v, err := decodeAs(compiler.OutputOf(k), raw)
		if err != nil {
			return fmt.Errorf("engine: %s output: %w", name, err)
		}
		o.Kind, o.Value = name, v
	}
	return nil
}

// decodeAs decodes raw into a value of zero's type.
func decodeAs(zero any, raw json.RawMessage) (any, error) {
	p := reflect.New(reflect.TypeOf(zero))
	if err := json.Unmarshal(raw, p.Interface()); err != nil {
		return nil, err
	}
	return p.Elem().Interface(), nil
}

// guards returns the first guard of st that holds in env: its index and
// target, or -1.
func (r *run) guards(st *compiler.State, env map[string]any) (int, int32, error) {
	for i, g := range st.Guards {
		ok, err := r.truth(g.Cond, env)
		if err != nil {
			return -1, -1, err
		}
		if ok {
			return i, g.Target, nil
		}
	}
	return -1, -1, nil
}
