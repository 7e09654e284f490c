package ingest

import (
	"context"
	"errors"

	"github.com/switchboard-dev/switchboard/connectors"
	"github.com/switchboard-dev/switchboard/runtime/store"
)

// SeparateEmails keeps a sender who gives the same email address on two
// channels (an email, the webchat's pre-chat form) as two contacts.
func (g *Ingest) SeparateEmails() { g.linkEmails = false }

// sameEmail finds the contact known by the message's email address
// (Inbound.Email) and gives it this channel's address: a customer who
// wrote an email and then chats with the same address in the pre-chat form
// is one contact with one history. When the address is new, the sender's
// contact is made now and given it as an "email" address, so a later email
// from it finds this contact. ErrNotFound when the message's own channel
// is email (its address is its lookup).
//
// Like samePhone it works outside the message's unit: ResolveContact and
// LinkContacts, once per address and channel.
func (g *Ingest) sameEmail(ctx context.Context, in connectors.Inbound, first bool) (store.Contact, error) {
	if in.Channel == connectors.ChannelEmail {
		return store.Contact{}, store.ErrNotFound
	}
	known, err := g.lookupContact(ctx, connectors.ChannelEmail, in.Email, first)
	switch {
	case errors.Is(err, store.ErrNotFound):
		added, err := g.store.ResolveContact(ctx, in.Channel, in.From, in.FromName)
		if err != nil {
			return store.Contact{}, err
		}
		return g.giveEmail(ctx, added, in.Email)
	case err != nil:
		return store.Contact{}, err
	}
	return g.joinKnown(ctx, known, in)
}

// emailOf links a known contact with the email address its message gives,
// when the contact does not have it yet (a returning visitor who fills the
// pre-chat form): the address's contact, if there is one, is kept and
// this one merged into it; otherwise this one gets the address.
func (g *Ingest) emailOf(ctx context.Context, c store.Contact, email string) (store.Contact, error) {
	for _, a := range c.Addresses {
		if a.Channel == connectors.ChannelEmail && a.Address == email {
			return c, nil
		}
	}
	known, err := g.store.LookupContact(ctx, connectors.ChannelEmail, email)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return g.giveEmail(ctx, c, email)
	case err != nil:
		return c, err
	}
	if err := g.store.LinkContacts(ctx, known.ID, c.ID); err != nil {
		return c, err
	}
	return g.store.GetContact(ctx, known.ID)
}

// giveEmail adds the address ("email", email) to contact c.
func (g *Ingest) giveEmail(ctx context.Context, c store.Contact, email string) (store.Contact, error) {
	owner, err := g.store.ResolveContact(ctx, connectors.ChannelEmail, email, c.Name)
	if err != nil {
		return store.Contact{}, err
	}
	if owner.ID != c.ID {
		// The address's contact was made just now (or by a concurrent
		// message): it joins c, which keeps its history.
		if err := g.store.LinkContacts(ctx, c.ID, owner.ID); err != nil {
			return store.Contact{}, err
		}
	}
	return g.store.GetContact(ctx, c.ID)
}
