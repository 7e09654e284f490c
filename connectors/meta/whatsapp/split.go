package whatsapp

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Split cuts text into parts of at most limit characters (UTF-16 code
// units), at the last white space that fits when there is one in the
// second half of the part, else at the limit. The white space at a cut is
// dropped; text within limit is one part, unchanged; "" is no part.
func Split(text string, limit int) []string {
	if limit <= 0 {
		limit = MaxText
	}
	var parts []string
	for text != "" {
		end, n, lastSpace, spaceEnd := 0, 0, -1, -1
		for i, r := range text {
			w := 1
			if r >= 0x10000 {
				w = 2
			}
			if n+w > limit {
				break
			}
			n += w
			end = i + utf8.RuneLen(r)
			if unicode.IsSpace(r) && n > limit/2 {
				lastSpace, spaceEnd = i, end
			}
		}
		if end == 0 { // a character wider than the limit goes whole
			_, end = utf8.DecodeRuneInString(text)
		}
		if end == len(text) {
			parts = append(parts, text)
			break
		}
		if r, _ := utf8.DecodeRuneInString(text[end:]); unicode.IsSpace(r) {
			lastSpace, spaceEnd = end, end // the limit falls on a word boundary
		}
		if lastSpace > 0 {
			if part := strings.TrimRightFunc(text[:lastSpace], unicode.IsSpace); part != "" {
				parts = append(parts, part)
			}
			text = strings.TrimLeftFunc(text[spaceEnd:], unicode.IsSpace)
			continue
		}
		parts = append(parts, text[:end])
		text = strings.TrimLeftFunc(text[end:], unicode.IsSpace)
	}
	return parts
}
