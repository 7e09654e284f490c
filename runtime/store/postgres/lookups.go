package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/switchboard-dev/switchboard/runtime/store"
)

// Every inbound message asks for its sender's contact first. One query per
// message was a round trip and a statement's overhead on the server each,
// about a quarter of the node's CPU and a sixth of the database's on the
// new-contact mix. So the lookups that arrive while one query runs go
// together in the next (a store.Batcher), and one query answers them all.

// maxLookups caps the addresses of one query.
const maxLookups = 256

// qLookupContacts finds, for each (channel, address) of the arrays, the
// contact it resolves to (following a merge) with its addresses, in the
// order sqlstore's LookupContact gives them; ord is the request's place
// (from 1), and an address nobody owns has no row.
const qLookupContacts = `SELECT k.ord, c.id, c.name, c.attributes, c.created_at,
		coalesce(a.channels, '{}'), coalesce(a.addresses, '{}')
	FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS k (channel, address, ord)
	CROSS JOIN LATERAL (SELECT contact_id FROM contact_addresses
		WHERE channel = k.channel AND address = k.address LIMIT 1) AS owner
	CROSS JOIN LATERAL (SELECT c.id, c.name, c.attributes, c.created_at FROM contacts m
		JOIN contacts c ON c.id = coalesce(m.merged_into, m.id) WHERE m.id = owner.contact_id LIMIT 1) AS c
	CROSS JOIN LATERAL (SELECT array_agg(channel ORDER BY created_at, channel, address) AS channels,
			array_agg(address ORDER BY created_at, channel, address) AS addresses
		FROM contact_addresses WHERE contact_id = c.id) AS a`

// LookupContact returns the contact an address belongs to (store.Store),
// in a batch with the lookups that arrive meanwhile.
func (s *Store) LookupContact(ctx context.Context, channel, address string) (store.Contact, error) {
	if channel == "" || address == "" {
		return s.DB.LookupContact(ctx, channel, address) // says what is wrong
	}
	return s.lookups.Do(ctx, store.Address{Channel: channel, Address: address})
}

// lookupContacts answers a batch of LookupContact.
func (s *Store) lookupContacts(addrs []store.Address) []store.Result[store.Contact] {
	out := make([]store.Result[store.Contact], len(addrs))
	channels, addresses := make([]string, len(addrs)), make([]string, len(addrs))
	for i, a := range addrs {
		channels[i], addresses[i] = a.Channel, a.Address
		out[i].Err = store.ErrNotFound
	}
	// Not a caller's context: the batch answers several callers.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rows, err := s.pool.Query(ctx, qLookupContacts, channels, addresses)
	if err == nil {
		var (
			ord          int64
			c            store.Contact
			attrs        string
			chans, addrs []string
		)
		_, err = pgx.ForEachRow(rows, []any{&ord, &c.ID, &c.Name, &attrs, &c.CreatedAt, &chans, &addrs}, func() error {
			found := c
			found.Attributes, found.CreatedAt = []byte(attrs), c.CreatedAt.UTC()
			found.Addresses = make([]store.Address, len(chans))
			for j := range chans {
				found.Addresses[j] = store.Address{Channel: chans[j], Address: addrs[j]}
			}
			out[ord-1] = store.Result[store.Contact]{Value: found}
			return nil
		})
	}
	if err != nil {
		for i := range out {
			out[i] = store.Result[store.Contact]{Err: fmt.Errorf("postgres: lookup contact: %w", err)}
		}
	}
	return out
}
