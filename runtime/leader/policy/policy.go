// Package policy is how the runtime runs the router core: the activities,
// reservation timeout, wrap-up, missed offers, re-offers and worker
// capacity that `serve` uses unless told otherwise. The router leader (runtime/leader)
// and the flow test runner (flowtest) build their routers from it, so a
// routing test sees what production does.
package policy

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/switchboard-dev/switchboard/compiler"
	"github.com/switchboard-dev/switchboard/runtime/router"
)

// Config configures the task router the runtime runs.
type Config struct {
	// Activities: name → available. Default: DefaultActivities.
	Activities map[string]bool
	// ReservationTimeout: an offer not accepted in time goes to the next
	// worker (default 30s).
	ReservationTimeout time.Duration
	// WrapUp completes a wrapping task automatically after this long (0:
	// wrap-up lasts until the agent completes the task).
	WrapUp time.Duration
	// MissedLimit consecutive rejected or timed-out offers move a worker to
	// MissedActivity (defaults 3 and "away"; a negative limit disables it).
	MissedLimit    int
	MissedActivity string
	// ReofferAfter is how long a worker who declined a task (rejected it,
	// let the offer time out, or handed it over cold) is kept from it; a
	// task nobody else took is then offered to them again (default 2m; a
	// negative value keeps them from it for good).
	ReofferAfter time.Duration
	// StatsWindow is the window of the cumulative statistics (default 1h)
	// and ServiceLevels their wait-time buckets (default 20s, 60s, 300s).
	StatsWindow   time.Duration
	ServiceLevels []time.Duration
}

// DefaultActivities are the activities a worker may be in when none are
// configured: only available takes offers.
func DefaultActivities() map[string]bool {
	return map[string]bool{"available": true, "break": false, "busy": false, "away": false, "offline": false}
}

// DefaultReservationTimeout is how long an offer waits for an answer when
// no timeout is configured.
const DefaultReservationTimeout = 30 * time.Second

// DefaultMissedLimit is how many offers in a row a worker may reject or
// let time out before being set DefaultMissedActivity.
const (
	DefaultMissedLimit    = 3
	DefaultMissedActivity = "away"
)

// DefaultReofferAfter is how long a declined task waits for someone else
// before it may go back to whoever declined it: long enough that an agent
// who said no is not asked again at once, short enough that a task nobody
// else can take is seen again well before a flow's usual enqueue timeout.
const DefaultReofferAfter = 2 * time.Minute

// DefaultCapacity is a worker's capacity when none is given.
var DefaultCapacity = map[string]int{"chat": 3, "voice": 1, "email": 5}

// WithDefaults fills what c leaves out.
func (c Config) WithDefaults() Config {
	if c.Activities == nil {
		c.Activities = DefaultActivities()
	}
	if c.ReservationTimeout == 0 {
		c.ReservationTimeout = DefaultReservationTimeout
	}
	if c.MissedLimit == 0 {
		c.MissedLimit = DefaultMissedLimit
	}
	if c.MissedActivity == "" {
		c.MissedActivity = DefaultMissedActivity
	}
	if c.ReofferAfter == 0 {
		c.ReofferAfter = DefaultReofferAfter
	}
	if c.StatsWindow == 0 {
		c.StatsWindow = time.Hour
	}
	if c.ServiceLevels == nil {
		c.ServiceLevels = []time.Duration{20 * time.Second, time.Minute, 5 * time.Minute}
	}
	return c
}

// Options are the router's options for c (after WithDefaults).
func (c Config) Options() []router.Option {
	opts := []router.Option{
		router.WithActivities(c.Activities),
		router.WithReservationTimeout(c.ReservationTimeout),
		router.WithWrapUp(c.WrapUp),
	}
	if c.MissedLimit > 0 {
		opts = append(opts, router.WithMissedLimit(c.MissedLimit, c.MissedActivity))
	}
	if c.ReofferAfter > 0 {
		opts = append(opts, router.WithReofferAfter(c.ReofferAfter))
	}
	return opts
}

// New returns a router for prog run as c says (after WithDefaults), with
// the extra options.
func (c Config) New(prog *compiler.Program, extra ...router.Option) *router.Router {
	return router.New(prog, append(c.Options(), extra...)...)
}

// CheckActivity refuses an activity the configuration does not know: the
// router would take it as unavailable, and the worker would silently never
// get offers.
func (c Config) CheckActivity(name string) error {
	if _, ok := c.Activities[name]; !ok {
		return fmt.Errorf("unknown activity %q (known: %s)", name, ActivityNames(c.Activities))
	}
	return nil
}

// ActivityNames lists the activities of m, sorted, as a JSON list.
func ActivityNames(m map[string]bool) string {
	b, _ := json.Marshal(slices.Sorted(maps.Keys(m)))
	return string(b)
}
