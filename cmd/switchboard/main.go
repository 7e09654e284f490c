// Command switchboard checks, formats and draws Switchboard routing flows.
// Run `switchboard help` for the commands; the work is done by package cli.
package main

import (
	"os"

	"github.com/switchboard-dev/switchboard/cli"
)

func main() { os.Exit(cli.Main()) }
