package messaging

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxBody is the longest Body Twilio's Messages API and TwiML <Message>
// take: 1600 characters.
const MaxBody = 1600

// Split cuts text into parts of at most limit characters, at the last
// white space that fits when there is one in the second half of the
// part, else at the limit. Characters are counted as UTF-16 code units
// (an emoji outside the Basic Multilingual Plane counts two), which is
// never fewer than Twilio counts. The white space at a cut is dropped;
// text within limit is one part, unchanged; "" is no part.
func Split(text string, limit int) []string {
	if limit <= 0 {
		limit = MaxBody
	}
	var parts []string
	for text != "" {
		end, units, lastSpace, spaceEnd := 0, 0, -1, -1
		for i, r := range text {
			w := 1
			if r >= 0x10000 {
				w = 2
			}
			if units+w > limit {
				break
			}
			units += w
			end = i + utf8.RuneLen(r)
			if unicode.IsSpace(r) && units > limit/2 {
				lastSpace, spaceEnd = i, end
			}
		}
		if end == len(text) {
			parts = append(parts, text)
			break
		}
		if lastSpace > 0 {
			if part := strings.TrimRightFunc(text[:lastSpace], unicode.IsSpace); part != "" {
				parts = append(parts, part)
			}
			text = strings.TrimLeftFunc(text[spaceEnd:], unicode.IsSpace)
			continue
		}
		parts = append(parts, text[:end])
		text = strings.TrimLeftFunc(text[end:], unicode.IsSpace) // a cut just before a space is at a word boundary
	}
	return parts
}
