// Package router is the in-memory core of Switchboard's task router: the
// TaskRouter model of workers, queues, workflows, tasks and reservations,
// as a pure, deterministic library. It starts no goroutines, reads no clock
// (every call takes `now`) and does no I/O; every call returns what
// happened as a list of Events, which the runtime persists and delivers.
// A Router is not safe for concurrent use: the runtime's router leader
// drives it from one goroutine.
//
// # Model
//
// A worker has attributes, an activity (available or not, see
// WithActivities) and a capacity per task channel (voice 1, chat 3, …).
// Pending, accepted and wrapping reservations all count against capacity.
// A queue (compiler.Queue) selects its members with its Workers
// expression; the router evaluates that expression once per (worker,
// queue) whenever the worker changes (AddWorker, SetAttributes,
// SetActivity) or the program does (SetProgram) and keeps the result as
// per-queue member sets, together with the worker's OrderBy value for
// `order EXPR asc|desc` queues. Expressions are never evaluated per task
// to find workers.
//
// Enqueue evaluates the workflow's filters in order (first match wins, else
// the default) to get the task's target chain: the filter's targets followed
// by the default. The task waits in its current target — a queue, or a
// known worker (`worker EXPR`) — ordered by priority (higher first) then age
// (older first, age kept across escalations). Tick moves tasks whose target
// timed out to the next target of the chain. A known-worker target whose
// expression names no worker is skipped at once; one that the worker
// rejects waits for its timeout. When the chain runs out the task stays in
// the default target.
//
// Assignment keeps one fixpoint: after every call, no waiting task could be
// offered to a ready worker (available, spare capacity on the task's
// channel, member of the task's queue, not having rejected the task nor
// handing it over, queue below its MaxReserved). Two moves restore it:
//
//   - a task arrives (enqueue, escalation, rejection, transfer, restore,
//     throttle released):
//     the queue's strategy chooses among the queue's ready members for the
//     task's channel — longest_idle (least recently given work), least_busy
//     (fewest tasks held), round_robin (next member, in the order workers
//     were added, after the last one served), or expr (the cached OrderBy
//     value, asc or desc, workers without a value last); other ties go to
//     the longest idle, then to the worker added first;
//   - a worker gains capacity or availability (complete, cancel, reject,
//     SetActivity, SetCapacity, membership change): it takes the best
//     (priority, age) waiting task across the heads of its queues and of
//     its own known-worker list, for each channel it has room on, skipping
//     tasks it rejected; it repeats while it has room;
//   - a worker's exclusion from a task lapses (WithReofferAfter): the task,
//     if still waiting, is offered as if it had just arrived.
//
// A worker that rejects a task or lets its reservation time out is not
// offered that task again (with WithReofferAfter, not before that time has
// passed); the task goes to the next eligible worker.
// MaxReserved caps the number of pending (unanswered) reservations a queue
// has out at once; when one is answered the queue is served again.
// (TaskRouter's MaxReservedWorkers instead reserves several workers for one
// task at once; this router keeps one reservation per task.)
//
// # Lifecycle
//
// A task is waiting (in its current target), pending (offered to one
// worker), assigned (accepted), or wrapping (WrapUp: the conversation is
// over, the worker's capacity stays held), until Complete or Cancel ends
// it. WithWrapUp completes a wrap-up automatically (Reason
// "wrapup_timeout"); WithReservationTimeout times out unanswered offers;
// WithMissedLimit moves a worker who misses n offers in a row (rejected or
// timed out) to an unavailable activity; WithReofferAfter lets a worker be
// offered again, after a while, a task it declined that nobody took. Every
// deadline (escalation, reservation timeout, wrap-up end, transfer
// timeout, exclusion lapse) sits in one timer heap that Tick drains and
// NextDeadline reads.
//
// Transfer hands an assigned task to a queue or a worker, keeping its id,
// age and priority. Cold: the worker's reservation ends at once and the
// task waits in the destination. Warm: the worker keeps the task and its
// capacity until the destination accepts; the task waits in the
// destination meanwhile (never offered back to that worker), and if the
// destination worker declines or the transfer's timeout passes, the task
// is assigned to the worker again (task.transfer_failed). So a task has at
// most one pending reservation, plus, during a warm transfer, the accepted
// one of the worker handing it over.
//
// Restore rebuilds the router on leader takeover from stored tasks:
// assigned and wrapping ones go back to their workers as they were,
// waiting ones are placed again with their created time (their target
// chain restarts) and offered like new ones, so the fixpoint holds.
//
// Worker changes are events too (worker.created, worker.activity, …), so
// the event log alone replays the router's state.
//
// # Statistics
//
// Stats gives the real-time state per queue and workflow; it walks every
// task (O(N)) and is meant for a dashboard's refresh, not every call.
// Cumulative is a separate, pure accumulator fed with the events over a
// sliding window of 60 buckets: tasks entered, accepted, abandoned,
// completed, reservations rejected and timed out, average and p90 wait,
// service levels. Events carry what it needs (Workflow, Wait, Reason
// "abandoned"), so it keeps no per-task state and its memory is bounded.
//
// # Complexity
//
// Each queue keeps its waiting tasks in one binary heap per channel, keyed by
// (priority, age, sequence) — the keys sit in the heap's array, so sifting
// does not chase task pointers — and the set of its members that are
// ready, per channel. Each worker keeps the list of queues it belongs to. So:
//
//   - a worker freeing capacity looks at the heap heads of its own queues:
//     O(Q·C + k) heap nodes, where Q is its number of queues, C its channels
//     and k the number of tasks it rejected (or is handing over in a warm
//     transfer) that sit at the top of those heaps (the search descends
//     only below such nodes), then
//     O(log N) to pop the chosen task;
//   - a task arriving scans only the ready members of its queue for its
//     channel: O(R), and O(1) when every member is busy;
//   - readiness changes update the worker's Q ready sets: O(Q·C).
//
// None of these depend on the number of waiting tasks N except the
// O(log N) heap operation, which is why BenchmarkAssign stays flat from
// 1,000 to 100,000 waiting tasks. Deadlines sit in one heap of timers, so
// Tick costs O(log N) per expired deadline; a deadline made moot (the offer
// answered, the task completed) stays in the heap until it comes due and is
// then dropped, so the heap holds at most the deadlines of the last
// timeout period.
package router
