package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/switchboard-dev/switchboard/runtime/store"
)

const contactCols = `id, name, attributes, created_at`

func scanContact(sc Row) (store.Contact, error) {
	var c store.Contact
	var attrs string
	if err := sc.Scan(&c.ID, &c.Name, &attrs, at(&c.CreatedAt)); err != nil {
		return c, notFound(err)
	}
	c.Attributes = json.RawMessage(attrs)
	return c, nil
}

// canonical returns the id a contact id resolves to (following a merge).
// lock takes a share lock on the row, which LinkContacts's update waits for.
func (db *DB) canonical(ctx context.Context, q Querier, id string, lock bool) (string, error) {
	query := `SELECT merged_into FROM contacts WHERE id = ?`
	if lock {
		query += db.d.ForShare
	}
	var merged string
	if err := db.row(ctx, q, query, id).Scan(text(&merged)); err != nil {
		return "", notFound(err)
	}
	if merged != "" {
		// LinkContacts re-points older merges, so one hop is enough.
		return merged, nil
	}
	return id, nil
}

// canonicalContact selects the contact (contactCols) that the contact k
// resolves to, following a merge as canonical does, in the query that finds
// k: the caller adds the WHERE on k.
const canonicalContact = `SELECT c.id, c.name, c.attributes, c.created_at
	FROM contacts k JOIN contacts c ON c.id = coalesce(k.merged_into, k.id)`

func (db *DB) contact(ctx context.Context, q Querier, id string) (store.Contact, error) {
	c, err := scanContact(db.row(ctx, q, canonicalContact+` WHERE k.id = ?`, id))
	return db.contactWithAddresses(ctx, q, c, err)
}

// contactWithAddresses completes a contact just read with its addresses.
func (db *DB) contactWithAddresses(ctx context.Context, q Querier, c store.Contact, err error) (store.Contact, error) {
	if err != nil {
		return c, err
	}
	rows, err := db.query(ctx, q, `SELECT channel, address FROM contact_addresses WHERE contact_id = ? ORDER BY created_at, channel, address`, c.ID)
	c.Addresses, err = collect(rows, err, func(sc Row) (a store.Address, err error) {
		return a, sc.Scan(&a.Channel, &a.Address)
	})
	return c, err
}

func (db *DB) GetContact(ctx context.Context, id string) (store.Contact, error) {
	return db.contact(ctx, db.c.Reads, id)
}

// errLost rolls back a find-or-create transaction that lost the race.
var errLost = errors.New("lost the race")

func (db *DB) ResolveContact(ctx context.Context, channel, address, displayName string) (store.Contact, error) {
	if channel == "" || address == "" {
		return store.Contact{}, fmt.Errorf("%w: ResolveContact needs channel and address", store.ErrInvalid)
	}
	const byAddress = `SELECT contact_id FROM contact_addresses WHERE channel = ? AND address = ?`
	var id string
	err := db.row(ctx, db.c.Reads, byAddress, channel, address).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		// Insert a contact and claim the address; if a concurrent caller
		// claimed it first, ON CONFLICT waits for its commit (or the one
		// writer ran it before) and the contact is rolled back: the
		// address's owner is the answer.
		created := ""
		err = db.c.Tx(ctx, func(x Querier) error {
			newID := store.NewID()
			now := db.time(store.Now(time.Time{}))
			if db.c.NewAddress != nil {
				db.c.NewAddress(channel, address)
			}
			if _, err := db.exec(ctx, x, `INSERT INTO contacts (id, name, attributes, created_at) VALUES (?, ?, '{}', ?)`,
				newID, displayName, now); err != nil {
				return err
			}
			n, err := db.exec(ctx, x, `INSERT INTO contact_addresses (channel, address, contact_id, created_at) VALUES (?, ?, ?, ?)
				ON CONFLICT DO NOTHING`, channel, address, newID, now)
			if err != nil {
				return err
			}
			if n == 0 {
				return errLost
			}
			created = newID
			return nil
		})
		switch {
		case err == nil:
			id = created
		case errors.Is(err, errLost):
			err = db.row(ctx, db.c.Reads, byAddress, channel, address).Scan(&id)
		}
	}
	if err != nil {
		return store.Contact{}, err
	}
	return db.contact(ctx, db.c.Reads, id)
}

func (db *DB) LookupContact(ctx context.Context, channel, address string) (store.Contact, error) {
	if channel == "" || address == "" {
		return store.Contact{}, fmt.Errorf("%w: LookupContact needs channel and address", store.ErrInvalid)
	}
	// One query finds the address's contact and follows a merge; a missing
	// address makes k.id = NULL: no row.
	c, err := scanContact(db.row(ctx, db.c.Reads, canonicalContact+`
		WHERE k.id = (SELECT contact_id FROM contact_addresses WHERE channel = ? AND address = ?)`, channel, address))
	return db.contactWithAddresses(ctx, db.c.Reads, c, err)
}

func (db *DB) SetContactAttributes(ctx context.Context, id string, attributes json.RawMessage) error {
	attrs, err := store.Object(attributes)
	if err != nil {
		return err
	}
	return db.c.Tx(ctx, func(x Querier) error {
		id, err := db.canonical(ctx, x, id, true)
		if err != nil {
			return err
		}
		_, err = db.exec(ctx, x, `UPDATE contacts SET attributes = ? WHERE id = ?`, string(attrs), id)
		return err
	})
}

func (db *DB) LinkContacts(ctx context.Context, keepID, mergeID string) error {
	if keepID == "" || mergeID == "" {
		return fmt.Errorf("%w: LinkContacts needs two ids", store.ErrInvalid)
	}
	return db.c.Tx(ctx, func(x Querier) error {
		keep, err := db.canonical(ctx, x, keepID, false)
		if err != nil {
			return fmt.Errorf("contact %s: %w", keepID, err)
		}
		merge, err := db.canonical(ctx, x, mergeID, false)
		if err != nil {
			return fmt.Errorf("contact %s: %w", mergeID, err)
		}
		if keep == merge {
			return nil
		}
		k, m, err := db.linked(ctx, x, keep, merge)
		if err != nil {
			return err
		}
		if k.merged != "" || m.merged != "" {
			return fmt.Errorf("%s: contacts %s and %s were linked concurrently; retry", db.d.Name, keepID, mergeID)
		}
		name := k.name
		if name == "" {
			name = m.name
		}
		attrs := store.MergeAttributes(json.RawMessage(k.attrs), json.RawMessage(m.attrs))
		now := db.time(store.Now(time.Time{}))
		for _, st := range []struct {
			q    string
			args []any
		}{
			{`UPDATE contacts SET name = ?, attributes = ? WHERE id = ?`, []any{name, string(attrs), keep}},
			{`UPDATE contact_addresses SET contact_id = ? WHERE contact_id = ?`, []any{keep, merge}},
			{`UPDATE conversations SET contact_id = ?, updated_at = ? WHERE contact_id = ?`, []any{keep, now, merge}},
			{`UPDATE tasks SET contact_id = ?, updated_at = ? WHERE contact_id = ?`, []any{keep, now, merge}},
			// Re-point earlier merges into merge, so lookups take one hop.
			{`UPDATE contacts SET merged_into = ?, merged_at = ? WHERE id = ? OR merged_into = ?`, []any{keep, now, merge, merge}},
		} {
			if _, err := db.exec(ctx, x, st.q, st.args...); err != nil {
				return err
			}
		}
		return nil
	})
}

type linkedContact struct{ name, attrs, merged string }

// linked reads the two contacts LinkContacts joins, locking both in id
// order (no deadlock with a concurrent link): their merged_into tells
// whether a concurrent link won.
func (db *DB) linked(ctx context.Context, x Querier, keep, merge string) (k, m linkedContact, err error) {
	rows, err := db.query(ctx, x, `SELECT id, name, attributes, merged_into FROM contacts WHERE id IN (?, ?) ORDER BY id`+db.d.ForUpdate, keep, merge)
	if err != nil {
		return k, m, err
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var c linkedContact
		if err := rows.Scan(&id, &c.name, &c.attrs, text(&c.merged)); err != nil {
			return k, m, err
		}
		if id == keep {
			k = c
		} else {
			m = c
		}
	}
	return k, m, rows.Err()
}

// ---- conversations ----

// ConversationCols are a conversation's columns.
const ConversationCols = `id, contact_id, channel, instance, status, attributes, created_at, updated_at`

func scanConversation(sc Row) (store.Conversation, error) {
	var c store.Conversation
	var attrs string
	if err := sc.Scan(&c.ID, &c.ContactID, &c.Channel, &c.Instance, &c.Status, &attrs, at(&c.CreatedAt), at(&c.UpdatedAt)); err != nil {
		return c, notFound(err)
	}
	c.Attributes = json.RawMessage(attrs)
	return c, nil
}

const openConversation = `SELECT ` + ConversationCols + ` FROM conversations
	WHERE contact_id = ? AND channel = ? AND instance = ? AND status = 'open'
	ORDER BY updated_at DESC, seq DESC LIMIT 1`

func (db *DB) OpenConversation(ctx context.Context, contactID, channel, instance string) (store.Conversation, error) {
	if contactID == "" || channel == "" {
		return store.Conversation{}, fmt.Errorf("%w: OpenConversation needs contact and channel", store.ErrInvalid)
	}
	id, err := db.canonical(ctx, db.c.Reads, contactID, false)
	if err != nil {
		return store.Conversation{}, err
	}
	c, err := scanConversation(db.row(ctx, db.c.Reads, openConversation, id, channel, instance))
	if !errors.Is(err, store.ErrNotFound) {
		return c, err
	}
	err = db.c.Tx(ctx, func(x Querier) error {
		// Again in the transaction: a merge may have happened meanwhile. The
		// share lock orders us with LinkContacts; LockConversation with
		// other creators of this conversation (no unique index: after a
		// merge a contact may hold two).
		id, err := db.canonical(ctx, x, contactID, true)
		if err != nil {
			return err
		}
		if db.c.LockConversation != nil {
			if err := db.c.LockConversation(ctx, x, id, channel, instance); err != nil {
				return err
			}
		}
		c, err = scanConversation(db.row(ctx, x, openConversation, id, channel, instance))
		if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		now := store.Now(time.Time{})
		c = store.Conversation{ID: store.NewID(), ContactID: id, Channel: channel, Instance: instance,
			Status: store.ConversationOpen, Attributes: json.RawMessage("{}"), CreatedAt: now, UpdatedAt: now}
		_, err = db.exec(ctx, x, `INSERT INTO conversations (`+ConversationCols+`) VALUES (?, ?, ?, ?, ?, '{}', ?, ?)`,
			c.ID, c.ContactID, c.Channel, c.Instance, string(c.Status), db.time(now), db.time(now))
		return err
	})
	return c, err
}

func (db *DB) LookupConversation(ctx context.Context, contactID, channel, instance string) (store.Conversation, error) {
	if contactID == "" || channel == "" {
		return store.Conversation{}, fmt.Errorf("%w: LookupConversation needs contact and channel", store.ErrInvalid)
	}
	// openConversation of the contact contactID resolves to, in one query.
	return scanConversation(db.row(ctx, db.c.Reads, `SELECT v.id, v.contact_id, v.channel, v.instance, v.status, v.attributes, v.created_at, v.updated_at
		FROM contacts k JOIN conversations v ON v.contact_id = coalesce(k.merged_into, k.id)
		WHERE k.id = ? AND v.channel = ? AND v.instance = ? AND v.status = 'open'
		ORDER BY v.updated_at DESC, v.seq DESC LIMIT 1`, contactID, channel, instance))
}

func (db *DB) GetConversation(ctx context.Context, id string) (store.Conversation, error) {
	return scanConversation(db.row(ctx, db.c.Reads, `SELECT `+ConversationCols+` FROM conversations WHERE id = ?`, id))
}

// addressOwners selects the contacts owning an address on any channel.
const addressOwners = `contact_id IN (SELECT a.contact_id FROM contact_addresses a WHERE a.address = ? AND a.channel IN (
	WITH RECURSIVE channels (c) AS (
		SELECT min(channel) FROM contact_addresses
		UNION ALL
		SELECT (SELECT min(channel) FROM contact_addresses WHERE channel > channels.c) FROM channels WHERE channels.c IS NOT NULL)
	SELECT c FROM channels WHERE c IS NOT NULL))`

func (db *DB) ListConversations(ctx context.Context, f store.ConversationFilter, page store.Page) ([]store.Conversation, string, error) {
	var where []string
	var args []any
	if f.ContactID != "" {
		id, err := db.canonical(ctx, db.c.Scans, f.ContactID, false)
		if errors.Is(err, store.ErrNotFound) {
			return nil, "", nil
		} else if err != nil {
			return nil, "", err
		}
		where, args = append(where, "contact_id = ?"), append(args, id)
	}
	if f.Status != "" {
		where, args = append(where, "status = ?"), append(args, string(f.Status))
	}
	if f.Channel != "" {
		where, args = append(where, "channel = ?"), append(args, f.Channel)
	}
	if f.Address != "" {
		// Merges move addresses to the contact kept, whose id the
		// conversations moved to as well. The address is looked up on
		// each channel in use through the primary key (channel, address):
		// the channels are found by skipping along it, one probe each. An
		// index on address alone would cost every new contact's insert.
		where, args = append(where, addressOwners), append(args, store.Text(f.Address))
	}
	return list(ctx, db, "conversations", ConversationCols, where, args, page, scanConversation)
}
