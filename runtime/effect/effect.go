// Package effect is the one interpreter of the engine's effects: what each
// kind means is written here once, and the runtime (switchboard serve),
// the flow test runner and the simulator differ only in what they do with
// that meaning.
//
// A step's effects are sorted by Apply into a Book: timers set and
// canceled, tasks enqueued and canceled, the end, and the effects to
// perform. Serve's book is Plan, which turns them into the rows of one
// store unit (the outbox, the timers, the tasks); the test runner's book
// keeps them in memory on a virtual clock. An effect to perform is then
// carried out by Perform through an IO: serve's is the connectors, an HTTP
// client and the registered functions; the tests' is their mocks. Voice
// verbs are performed by the conversation's connector when it is a
// connectors.CallPerformer, in serve as in the tests, so no effect runs in
// a test that serve cannot perform.
package effect

import (
	"github.com/switchboard-dev/switchboard/runtime/engine"
)

// Book receives a step's effects by what they mean. An error stops Apply.
type Book interface {
	SetTimer(e engine.Effect) error    // e.Timer fires at e.Timer.At unless canceled
	CancelTimer(e engine.Effect) error // e.Timer.ID no longer fires
	Enqueue(e engine.Effect) error     // e.Enqueue is a new task for the router
	CancelTask(e engine.Effect) error  // e.TaskID is withdrawn from the router
	End(e engine.Effect) error         // the execution is over (its status says it)
	// Perform takes an effect for Perform: a send, a request (http,
	// function) or a voice verb. When e.WaitID is set the execution waits
	// for its result.
	Perform(e engine.Effect) error
}

// Apply hands each effect to the book, in order.
func Apply(b Book, effects []engine.Effect) error {
	for _, e := range effects {
		var err error
		switch e.Kind {
		case engine.EffectSetTimer:
			err = b.SetTimer(e)
		case engine.EffectCancelTimer:
			err = b.CancelTimer(e)
		case engine.EffectEnqueue:
			err = b.Enqueue(e)
		case engine.EffectCancelTask:
			err = b.CancelTask(e)
		case engine.EffectEnd:
			err = b.End(e)
		default:
			err = b.Perform(e)
		}
		if err != nil {
			return err
		}
	}
	return nil
}
