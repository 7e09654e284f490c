package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// The streams are held by child processes of this command ("holders"), each under its own
// RLIMIT_NOFILE: a container's hard limit (20,000 here, and not raisable without
// CAP_SYS_RESOURCE) bounds one process's descriptors, not the run's. A holder reads the workers
// it holds from stdin, one "NUMBER ID TOKEN" line each, opens their streams and writes a line
// per event to stdout:
//
//	open NUMBER                          the stream is open and its hello frame read
//	fail NUMBER REASON                   it could not be opened
//	offer NUMBER UNIXNANO RESERVATION TASK   a reservation.created frame arrived at UNIXNANO
//	closed NUMBER REASON                 an open stream ended before stdin did
//
// and closes them all when stdin ends. The parent accepts the offers.

// holderEnv names the environment variable that makes this command a holder.
const holderEnv = "SBAGENTS_HOLDER"

// holder is a running holder process.
type holder struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	exited chan struct{}
}

// holderShare is how many streams one holder takes under a descriptor limit: what is left
// besides a margin for its runtime.
func holderShare(limit uint64) int {
	return max(int(limit)-256, 1)
}

// openStreams starts the holders, hands each its share of the workers and waits until every
// stream is open.
func (b *bench) openStreams(ctx context.Context, limit uint64) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	share := holderShare(limit)
	if b.cfg.perHolder > 0 {
		share = min(share, b.cfg.perHolder)
	}
	procs := (len(b.agents) + share - 1) / share
	results := make(chan error, len(b.agents))
	for p := range procs {
		from, to := p*share, min((p+1)*share, len(b.agents))
		cmd := exec.Command(self, "-url", b.t.base, "-dialers", strconv.Itoa(max(b.cfg.dialers/procs, 1)))
		cmd.Env = append(os.Environ(), holderEnv+"=1")
		cmd.Stderr = os.Stderr
		stdin, err := cmd.StdinPipe()
		if err != nil {
			return err
		}
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			return err
		}
		if err := cmd.Start(); err != nil {
			return fmt.Errorf("start a stream holder: %w", err)
		}
		h := &holder{cmd: cmd, stdin: stdin, exited: make(chan struct{})}
		b.holders = append(b.holders, h)
		go func() {
			b.readHolder(stdout, results)
			_ = cmd.Wait()
			close(h.exited)
		}()
		go func() {
			w := bufio.NewWriter(stdin)
			for i := from; i < to; i++ {
				fmt.Fprintf(w, "%d %s %s\n", i, b.agents[i].id, b.agents[i].token)
			}
			_ = w.Flush()
		}()
	}
	for range b.agents {
		select {
		case err := <-results:
			if err != nil {
				return err
			}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// readHolder reads a holder's lines until it exits.
func (b *bench) readHolder(stdout io.Reader, results chan<- error) {
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		f := strings.SplitN(sc.Text(), " ", 5)
		n, err := strconv.Atoi(f[min(1, len(f)-1)])
		if err != nil || n < 0 || n >= len(b.agents) {
			b.fail("holder", fmt.Errorf("unreadable line %q", sc.Text()))
			continue
		}
		switch {
		case f[0] == "open":
			results <- nil
		case f[0] == "fail" && len(f) >= 3:
			results <- fmt.Errorf("stream of %s: %s", b.agents[n].id, strings.Join(f[2:], " "))
		case f[0] == "offer" && len(f) == 5:
			nanos, err := strconv.ParseInt(f[2], 10, 64)
			if err != nil {
				b.fail("holder", fmt.Errorf("unreadable line %q", sc.Text()))
				continue
			}
			b.offer(b.agents[n], f[3], f[4], time.Unix(0, nanos))
		case f[0] == "closed":
			b.mu.Lock()
			closing := b.closing
			b.mu.Unlock()
			if !closing {
				b.fail("stream closed", fmt.Errorf("%s: %s", b.agents[n].id, strings.Join(f[2:], " ")))
			}
		default:
			b.fail("holder", fmt.Errorf("unreadable line %q", sc.Text()))
		}
	}
}

// offer takes an offer that arrived on a's stream at at, unless its reservation was seen.
func (b *bench) offer(a *agent, reservation, task string, at time.Time) {
	if !b.firstOffer(reservation, task) {
		return
	}
	b.takes.Add(1)
	go func() {
		defer b.takes.Done()
		b.take(a, reservation, task, at)
	}()
}

// closeStreams ends the holders, which close their streams, and waits for the agents' calls.
func (b *bench) closeStreams() {
	b.mu.Lock()
	b.closing = true
	holders := b.holders
	b.holders = nil
	b.mu.Unlock()
	for _, h := range holders {
		h.stdin.Close()
	}
	for _, h := range holders {
		select {
		case <-h.exited:
		case <-time.After(30 * time.Second):
			_ = h.cmd.Process.Kill()
			<-h.exited
		}
	}
	b.takes.Wait()
}

// lineWriter writes whole lines from many goroutines.
type lineWriter struct {
	mu sync.Mutex
	w  *bufio.Writer
}

func (l *lineWriter) printf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	fmt.Fprintf(l.w, format+"\n", args...)
	_ = l.w.Flush()
}

// holdStreams is a holder's main: it returns its exit status.
func holdStreams(args []string, stdin io.Reader, stdout io.Writer) int {
	fs := flag.NewFlagSet("holder", flag.ContinueOnError)
	base := fs.String("url", "", "the server's base URL")
	dialers := fs.Int("dialers", 64, "streams opened at once")
	if err := fs.Parse(args); err != nil || *base == "" || *dialers < 1 {
		fmt.Fprintln(os.Stderr, "holder: want -url BASE -dialers N")
		return 2
	}
	out := &lineWriter{w: bufio.NewWriter(stdout)}
	dialer := websocket.Dialer{ReadBufferSize: 1024, WriteBufferSize: 256, HandshakeTimeout: 60 * time.Second}
	ws := "ws" + strings.TrimPrefix(*base, "http")
	var (
		mu      sync.Mutex
		conns   []*websocket.Conn
		closing bool
		readers sync.WaitGroup
		dialing sync.WaitGroup
	)
	slots := make(chan struct{}, *dialers)
	sc := bufio.NewScanner(stdin)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 3 {
			fmt.Fprintf(os.Stderr, "holder: unreadable line %q\n", sc.Text())
			return 2
		}
		n, id, token := f[0], f[1], f[2]
		slots <- struct{}{}
		dialing.Add(1)
		go func() {
			defer dialing.Done()
			conn, err := dialHello(dialer, ws+"/v1/workers/"+id+"/stream?access_token="+token)
			<-slots
			if err != nil {
				out.printf("fail %s %v", n, oneLine(err))
				return
			}
			mu.Lock()
			conns = append(conns, conn)
			mu.Unlock()
			readers.Add(1)
			out.printf("open %s", n)
			go func() {
				defer readers.Done()
				err := readOffers(conn, func(at time.Time, res, task string) {
					out.printf("offer %s %d %s %s", n, at.UnixNano(), res, task)
				})
				mu.Lock()
				said := closing
				mu.Unlock()
				if !said {
					out.printf("closed %s %v", n, oneLine(err))
				}
			}()
		}()
	}
	dialing.Wait()
	mu.Lock()
	closing = true
	for _, c := range conns {
		c.Close()
	}
	mu.Unlock()
	readers.Wait()
	return 0
}

// dialHello opens a stream and reads its hello frame.
func dialHello(dialer websocket.Dialer, url string) (*websocket.Conn, error) {
	conn, resp, err := dialer.Dial(url, nil)
	if err != nil {
		if resp != nil {
			err = fmt.Errorf("%w (%s)", err, resp.Status)
		}
		return nil, err
	}
	var hello struct {
		Type string `json:"type"`
	}
	if err := conn.ReadJSON(&hello); err != nil || hello.Type != "hello" {
		conn.Close()
		return nil, fmt.Errorf("first frame %q, %v; want hello", hello.Type, err)
	}
	return conn, nil
}

// frame is what a stream's reader looks at in a frame.
type frame struct {
	Type  string `json:"type"`
	Event struct {
		Type        string `json:"type"`
		Task        string `json:"task_id"`
		Reservation string `json:"reservation_id"`
	} `json:"event"`
}

// readOffers reads a stream's frames until it ends, calling offer for each reservation.created
// with the time it arrived.
func readOffers(conn *websocket.Conn, offer func(at time.Time, reservation, task string)) error {
	for {
		_, msg, err := conn.ReadMessage()
		if err != nil {
			return err
		}
		at := time.Now()
		var f frame
		if json.Unmarshal(msg, &f) != nil || f.Type != "event" || f.Event.Type != "reservation.created" {
			continue
		}
		if f.Event.Reservation == "" || f.Event.Task == "" {
			return errors.New("an offer without its reservation or task")
		}
		offer(at, f.Event.Reservation, f.Event.Task)
	}
}

func oneLine(err error) string {
	return strings.Join(strings.Fields(fmt.Sprint(err)), " ")
}
