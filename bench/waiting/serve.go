package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/switchboard-dev/switchboard/internal/procstat"
)

func build(ctx context.Context, out string) error {
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, "./bench/loadgen/sbserve")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("building sbserve (run from the repository's root): %w", err)
	}
	return nil
}

// server is one `serve` process at a time on the same database.
type server struct {
	bin, storeURL, flows, secret, log string
	port, outPort                     int
	cmd                               *exec.Cmd
	exited                            chan struct{}
	starts                            int
	stopTook                          time.Duration
}

func (s *server) webhookURL() string {
	return fmt.Sprintf("http://127.0.0.1:%d/v1/webhooks/custom/default", s.port)
}

// start runs serve and waits until /readyz answers 200; it returns how long that took.
func (s *server) start(ctx context.Context) (time.Duration, error) {
	s.starts++
	logf, err := os.Create(fmt.Sprintf("%s.%d.log", s.log, s.starts))
	if err != nil {
		return 0, err
	}
	defer logf.Close()
	s.cmd = exec.Command(s.bin, "serve", "--addr", fmt.Sprintf("127.0.0.1:%d", s.port), "--store", s.storeURL,
		"--connector", fmt.Sprintf("custom/default,secret=env:SBSECRET,outbound_url=http://127.0.0.1:%d/out", s.outPort), s.flows)
	s.cmd.Env = append(os.Environ(), "SBSECRET="+s.secret)
	s.cmd.Stdout, s.cmd.Stderr = logf, logf
	t0 := time.Now()
	if err := s.cmd.Start(); err != nil {
		return 0, err
	}
	s.exited = make(chan struct{})
	go func() { _ = s.cmd.Wait(); close(s.exited) }()
	ready := fmt.Sprintf("http://127.0.0.1:%d/readyz", s.port)
	c := &http.Client{Timeout: time.Second}
	for {
		if r, err := c.Get(ready); err == nil {
			r.Body.Close()
			if r.StatusCode == http.StatusOK {
				return time.Since(t0), nil
			}
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-s.exited:
			return 0, fmt.Errorf("serve exited before it was ready (see %s.%d.log)", s.log, s.starts)
		case <-time.After(5 * time.Millisecond):
		}
		if time.Since(t0) > 10*time.Minute {
			return 0, errors.New("serve not ready after 10 minutes")
		}
	}
}

func (s *server) pid() int { return s.cmd.Process.Pid }

// stop sends SIGTERM and waits for the exit (SIGKILL after 2 minutes).
func (s *server) stop() error {
	if s.cmd == nil {
		return nil
	}
	t0 := time.Now()
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(2 * time.Minute):
		_ = s.cmd.Process.Kill()
		<-s.exited
		return errors.New("serve ignored SIGTERM for 2 minutes; killed")
	}
	s.stopTook = time.Since(t0)
	s.cmd = nil
	return nil
}

// kill ends a serve still running when the tool fails.
func (s *server) kill() {
	if s.cmd != nil {
		_ = s.cmd.Process.Kill()
		<-s.exited
		s.cmd = nil
	}
}

// memory is a process's resident set now and its peak (VmHWM), in bytes; 0s when unreadable.
func memory(pid int) (rss, peak int64) {
	rss, peak, _ = procstat.Memory(pid)
	return rss, peak
}

func machine() string {
	model := ""
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for l := range strings.Lines(string(b)) {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	load, _ := os.ReadFile("/proc/loadavg")
	return fmt.Sprintf("%d CPUs (%s), %s, load average %s, %s", runtime.NumCPU(), model, runtime.Version(),
		strings.Join(strings.Fields(string(load))[:3], " "), time.Now().UTC().Format("2006-01-02 15:04:05 UTC"))
}

// receiver is the custom connector's outbound_url: it counts the deliveries, which say how far
// the timeout replies have got.
type receiver struct {
	srv  *http.Server
	seen atomic.Int64
}

func listenOutbound(port int) (*receiver, error) {
	ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		return nil, err
	}
	r := &receiver{}
	r.srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.seen.Add(1)
		w.WriteHeader(http.StatusNoContent)
	})}
	go func() { _ = r.srv.Serve(ln) }()
	return r, nil
}

func (r *receiver) close() { _ = r.srv.Close() }
