package ingest

import (
	"context"
	"errors"

	"github.com/switchboard-dev/switchboard/connectors"
	"github.com/switchboard-dev/switchboard/runtime/store"
)

// samePhone finds the contact that wrote or called from the same phone
// number on another phone channel and gives it this channel's address: a
// caller who then texts is one contact with one history. ErrNotFound when
// the number is new on every channel.
//
// The address joins through a contact of its own merged into the known one
// (ResolveContact, LinkContacts): two transactions, once per number and
// channel, outside the message's unit.
func (g *Ingest) samePhone(ctx context.Context, in connectors.Inbound, first bool) (store.Contact, error) {
	for _, ch := range connectors.PhoneChannels {
		if ch == in.Channel {
			continue
		}
		known, err := g.lookupContact(ctx, ch, in.Phone, first)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return store.Contact{}, err
		}
		return g.joinKnown(ctx, known, in)
	}
	return store.Contact{}, store.ErrNotFound
}

// joinKnown gives the known contact the message's own address: the
// sender's contact on this channel, made now if new, merges into it.
func (g *Ingest) joinKnown(ctx context.Context, known store.Contact, in connectors.Inbound) (store.Contact, error) {
	added, err := g.store.ResolveContact(ctx, in.Channel, in.From, in.FromName)
	if err != nil {
		return store.Contact{}, err
	}
	if added.ID != known.ID {
		if err := g.store.LinkContacts(ctx, known.ID, added.ID); err != nil {
			return store.Contact{}, err
		}
	}
	return g.store.GetContact(ctx, known.ID)
}
