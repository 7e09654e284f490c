package main

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
)

// The routing decision of ../shared/peers and bench/flows/routing.flow.
const (
	liveAgentPhrase = "live agent"
	autoReplyText   = "Thanks, a bot will help you"
	supportWorkflow = "support_routing"
)

// message is one text of the mix and the routing decision it must produce.
type message struct {
	text    string
	quoted  []byte // text as a JSON string, with its quotes
	enqueue bool   // true: one task to supportWorkflow; false: one reply with autoReplyText
}

// buildMessages returns the peers' mix: n messages of which round(n*liveShare) ask for a live
// agent, spread evenly; the others include near misses ("live chat agent", "liveagent", "I live
// in…", "agent") that must not enqueue. The texts are those of ../shared/peers/loadgen; the
// peers' "channel" field is not sent, because a custom connector instance has one channel.
func buildMessages(n int, liveShare float64) []message {
	liveTexts := []string{
		"I want a live agent",
		"LIVE AGENT please",
		"can I talk to a Live Agent? my card was charged twice",
		"live agent",
		"hello, is a live agent available right now?",
	}
	botTexts := []string{
		"what are your opening hours?",
		"my order #%d has not arrived yet",
		"is a live chat agent around?",
		"agent",
		"I live in Berlin, do you ship here?",
		"reset my password",
		"Quiero hablar con alguien sobre el pedido %d",
		"liveagent",
		"how much is shipping to Lyon?",
	}
	liveCount := int(math.Round(float64(n) * liveShare))
	msgs := make([]message, 0, n)
	live, bot := 0, 0
	for i := range n {
		// Even spreading: message i is live when floor(i*share) steps up at i+1.
		enqueue := (i+1)*liveCount/n > i*liveCount/n
		var text string
		if enqueue {
			text = liveTexts[live%len(liveTexts)]
			live++
		} else {
			text = botTexts[bot%len(botTexts)]
			if strings.Contains(text, "%d") {
				text = fmt.Sprintf(text, 1000+i)
			}
			bot++
		}
		if routesToAgent(text) != enqueue {
			panic("message table inconsistent: " + text)
		}
		q, err := json.Marshal(text)
		if err != nil {
			panic(err)
		}
		msgs = append(msgs, message{text: text, quoted: q, enqueue: enqueue})
	}
	return msgs
}

// routesToAgent is the decision itself: the flow's `message.text matches "(?i)live agent"`.
func routesToAgent(text string) bool {
	return strings.Contains(strings.ToLower(text), liveAgentPhrase)
}

// appendBody appends the custom connector's inbound JSON for one message:
// {"id":ID,"from":FROM,"text":TEXT}. id and from are made of [A-Za-z0-9-], so they need no escaping.
func appendBody(dst []byte, id, from []byte, m message) []byte {
	dst = append(dst, `{"id":"`...)
	dst = append(dst, id...)
	dst = append(dst, `","from":"`...)
	dst = append(dst, from...)
	dst = append(dst, `","text":`...)
	dst = append(dst, m.quoted...)
	return append(dst, '}')
}
