// Command sbserve is the switchboard command (cli.Main, unchanged) built for measuring.
//
// It links the PostgreSQL store (runtime/store/postgres) whatever cli/serve.go imports: until
// 2026-11-24 that was only the SQLite store, and `switchboard serve --store postgres://…` answered
// `store: no driver for "postgres"`. bench/run.sh uses sbserve for PostgreSQL only when the real
// binary refuses the URL that way.
//
// With SBSERVE_CPUPROFILE=FILE it writes a CPU profile of the whole process to FILE when the
// command returns (serve returns on SIGTERM or SIGINT, after draining). With
// SBSERVE_PPROF=127.0.0.1:PORT it serves net/http/pprof there, and SBSERVE_CONTENTION=1 also
// records the block and mutex profiles:
//
//	go build -o /tmp/sbserve ./bench/loadgen/sbserve
//	SBSERVE_PPROF=127.0.0.1:6061 /tmp/sbserve serve --addr 127.0.0.1:18700 … bench/flows &
//	go tool pprof -top /tmp/sbserve 'http://127.0.0.1:6061/debug/pprof/profile?seconds=10'
package main

import (
	"fmt"
	"net/http"
	_ "net/http/pprof"
	"os"
	"runtime"
	"runtime/pprof"

	"github.com/switchboard-dev/switchboard/cli"
	_ "github.com/switchboard-dev/switchboard/runtime/store/postgres"
)

func main() {
	if os.Getenv("SBSERVE_CONTENTION") == "1" {
		runtime.SetBlockProfileRate(10_000) // one sample per 10 µs blocked
		runtime.SetMutexProfileFraction(10)
	}
	if addr := os.Getenv("SBSERVE_PPROF"); addr != "" {
		go func() { fmt.Fprintln(os.Stderr, "sbserve: pprof:", http.ListenAndServe(addr, nil)) }()
	}
	var prof *os.File
	if path := os.Getenv("SBSERVE_CPUPROFILE"); path != "" {
		f, err := os.Create(path)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "sbserve: cpu profile:", err)
			os.Exit(1)
		}
		prof = f
	}
	code := cli.Main()
	if prof != nil {
		pprof.StopCPUProfile()
		prof.Close()
	}
	os.Exit(code)
}
