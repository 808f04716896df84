package vault

import (
	"fmt"
	"unicode"
	"unicode/utf8"
)

// Input limits, in bytes.
const (
	maxID          = 64
	maxOwner       = 256
	maxActor       = 256
	maxAccountName = 256
	maxLogin       = 256
	maxDescription = 1024
	maxLabelKey    = 64
	maxLabelValue  = 256
	maxLabels      = 32
)

// CheckID returns nil when id is a well-formed vault or account ID: 1–64
// bytes of [A-Za-z0-9._:-]. Otherwise the error wraps [ErrInvalidArgument].
func CheckID(id string) error { return checkID("ID", id) }

func checkID(what, id string) error {
	if id == "" || len(id) > maxID {
		return fmt.Errorf("%s %s must be 1-%d bytes, is %d: %w", what, quoteID(id), maxID, len(id), ErrInvalidArgument)
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == ':' || c == '-') {
			return fmt.Errorf("%s %s has %q at byte %d; allowed are [A-Za-z0-9._:-]: %w", what, quoteID(id), c, i, ErrInvalidArgument)
		}
	}
	return nil
}

// checkText validates free text: length in bytes, valid UTF-8, no control
// characters (newlines allowed only when multiline), and none of the
// invisible or bidirectional-control characters that let text shown in an
// admin UI or an audit log read differently from what it is.
func checkText(what, s string, min, max int, multiline bool) error {
	if len(s) < min || len(s) > max {
		return fmt.Errorf("%s must be %d-%d bytes, is %d: %w", what, min, max, len(s), ErrInvalidArgument)
	}
	if !utf8.ValidString(s) {
		return fmt.Errorf("%s is not valid UTF-8: %w", what, ErrInvalidArgument)
	}
	for i, r := range s {
		if multiline && r == '\n' {
			continue
		}
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' || deceptive(r) {
			return fmt.Errorf("%s has control character %U at byte %d: %w", what, r, i, ErrInvalidArgument)
		}
	}
	return nil
}

// deceptive reports the bidirectional controls and invisible characters
// refused in text: marks and embeddings that reorder what follows (the
// "Trojan Source" characters), the zero-width space and word joiner, and
// the byte-order mark. Zero-width joiners (U+200C, U+200D) stay allowed:
// Persian and Indic names and emoji need them.
func deceptive(r rune) bool {
	switch {
	case r == '\u061C', r == '\u200B', r == '\u200E', r == '\u200F', r == '\u2060', r == '\uFEFF':
		return true
	case '\u202A' <= r && r <= '\u202E', '\u2066' <= r && r <= '\u2069':
		return true
	}
	return false
}
