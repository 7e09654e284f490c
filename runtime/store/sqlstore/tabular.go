package sqlstore

import "github.com/switchboard-dev/switchboard/runtime/store"

// Tabular reports whether writing the units table by table (every unit's
// contacts, then every unit's addresses, … in the order store.Unit
// documents, each table's rows in batch order) leaves the database as
// applying them one by one would, given that every unit commits. Both
// stores write such a batch with one statement per table instead of one
// per row. Units for which skip is true are left out (they write nothing).
//
// It refuses a batch whose units depend on each other in a way that the
// table order would break: the same message, execution, effect, timer or
// task id in two units, two executions of one conversation, two new
// conversations of one contact on one channel instance, a conversation
// opened beside others (a call), or a row that names a contact,
// conversation or execution created by a later unit (it would exist in time
// table by table, and not unit by unit).
func Tabular(units []*store.Unit, skip func(i int) bool) bool {
	t := tabular{
		contacts: make(map[string]int, len(units)), convs: make(map[string]int, len(units)),
		execs: make(map[string]int, len(units)), seen: make(map[kindID]int, 4*len(units)),
		newConvs: make(map[convKey]bool, len(units)),
	}
	if !t.created(units, skip) {
		return false
	}
	for i, u := range units {
		if skip(i) {
			continue
		}
		if !t.identity(u, i) || !t.rows(u, i) || !t.tasks(u, i) {
			return false
		}
	}
	return true
}

type tabular struct {
	// Ids created by the batch, with the index of the unit that creates them.
	contacts, convs, execs map[string]int
	// Ids that may appear in one unit only.
	seen     map[kindID]int
	newConvs map[convKey]bool
}

type kindID struct {
	kind byte
	id   string
}

type convKey struct{ contact, channel, instance string }

func (t *tabular) once(kind byte, id string, i int) bool {
	k := kindID{kind, id}
	if j, ok := t.seen[k]; ok && j != i {
		return false
	}
	t.seen[k] = i
	return true
}

// inTime reports whether id, if the batch creates it, is created by unit i
// or an earlier one.
func inTime(m map[string]int, id string, i int) bool {
	j, ok := m[id]
	return !ok || j <= i
}

// created records what the batch creates, so that a unit naming a later
// unit's row is caught.
func (t *tabular) created(units []*store.Unit, skip func(int) bool) bool {
	add := func(m map[string]int, id string, i int) bool {
		if _, dup := m[id]; dup {
			return false
		}
		m[id] = i
		return true
	}
	for i, u := range units {
		if skip(i) {
			continue
		}
		if c := u.Contact; c != nil && !add(t.contacts, c.ID, i) {
			return false
		}
		if c := u.Conversation; c != nil && !add(t.convs, c.ID, i) {
			return false
		}
		if w := u.Execution; w != nil && w.Expected == 0 && !add(t.execs, w.Execution.ID, i) {
			return false
		}
	}
	return true
}

func (t *tabular) identity(u *store.Unit, i int) bool {
	if c := u.Conversation; c != nil {
		k := convKey{c.ContactID, c.Channel, c.Instance}
		if c.Beside || t.newConvs[k] || !inTime(t.contacts, c.ContactID, i) {
			return false
		}
		t.newConvs[k] = true
	}
	if m := u.Inbound; m != nil && (!t.once('m', m.ID, i) || !inTime(t.convs, m.ConversationID, i)) {
		return false
	}
	if w := u.Execution; w != nil {
		e := w.Execution
		if !t.once('x', e.ID, i) || !t.once('c', e.ConversationID, i) || !inTime(t.convs, e.ConversationID, i) {
			return false
		}
	}
	return true
}

func (t *tabular) rows(u *store.Unit, i int) bool {
	for _, m := range u.Messages {
		if !t.once('m', m.ID, i) || !inTime(t.convs, m.ConversationID, i) {
			return false
		}
	}
	for _, e := range u.Effects {
		if !t.once('e', e.ID, i) || !inTime(t.execs, e.ExecutionID, i) {
			return false
		}
	}
	for _, r := range u.CompleteEffects {
		if !t.once('e', r.ID, i) {
			return false
		}
	}
	for _, id := range u.DeleteTimers {
		if !t.once('t', id, i) {
			return false
		}
	}
	for _, tm := range u.Timers {
		if !t.once('t', tm.ID, i) || !inTime(t.execs, tm.ExecutionID, i) {
			return false
		}
	}
	return true
}

func (t *tabular) tasks(u *store.Unit, i int) bool {
	for _, tk := range u.Tasks {
		if !t.once('k', tk.ID, i) || !inTime(t.convs, tk.ConversationID, i) || !inTime(t.contacts, tk.ContactID, i) ||
			!inTime(t.execs, tk.ExecutionID, i) {
			return false
		}
	}
	for _, tu := range u.TaskUpdates {
		if !t.once('k', tu.ID, i) {
			return false
		}
	}
	for _, id := range u.CloseConversations {
		if !inTime(t.convs, id, i) {
			return false
		}
	}
	return true
}
