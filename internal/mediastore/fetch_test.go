package mediastore_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-dev/switchboard/connectors"
	"github.com/switchboard-dev/switchboard/internal/mediastore"
)

// script answers a fetch's attempts in turn, keeping the file on a nil.
type script struct {
	mu       sync.Mutex
	s        *mediastore.Store
	answers  []error
	attempts int
	at       []time.Time
	failed   chan error
}

func (sc *script) fetch(_ context.Context, id string) error {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	sc.at = append(sc.at, time.Now())
	err := sc.answers[sc.attempts]
	sc.attempts++
	if err != nil {
		return err
	}
	return sc.s.Put(id, []byte("file"), mediastore.Meta{ContentType: "text/plain"})
}

func TestFetcherRetries(t *testing.T) {
	temp := errors.New("503")
	perm := connectors.Permanent(errors.New("404"))
	cases := []struct {
		name     string
		answers  []error
		attempts int
		kept     bool
		failed   error
		minGap   time.Duration
	}{
		{"at once", []error{nil}, 1, true, nil, 0},
		{"after temporary failures", []error{temp, temp, nil}, 3, true, nil, 0},
		{"permanent failure", []error{perm, nil}, 1, false, perm, 0},
		{"attempts used up", []error{temp, temp, temp, nil}, 3, false, temp, 0},
		{"retry delay asked for", []error{connectors.RetryAfter(temp, 50*time.Millisecond), nil}, 2, true, nil, 50 * time.Millisecond},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t, mediastore.Options{Valid: digits})
			sc := &script{s: s, answers: tc.answers, failed: make(chan error, 1)}
			f := s.NewFetcher(mediastore.FetchOptions{Fetch: sc.fetch, Attempts: 3, Backoff: time.Millisecond,
				Failed: func(id string, attempts int, err error) {
					sc.failed <- fmt.Errorf("%s after %d: %w", id, attempts, err)
				}})
			if err := f.Start("77"); err != nil {
				t.Fatal(err)
			}
			deadline := time.After(5 * time.Second)
			for !s.Has("77") && len(sc.failed) == 0 {
				select {
				case <-deadline:
					t.Fatal("neither kept nor given up")
				case <-time.After(time.Millisecond):
				}
			}
			f.Close()
			if s.Has("77") != tc.kept {
				t.Errorf("kept %v, want %v", s.Has("77"), tc.kept)
			}
			if sc.attempts != tc.attempts {
				t.Errorf("%d attempts, want %d", sc.attempts, tc.attempts)
			}
			select {
			case err := <-sc.failed:
				if !errors.Is(err, tc.failed) {
					t.Errorf("Failed told %v, want %v", err, tc.failed)
				}
			default:
				if tc.failed != nil {
					t.Errorf("Failed not told of %v", tc.failed)
				}
			}
			if tc.minGap > 0 && sc.at[1].Sub(sc.at[0]) < tc.minGap {
				t.Errorf("retried after %v, want at least %v", sc.at[1].Sub(sc.at[0]), tc.minGap)
			}
		})
	}
}

func TestFetcherStart(t *testing.T) {
	s := open(t, mediastore.Options{Valid: digits})
	if err := s.Put("1", []byte("kept"), mediastore.Meta{}); err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	started := make(chan string, 4)
	var mu sync.Mutex
	calls := map[string]int{}
	f := s.NewFetcher(mediastore.FetchOptions{MaxPending: 2, Fetch: func(ctx context.Context, id string) error {
		mu.Lock()
		calls[id]++
		mu.Unlock()
		started <- id
		select {
		case <-release:
		case <-ctx.Done():
		}
		return connectors.Permanent(ctx.Err())
	}})
	steps := []struct {
		id   string
		want error
	}{
		{"1", nil},                // kept: nothing to fetch
		{"2", nil},                // started
		{"2", nil},                // under way already
		{"3", nil},                // started
		{"4", mediastore.ErrBusy}, // two pending
		{"../5", nil},             // refused below
	}
	for i, st := range steps {
		err := f.Start(st.id)
		if st.id == "../5" {
			if err == nil {
				t.Errorf("step %d: Start(%q) = nil, want an error", i, st.id)
			}
			continue
		}
		if !errors.Is(err, st.want) && err != st.want {
			t.Errorf("step %d: Start(%q) = %v, want %v", i, st.id, err, st.want)
		}
	}
	<-started
	<-started
	close(release)
	f.Close()
	if err := f.Start("6"); !errors.Is(err, mediastore.ErrClosed) {
		t.Errorf("Start after Close = %v, want ErrClosed", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if calls["1"] != 0 || calls["2"] != 1 || calls["3"] != 1 || calls["4"] != 0 {
		t.Errorf("fetches %v, want one each of 2 and 3", calls)
	}
}

// TestFetcherGo: with a runner of the connector's, fetches run on it and
// stop with it.
func TestFetcherGo(t *testing.T) {
	s := open(t, mediastore.Options{Valid: digits})
	var wg sync.WaitGroup
	running := true
	run := func(task func(context.Context)) bool {
		if !running {
			return false
		}
		wg.Add(1)
		go func() { defer wg.Done(); task(context.Background()) }()
		return true
	}
	f := s.NewFetcher(mediastore.FetchOptions{Go: run, Fetch: func(_ context.Context, id string) error {
		return s.Put(id, []byte("x"), mediastore.Meta{})
	}})
	if err := f.Start("8"); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if !s.Has("8") {
		t.Error("not kept through the connector's runner")
	}
	running = false
	if err := f.Start("9"); !errors.Is(err, mediastore.ErrClosed) {
		t.Errorf("Start with the runner closed = %v, want ErrClosed", err)
	}
}
