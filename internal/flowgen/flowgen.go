// Package flowgen writes generated flows of any size, for tests and
// benchmarks that need a program with the weight of a real one.
package flowgen

import (
	"bytes"
	"fmt"
)

// Options are what the programs built from Flow differ by.
type Options struct {
	Channels string // the flow's channels line, e.g. "sms, whatsapp"
	Tries    int    // the initial value of the flow's tries variable
	// VIP routes on contact.attributes.vip: the enqueue's attributes and
	// priority read it and the workflow sends VIPs to a queue of their own.
	VIP bool
}

// Flow writes flow f<f> of steps steps, then the queues and workflow w<f>
// it enqueues to. The steps cycle through switch, http, send, ask, set and
// enqueue, with guards, interpolation and step outputs.
func Flow(b *bytes.Buffer, f, steps int, o Options) {
	fmt.Fprintf(b, "flow f%d {\n  trigger message\n  channels %s\n", f, o.Channels)
	fmt.Fprintf(b, "  var language: string = contact.attributes.language ?? \"en\"\n  var tries: number = %d\n\n", o.Tries)
	for s := 0; s < steps; s++ {
		next := fmt.Sprintf("s%d", s+1)
		if s == steps-1 {
			next = "done"
		}
		switch s % 6 {
		case 0:
			fmt.Fprintf(b, "  s%d: switch {\n    message.text matches \"(?i)agent %d\" -> %s\n    language == \"id\" and tries < %d -> %s\n    default -> %s\n  }\n", s, s, next, s, next, next)
		case 1:
			fmt.Fprintf(b, "  s%d: http {\n    post \"${env.BOT_URL}/reply/%d\"\n    json {text: message.text, conversation: conversation.id, step: %d}\n    timeout 3s\n    ok -> %s\n    error -> %s\n  }\n", s, s, s, next, next)
		case 2:
			fmt.Fprintf(b, "  s%d: send \"Hello ${contact.name}, step %d: ${s%d.json.reply ?? \"n/a\"}\" -> %s\n", s, s, s-1, next)
		case 3:
			fmt.Fprintf(b, "  s%d: ask \"Question %d for ${contact.name}?\" {\n    timeout 5m -> %s\n    reply.text == \"2\" -> %s\n    reply -> %s\n  }\n", s, s, next, next, next)
		case 4:
			fmt.Fprintf(b, "  s%d: set tries = tries + 1, language = s%d.reply.text == \"2\" ? \"id\" : language -> %s\n", s, s-1, next)
		case 5:
			if o.VIP {
				fmt.Fprintf(b, "  s%d: enqueue w%d {\n    attributes {language: language, vip: contact.attributes.vip ?? false, channel: message.channel}\n    priority contact.attributes.vip ? 10 : %d\n    timeout 10m -> %s\n    completed -> %s\n  }\n", s, f, s%7, next, next)
			} else {
				fmt.Fprintf(b, "  s%d: enqueue w%d {\n    attributes {language: language, channel: message.channel}\n    priority %d\n    timeout 10m -> %s\n    completed -> %s\n  }\n", s, f, s%7, next, next)
			}
		}
	}
	if o.VIP {
		fmt.Fprintf(b, "}\n\nqueue q%d { workers \"en\" in worker.languages and worker.department == \"d%d\" }\n", f, f)
		fmt.Fprintf(b, "queue v%d { workers worker.vip == true  order worker.level desc }\n\n", f)
		fmt.Fprintf(b, "workflow w%d {\n  when task.vip -> v%d timeout 30s, then q%d\n  default q%d\n}\n\n", f, f, f, f)
		return
	}
	fmt.Fprintf(b, "}\n\nqueue q%d { workers \"en\" in worker.languages }\n", f)
	fmt.Fprintf(b, "workflow w%d {\n  default q%d\n}\n\n", f, f)
}
