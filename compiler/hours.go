package compiler

import (
	"time"

	_ "time/tzdata" // time zones must resolve on machines without a zoneinfo database

	"github.com/switchboard-dev/switchboard/diag"
)

// Hours is a weekly opening schedule in a time zone, with closed days.
type Hours struct {
	Name     string
	TimeZone string
	Location *time.Location
	Weekly   [7][]Range      // indexed by time.Weekday
	Closed   map[string]bool // "2006-01-02" in Location
	Span     diag.Span
}

// Range is an opening interval in minutes after midnight, [From, To).
type Range struct{ From, To int }

// Open reports whether the hours are open at t. It is pure: the caller
// supplies the time.
func (h *Hours) Open(t time.Time) bool {
	local := t.In(h.Location)
	if h.Closed[local.Format("2006-01-02")] {
		return false
	}
	m := local.Hour()*60 + local.Minute()
	for _, r := range h.Weekly[local.Weekday()] {
		if m >= r.From && m < r.To {
			return true
		}
	}
	return false
}
