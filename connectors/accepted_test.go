package connectors_test

import (
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-dev/switchboard/connectors"
)

func TestAccepted(t *testing.T) {
	now := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	type step struct {
		advance time.Duration
		put     string // key=id
		get     string
		want    string // "" when Get must miss
	}
	for _, tc := range []struct {
		name  string
		ttl   time.Duration
		max   int
		steps []step
	}{
		{"a miss", time.Hour, 10, []step{{get: "a#0"}}},
		{"put then get", time.Hour, 10, []step{{put: "a#0=m1"}, {get: "a#0", want: "m1"}, {get: "a#1"}}},
		{"put again replaces", time.Hour, 10, []step{{put: "a#0=m1"}, {put: "a#0=m2"}, {get: "a#0", want: "m2"}}},
		{"within ttl", time.Hour, 10, []step{{put: "a#0=m1"}, {advance: time.Hour, get: "a#0", want: "m1"}}},
		{"beyond ttl", time.Hour, 10, []step{{put: "a#0=m1"}, {advance: time.Hour + time.Second, get: "a#0"}}},
		{"full: the expired go first", time.Hour, 2, []step{
			{put: "a#0=m1"}, {advance: 2 * time.Hour, put: "b#0=m2"}, {put: "c#0=m3"},
			{get: "a#0"}, {get: "b#0", want: "m2"}, {get: "c#0", want: "m3"},
		}},
		{"full of fresh ones: the oldest goes", time.Hour, 2, []step{
			{put: "a#0=m1"}, {put: "b#0=m2"}, {put: "c#0=m3"},
			{get: "a#0"}, {get: "b#0", want: "m2"}, {get: "c#0", want: "m3"},
		}},
		{"a key put again is as young as its last put", time.Hour, 2, []step{
			{put: "a#0=m1"}, {put: "b#0=m2"}, {put: "a#0=m3"}, {put: "c#0=m4"},
			{get: "a#0", want: "m3"}, {get: "b#0"}, {get: "c#0", want: "m4"},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := connectors.NewAccepted(tc.ttl, tc.max, clock)
			for i, s := range tc.steps {
				now = now.Add(s.advance)
				if s.put != "" {
					k, id, _ := strings.Cut(s.put, "=")
					a.Put(k, id)
				}
				if s.get == "" {
					continue
				}
				id, ok := a.Get(s.get)
				if ok != (s.want != "") || id != s.want {
					t.Errorf("step %d: Get(%q) = %q, %v; want %q", i, s.get, id, ok, s.want)
				}
			}
			if n := a.Len(); n > tc.max {
				t.Errorf("%d remembered, max %d", n, tc.max)
			}
		})
	}
}

// TestAcceptedBounded: many puts keep the memory within max, and the
// newest entries are the ones remembered.
func TestAcceptedBounded(t *testing.T) {
	a := connectors.NewAccepted(24*time.Hour, 1000, nil)
	for i := range 10_000 {
		a.Put("k#"+strconv.Itoa(i), strconv.Itoa(i))
	}
	if n := a.Len(); n != 1000 {
		t.Errorf("%d remembered, want 1000", n)
	}
	if _, ok := a.Get("k#8999"); ok {
		t.Error("an old entry is still remembered")
	}
	if id, ok := a.Get("k#9999"); !ok || id != "9999" {
		t.Errorf("the newest entry: %q %v", id, ok)
	}
}

func TestAcceptedConcurrent(t *testing.T) {
	a := connectors.NewAccepted(time.Hour, 100, nil)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 500 {
				k := strconv.Itoa(g) + "#" + strconv.Itoa(i)
				a.Put(k, k)
				if id, ok := a.Get(k); ok && id != k {
					t.Errorf("Get(%q) = %q", k, id)
				}
			}
		}()
	}
	wg.Wait()
	if n := a.Len(); n > 100 {
		t.Errorf("%d remembered, max 100", n)
	}
}
