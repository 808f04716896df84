package vault_test

import (
	"errors"
	"regexp"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/hwvault/hwvault/status"
	"github.com/hwvault/hwvault/vault"
)

var idPattern = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,64}$`)

func FuzzCheckID(f *testing.F) {
	for _, s := range []string{"HK-0001", "", "a b", "é", strings.Repeat("x", 64), strings.Repeat("x", 65), "a\x00", "a/b", "00:11:22"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, id string) {
		err := vault.CheckID(id)
		if want := idPattern.MatchString(id); (err == nil) != want {
			t.Fatalf("CheckID(%q) = %v; the pattern says valid=%v", id, err, want)
		}
		if err != nil && !errors.Is(err, vault.ErrInvalidArgument) {
			t.Fatalf("CheckID(%q) = %v; want ErrInvalidArgument", id, err)
		}
	})
}

// validText is the reference rule for owners and descriptions.
func validText(s string, min, max int, newline bool) bool {
	if len(s) < min || len(s) > max || !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if (unicode.IsControl(r) && !(newline && r == '\n')) || r == '\u2028' || r == '\u2029' {
			return false
		}
		switch r { // bidirectional controls and invisible characters
		case '\u061C', '\u200B', '\u200E', '\u200F', '\u202A', '\u202B', '\u202C', '\u202D', '\u202E',
			'\u2060', '\u2066', '\u2067', '\u2068', '\u2069', '\uFEFF':
			return false
		}
	}
	return true
}

func addTexts(f *testing.F) {
	for _, s := range []string{"alice@example.com", "", "a\nb", "a\r\nb", "\xff", "Zoë", strings.Repeat("é", 128), strings.Repeat("x", 1025), "\u2028", "\x1b[0m", "\t", "admin\u202e\u2066moc.live@", "zero\u200bwidth", "ZWNJ\u200cok"} {
		f.Add(s)
	}
}

func FuzzAssignOwner(f *testing.F) {
	addTexts(f)
	f.Fuzz(func(t *testing.T, owner string) {
		fx := newFixture(t)
		fx.importIDs("HK-1")
		before := fx.snapshot()
		v, code, err := fx.svc.Assign(fx.ctx, "HK-1", owner)
		if want := validText(owner, 1, 256, false); (err == nil) != want {
			t.Fatalf("Assign(owner %q) = %v; valid=%v", owner, err, want)
		}
		if err != nil {
			if !errors.Is(err, vault.ErrInvalidArgument) {
				t.Fatalf("Assign(owner %q) = %v; want ErrInvalidArgument", owner, err)
			}
			fx.unchangedSince(before, "a refused Assign")
			return
		}
		if v.Owner != owner || len(code) != 6 {
			t.Fatalf("Assign stored owner %q, code %q", v.Owner, code)
		}
	})
}

func FuzzSuspendDescription(f *testing.F) {
	addTexts(f)
	f.Fuzz(func(t *testing.T, d string) {
		fx := newFixture(t)
		fx.inStatus("HK-1", status.Active)
		before := fx.snapshot()
		v, _, err := fx.svc.Suspend(fx.ctx, "HK-1", d)
		if want := validText(d, 0, 1024, true); (err == nil) != want {
			t.Fatalf("Suspend(description %q) = %v; valid=%v", d, err, want)
		}
		if err != nil {
			if !errors.Is(err, vault.ErrInvalidArgument) {
				t.Fatalf("Suspend(description %q) = %v; want ErrInvalidArgument", d, err)
			}
			fx.unchangedSince(before, "a refused Suspend")
			return
		}
		if v.Description != d {
			t.Fatalf("stored description %q, want %q", v.Description, d)
		}
	})
}

func FuzzActivateCode(f *testing.F) {
	for _, s := range []string{"123456", "12345", "1234567", "12345a", "١٢٣٤٥٦", "", " 12345", "000000"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, code string) {
		fx := newFixture(t)
		real := fx.inStatus("HK-1", status.Reserved)
		before := fx.snapshot()
		_, err := fx.svc.Activate(fx.ctx, "HK-1", code)
		wellFormed := len(code) == 6 && strings.Trim(code, "0123456789") == ""
		switch {
		case !wellFormed:
			if !errors.Is(err, vault.ErrInvalidArgument) {
				t.Fatalf("Activate(%q) = %v; a malformed code is ErrInvalidArgument", code, err)
			}
			if len(code) >= 4 && strings.Contains(err.Error(), code) {
				t.Fatalf("the error repeats the code: %v", err)
			}
			fx.unchangedSince(before, "a malformed code")
		case code == real:
			if err != nil {
				t.Fatalf("the right code = %v", err)
			}
		default:
			if !errors.Is(err, vault.ErrInvalidCode) {
				t.Fatalf("Activate(%q) = %v; want ErrInvalidCode", code, err)
			}
			if v := fx.get("HK-1"); v.Activation.Attempts != 1 {
				t.Fatalf("wrong code not counted: %v", v.Activation)
			}
		}
	})
}
