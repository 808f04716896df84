package status_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/hwvault/hwvault/status"
)

func addNames(f *testing.F) {
	for _, s := range status.Statuses() {
		f.Add(s.String())
	}
	for _, r := range status.Reasons() {
		f.Add(strings.ToLower(r.String()))
	}
	for _, t := range status.Triggers() {
		f.Add(strings.ToUpper(t.String()))
	}
	for _, s := range []string{"", " ", "null", "Loc\u212aed", "\xff", "Status(1)"} {
		f.Add(s)
	}
}

// fuzzParse checks the parser's properties: an error wraps ErrUnknown and
// leaves the zero value; whatever parses is valid, matches its canonical
// name without regard to ASCII case, and re-marshals to that name. Only
// the empty string may unmarshal where parse fails, and only to the zero
// value (the zero Trigger's text form).
func fuzzParse[T interface {
	comparable
	String() string
	MarshalText() ([]byte, error)
}](t *testing.T, in string, parse func(string) (T, error), unmarshal func([]byte) (T, error)) {
	v, err := parse(in)
	var zero T
	if err != nil {
		if !errors.Is(err, status.ErrUnknown) || v != zero {
			t.Fatalf("parse(%q) = %v, %v; want the zero value and ErrUnknown", in, v, err)
		}
		if u, err := unmarshal([]byte(in)); err == nil && (in != "" || u != zero) {
			t.Fatalf("UnmarshalText(%q) = %v, succeeding where parse failed", in, u)
		}
		return
	}
	text, err := v.MarshalText()
	if err != nil {
		t.Fatalf("parse(%q) = %v, which does not marshal: %v", in, v, err)
	}
	if !strings.EqualFold(string(text), in) || len(text) != len(in) {
		t.Fatalf("parse(%q) = %v, whose name %q is not the input up to ASCII case", in, v, text)
	}
	u, err := unmarshal(text)
	if err != nil || u != v {
		t.Fatalf("UnmarshalText(%q) = %v, %v; want %v", text, u, err, v)
	}
	j, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if string(j) != `"`+v.String()+`"` {
		t.Fatalf("json.Marshal(%v) = %s", v, j)
	}
}

func FuzzParseStatus(f *testing.F) {
	addNames(f)
	f.Fuzz(func(t *testing.T, in string) {
		fuzzParse(t, in, status.ParseStatus, func(b []byte) (s status.Status, err error) { err = s.UnmarshalText(b); return })
		var s status.Status
		_ = json.Unmarshal([]byte(in), &s) // must not panic
	})
}

func FuzzParseReason(f *testing.F) {
	addNames(f)
	f.Fuzz(func(t *testing.T, in string) {
		fuzzParse(t, in, status.ParseReason, func(b []byte) (r status.Reason, err error) { err = r.UnmarshalText(b); return })
		var r status.Reason
		_ = json.Unmarshal([]byte(in), &r)
	})
}

func FuzzParseTrigger(f *testing.F) {
	addNames(f)
	f.Fuzz(func(t *testing.T, in string) {
		fuzzParse(t, in, status.ParseTrigger, func(b []byte) (tr status.Trigger, err error) { err = tr.UnmarshalText(b); return })
		var tr status.Trigger
		_ = json.Unmarshal([]byte(in), &tr)
	})
}
