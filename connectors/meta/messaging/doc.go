// Package messaging is what the Messenger and Instagram connectors
// (connectors/meta/messenger, connectors/meta/instagram) share: Meta's
// Messenger Platform, which carries both, speaks one webhook format and
// one Send API for them.
//
// Inbound, Meta POSTs {"object": "page" | "instagram", "entry": [...]},
// each entry one account's (a Page's, an Instagram professional
// account's) batch of `messaging` events: a message (text, attachments,
// a tapped quick reply, a reply to another message), a postback (a
// button), a reaction, a delivery or read receipt, and kinds this package
// does not take (opt-ins, referrals, hand-overs), which are acknowledged
// and logged. Parse turns the events of this instance's account into
// connectors.Inbound values; the echoes of the account's own messages
// are skipped.
//
// Outbound, Requests renders a connectors.Outbound as the Send API bodies
// that carry it ({"recipient": {"id"}, "messaging_type", "message"}): one
// per attachment, then the text in parts within the channel's limit, the
// choices as quick replies on the last part. Conn is the connector both
// packages build, with their own spec and configuration: it verifies
// X-Hub-Signature-256 and answers the hub.challenge handshake through
// connectors/meta/graph, and sends through its Client.
//
// Meta's Messenger read receipt names no message, only a watermark time
// before which everything is read (and an old client's delivery receipt
// likewise). Conn remembers, in memory and for a week, which messages it
// sent to whom and when, so that such a receipt becomes a report on each
// message it covers; a receipt that reaches another node than the one
// that sent the message reports nothing.
package messaging
