package status_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/hwvault/hwvault/status"
)

func TestNamesRoundTrip(t *testing.T) {
	for _, s := range status.Statuses() {
		checkRoundTrip(t, s.String(), s, status.ParseStatus)
	}
	for _, r := range status.Reasons() {
		checkRoundTrip(t, r.String(), r, status.ParseReason)
	}
	for _, tr := range status.Triggers() {
		checkRoundTrip(t, tr.String(), tr, status.ParseTrigger)
	}
}

func checkRoundTrip[T comparable](t *testing.T, name string, want T, parse func(string) (T, error)) {
	t.Helper()
	for _, in := range []string{name, strings.ToLower(name), strings.ToUpper(name)} {
		got, err := parse(in)
		if err != nil || got != want {
			t.Errorf("parse(%q) = %v, %v; want %v, nil", in, got, err, want)
		}
	}
}

func TestListsAreCompleteAndOwnedByCaller(t *testing.T) {
	if got := len(status.Statuses()); got != 7 {
		t.Errorf("len(Statuses()) = %d, want 7", got)
	}
	if got := len(status.Reasons()); got != 7 {
		t.Errorf("len(Reasons()) = %d, want 7", got)
	}
	if got := len(status.Triggers()); got != 9 {
		t.Errorf("len(Triggers()) = %d, want 9", got)
	}
	s := status.Statuses()
	s[0] = status.Compromised
	if status.Statuses()[0] != status.Ready {
		t.Error("modifying the slice Statuses returned changed the next result")
	}
	p := status.Permitted(status.Ready)
	p[0] = status.Wipe
	if status.Permitted(status.Ready)[0] != status.Assign {
		t.Error("modifying the slice Permitted returned changed the next result")
	}
	r := status.ReasonsFor(status.Locked)
	r[0] = status.Lost
	if status.ReasonsFor(status.Locked)[0] != status.InvalidActivationCode {
		t.Error("modifying the slice ReasonsFor returned changed the next result")
	}
}

func TestParseRejects(t *testing.T) {
	bad := []string{
		"", " ", "Ready ", " Ready", "Re ady", "Ready\n", "Ready\x00",
		"0", "1", "7", "Status(1)", "null", `"Ready"`, "Readyy", "Read",
		"Loc\u212aed", // Kelvin sign folds to k under Unicode rules; names are ASCII
		strings.Repeat("Ready", 1000),
	}
	for _, in := range bad {
		if v, err := status.ParseStatus(in); !errors.Is(err, status.ErrUnknown) {
			t.Errorf("ParseStatus(%q) = %v, %v; want an error wrapping ErrUnknown", in, v, err)
		}
		if v, err := status.ParseTrigger(in); !errors.Is(err, status.ErrUnknown) {
			t.Errorf("ParseTrigger(%q) = %v, %v; want an error wrapping ErrUnknown", in, v, err)
		}
		if v, err := status.ParseReason(in); !errors.Is(err, status.ErrUnknown) {
			t.Errorf("ParseReason(%q) = %v, %v; want an error wrapping ErrUnknown", in, v, err)
		}
	}
	_, err := status.ParseStatus(strings.Repeat("x", 10000))
	if len(err.Error()) > 300 {
		t.Errorf("error for a 10 kB input is %d bytes long; it should quote a bounded prefix", len(err.Error()))
	}
}

func TestInvalidValues(t *testing.T) {
	for _, s := range []status.Status{0, 8, 255} {
		if s.IsValid() || s.IsTerminal() {
			t.Errorf("%v: IsValid or IsTerminal true for an out-of-range status", s)
		}
		if got, want := s.String(), fmt.Sprintf("Status(%d)", uint8(s)); got != want {
			t.Errorf("String() = %q, want %q", got, want)
		}
		if _, err := s.MarshalText(); !errors.Is(err, status.ErrUnknown) {
			t.Errorf("%v.MarshalText() error = %v, want ErrUnknown", s, err)
		}
		if status.ReasonsFor(s) != nil {
			t.Errorf("ReasonsFor(%v) = %v, want nil", s, status.ReasonsFor(s))
		}
		if err := status.CheckReason(s, status.None); !errors.Is(err, status.ErrInvalidReason) {
			t.Errorf("CheckReason(%v, None) = %v, want ErrInvalidReason", s, err)
		}
		if p := status.Permitted(s); len(p) != 0 {
			t.Errorf("Permitted(%v) = %v, want empty", s, p)
		}
	}
	for _, tr := range []status.Trigger{0, 10, 255} {
		if tr.IsValid() || tr.Destination() != 0 {
			t.Errorf("%v: out-of-range trigger is valid or has a destination", tr)
		}
		if _, err := tr.MarshalText(); tr != 0 && !errors.Is(err, status.ErrUnknown) {
			t.Errorf("%v.MarshalText() error = %v, want ErrUnknown", tr, err)
		}
	}
	// The zero Trigger marks events that are not transitions: it
	// round-trips as "" through text and JSON, but is not a name.
	if b, err := status.Trigger(0).MarshalText(); err != nil || len(b) != 0 {
		t.Errorf("Trigger(0).MarshalText() = %q, %v; want \"\", nil", b, err)
	}
	tr := status.Wipe
	if err := json.Unmarshal([]byte(`""`), &tr); err != nil || tr != 0 {
		t.Errorf(`json.Unmarshal("") into Trigger = %v, %v; want the zero Trigger`, tr, err)
	}
	if _, err := status.ParseTrigger(""); !errors.Is(err, status.ErrUnknown) {
		t.Errorf(`ParseTrigger("") = %v; the empty string is not a trigger name`, err)
	}
	for _, r := range []status.Reason{7, 255} {
		if r.IsValid() {
			t.Errorf("%v: IsValid true", r)
		}
		if _, err := r.MarshalText(); !errors.Is(err, status.ErrUnknown) {
			t.Errorf("%v.MarshalText() error = %v, want ErrUnknown", r, err)
		}
	}
	if !status.None.IsValid() {
		t.Error("None is a valid reason")
	}
}

func TestJSON(t *testing.T) {
	type doc struct {
		Status  status.Status  `json:"status"`
		Reason  status.Reason  `json:"reason"`
		Trigger status.Trigger `json:"trigger"`
	}
	in := doc{status.Locked, status.LockedByInvalidPin, status.Lock}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"status":"Locked","reason":"LockedByInvalidPin","trigger":"Lock"}`; string(b) != want {
		t.Errorf("json.Marshal = %s, want %s", b, want)
	}
	var out doc
	if err := json.Unmarshal([]byte(`{"status":"locked","reason":"lockedbyinvalidpin","trigger":"LOCK"}`), &out); err != nil || out != in {
		t.Errorf("json.Unmarshal = %+v, %v; want %+v", out, err, in)
	}
	if err := json.Unmarshal([]byte(`{"status":"Re\u0061dy"}`), &out); err != nil || out.Status != status.Ready {
		t.Errorf("json.Unmarshal with an escape = %v, %v; want Ready", out.Status, err)
	}
	if _, err := json.Marshal(doc{}); err == nil {
		t.Error("json.Marshal of the zero Status succeeded; the zero value is not a status")
	}

	for _, raw := range []string{`null`, `1`, `0`, `true`, `{}`, `[]`, `""`, `"Unknown"`, `"Ready "`, `"Ready`} {
		var s status.Status = status.Active
		err := json.Unmarshal([]byte(raw), &s)
		if err == nil {
			t.Errorf("json.Unmarshal(%s) into Status succeeded with %v; want an error", raw, s)
		}
		if s != status.Active {
			t.Errorf("json.Unmarshal(%s) changed the value to %v despite failing", raw, s)
		}
		var r status.Reason = status.Lost
		if err := json.Unmarshal([]byte(raw), &r); err == nil || r != status.Lost {
			t.Errorf("json.Unmarshal(%s) into Reason = %v, %v; want an error and no change", raw, r, err)
		}
		var tr status.Trigger = status.Wipe
		if err := json.Unmarshal([]byte(raw), &tr); raw != `""` && (err == nil || tr != status.Wipe) {
			t.Errorf("json.Unmarshal(%s) into Trigger = %v, %v; want an error and no change", raw, tr, err)
		}
	}
	var d doc
	if err := json.Unmarshal([]byte(`{"status":null}`), &d); !errors.Is(err, status.ErrUnknown) {
		t.Errorf(`json.Unmarshal({"status":null}) = %v; want an error wrapping ErrUnknown`, err)
	}
}

// wantReasons is the product documentation's table of reasons per status.
var wantReasons = map[status.Status][]status.Reason{
	status.Ready:       {status.None},
	status.Reserved:    {status.None},
	status.Active:      {status.None},
	status.Locked:      {status.InvalidActivationCode, status.LockedByInvalidPin},
	status.Suspended:   {status.None},
	status.Deactivated: {status.Withdrawal, status.Broken},
	status.Compromised: {status.Lost, status.Stolen},
}

func TestReasons(t *testing.T) {
	for _, s := range status.Statuses() {
		for _, r := range status.Reasons() {
			want := false
			for _, ok := range wantReasons[s] {
				want = want || ok == r
			}
			err := status.CheckReason(s, r)
			if got := err == nil; got != want {
				t.Errorf("CheckReason(%v, %v) = %v; allowed should be %v", s, r, err, want)
			}
			if err != nil && (!errors.Is(err, status.ErrInvalidReason) ||
				!strings.Contains(err.Error(), s.String()) || !strings.Contains(err.Error(), r.String())) {
				t.Errorf("CheckReason(%v, %v) = %q; want an error wrapping ErrInvalidReason naming both", s, r, err)
			}
		}
		if got := status.ReasonsFor(s); fmt.Sprint(got) != fmt.Sprint(wantReasons[s]) {
			t.Errorf("ReasonsFor(%v) = %v, want %v", s, got, wantReasons[s])
		}
	}
}

func TestAllows(t *testing.T) {
	want := map[status.Status][]status.Operation{
		status.Reserved: {status.AddAccount},
		status.Active:   {status.AddAccount, status.EditAccount, status.DeleteAccount, status.Use},
	}
	for _, s := range append(status.Statuses(), 0, 8) {
		for _, op := range append(status.Operations(), 0, 5) {
			allowed := false
			for _, w := range want[s] {
				allowed = allowed || w == op
			}
			if got := status.Allows(s, op); got != allowed {
				t.Errorf("Allows(%v, %v) = %v, want %v", s, op, got, allowed)
			}
		}
	}
	if got := status.Operation(9).String(); got != "Operation(9)" {
		t.Errorf("Operation(9).String() = %q", got)
	}
}
