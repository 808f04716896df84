package vault_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/hwvault/hwvault/status"
	"github.com/hwvault/hwvault/vault"
)

// TestBadInput: every malformed argument is ErrInvalidArgument, names the
// vault, and stores nothing — checked against vaults in every status so
// that argument checks provably come before status checks.
func TestBadInput(t *testing.T) {
	long := func(n int) string { return strings.Repeat("a", n) }
	var nilCtx context.Context
	type call func(ctx context.Context, s *vault.Service, id string) error
	cases := []struct {
		name string
		call call
	}{
		{"empty ID", func(ctx context.Context, s *vault.Service, _ string) error { _, err := s.Get(ctx, ""); return err }},
		{"ID too long", func(ctx context.Context, s *vault.Service, _ string) error {
			_, err := s.Wipe(ctx, long(65))
			return err
		}},
		{"ID with space", func(ctx context.Context, s *vault.Service, _ string) error {
			_, err := s.Unassign(ctx, "HK 1")
			return err
		}},
		{"ID with control", func(ctx context.Context, s *vault.Service, _ string) error {
			_, err := s.History(ctx, "HK\x001")
			return err
		}},
		{"ID with slash", func(ctx context.Context, s *vault.Service, _ string) error {
			_, err := s.Lock(ctx, "HK/1", status.LockedByInvalidPin)
			return err
		}},
		{"ID non-ASCII", func(ctx context.Context, s *vault.Service, _ string) error {
			_, err := s.Lock(ctx, "HK-é", status.LockedByInvalidPin)
			return err
		}},
		{"nil context", func(_ context.Context, s *vault.Service, id string) error { _, err := s.Wipe(nilCtx, id); return err }},
		{"nil context list", func(_ context.Context, s *vault.Service, id string) error {
			_, err := s.List(nilCtx, vault.Filter{})
			return err
		}},
		{"actor with NUL", func(ctx context.Context, s *vault.Service, id string) error {
			_, err := s.Lock(vault.WithActor(ctx, "admin\x00"), id, status.LockedByInvalidPin)
			return err
		}},
		{"actor invalid UTF-8", func(ctx context.Context, s *vault.Service, _ string) error {
			_, err := s.Import(vault.WithActor(ctx, "\xff"), vault.NewVault{ID: "N-1"})
			return err
		}},
		{"actor too long", func(ctx context.Context, s *vault.Service, _ string) error {
			_, err := s.List(vault.WithActor(ctx, long(257)), vault.Filter{})
			return err
		}},
		{"owner with RLO", func(ctx context.Context, s *vault.Service, id string) error {
			_, _, err := s.Assign(ctx, id, "admin\u202e\u2066moc.live@")
			return err
		}},
		{"description with zero-width space", func(ctx context.Context, s *vault.Service, id string) error {
			_, err := s.Withdraw(ctx, id, status.Broken, "bro\u200bken")
			return err
		}},
		{"empty owner", func(ctx context.Context, s *vault.Service, id string) error {
			_, _, err := s.Assign(ctx, id, "")
			return err
		}},
		{"owner too long", func(ctx context.Context, s *vault.Service, id string) error {
			_, _, err := s.Assign(ctx, id, long(257))
			return err
		}},
		{"owner invalid UTF-8", func(ctx context.Context, s *vault.Service, id string) error {
			_, _, err := s.Assign(ctx, id, "al\xffice")
			return err
		}},
		{"owner with newline", func(ctx context.Context, s *vault.Service, id string) error {
			_, _, err := s.Assign(ctx, id, "alice\nbob")
			return err
		}},
		{"owner with DEL", func(ctx context.Context, s *vault.Service, id string) error {
			_, _, err := s.Assign(ctx, id, "alice\x7f")
			return err
		}},
		{"description too long", func(ctx context.Context, s *vault.Service, id string) error {
			_, _, err := s.Suspend(ctx, id, long(1025))
			return err
		}},
		{"description invalid UTF-8", func(ctx context.Context, s *vault.Service, id string) error {
			_, err := s.Withdraw(ctx, id, status.Broken, "\xc3\x28")
			return err
		}},
		{"description with tab", func(ctx context.Context, s *vault.Service, id string) error {
			_, err := s.Compromise(ctx, id, status.Lost, "a\tb", id)
			return err
		}},
		{"description with escape", func(ctx context.Context, s *vault.Service, id string) error {
			_, _, err := s.Suspend(ctx, id, "\x1b[31mred")
			return err
		}},
		{"Lock reason None", func(ctx context.Context, s *vault.Service, id string) error {
			_, err := s.Lock(ctx, id, status.None)
			return err
		}},
		{"Lock reason Stolen", func(ctx context.Context, s *vault.Service, id string) error {
			_, err := s.Lock(ctx, id, status.Stolen)
			return err
		}},
		{"Withdraw reason Lost", func(ctx context.Context, s *vault.Service, id string) error {
			_, err := s.Withdraw(ctx, id, status.Lost, "")
			return err
		}},
		{"Compromise reason Broken", func(ctx context.Context, s *vault.Service, id string) error {
			_, err := s.Compromise(ctx, id, status.Broken, "", id)
			return err
		}},
		{"reason out of range", func(ctx context.Context, s *vault.Service, id string) error {
			_, err := s.Compromise(ctx, id, status.Reason(99), "", id)
			return err
		}},
		{"code too short", func(ctx context.Context, s *vault.Service, id string) error {
			_, err := s.Activate(ctx, id, "12345")
			return err
		}},
		{"code too long", func(ctx context.Context, s *vault.Service, id string) error {
			_, err := s.Activate(ctx, id, "1234567")
			return err
		}},
		{"code with letters", func(ctx context.Context, s *vault.Service, id string) error {
			_, err := s.Activate(ctx, id, "12345a")
			return err
		}},
		{"code with space", func(ctx context.Context, s *vault.Service, id string) error {
			_, err := s.Activate(ctx, id, " 12345")
			return err
		}},
		{"code non-ASCII digits", func(ctx context.Context, s *vault.Service, id string) error {
			_, err := s.Activate(ctx, id, "١٢٣")
			return err
		}},
		{"empty code", func(ctx context.Context, s *vault.Service, id string) error {
			_, err := s.Activate(ctx, id, "")
			return err
		}},
		{"account empty ID", func(ctx context.Context, s *vault.Service, id string) error {
			_, err := s.AddAccount(ctx, id, vault.Account{Name: "Mail"})
			return err
		}},
		{"account empty name", func(ctx context.Context, s *vault.Service, id string) error {
			_, err := s.AddAccount(ctx, id, vault.Account{ID: "m"})
			return err
		}},
		{"account login too long", func(ctx context.Context, s *vault.Service, id string) error {
			_, err := s.UpdateAccount(ctx, id, vault.Account{ID: "acct-1", Name: "Mail", Login: long(257)})
			return err
		}},
		{"account name control", func(ctx context.Context, s *vault.Service, id string) error {
			_, err := s.UpdateAccount(ctx, id, vault.Account{ID: "acct-1", Name: "Ma\x00il"})
			return err
		}},
		{"delete account bad ID", func(ctx context.Context, s *vault.Service, id string) error {
			_, err := s.DeleteAccount(ctx, id, "acct 1")
			return err
		}},
		{"empty import", func(ctx context.Context, s *vault.Service, _ string) error { _, err := s.Import(ctx); return err }},
		{"duplicate import", func(ctx context.Context, s *vault.Service, _ string) error {
			_, err := s.Import(ctx, vault.NewVault{ID: "N-1"}, vault.NewVault{ID: "N-2"}, vault.NewVault{ID: "N-1"})
			return err
		}},
		{"import bad ID", func(ctx context.Context, s *vault.Service, _ string) error {
			_, err := s.Import(ctx, vault.NewVault{ID: "N-1"}, vault.NewVault{ID: "N 2"})
			return err
		}},
		{"import bad label", func(ctx context.Context, s *vault.Service, _ string) error {
			_, err := s.Import(ctx, vault.NewVault{ID: "N-1", Labels: map[string]string{"mac": "00\n11"}})
			return err
		}},
		{"negative limit", func(ctx context.Context, s *vault.Service, _ string) error {
			_, err := s.List(ctx, vault.Filter{Limit: -1})
			return err
		}},
		{"filter bad status", func(ctx context.Context, s *vault.Service, _ string) error {
			_, err := s.List(ctx, vault.Filter{Status: 42})
			return err
		}},
		{"filter bad cursor", func(ctx context.Context, s *vault.Service, _ string) error {
			_, err := s.List(ctx, vault.Filter{After: "a b"})
			return err
		}},
		{"filter bad owner", func(ctx context.Context, s *vault.Service, _ string) error {
			_, err := s.List(ctx, vault.Filter{Owner: "x\x00"})
			return err
		}},
	}
	for _, c := range cases {
		for _, s := range status.Statuses() {
			t.Run(c.name+"/"+s.String(), func(t *testing.T) {
				f := newFixture(t)
				f.inStatus("HK-1", s)
				before := f.snapshot()
				err := c.call(f.ctx, f.svc, "HK-1")
				if !errors.Is(err, vault.ErrInvalidArgument) {
					t.Fatalf("got %v; want an error wrapping ErrInvalidArgument", err)
				}
				var ve *vault.Error
				if !errors.As(err, &ve) || !strings.HasPrefix(err.Error(), "vault: ") {
					t.Errorf("got %T %q; want a *vault.Error", err, err)
				}
				if strings.Contains(c.name, "reason") && !errors.Is(err, status.ErrInvalidReason) {
					t.Errorf("a reason the trigger's destination does not carry must also wrap status.ErrInvalidReason: %v", err)
				}
				f.unchangedSince(before, c.name)
			})
		}
	}
}

// The first failing check decides: arguments, then existence, then status.
func TestCheckOrder(t *testing.T) {
	f := newFixture(t)
	f.inStatus("HK-1", status.Compromised)

	_, err := f.svc.Lock(f.ctx, "HK-404", status.None)
	if !errors.Is(err, vault.ErrInvalidArgument) {
		t.Errorf("bad reason on a missing vault = %v; arguments are checked first", err)
	}
	_, err = f.svc.Compromise(f.ctx, "HK-404", status.Lost, "", "HK-1")
	if !errors.Is(err, vault.ErrConfirmation) {
		t.Errorf("wrong confirmation on a missing vault = %v; the confirmation is checked with the arguments", err)
	}
	_, err = f.svc.Lock(f.ctx, "HK-404", status.LockedByInvalidPin)
	if !errors.Is(err, vault.ErrNotFound) || !strings.Contains(err.Error(), `"HK-404"`) {
		t.Errorf("missing vault = %v; want ErrNotFound naming it", err)
	}
	_, err = f.svc.AddAccount(f.ctx, "HK-1", vault.Account{ID: "x", Name: "X"})
	if !errors.Is(err, vault.ErrNotAllowed) {
		t.Errorf("AddAccount on Compromised = %v; want ErrNotAllowed", err)
	}

	f.inStatus("HK-2", status.Active)
	if _, err := f.svc.AddAccount(f.ctx, "HK-2", vault.Account{ID: "acct-1", Name: "Dup"}); !errors.Is(err, vault.ErrExists) {
		t.Errorf("duplicate account = %v; want ErrExists", err)
	}
	if _, err := f.svc.UpdateAccount(f.ctx, "HK-2", vault.Account{ID: "nope", Name: "X"}); !errors.Is(err, vault.ErrNotFound) {
		t.Errorf("unknown account = %v; want ErrNotFound", err)
	}
	if _, err := f.svc.DeleteAccount(f.ctx, "HK-2", "nope"); !errors.Is(err, vault.ErrNotFound) {
		t.Errorf("unknown account = %v; want ErrNotFound", err)
	}
	_, err = f.svc.Import(f.ctx, vault.NewVault{ID: "HK-3"}, vault.NewVault{ID: "HK-2"})
	var ve *vault.Error
	if !errors.Is(err, vault.ErrExists) || !strings.Contains(err.Error(), `"HK-2"`) || !errors.As(err, &ve) || ve.ID == "HK-3" {
		t.Errorf("importing an existing ID = %v; want ErrExists naming HK-2, not blaming HK-3", err)
	}
	if _, err := f.svc.Get(f.ctx, "HK-3"); !errors.Is(err, vault.ErrNotFound) {
		t.Errorf("a failed import stored part of its batch: Get(HK-3) = %v", err)
	}
}

func TestCancelledContext(t *testing.T) {
	f := newFixture(t)
	f.inStatus("HK-1", status.Active)
	before := f.snapshot()
	ctx, cancel := context.WithCancel(f.ctx)
	cancel()
	if _, _, err := f.svc.Suspend(ctx, "HK-1", ""); !errors.Is(err, context.Canceled) {
		t.Errorf("Suspend with a cancelled context = %v; want context.Canceled", err)
	}
	f.unchangedSince(before, "a cancelled Suspend")
}

func TestNewServicePanicsOnProgrammerMistakes(t *testing.T) {
	st := newFixture(t).store
	cases := map[string]func(){
		"nil store":      func() { vault.NewService(nil) },
		"nil option":     func() { vault.NewService(st, nil) },
		"nil clock":      func() { vault.NewService(st, vault.WithClock(nil)) },
		"nil random":     func() { vault.NewService(st, vault.WithRandom(nil)) },
		"nil guard":      func() { vault.NewService(st, vault.WithGuard(nil)) },
		"nil observer":   func() { vault.NewService(st, vault.WithObserver(nil)) },
		"3 digits":       func() { vault.NewService(st, vault.WithCodePolicy(vault.CodePolicy{Digits: 3})) },
		"19 digits":      func() { vault.NewService(st, vault.WithCodePolicy(vault.CodePolicy{Digits: 19})) },
		"negative TTL":   func() { vault.NewService(st, vault.WithCodePolicy(vault.CodePolicy{TTL: -1})) },
		"negative tries": func() { vault.NewService(st, vault.WithCodePolicy(vault.CodePolicy{MaxAttempts: -1})) },
		"empty code key": func() { vault.NewService(st, vault.WithCodeKey(nil)) },
		"short code key": func() { vault.NewService(st, vault.WithCodeKey([]byte("secret"))) },
	}
	for name, fn := range cases {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Errorf("NewService accepted a %s", name)
				}
			}()
			fn()
		})
	}
	if got := vault.NewService(st, vault.WithCodePolicy(vault.CodePolicy{MaxAttempts: 5})).Policy(); got != (vault.CodePolicy{Digits: 6, TTL: vault.DefaultCodePolicy.TTL, MaxAttempts: 5}) {
		t.Errorf("zero fields of a CodePolicy must take the defaults; got %+v", got)
	}
}
