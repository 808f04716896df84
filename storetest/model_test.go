package storetest

import "testing"

// TestValidTextHiddenRunes checks the model's own text rule against the
// invisible and bidirectional formatting characters free text may not
// contain (the list written out once more), and against neighbours of
// theirs that it must let through.
func TestValidTextHiddenRunes(t *testing.T) {
	refused := []rune{
		0x061C, 0x200B, 0x200E, 0x200F, 0x202A, 0x202B, 0x202C, 0x202D, 0x202E,
		0x2060, 0x2066, 0x2067, 0x2068, 0x2069, 0xFEFF,
		0x2028, 0x2029, 0x0000, 0x0009, 0x000D, 0x007F, 0x0085,
	}
	allowed := []rune{
		0x061B, 0x200C, 0x200D, 0x2010, 0x2027, 0x205F, 0x2061, 0x2065, 0x206A, 0xFEFE, 0xFF01,
		0x05D0, 0x0627, // Hebrew alef, Arabic alef: right-to-left letters are text
	}
	for _, r := range refused {
		for _, s := range []string{string(r), "a" + string(r), string(r) + "a", "ab" + string(r) + "cd"} {
			if validText(s, 0, 256, true) || validOwner(s) || validActor(s) || validDescription(s) {
				t.Errorf("the model accepts %+q (U+%04X); free text must refuse it", s, r)
			}
		}
	}
	for _, r := range allowed {
		s := "a" + string(r) + "b"
		if !validOwner(s) || !validActor(s) || !validDescription(s) {
			t.Errorf("the model refuses %+q (U+%04X); only control, separator and hidden formatting characters are refused", s, r)
		}
	}
	if !validDescription("line one\nline two") || validOwner("line one\nline two") {
		t.Error("a newline is allowed in descriptions only")
	}
	if !validActor("") || validOwner("") {
		t.Error("an actor may be empty, an owner may not")
	}
}
