package messaging

import (
	"context"
	"time"

	"github.com/switchboard-dev/switchboard/connectors"
)

// SetSleep replaces the connector's wait between retries, so tests can
// see the waits without taking them.
func SetSleep(c connectors.Connector, f func(context.Context, time.Duration) error) {
	c.(*connector).sleep = f
}
