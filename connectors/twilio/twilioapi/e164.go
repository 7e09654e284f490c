package twilioapi

import "strings"

// E164 normalizes a phone address to E.164: "whatsapp:+1 (415) 555-0100"
// gives "+14155550100", true. It drops a channel prefix (whatsapp:, sms:,
// mms:, tel:) and the separators people write (spaces, dots, dashes,
// parentheses), and wants a "+", a non-zero digit and 7 to 15 digits in
// all. Addresses that are not phone numbers give "", false: a client:
// or sip: identity of Twilio Voice, a WhatsApp business-scoped user id
// (BSUID) of a user who hides their number, a short code.
func E164(addr string) (string, bool) {
	addr = strings.TrimSpace(addr)
	if scheme, rest, ok := strings.Cut(addr, ":"); ok {
		switch strings.ToLower(scheme) {
		case "whatsapp", "sms", "mms", "tel":
			addr = rest
		default:
			return "", false
		}
	}
	if !strings.HasPrefix(addr, "+") {
		return "", false
	}
	var b strings.Builder
	b.Grow(16)
	b.WriteByte('+')
	for _, r := range addr[1:] {
		switch {
		case r >= '0' && r <= '9':
			if b.Len() == 1 && r == '0' {
				return "", false
			}
			b.WriteRune(r)
		case r == ' ' || r == '-' || r == '.' || r == '(' || r == ')':
		default:
			return "", false
		}
	}
	if n := b.Len() - 1; n < 7 || n > 15 {
		return "", false
	}
	return b.String(), true
}
