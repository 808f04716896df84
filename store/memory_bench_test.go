package store_test

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hwvault/hwvault/status"
	"github.com/hwvault/hwvault/store"
	"github.com/hwvault/hwvault/vault"
)

// The benchmarks compare Memory with a floor: the least a correct store
// must do, in the plainest code. Both run on the same fleets of 1,000 and
// 100,000 vaults.
//
//	go test ./store -run '^$' -bench . -benchmem
//
// Get and Update show what Memory's indexes and bookkeeping cost on top
// of the copy and the version check every store does; ListStatus shows
// what the indexes buy: a page of Locked vaults among 100,000 costs
// about what it costs among 1,000.

// floor is a mutex-guarded map doing the same deep copies and the same
// version check as Memory, and nothing else: no indexes. Its List scans
// the whole map, filters, sorts and takes the page, which is the simplest
// correct listing.
type floor struct {
	mu     sync.Mutex
	vaults map[string]*vault.Vault
	events map[string][]vault.Event
}

func newFloor() *floor {
	return &floor{vaults: map[string]*vault.Vault{}, events: map[string][]vault.Event{}}
}

func (f *floor) Create(_ context.Context, vs []*vault.Vault, events []vault.Event) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, v := range vs {
		c := v.Clone()
		c.Version, v.Version = 1, 1
		f.vaults[c.ID] = c
	}
	for _, e := range events {
		f.events[e.VaultID] = append(f.events[e.VaultID], e)
	}
	return nil
}

func (f *floor) Get(_ context.Context, id string) (*vault.Vault, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	v, ok := f.vaults[id]
	if !ok {
		return nil, vault.ErrNotFound
	}
	return v.Clone(), nil
}

func (f *floor) Update(_ context.Context, v *vault.Vault, events []vault.Event) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	cur, ok := f.vaults[v.ID]
	if !ok {
		return vault.ErrNotFound
	}
	if cur.Version != v.Version {
		return vault.ErrConflict
	}
	c := v.Clone()
	c.Version++
	f.vaults[c.ID] = c
	f.events[c.ID] = append(f.events[c.ID], events...)
	v.Version = c.Version
	return nil
}

func (f *floor) List(_ context.Context, filter vault.Filter) (vault.Page, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var match []*vault.Vault
	for _, v := range f.vaults {
		if v.ID > filter.After && filter.Matches(v) {
			match = append(match, v)
		}
	}
	slices.SortFunc(match, func(a, b *vault.Vault) int { return strings.Compare(a.ID, b.ID) })
	size := filter.PageSize()
	var p vault.Page
	for _, v := range match[:min(size, len(match))] {
		p.Vaults = append(p.Vaults, v.Clone())
	}
	if len(match) > size {
		p.Next = match[size-1].ID
	}
	return p, nil
}

func (f *floor) History(_ context.Context, id string) ([]vault.Event, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.events[id]), nil
}

var _ vault.Store = (*floor)(nil)

// benchTime is the time of every benchmark vault and event.
var benchTime = time.Date(2025, time.March, 4, 9, 0, 0, 0, time.UTC)

// benchID returns the ID of the i-th benchmark vault.
func benchID(i int) string { return fmt.Sprintf("YK-%07d", i) }

// benchVault returns the i-th vault of a benchmark fleet: statuses
// round-robin over all seven (so a seventh are Locked), an owner for
// every vault past Ready, two labels, and an account on Active vaults.
func benchVault(i int) *vault.Vault {
	v := &vault.Vault{
		ID:        benchID(i),
		Labels:    map[string]string{"model": "YubiKey 5 NFC", "rfid": fmt.Sprintf("04:A2:%06X", i)},
		Status:    status.Statuses()[i%7],
		CreatedAt: benchTime,
		UpdatedAt: benchTime,
	}
	if v.Status != status.Ready {
		v.Owner = fmt.Sprintf("user-%d@example.com", i%5000)
	}
	if v.Status == status.Active {
		v.Accounts = []vault.Account{{ID: "mail", Name: "Mail", Login: fmt.Sprintf("user-%d", i%5000)}}
	}
	return v
}

// fill creates n benchmark vaults with their import events, in batches.
func fill(tb testing.TB, s vault.Store, n int) {
	tb.Helper()
	const batch = 1000
	for lo := 0; lo < n; lo += batch {
		var vs []*vault.Vault
		var es []vault.Event
		for i := lo; i < min(lo+batch, n); i++ {
			v := benchVault(i)
			vs = append(vs, v)
			es = append(es, vault.Event{VaultID: v.ID, Version: 1, Action: vault.ActionImport, From: v.Status, To: v.Status, Time: benchTime})
		}
		if err := s.Create(context.Background(), vs, es); err != nil {
			tb.Fatal(err)
		}
	}
}

// benchStores runs bench against Memory and the floor, each filled with
// 1,000 and 100,000 vaults.
func benchStores(b *testing.B, bench func(b *testing.B, s vault.Store, n int)) {
	for _, n := range []int{1_000, 100_000} {
		for _, impl := range []struct {
			name string
			new  func() vault.Store
		}{
			{"Memory", func() vault.Store { return store.NewMemory() }},
			{"Floor", func() vault.Store { return newFloor() }},
		} {
			b.Run(fmt.Sprintf("%s/N=%d", impl.name, n), func(b *testing.B) {
				s := impl.new()
				fill(b, s, n)
				bench(b, s, n)
			})
		}
	}
}

func BenchmarkGet(b *testing.B) {
	benchStores(b, func(b *testing.B, s vault.Store, n int) {
		ctx := context.Background()
		ids := make([]string, n)
		for i := range ids {
			ids[i] = benchID(i)
		}
		for i := 0; b.Loop(); i++ {
			if _, err := s.Get(ctx, ids[i%n]); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkUpdate stores one change with one event, as the Service does,
// round-robin over the fleet. Each change moves the vault between Locked
// and Suspended, so Memory's status index does its work on every update.
func BenchmarkUpdate(b *testing.B) {
	benchStores(b, func(b *testing.B, s vault.Store, n int) {
		ctx := context.Background()
		vs := make([]*vault.Vault, n)
		for i := range vs {
			v, err := s.Get(ctx, benchID(i))
			if err != nil {
				b.Fatal(err)
			}
			vs[i] = v
		}
		for i := 0; b.Loop(); i++ {
			v := vs[i%n]
			from := v.Status
			v.Status = status.Locked
			if from == status.Locked {
				v.Status = status.Suspended
			}
			e := vault.Event{VaultID: v.ID, Version: v.Version + 1, Action: vault.ActionTransition, From: from, To: v.Status, Time: benchTime}
			if err := s.Update(ctx, v, []vault.Event{e}); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkListStatus lists the first 50 Locked vaults.
func BenchmarkListStatus(b *testing.B) {
	benchStores(b, func(b *testing.B, s vault.Store, n int) {
		ctx := context.Background()
		f := vault.Filter{Status: status.Locked, Limit: 50}
		for b.Loop() {
			p, err := s.List(ctx, f)
			if err != nil || len(p.Vaults) != 50 {
				b.Fatalf("List: %d vaults, %v", len(p.Vaults), err)
			}
		}
	})
}

// BenchmarkBytesPerVault reports the heap a store holds per vault at
// 100,000 vaults (each with its import event), measured with
// runtime.MemStats before and after filling it. The floor shows what the
// vaults and events cost by themselves; Memory adds its indexes.
func BenchmarkBytesPerVault(b *testing.B) {
	const n = 100_000
	for _, impl := range []struct {
		name string
		new  func() vault.Store
	}{
		{"Memory", func() vault.Store { return store.NewMemory() }},
		{"Floor", func() vault.Store { return newFloor() }},
	} {
		b.Run(impl.name, func(b *testing.B) {
			var perVault float64
			for b.Loop() {
				before := heapInUse()
				s := impl.new()
				fill(b, s, n)
				perVault = float64(heapInUse()-before) / n
				runtime.KeepAlive(s)
			}
			b.ReportMetric(perVault, "B/vault")
		})
	}
}

// heapInUse returns the bytes of live heap objects after a full
// collection.
func heapInUse() int64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}
