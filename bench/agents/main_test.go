package main

import (
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestMain lets the test binary be a stream holder too, as the command is for its runs.
func TestMain(m *testing.M) {
	if os.Getenv(holderEnv) == "1" {
		os.Exit(holdStreams(os.Args[1:], os.Stdin, os.Stdout))
	}
	os.Exit(m.Run())
}

func TestParseArgs(t *testing.T) {
	tests := []struct {
		args    []string
		wantErr string
		check   func(config) bool
	}{
		{nil, "", func(c config) bool {
			return c.n == 20000 && c.rate == 100 && c.duration == 30*time.Second && c.p99 == 50*time.Millisecond
		}},
		{[]string{"-n", "5", "-rate", "7", "-duration", "2s", "-p99", "0"}, "", func(c config) bool { return c.n == 5 && c.rate == 7 && c.p99 == 0 }},
		{[]string{"-n", "0"}, "at least 1", nil},
		{[]string{"-rate", "-3"}, "at least 1", nil},
		{[]string{"-duration", "0s"}, "positive", nil},
		{[]string{"-per-holder", "-1"}, "not negative", nil},
		{[]string{"-url", "http://127.0.0.1:1"}, "-url needs", nil},
		{[]string{"-pid", "12"}, "give its -url", nil},
		{[]string{"extra"}, "unexpected arguments", nil},
		{[]string{"-url", "http://h", "-admin-token", "a", "-secret", "s", "-pid", "3"}, "", func(c config) bool { return c.url == "http://h" && c.pid == 3 }},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			c, err := parseArgs(tc.args, io.Discard)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one saying %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || !tc.check(c) {
				t.Fatalf("parseArgs(%q) = %+v, %v", tc.args, c, err)
			}
		})
	}
}

func ms(n ...int) []time.Duration {
	d := make([]time.Duration, len(n))
	for i, v := range n {
		d[i] = time.Duration(v) * time.Millisecond
	}
	return d
}

func TestPercentile(t *testing.T) {
	hundred := make([]int, 100)
	for i := range hundred {
		hundred[i] = i + 1
	}
	tests := []struct {
		sorted []time.Duration
		p      float64
		want   time.Duration
	}{
		{nil, 99, 0},
		{ms(7), 50, 7 * time.Millisecond},
		{ms(7), 99, 7 * time.Millisecond},
		{ms(1, 2, 3, 4), 50, 2 * time.Millisecond},
		{ms(1, 2, 3, 4), 75, 3 * time.Millisecond},
		{ms(1, 2, 3, 4), 100, 4 * time.Millisecond},
		{ms(hundred...), 99, 99 * time.Millisecond},
		{ms(hundred...), 90, 90 * time.Millisecond},
		{ms(hundred...), 1, 1 * time.Millisecond},
	}
	for _, tc := range tests {
		if got := percentile(tc.sorted, tc.p); got != tc.want {
			t.Errorf("percentile(%d values, %v) = %v, want %v", len(tc.sorted), tc.p, got, tc.want)
		}
	}
}

func TestFailures(t *testing.T) {
	cfg := config{p99: 50 * time.Millisecond}
	tests := []struct {
		name string
		r    report
		want []string // each a part of one failure, in order
	}{
		{"all offered and completed", report{postedOK: 3, offered: 3, completed: 3, latencies: ms(1, 2, 3)}, nil},
		{"a message without offer", report{postedOK: 3, offered: 2, completed: 2, latencies: ms(1, 2)}, []string{"1 of 3 messages got no offer"}},
		{"an offer not completed", report{postedOK: 2, offered: 2, completed: 1, latencies: ms(1, 2)}, []string{"1 offered tasks were not completed"}},
		{"errors by kind", report{postedOK: 1, offered: 1, completed: 1, latencies: ms(1), counts: map[string]int{"stream closed": 2, "accept": 1}},
			[]string{"accept: 1", "stream closed: 2"}},
		{"nothing taken", report{}, []string{"no message was taken"}},
		{"slow", report{postedOK: 2, offered: 2, completed: 2, latencies: ms(10, 60)}, []string{"p99 60ms above 50ms"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.r.failures(cfg)
			if len(got) != len(tc.want) {
				t.Fatalf("failures = %q, want %d like %q", got, len(tc.want), tc.want)
			}
			for i := range got {
				if !strings.Contains(got[i], tc.want[i]) {
					t.Errorf("failure %d = %q, want it to say %q", i, got[i], tc.want[i])
				}
			}
		})
	}
}

// TestRunFewAgents runs the command's whole path against a real server: five workers on three
// holder processes, ten customers, every offer accepted and completed.
func TestRunFewAgents(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and starts switchboard serve")
	}
	bin := filepath.Join(t.TempDir(), "switchboard")
	build := exec.Command("go", "build", "-o", bin, "github.com/switchboard-dev/switchboard/cmd/switchboard")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	cfg, err := parseArgs([]string{"-n", "5", "-per-holder", "2", "-rate", "10", "-duration", "1s", "-idle", "0", "-p99", "0",
		"-server", bin, "-flows", "flows", "-addr", "127.0.0.1:18751"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	rep, err := run(context.Background(), cfg, &out)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	if f := rep.failures(cfg); len(f) > 0 || rep.postedOK != 10 || rep.offered != 10 || rep.completed != 10 {
		t.Fatalf("posted %d, offered %d, completed %d, failures %q\n%s", rep.postedOK, rep.offered, rep.completed, f, out.String())
	}
	if !strings.Contains(out.String(), "offer latency (POST start → offer frame): p50") {
		t.Errorf("no latency line in the report:\n%s", out.String())
	}
}
