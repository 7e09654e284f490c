package router

import (
	"testing"
	"time"

	"github.com/switchboard-dev/switchboard/compiler"
)

var t0 = time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)

func at(sec int) time.Time { return t0.Add(time.Duration(sec) * time.Second) }

func compile(tb testing.TB, src string) *compiler.Program {
	tb.Helper()
	prog, list := compiler.CompileSources([]compiler.Source{{Name: "r.flow", Src: []byte(src)}}, compiler.Options{})
	if prog == nil {
		tb.Fatalf("does not compile:\n%v", list)
	}
	return prog
}

const testProgram = `
queue english { workers "en" in worker.languages }
queue bahasa  { workers "id" in worker.languages }
queue vip     { workers worker.vip == true  order worker.level desc }
queue junior  { workers (worker.level ?? 0) < 5  order worker.level asc }
queue busy    { workers "en" in worker.languages  order least_busy }
queue rr      { workers "en" in worker.languages  order round_robin }
queue capped {
  workers "en" in worker.languages
  max_reserved 1
}

workflow support {
  when task.vip -> vip timeout 30s, then english
  when task.language == "id" -> bahasa timeout 2m priority 5, then english
  default english
}
workflow known {
  when task.last_worker != nil -> worker task.last_worker timeout 10s, then english
  default english
}
hours office {
  timezone "Asia/Jakarta"
  mon-fri 08:00-17:00
}
workflow hours_wf {
  when open(office) -> english
  default bahasa
}
workflow wf_busy   { default busy }
workflow wf_rr     { default rr }
workflow wf_vip    { default vip }
workflow wf_junior { default junior }
workflow wf_capped { default capped }
`

// check fails the test on an error: c.ok(r.Enqueue(…)).
type check struct{ tb testing.TB }

func (c check) ok(evs []Event, err error) []Event {
	c.tb.Helper()
	if err != nil {
		c.tb.Fatal(err)
	}
	return evs
}

// offers returns "task→worker" for each reservation created.
func offers(evs []Event) []string {
	var out []string
	for _, e := range evs {
		if e.Type == ReservationCreated {
			out = append(out, e.Task+"→"+e.Worker)
		}
	}
	return out
}

func resOf(evs []Event, task string) string {
	for _, e := range evs {
		if e.Type == ReservationCreated && e.Task == task {
			return e.Reservation
		}
	}
	return ""
}

func types(evs []Event) []EventType {
	var out []EventType
	for _, e := range evs {
		out = append(out, e.Type)
	}
	return out
}
