package connectors

import "strings"

// ChannelEmail is the channel of the email connector, whose addresses are
// email addresses: a sender known by the same address on another channel
// (Inbound.Email: the webchat's pre-chat form) is one contact with them.
const ChannelEmail = "email"

// MaxEmailBytes bounds an email address (RFC 5321's path limit).
const MaxEmailBytes = 254

// NormalizeEmail returns an email address as one contact key, and whether
// it is one: surrounding space, a "mailto:" prefix and angle brackets
// removed, then all of it in lower case. The local part is lower-cased
// too, though RFC 5321 lets it be case sensitive: no mail provider in use
// treats it so, and a customer who types their address in another case is
// still one person. Nothing else is folded (no dots or +tags removed, as
// Gmail would): addresses that differ there may be different people at
// other providers. An address is one @ with a non-empty local part before
// it and a domain with a dot after it, without spaces or control
// characters, at most MaxEmailBytes.
func NormalizeEmail(s string) (string, bool) {
	s = strings.TrimSpace(s)
	if len(s) >= 7 && strings.EqualFold(s[:7], "mailto:") {
		s = strings.TrimSpace(s[7:])
	}
	if strings.HasPrefix(s, "<") && strings.HasSuffix(s, ">") {
		s = strings.TrimSpace(s[1 : len(s)-1])
	}
	s = strings.ToLower(s)
	at := strings.IndexByte(s, '@')
	if at <= 0 || at != strings.LastIndexByte(s, '@') || len(s) > MaxEmailBytes {
		return "", false
	}
	domain := s[at+1:]
	if dot := strings.IndexByte(domain, '.'); dot <= 0 || dot == len(domain)-1 || strings.Contains(domain, "..") {
		return "", false
	}
	for _, r := range s {
		if r <= ' ' || r == 0x7f || r == '<' || r == '>' || r == ',' || r == ';' {
			return "", false
		}
	}
	return s, true
}
