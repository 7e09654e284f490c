package connectors

import (
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// SplitText cuts text into the parts of a message longer than a
// platform takes in one, each part within limit as counted by size.
//
// size is what one character counts against limit: nil counts UTF-16
// code units, the way most platforms count characters (an emoji outside
// the Basic Multilingual Plane counts two, which is never fewer than the
// platform counts); utf8.RuneLen counts bytes. A size below one counts
// one.
//
// A text within limit is one part, unchanged; text that is only white
// space, like "", is no part. A longer text is cut into parts each as long
// as fits, cut:
//   - just before white space, when the limit falls there;
//   - else at its last white space, when that white space ends past half
//     the limit, so that no part is much shorter than it needs to be;
//   - else between two characters, inside a word longer than half the
//     limit.
//
// The white space at a cut is dropped, so no part is empty, and only the
// first part may start, and the last end, with white space: the text's. A
// character wider than the limit goes alone in a part: the platform, not
// the split, refuses it. A limit of zero or less is no limit.
func SplitText(text string, limit int, size func(rune) int) []string {
	if size == nil {
		size = utf16.RuneLen
	}
	if strings.TrimSpace(text) == "" {
		return nil
	}
	if limit <= 0 {
		return []string{text}
	}
	var parts []string
	for text != "" {
		cut, end := splitPoint(text, limit, size)
		if end == len(text) {
			parts = append(parts, text)
			break
		}
		if part := strings.TrimRightFunc(text[:cut], unicode.IsSpace); part != "" { // else white space the text starts with
			parts = append(parts, part)
		}
		text = strings.TrimLeftFunc(text[cut:], unicode.IsSpace)
	}
	return parts
}

// splitPoint returns where SplitText cuts text: end is the byte length
// of the longest start within limit (at least one character), cut the
// byte offset of the cut.
func splitPoint(text string, limit int, size func(rune) int) (cut, end int) {
	n, space := 0, -1
	for end < len(text) {
		r, w := utf8.DecodeRuneInString(text[end:])
		s := max(size(r), 1)
		if n+s > limit {
			break
		}
		n += s
		if unicode.IsSpace(r) && n > limit/2 {
			space = end
		}
		end += w
	}
	if end == 0 {
		_, end = utf8.DecodeRuneInString(text)
	}
	if r, _ := utf8.DecodeRuneInString(text[end:]); space < 0 || unicode.IsSpace(r) {
		return end, end
	}
	return space, end
}

// Excerpt returns the start of a body that is not the platform's own
// error format (an HTML error page, a proxy's text), for an error
// message: on one line, its runs of white space made one space, invalid
// UTF-8 shown as U+FFFD, and cut at max bytes on a character boundary
// with "…" after. An empty or blank body is "".
func Excerpt(body []byte, max int) string {
	s := strings.Join(strings.Fields(strings.ToValidUTF8(string(body), "\uFFFD")), " ")
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
