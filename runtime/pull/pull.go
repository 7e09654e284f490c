// Package pull runs the connectors that fetch their platform's messages
// (connectors.Puller: an IMAP mailbox, Discord's Gateway) on one node at a
// time. Each instance has a lease in the store; the node that holds it
// runs the instance's Pull, and another node takes over when it dies, as
// the router's leadership is handed over. What Pull fetches is delivered
// like a webhook's messages: stored, deduplicated and stepped before
// deliver returns.
package pull

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/switchboard-dev/switchboard/connectors"
	"github.com/switchboard-dev/switchboard/runtime/store"
)

// Instance is a connector instance that pulls.
type Instance struct {
	Connector, Name string
	Puller          connectors.Puller
}

// Deliver stores and steps one message of an instance, as a webhook's.
type Deliver func(ctx context.Context, connector, instance string, in connectors.Inbound) error

// Config configures Run.
type Config struct {
	Leaser  store.Leaser
	Deliver Deliver
	Logger  *slog.Logger
	// Retry is how long a node waits before it tries the lease again, and
	// before it calls a Pull that failed again (default 2s).
	Retry time.Duration
}

// Run runs every instance's Pull while this node holds its lease, until
// ctx ends.
func Run(ctx context.Context, cfg Config, instances []Instance) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Retry <= 0 {
		cfg.Retry = 2 * time.Second
	}
	var wg sync.WaitGroup
	for _, in := range instances {
		wg.Go(func() { run(ctx, cfg, in) })
	}
	wg.Wait()
}

// LeaseName is the store's lease of an instance's Pull.
func LeaseName(connector, instance string) string {
	return "pull-" + strings.NewReplacer("/", "-", ".", "-").Replace(connector+"-"+instance)
}

func run(ctx context.Context, cfg Config, in Instance) {
	log := cfg.Logger.With("connector", in.Connector, "instance", in.Name)
	deliver := func(ctx context.Context, msgs []connectors.Inbound) error {
		for _, m := range msgs {
			if err := cfg.Deliver(ctx, in.Connector, in.Name, m); err != nil {
				return err
			}
		}
		return nil
	}
	for ctx.Err() == nil {
		lease, ok, err := cfg.Leaser.TryLead(ctx, LeaseName(in.Connector, in.Name))
		if err != nil && ctx.Err() == nil {
			log.Error("pulling: the lease", "err", err)
		}
		if ok {
			log.Info("pulling messages on this node")
			err := pullWhileHeld(ctx, lease, in.Puller, deliver)
			lease.Release()
			if err != nil && ctx.Err() == nil {
				log.Error("pulling stopped", "err", err)
			}
		}
		select {
		case <-ctx.Done():
		case <-time.After(cfg.Retry):
		}
	}
}

// pullWhileHeld runs Pull until the lease is lost or ctx ends.
func pullWhileHeld(ctx context.Context, lease store.Lease, p connectors.Puller, deliver func(context.Context, []connectors.Inbound) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-lease.Lost():
			cancel()
		case <-ctx.Done():
		}
	}()
	return p.Pull(ctx, deliver)
}
