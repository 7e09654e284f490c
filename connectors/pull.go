package connectors

import "context"

// Puller is implemented by connectors that fetch their platform's messages
// rather than receive webhooks: an IMAP mailbox, Discord's Gateway. The
// runtime runs Pull on one node at a time, under a lease in the store per
// instance that another node takes over when this one dies, for as long as
// the node holds it: a second connection to the same Gateway or mailbox
// would see every message twice.
//
// Pull delivers what it fetched with deliver, which returns once the
// messages are durably stored and their flows stepped (as a webhook is
// answered): only then may Pull acknowledge them to the platform (mark a
// mail seen, advance a cursor). deliver deduplicates on PlatformID like a
// webhook, so a message delivered twice (after a crash, by the next
// owner) is harmless. Pull returns when ctx ends (the lease was lost, the
// node stops), or with an error, after which the runtime calls it again
// after a pause.
type Puller interface {
	Pull(ctx context.Context, deliver func(ctx context.Context, in []Inbound) error) error
}
