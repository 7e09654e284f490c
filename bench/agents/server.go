package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// target is the server under measurement.
type target struct {
	base   string // http://host:port
	admin  string // an admin token
	secret string // the custom/default connector's secret
	pid    int    // 0: not known, no memory or CPU figures
	log    string // the started server's output
	stop   func()
}

// raiseNoFile lets this process, and the server it starts, hold want descriptors: the soft
// limit up to the hard one, and the hard one too when allowed (root).
func raiseNoFile(want uint64) (uint64, error) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0, err
	}
	if lim.Cur >= want {
		return lim.Cur, nil
	}
	if lim.Max < want {
		raised := syscall.Rlimit{Cur: want, Max: want}
		if syscall.Setrlimit(syscall.RLIMIT_NOFILE, &raised) == nil {
			return want, nil
		}
		want = lim.Max
	}
	lim.Cur = want
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0, err
	}
	return lim.Cur, nil
}

// startServer builds (unless cfg.server names a binary) and starts `switchboard serve` on a
// fresh SQLite store in a temporary directory, and reads the admin token it prints once.
func startServer(ctx context.Context, cfg config, out io.Writer) (*target, error) {
	dir, err := os.MkdirTemp("", "switchboard-agents-")
	if err != nil {
		return nil, err
	}
	cleanup := func() { os.RemoveAll(dir) }
	bin := cfg.server
	if bin == "" {
		bin = filepath.Join(dir, "switchboard")
		fmt.Fprintln(out, "building ./cmd/switchboard")
		build := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/switchboard")
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			cleanup()
			return nil, fmt.Errorf("go build ./cmd/switchboard (run from the repository's root): %w", err)
		}
	}
	secret := randomHex()
	cmd := exec.Command(bin, "serve", "--addr", cfg.addr, "--store", "sqlite:"+filepath.Join(dir, "switchboard.db"),
		"--connector", "custom/default,secret=env:SBAGENTS_SECRET", cfg.flows)
	cmd.Env = append(os.Environ(), "SBAGENTS_SECRET="+secret)
	logPath := filepath.Join(dir, "serve.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		cleanup()
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		cleanup()
		return nil, err
	}
	cmd.Stderr = logFile
	if err := cmd.Start(); err != nil {
		cleanup()
		return nil, err
	}
	exited := make(chan struct{})
	t := &target{base: "http://" + cfg.addr, secret: secret, pid: cmd.Process.Pid, log: logPath}
	t.stop = func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
		logFile.Close()
		cleanup()
	}
	tokens := make(chan string, 1)
	go func() {
		tokens <- readAdminToken(stdout, logFile)
		_ = cmd.Wait()
		close(exited)
	}()
	select {
	case t.admin = <-tokens:
	case <-time.After(60 * time.Second):
	}
	if t.admin == "" {
		log, _ := os.ReadFile(logPath)
		t.stop()
		return nil, fmt.Errorf("serve printed no admin token; its output:\n%s", log)
	}
	if err := waitReady(ctx, t.base+"/readyz", exited); err != nil {
		log, _ := os.ReadFile(logPath)
		t.stop()
		return nil, fmt.Errorf("%w; serve's output:\n%s", err, log)
	}
	return t, nil
}

var adminTokenLine = regexp.MustCompile(`^Admin token \(shown once`)

// readAdminToken copies serve's output to log and returns the token printed on the line after
// "Admin token (shown once…" ("" if the output ends first); it keeps copying after.
func readAdminToken(stdout io.Reader, log io.Writer) string {
	sc := bufio.NewScanner(stdout)
	token, next := "", false
	for sc.Scan() {
		fmt.Fprintln(log, sc.Text())
		if next {
			token = strings.TrimSpace(sc.Text())
			break
		}
		next = adminTokenLine.MatchString(sc.Text())
	}
	go func() { _, _ = io.Copy(log, stdout) }()
	return token
}

func waitReady(ctx context.Context, url string, exited <-chan struct{}) error {
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return errors.New("serve exited")
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if resp, err := http.Get(url); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
	}
	return fmt.Errorf("%s not ready within 60 s", url)
}

func randomHex() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// heapStats reads a Go server's heap and stacks in use, after a collection, from its pprof.
type heapStats struct {
	heapInuse, stackInuse int64
	goroutines            int
}

func readHeap(ctx context.Context, addr string) (heapStats, error) {
	var h heapStats
	body, err := get(ctx, "http://"+addr+"/debug/pprof/heap?debug=1&gc=1")
	if err != nil {
		return h, err
	}
	for _, line := range strings.Split(body, "\n") {
		if v, ok := strings.CutPrefix(line, "# HeapInuse = "); ok {
			h.heapInuse, _ = strconv.ParseInt(v, 10, 64)
		}
		if v, ok := strings.CutPrefix(line, "# Stack = "); ok {
			h.stackInuse, _ = strconv.ParseInt(strings.Fields(v)[0], 10, 64)
		}
	}
	body, err = get(ctx, "http://"+addr+"/debug/pprof/goroutine?debug=1")
	if err != nil {
		return h, err
	}
	first, _, _ := strings.Cut(body, "\n")
	h.goroutines, _ = strconv.Atoi(strings.TrimPrefix(first, "goroutine profile: total "))
	return h, nil
}

func get(ctx context.Context, url string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
	if err != nil {
		return "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return string(b), err
}
