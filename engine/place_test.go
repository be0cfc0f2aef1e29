package engine

import (
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// renderCPUs returns the Cpus_allowed_list of worker w's render thread.
func renderCPUs(t *testing.T, w *workerProc) string {
	t.Helper()
	tid := w.reg.u64(offTID).Load()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(w.pid) + "/task/" + strconv.FormatUint(tid, 10) + "/status")
	if err != nil {
		return ""
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "Cpus_allowed_list:"); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// TestPairRunsOnTwoCPUs: the active and the standby render threads are
// pinned to two different CPUs (Engine.place), and again after the active
// is killed and a new standby joined.
func TestPairRunsOnTwoCPUs(t *testing.T) {
	if len(pairCPUs()) < 2 {
		t.Fatalf("this test needs two CPUs; the machine has %v", pairCPUs())
	}
	cs := script(4, 7)
	h := startHarness(t, Config{}, 128, 5)
	check := func(when string) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for {
			a, b := h.e.pubActive.Load(), h.e.pubStandby.Load()
			if a >= 0 && b >= 0 {
				wa, wb := h.e.slots[a].Load(), h.e.slots[b].Load()
				if wa != nil && wb != nil {
					ca, cb := renderCPUs(t, wa), renderCPUs(t, wb)
					if ca != "" && cb != "" && ca != cb && !strings.ContainsAny(ca, ",-") && !strings.ContainsAny(cb, ",-") {
						return
					}
					if time.Now().After(deadline) {
						t.Fatalf("%s: active on CPUs %q, standby on %q; want one different CPU each", when, ca, cb)
					}
				}
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: no active and standby pair", when)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	killed := false
	h.feed(cs, func(played uint64) {
		if killed || played < testRate {
			return
		}
		check("at start")
		pid := h.activePID()
		kill(h, pid, syscall.SIGKILL)
		killed = true
		for !h.redundant(pid) {
			time.Sleep(time.Millisecond)
		}
		check("after a failover and a respawn")
	})
	if !killed {
		t.Fatal("the script ended before the kill")
	}
}
