package engine

import "github.com/switchboard-dev/switchboard/compiler"

func init() { register("enqueue", &executor{exec: execEnqueue, task: taskEnqueue}) }

func execEnqueue(r *run, st *compiler.State) (compiler.Outcome, int32, bool, error) {
	op := st.Op.(*compiler.EnqueueOp)
	e, err := r.enqueueEffect(op)
	if err != nil {
		return 0, -1, false, err
	}
	r.frame().Outputs[st.Name] = output(st, compiler.EnqueueOutput{Task: compiler.TaskInfo{ID: e.TaskID, Attributes: e.Attributes}})
	r.emit(Effect{Kind: EffectEnqueue, Enqueue: e, WaitID: e.TaskID})
	r.wait(WaitTask, e.TaskID, op.Timeout)
	r.x.Wait.Task = e.TaskID
	return 0, -1, true, nil
}

// taskEnqueue records where the task went and takes the outcome it ended
// with.
func taskEnqueue(_ *run, st *compiler.State, fr *Frame, t *TaskResult) compiler.Outcome {
	info := compiler.TaskInfo{ID: t.ID}
	if out, ok := fr.Outputs[st.Name]; ok {
		if e, ok := out.Value.(compiler.EnqueueOutput); ok {
			info = e.Task
		}
	}
	info.Queue, info.Worker = t.Queue, t.Worker
	fr.Outputs[st.Name] = output(st, compiler.EnqueueOutput{Task: info})
	switch t.Outcome {
	case compiler.OutCompleted, compiler.OutCanceled, compiler.OutFailed:
		return t.Outcome
	}
	return compiler.OutFailed
}

func (r *run) enqueueEffect(op *compiler.EnqueueOp) (*EnqueueEffect, error) {
	attrs, err := r.evalMap(op.Attributes)
	if err != nil {
		return nil, err
	}
	prio, err := r.evalNumber(op.Priority)
	if err != nil {
		return nil, err
	}
	channel, err := r.evalString(op.Channel)
	if err != nil {
		return nil, err
	}
	if channel == "" {
		channel = r.taskChannel()
	}
	return &EnqueueEffect{TaskID: r.nextID(), Workflow: op.Workflow, Attributes: attrs, Priority: prio, Channel: channel}, nil
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
