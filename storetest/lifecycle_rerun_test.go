package storetest

import (
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"github.com/hwvault/hwvault/store"
	"github.com/hwvault/hwvault/vault"
)

// This file checks what Lifecycle tells a user whose run failed: the
// command that repeats the run alone must select that run, and running
// one run alone must not fail the coverage check meant for all of them.

// rerunEnv makes TestLifecycleRerunHelper run; TestLifecycleRerunHint
// sets it in the child processes it starts.
const rerunEnv = "STORETEST_RERUN_HELPER"

// child runs this test binary verbosely with -test.run=pattern and the
// given environment added, and returns its output and whether it passed.
func child(t *testing.T, pattern string, env ...string) (string, bool) {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run="+pattern, "-test.v", "-test.count=1", "-test.timeout=2m")
	cmd.Env = append(os.Environ(), env...)
	cmd.Env = append(cmd.Env, "GORACE="+os.Getenv("GORACE")+" atexit_sleep_ms=0")
	out, err := cmd.CombinedOutput()
	if err != nil {
		if _, ok := err.(*exec.ExitError); !ok {
			t.Fatalf("running %s: %v", os.Args[0], err)
		}
	}
	return string(out), err == nil
}

func TestRerunPattern(t *testing.T) {
	for _, c := range []struct{ name, want string }{
		{"TestLifecycleMemory/Run03", `'^TestLifecycleMemory$/^Run00$'`},
		{"TestStores/Postgres_(v16)+pgx/Run01", `'^TestStores$/^Postgres_\(v16\)\+pgx$/^Run00$'`},
		{"TestX/a|b/c.d#01/Run07", `'^TestX$/^a\|b$/^c\.d#01$/^Run00$'`},
		{"TestX/it's/Run00", `'^TestX$/^it'\''s$/^Run00$'`},
	} {
		if got := rerunPattern(c.name); got != c.want {
			t.Errorf("rerunPattern(%q) = %s; want %s", c.name, got, c.want)
		}
	}
}

// TestLifecycleOneRunAlone runs one run of TestLifecycleMemory alone, with
// the pattern the failure message suggests: it must pass, not fail the
// coverage check for the runs it did not run.
func TestLifecycleOneRunAlone(t *testing.T) {
	if os.Getenv(rerunEnv) != "" {
		t.Skip("running as a child")
	}
	out, ok := child(t, `^TestLifecycleMemory$/^Run00$`)
	if !ok {
		t.Fatalf("TestLifecycleMemory/Run00 alone must pass; it failed:\n%s", out)
	}
	if !strings.Contains(out, "--- PASS: TestLifecycleMemory/Run00") || strings.Contains(out, "Run01") {
		t.Fatalf("-run '^TestLifecycleMemory$/^Run00$' must run Run00 and no other run; it ran:\n%s", out)
	}
}

// TestLifecycleRerunHelper calls Lifecycle inside a subtest whose name
// needs escaping in a -run pattern, over a store that fails every run;
// it does nothing unless TestLifecycleRerunHint started it.
func TestLifecycleRerunHelper(t *testing.T) {
	if os.Getenv(rerunEnv) == "" {
		t.Skip("run by TestLifecycleRerunHint only")
	}
	t.Run("Store (v2)+flaw", func(t *testing.T) {
		Lifecycle(t, func(*testing.T) vault.Store {
			return &flawedStore{Memory: store.NewMemory(), flaw: "ForgetsDescription"}
		})
	})
}

// TestLifecycleRerunHint runs Lifecycle inside a subtest and follows the
// hint of its second run's failure: the command must run that run alone
// and fail it the same way.
func TestLifecycleRerunHint(t *testing.T) {
	if os.Getenv(rerunEnv) != "" {
		t.Skip("running as a child")
	}
	out, ok := child(t, "^TestLifecycleRerunHelper$", rerunEnv+"=1", RunsEnv+"=2", SeedEnv+"=1")
	if ok {
		t.Fatalf("Lifecycle must fail a store that forgets descriptions; it passed:\n%s", out)
	}
	hint := regexp.MustCompile(`seed 2, (step \d+):(?s:.*?)To repeat this run alone: (` + SeedEnv + `=\d+) (` + StepsEnv + `=\d+) go test -run '([^']*)'`).
		FindStringSubmatch(out)
	if hint == nil {
		t.Fatalf("no failure of the run with seed 2 followed by a hint to repeat it:\n%s", out)
	}
	step, seed, steps, pattern := hint[1], hint[2], hint[3], hint[4]
	if want := `^TestLifecycleRerunHelper$/^Store_\(v2\)\+flaw$/^Run00$`; pattern != want {
		t.Errorf("the hint's pattern is %s; want %s", pattern, want)
	}
	if seed != SeedEnv+"=2" {
		t.Errorf("the hint sets %s; want the failed run's seed, %s=2", seed, SeedEnv)
	}

	again, ok := child(t, pattern, rerunEnv+"=1", seed, steps)
	if ok {
		t.Fatalf("following the hint (%s %s -run %s) must fail the run again; it passed:\n%s", seed, steps, pattern, again)
	}
	if !strings.Contains(again, "--- FAIL: TestLifecycleRerunHelper/Store_(v2)+flaw/Run00") ||
		strings.Contains(again, "Run01") || !strings.Contains(again, "seed 2, "+step+":") {
		t.Errorf("following the hint must run Run00 alone, with seed 2, and fail it at %s again; got:\n%s", step, again)
	}
}
