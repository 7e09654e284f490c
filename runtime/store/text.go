package store

import (
	"strings"
	"unicode/utf8"
	"unsafe"
)

// The text rule. PostgreSQL's text cannot hold NUL, its jsonb refuses the
// escape \u0000 and unpaired surrogate escapes, and both refuse invalid
// UTF-8; SQLite stores all of them as given. So that a value is stored the
// same way on both stores, and a customer's message carrying one is stored
// rather than failing (and failing again on every redelivery), both stores
// write every string through Text and every JSON value through CleanJSON:
// NUL, each invalid UTF-8 sequence and each unpaired surrogate become U+FFFD,
// the replacement character, as invalid UTF-8 already does when Go decodes
// JSON. Opaque payloads (bytes) are stored as given. The runtime applies the
// same rule where a customer's message enters it (node.Receive), so what
// flows see of it is what is stored.

// Replacement is what Text and CleanJSON put in place of what cannot be stored.
const Replacement = "\uFFFD"

// clean reports whether s needs no change: valid UTF-8 without NUL.
func clean(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == 0 {
			return false
		} else if c >= utf8.RuneSelf {
			rest := s[i:]
			return utf8.ValidString(rest) && strings.IndexByte(rest, 0) < 0
		}
	}
	return true
}

// view reads b as a string without copying it (read only, not kept).
func view(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

// Text returns s with NUL and every invalid UTF-8 sequence replaced by
// U+FFFD; s itself (no copy) when it has neither.
func Text(s string) string {
	if clean(s) {
		return s
	}
	return string(appendText(make([]byte, 0, len(s)+8), s))
}

// TextBytes is Text for bytes; b itself when it needs no change.
func TextBytes(b []byte) []byte {
	if clean(view(b)) {
		return b
	}
	return appendText(make([]byte, 0, len(b)+8), view(b))
}

func appendText(dst []byte, s string) []byte {
	for i := 0; i < len(s); {
		c := s[i]
		if c == 0 {
			dst = append(dst, Replacement...)
			i++
			continue
		}
		if c < utf8.RuneSelf {
			dst = append(dst, c)
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, Replacement...)
		} else {
			dst = append(dst, s[i:i+size]...)
		}
		i += size
	}
	return dst
}

// CleanJSON returns JSON text with the rule applied inside it: the escape
// \u0000 and unpaired surrogate escapes (\ud800 alone) become \ufffd, and
// NUL bytes and invalid UTF-8 become U+FFFD. Other text is kept byte for
// byte; b itself is returned when nothing changes. It does not check that
// b is JSON: a backslash outside a string is not JSON anyway.
func CleanJSON(b []byte) []byte {
	var out []byte // nil until something changes
	last := 0      // b[last:] is not yet copied to out
	flush := func(upTo int, with string) {
		if out == nil {
			out = make([]byte, 0, len(b)+8)
		}
		out = appendText(out, view(b[last:upTo]))
		out = append(out, with...)
	}
	for i := 0; i < len(b); i++ {
		if b[i] != '\\' || i+1 >= len(b) {
			continue
		}
		if b[i+1] != 'u' {
			i++ // \" \\ and the like: the escaped byte is not a backslash
			continue
		}
		r, ok := hex4(b, i+2)
		if !ok {
			i++
			continue
		}
		switch {
		case r == 0:
		case r >= 0xD800 && r <= 0xDBFF: // high surrogate: needs a low one next
			if lo, ok := hex4(b, i+8); ok && i+7 < len(b) && b[i+6] == '\\' && b[i+7] == 'u' && lo >= 0xDC00 && lo <= 0xDFFF {
				i += 11
				continue
			}
		case r >= 0xDC00 && r <= 0xDFFF: // a low surrogate without its high one
		default:
			i += 5
			continue
		}
		flush(i, `\ufffd`)
		i += 5
		last = i + 1
	}
	if out == nil {
		return TextBytes(b)
	}
	return appendText(out, view(b[last:]))
}

// hex4 decodes the four hex digits at b[i:i+4].
func hex4(b []byte, i int) (rune, bool) {
	if i+4 > len(b) {
		return 0, false
	}
	var r rune
	for _, c := range b[i : i+4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		case c >= 'A' && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}
