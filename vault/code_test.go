package vault_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"sync"
	"testing"

	"github.com/hwvault/hwvault/status"
	"github.com/hwvault/hwvault/vault"
)

// sequence is a random source that yields the given uint64 values, each
// after a 16-byte salt of 0xAB, as the Service reads them.
func sequence(xs ...uint64) io.Reader {
	var b bytes.Buffer
	for _, x := range xs {
		b.Write(bytes.Repeat([]byte{0xAB}, 16))
		binary.Write(&b, binary.LittleEndian, x)
	}
	return &b
}

func TestCodeIsUnbiased(t *testing.T) {
	// The largest multiple of 10^6 below 2^64 is where sampling must start
	// over: values at or above it would make low codes more likely.
	limit := uint64(math.MaxUint64 - math.MaxUint64%1_000_000)
	for _, c := range []struct {
		xs   []uint64
		want string
	}{
		{[]uint64{42}, "000042"},
		{[]uint64{limit - 1}, fmt.Sprintf("%06d", (limit-1)%1_000_000)},
		{[]uint64{limit, 7}, "000007"},
		{[]uint64{math.MaxUint64, limit + 5, 999_999}, "999999"},
	} {
		f := newFixture(t, vault.WithRandom(sequence(c.xs...)))
		f.importIDs("HK-1")
		_, code, err := f.svc.Assign(f.ctx, "HK-1", "alice")
		if err != nil || code != c.want {
			t.Errorf("random %v gave code %q, %v; want %q", c.xs, code, err, c.want)
		}
	}
}

func TestRandomSourceFailure(t *testing.T) {
	f := newFixture(t, vault.WithRandom(strings.NewReader("short")))
	f.importIDs("HK-1")
	before := f.snapshot()
	if _, _, err := f.svc.Assign(f.ctx, "HK-1", "alice"); err == nil || !strings.Contains(err.Error(), `"HK-1"`) {
		t.Fatalf("Assign with a failing random source = %v; want an error naming the vault", err)
	}
	f.unchangedSince(before, "an Assign whose code could not be drawn")
}

func TestCodeDigitsPolicy(t *testing.T) {
	f := newFixture(t, vault.WithCodePolicy(vault.CodePolicy{Digits: 10, MaxAttempts: 1}))
	f.importIDs("HK-1")
	_, code, _ := f.svc.Assign(f.ctx, "HK-1", "alice")
	if len(code) != 10 {
		t.Fatalf("code %q; want 10 digits", code)
	}
	if _, err := f.svc.Activate(f.ctx, "HK-1", code[:6]); !errors.Is(err, vault.ErrInvalidArgument) {
		t.Fatalf("a 6-digit code under a 10-digit policy = %v; want ErrInvalidArgument (not counted)", err)
	}
	if _, err := f.svc.Activate(f.ctx, "HK-1", "0000000000"); !errors.Is(err, vault.ErrInvalidCode) {
		t.Fatalf("wrong code = %v", err)
	}
	if f.get("HK-1").Status != status.Locked {
		t.Fatal("MaxAttempts 1: the first wrong code must lock")
	}
}

// The code is stored only as an HMAC of salt and code, and a stolen store
// without the service's key does not verify it.
func TestCodeStoredOnlyAsKeyedHash(t *testing.T) {
	key := []byte("replica-shared-secret")
	f := newFixture(t, vault.WithCodeKey(key))
	code := f.inStatus("HK-1", status.Reserved)
	a := f.get("HK-1").Activation
	if len(a.Salt) != 16 || len(a.Hash) != sha256.Size {
		t.Fatalf("activation %#v; want a 16-byte salt and a SHA-256 sized hash", a)
	}
	m := hmac.New(sha256.New, key)
	m.Write(a.Salt)
	m.Write([]byte(code))
	if !hmac.Equal(m.Sum(nil), a.Hash) {
		t.Fatal("stored hash is not HMAC-SHA-256(key, salt || code)")
	}
	unkeyed := vault.NewService(f.store, vault.WithClock(f.clock.Now))
	if _, err := unkeyed.Activate(f.ctx, "HK-1", code); !errors.Is(err, vault.ErrInvalidCode) {
		t.Fatalf("a service without the key accepted the code: %v", err)
	}
}

// TestCodeNeverLeaks drives every code path and searches everything the
// SDK hands back — values, errors, events, and their %v, %+v, %#v and
// JSON forms — for the codes it issued or was given.
func TestCodeNeverLeaks(t *testing.T) {
	f := newFixture(t)
	var secrets []string
	var outputs []any
	keep := func(vals ...any) { outputs = append(outputs, vals...) }

	f.importIDs("HK-1")
	v, code, err := f.svc.Assign(f.ctx, "HK-1", "alice")
	secrets = append(secrets, code)
	keep(v, err)
	wrong := "000000"
	if wrong == code {
		wrong = "000001"
	}
	secrets = append(secrets, wrong)
	v, err = f.svc.Activate(f.ctx, "HK-1", wrong)
	keep(v, err)
	v, code, err = f.svc.ReissueCode(f.ctx, "HK-1")
	secrets = append(secrets, code)
	keep(v, err, v.Activation, *v.Activation)
	v, err = f.svc.Activate(f.ctx, "HK-1", code)
	keep(v, err)
	v, code, err = f.svc.Suspend(f.ctx, "HK-1", "")
	secrets = append(secrets, code)
	keep(v, err)
	for range 3 {
		v, err = f.svc.Activate(f.ctx, "HK-1", wrong)
		keep(v, err)
	}
	keep(f.history("HK-1"), f.events(), f.snapshot())
	var hashes [][]byte
	for _, out := range outputs {
		if v, ok := out.(*vault.Vault); ok && v != nil && v.Activation != nil {
			hashes = append(hashes, v.Activation.Hash, v.Activation.Salt)
		}
	}
	if len(hashes) == 0 {
		t.Fatal("no activation seen; the test checks nothing")
	}

	for _, out := range outputs {
		forms := []string{fmt.Sprint(out), fmt.Sprintf("%v", out), fmt.Sprintf("%+v", out), fmt.Sprintf("%#v", out)}
		if b, err := json.Marshal(out); err == nil {
			forms = append(forms, string(b))
		}
		for _, form := range forms {
			if containsAny(form, secrets...) {
				t.Errorf("an activation code appears in output: %s", form)
			}
		}
		for _, h := range hashes {
			for _, form := range forms[:4] {
				if containsAny(form, fmt.Sprintf("%x", h[:4]), fmt.Sprint(h[:4])[1:12], fmt.Sprintf("%#v", h[:4])[8:20]) {
					t.Errorf("a code's hash appears in fmt output: %s", form)
				}
			}
		}
	}
}

// counter is a deterministic random source that is not safe for
// concurrent use: the Service must serialise it.
type counter struct{ n byte }

func (c *counter) Read(p []byte) (int, error) {
	for i := range p {
		c.n++
		p[i] = c.n
	}
	return len(p), nil
}

func TestCustomRandomSourceIsSerialised(t *testing.T) {
	f := newFixture(t, vault.WithRandom(&counter{}))
	ids := []string{"HK-1", "HK-2", "HK-3", "HK-4"}
	for _, id := range ids {
		f.inStatus(id, status.Reserved)
	}
	var wg sync.WaitGroup
	for _, id := range ids {
		wg.Go(func() {
			for range 50 {
				if _, _, err := f.svc.ReissueCode(f.ctx, id); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait() // -race reports unserialised reads of the counter
}

// A source that never yields a usable value is an error, not a hang.
func TestBrokenRandomSource(t *testing.T) {
	f := newFixture(t, vault.WithRandom(bytes.NewReader(bytes.Repeat([]byte{0xFF}, 1<<20))))
	f.importIDs("HK-1")
	if _, _, err := f.svc.Assign(f.ctx, "HK-1", "alice"); err == nil || !strings.Contains(err.Error(), "not random") {
		t.Fatalf("Assign with an all-0xFF source = %v; want an error saying the source is not random", err)
	}
}

func TestActivationJSONOmitsHashAndSalt(t *testing.T) {
	f := newFixture(t)
	f.inStatus("HK-1", status.Reserved)
	v := f.get("HK-1")
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range [][]byte{v.Activation.Hash, v.Activation.Salt} {
		if bytes.Contains(b, []byte(base64.StdEncoding.EncodeToString(secret))) {
			t.Fatalf("json.Marshal(vault) carries the code's hash or salt: %s", b)
		}
	}
	if !bytes.Contains(b, []byte(`"ExpiresAt"`)) {
		t.Fatalf("json.Marshal(vault) lost the rest of the activation: %s", b)
	}
}
