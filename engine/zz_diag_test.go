package engine

import (
	"runtime"
	"testing"
	"time"
)

func TestDiagIdle(t *testing.T) {
	cs := script(5, 1)
	h := startHarness(t, Config{}, 128)
	var ms runtime.MemStats
	h.feed(cs, nil)
	frames := int(cs[len(cs)-1].Frame) + testRate/2
	h.waitFrames(frames)
	runtime.ReadMemStats(&ms)
	t.Logf("engine %+v", h.e.Stats())
	t.Logf("device %+v", h.out.Stats())
	t.Logf("numgc %d pausemax %v", ms.NumGC, time.Duration(maxU(ms.PauseNs[:])))
}

func maxU(x []uint64) uint64 {
	var m uint64
	for _, v := range x {
		m = max(m, v)
	}
	return m
}

func TestDiagKills(t *testing.T) {
	cs := script(8, 3)
	h := startHarness(t, Config{MaxRestarts: 1000}, 128)
	kills, prev := 0, 0
	last := time.Now()
	var maxCB time.Duration
	h.feed(cs, func(played uint64) {
		if kills < 100 && played > testRate/2 && time.Since(last) > 40*time.Millisecond && h.redundant(prev) {
			pid := h.standbyPID()
			if kills%2 == 0 {
				pid = h.activePID()
			}
			cb := h.e.Stats().CallbackMax
			if cb > maxCB {
				t.Logf("callback max rose to %v before kill %d (played %d)", cb, kills, played)
				maxCB = cb
			}
			if pid != 0 && kill0(pid) {
				dbg("TEST killed %d (active %d standby %d)", pid, h.activePID(), h.standbyPID())
				prev = pid
				kills++
				last = time.Now()
			}
		}
	})
	frames := int(cs[len(cs)-1].Frame) + testRate/2
	h.waitFrames(frames)
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	t.Logf("engine %+v", h.e.Stats())
	t.Logf("device %+v", h.out.Stats())
	t.Logf("numgc %d pausemax %v", ms.NumGC, time.Duration(maxU(ms.PauseNs[:])))
}
