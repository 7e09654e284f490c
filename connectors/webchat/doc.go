// Package webchat is Switchboard's built-in website chat, the default
// channel of the quick start: a customer chat page served by the runtime,
// an embeddable widget for other sites, a WebSocket for live replies with
// a long-polling REST fallback, and a visitor identity that survives a
// page reload.
//
// It registers itself with connectors.Default as "webchat"; messages
// carry the channel "webchat". Everything lives in the server's memory
// except what the runtime stores (the messages and conversations
// themselves): no external service is involved.
//
// # Configuration
//
//   - secret: signs visitor tokens (HMAC-SHA256), at least 16
//     characters. Default: a 32-byte key the runtime makes once and keeps
//     in its store (connectors.Keys, "webchat/{instance}"), fetched when
//     the instance first needs it, so a visitor's token survives a reload
//     (the widget keeps it in localStorage), a restart of the server and
//     another node of the cluster. Without a key store (a test's
//     Resources) the instance makes a random one for its life.
//   - media_dir: where attached files are kept (internal/mediastore).
//   - prechat: name, email or both: a form the widget shows before the
//     first message. The name goes with every message as the sender's
//     name, the email (connectors.NormalizeEmail) as Inbound.Email, which
//     makes one contact of the visitor and the address on every channel.
//   - title, greeting: shown in the widget's header and as its first line.
//   - allowed_origins: other sites (scheme://host[:port], comma
//     separated, or *) that may embed the widget. They get CORS access to
//     the session and messages endpoints and to the webhook, their
//     WebSockets are accepted, and they may frame the chat page. Default:
//     the server's own origin only.
//
// # Routes
//
// The instance declares its routes under /webchat/{instance} (Routes, see
// internal/httpsurface), which the runtime server mounts, and receives
// /v1/webhooks/webchat/{instance} in Receive, as every connector does. For
// the default instance:
//
//	GET  /webchat/default/             the chat page (a full-page widget)
//	GET  /webchat/default/widget.js    the widget; embeddable on another site:
//	GET  /webchat/default/embed.js     the same script, the embed snippet's name:
//	                                   <script src="https://HOST/webchat/default/embed.js" async></script>
//	GET  /webchat/default/widget.css   its style sheet
//	POST /webchat/default/session      {"token": "…"} (optional) → {"visitor", "token", "title", "greeting"}
//	GET  /webchat/default/ws?token=T&after=SEQ&epoch=E     WebSocket of live messages
//	GET  /webchat/default/messages?after=SEQ&epoch=E       long-poll (Authorization: Bearer T, or ?token=T)
//	POST /webchat/default/upload?name=FILE                 a file to attach (the bytes, its Content-Type; Bearer T) → {"id", "url", "name"}
//	GET  /webchat/default/media?id=ID&sig=SIG              an attached file, by its signed link (media.go)
//	POST /v1/webhooks/webchat/default  {"id": "…", "text": "…", "name": "…", "choice": "…", "email": "…"} (Authorization: Bearer T)
//	                                   or {"receipt": {"message": "{visitor}:{epoch}:{seq}", "status": "delivered"|"read"}}
//
// # Visitors
//
// A visitor id is "v_" and 26 random base32 characters. Its token is the
// id, a dot, and the base64url HMAC-SHA256 of the id under the secret,
// bound to the instance's name. POST session keeps a valid token (same
// visitor) and otherwise issues a new visitor: the widget stores the
// token in localStorage, so the visitor and their conversation survive a
// reload. Tokens do not expire; they are bearer credentials of an
// anonymous visitor, nothing more.
//
// # Inbound
//
// The widget POSTs each message to the instance's webhook with the
// visitor's token. Receive checks the token (constant time; 401), the
// content type (415 unless application/json), and the body (400 naming
// the field: "id" required, printable, at most 128 bytes; "text" required,
// at most 8 KiB; "name" optional; "choice" optional, a string of at most
// MaxChoiceBytes without control characters; nothing else). It returns
// one message: PlatformID "{visitor}:{id}" (so a retried POST is stored
// once), From the visitor id, To the instance name, FromName the name,
// Choice the choice. The server answers
// {"accepted": 1} once the message is durably stored; the widget then
// marks it sent. Receive also echoes the message into the visitor's
// mailbox, so the visitor's other tabs show it and a reload finds it.
//
// # Outbound and the mailbox
//
// Send addresses a visitor id (Outbound.To). Each visitor has an
// in-memory mailbox of the last MailboxSize messages, numbered by a
// sequence (1, 2, …) within an epoch: a random name of the mailbox, new
// when it is created again (after a restart, or after MailboxIdle without
// use). Send appends the reply, pushes it as a frame to each of the
// visitor's open WebSockets and wakes the visitor's long-polls. A visitor
// who is not connected still gets it: the mailbox keeps it until they
// come back. Send is idempotent on Outbound.Key while the message is in
// the mailbox (a retry is not delivered twice and returns the same
// platform id, "{visitor}:{epoch}:{seq}"). A socket that cannot keep up
// is closed (1013); the widget reconnects and catches up from the
// mailbox.
//
// The mailbox is a delivery buffer, not the history: the runtime's store
// keeps the conversation. It holds at most MaxVisitors mailboxes,
// dropping the least recently used idle one first.
//
// # Notices, typing and receipts
//
// The connector is a connectors.Notifier. Notify puts a notice (queued,
// joined, left, closed) in the mailbox as a Message from "system" with its
// Kind, the agent's name and the queue position, once per Notice.Key, so
// reloads and other tabs show it; typing is a frame {"type": "typing",
// "agent": "Ana"} pushed to the visitor's open sockets (and relayed to
// the other nodes), kept nowhere. Send puts Outbound.AgentName on a live
// agent's reply (Message.Agent); the flow's replies have none. A receipt
// POSTed to the webhook is returned as an Inbound with Status, the
// runtime's delivery-report seam, which tells the agent.
//
// # The WebSocket and the REST fallback
//
// GET ws upgrades (same origin or an allowed one; 401 for a bad token,
// 429 beyond MaxSocketsPerVisitor). The server first sends
//
//	{"type": "hello", "visitor": "v_…", "epoch": "E", "last": N, "reset": true?}
//
// then the messages after ?after=SEQ as frames
//
//	{"type": "message", "epoch": "E", "last": N, "message": {"seq": 7, "id": "c_…", "from": "visitor"|"agent", "text": "…", "media": […], "at": "…",
//	  "choices": [{"id", "title", "description"}], "menu": "…", "choice": "…"}}
//
// then every new message as it arrives, and {"type": "ping"} every 30 s.
// reset says that the client's epoch (or position) is not the mailbox's:
// it must forget its last sequence number. The widget sends nothing on
// the socket; the server closes it with 1001 when it shuts down.
//
// GET messages answers {"visitor", "epoch", "last", "reset", "messages"}
// with the messages after ?after=SEQ at once if there are any, and
// otherwise waits up to LongPollWait (or ?wait=SECONDS) for one, so a
// client without WebSocket still gets replies within a moment.
//
// # Choices
//
// The connector is a connectors.ChoiceRenderer: a reply's Choices and
// Menu go into its Message (choices, menu), and so to the sockets, the
// long-polls, the relay and the page's stored transcript alike; pages
// that predate them ignore the fields. The widget shows the choices as
// buttons under the reply, or with a menu label as an ARIA menu button
// that opens them as a list. A tap posts the title as the text and the
// id as "choice" (Inbound.Choice, and Message.Choice on the echo). A
// reply's buttons are disabled once a visitor's message follows it.
// Choices with an id a tap could not send back are folded into the text
// as a numbered menu (connectors.MenuText) instead.
//
// # The widget
//
// widget.js is plain JavaScript, with no build step and nothing loaded
// from elsewhere; the page and the embedded widget are the same code, in a
// shadow root. It renders the conversation in sequence order without
// duplicates (by epoch and sequence number), shows the visitor's own
// message at once and marks it sent when the webhook has accepted it (or
// failed, with a retry button), keeps the transcript in localStorage for
// a reload, connects the WebSocket with reconnection and backoff, and
// falls back to long-polling when the socket cannot connect twice in a
// row (trying the socket again every two minutes). ?transport=poll on
// the page forces the fallback.
//
// # For the server
//
// Routes() lists the page and endpoints with their methods; the server
// answers the other methods (405) and paths (404). WebhookCORS(ctx) must
// be called before the webhook is handled: it sets the CORS headers for
// an allowed origin and answers the browser's OPTIONS preflight itself
// (returning true). Drain, when a shutdown begins, answers the long-polls
// at once; WebSockets are hijacked connections that the server does not
// wait for: Close closes them. HomePage is the chat page's URL, which
// serve prints at start; QuickStart in the spec makes serve start the
// default instance when none is configured.
package webchat
