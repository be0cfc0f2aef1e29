package engine

import (
	"bytes"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/chronus-audio/chronus/engine/device"
	"github.com/chronus-audio/chronus/engine/proto"
	"github.com/chronus-audio/chronus/engine/sched"
)

// soak is how long the long-running benchmarks play: CHRONUS_SOAK (a Go
// duration, e.g. 60s), default 5 s so that `go test -bench .` stays short.
// The 60-second figures of the issue come from
//
//	CHRONUS_SOAK=60s go test -run '^$' -bench 'JackDummy|NullDrift' -benchtime 1x ./engine/...
func soak(b *testing.B) time.Duration {
	if v := os.Getenv("CHRONUS_SOAK"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			b.Fatalf("CHRONUS_SOAK=%q: %v", v, err)
		}
		return d
	}
	return 5 * time.Second
}

// startBenchHarness is startHarnessOn for a benchmark.
func startBenchHarness(b *testing.B, cfg Config, open func(*Engine) (device.Output, error), seconds float64) *harness {
	b.Helper()
	return startHarnessOn(b, cfg, open, seconds)
}

func nullOpener(period int) func(*Engine) (device.Output, error) {
	return func(e *Engine) (device.Output, error) {
		return device.OpenNull(device.Config{Backend: device.Null, SampleRate: testRate, FramesPerBuffer: period, Realtime: sched.DevicePriority, Strict: true}, e)
	}
}

// timedSource wraps the engine to time every callback, without allocating.
type timedSource struct {
	e   *Engine
	n   atomic.Int64
	dur []int64
}

func (s *timedSource) Render(l, r []float32) {
	t0 := monoNow()
	s.e.Render(l, r)
	if i := s.n.Add(1) - 1; i < int64(len(s.dur)) {
		s.dur[i] = monoNow() - t0
	}
}

func (s *timedSource) percentiles() (p50, p99, maxd time.Duration) {
	n := min(int(s.n.Load()), len(s.dur))
	d := slices.Clone(s.dur[:n])
	slices.Sort(d)
	if n == 0 {
		return
	}
	return time.Duration(d[n/2]), time.Duration(d[n*99/100]), time.Duration(d[n-1])
}

// BenchmarkFailover kills the active worker ten times while a phrase plays
// (each kill once the engine recovered from the one before) and reports per
// failover: samples lost against the reference render (goal 0), the time
// from SIGKILL to the supervisor noticing (goal < 1 ms), and the time from
// noticing to a new standby in sync (goal < 20 ms).
func BenchmarkFailover(b *testing.B) {
	const kills = 10
	for range b.N {
		h := startBenchHarness(b, Config{MaxRestarts: 1000}, nullOpener(128), 60)
		cs := script(60, 11)
		h.waitRedundant(0)
		var detect, respawn []time.Duration
		n, prev := 0, 0
		var killAt int64
		noticed := true
		last := time.Now()
		sent, played := h.feedUntil(cs, func(played uint64) bool {
			st := h.e.Stats()
			if !noticed && st.LastFailureMono >= killAt {
				detect = append(detect, time.Duration(st.LastFailureMono-killAt))
				noticed = true
			}
			if noticed && prev != 0 && h.redundant(prev) && len(respawn) < n {
				respawn = append(respawn, st.LastRespawn)
			}
			if n < kills && noticed && len(respawn) == n && played > testRate/2 && time.Since(last) > 50*time.Millisecond && h.redundant(prev) {
				pid := h.activePID()
				killAt = monoNow()
				if syscall.Kill(pid, syscall.SIGKILL) == nil {
					n, prev, noticed, last = n+1, pid, false, time.Now()
				}
			}
			return n == kills && len(respawn) == kills
		})
		frames := int(played) + testRate/2
		got := h.waitFrames(frames)
		want := reference(b, cs[:sent], frames, 64)
		lost := 0
		for i := range want {
			if got[i] != want[i] {
				lost++
			}
		}
		st := h.e.Stats()
		h.close()
		b.ReportMetric(float64(lost)/kills, "lost-samples/failover")
		b.ReportMetric(float64(st.Underruns), "underruns")
		reportDurations(b, "detect", detect, time.Microsecond, "µs")
		reportDurations(b, "respawn", respawn, time.Millisecond, "ms")
	}
}

func reportDurations(b *testing.B, name string, d []time.Duration, unit time.Duration, unitName string) {
	if len(d) == 0 {
		b.Fatalf("no %s time measured", name)
	}
	s := slices.Clone(d)
	slices.Sort(s)
	b.ReportMetric(float64(s[len(s)/2])/float64(unit), name+"-p50-"+unitName)
	b.ReportMetric(float64(s[len(s)-1])/float64(unit), name+"-max-"+unitName)
}

// BenchmarkRender is one 128-frame callback with commands flowing, on two
// in-process fake workers: the audio thread's own cost, and its allocations
// (goal 0).
func BenchmarkRender(b *testing.B) {
	f := newFakeWorkers(b)
	l, r := make([]float32, 128), make([]float32, 128)
	cmd := proto.Command{Op: proto.OpNoteOn, Channel: 1, Key: 60, Value: 0.5}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if i%8 == 0 {
			_ = f.e.Send(cmd)
		}
		f.fill(0)
		f.fill(1)
		f.e.Render(l, r)
	}
}

// BenchmarkPlay16Voices plays 16 sustained organ voices for CHRONUS_SOAK on
// the null device and reports the CPU each worker used (percent of one
// core, from /proc/<pid>/stat), and the callback's duration percentiles
// (real workers, real device thread).
func BenchmarkPlay16Voices(b *testing.B) {
	for range b.N {
		var ts *timedSource
		h := startBenchHarness(b, Config{}, func(e *Engine) (device.Output, error) {
			ts = &timedSource{e: e, dur: make([]int64, 1<<20)}
			return device.OpenNull(device.Config{Backend: device.Null, SampleRate: testRate, FramesPerBuffer: 128, Realtime: sched.DevicePriority, Strict: true}, ts)
		}, 2)
		h.e.Tap().Enable(false) // nobody reads it here
		for ch := range uint8(4) {
			_ = h.e.Send(proto.Command{Op: proto.OpProgram, Channel: ch, Key: 16}) // drawbar organ: sustains
			_ = h.e.Send(proto.Command{Op: proto.OpControl, Channel: ch, Key: 64, Value: 1})
			for k := range uint8(4) {
				_ = h.e.Send(proto.Command{Op: proto.OpNoteOn, Channel: ch, Key: 48 + 7*k + ch, Value: 0.6})
			}
		}
		time.Sleep(500 * time.Millisecond) // let the voices start
		a, s := h.activePID(), h.standbyPID()
		cpuA0, cpuS0 := procCPU(b, a), procCPU(b, s)
		t0 := time.Now()
		time.Sleep(soak(b))
		el := time.Since(t0)
		cpuA, cpuS := procCPU(b, a)-cpuA0, procCPU(b, s)-cpuS0
		w := h.e.slots[h.e.pubActive.Load()].Load()
		voices := w.reg.u64(offVoicesOn).Load()
		p50, p99, mx := ts.percentiles()
		st := h.e.Stats()
		h.close()
		b.ReportMetric(float64(voices), "voices")
		b.ReportMetric(100*cpuA.Seconds()/el.Seconds(), "cpu-active-%")
		b.ReportMetric(100*cpuS.Seconds()/el.Seconds(), "cpu-standby-%")
		b.ReportMetric(float64(p50)/1e3, "callback-p50-µs")
		b.ReportMetric(float64(p99)/1e3, "callback-p99-µs")
		b.ReportMetric(float64(mx)/1e3, "callback-max-µs")
		b.ReportMetric(float64(st.Underruns), "underruns")
	}
}

// procCPU is the user+system CPU time a process used so far.
func procCPU(b *testing.B, pid int) time.Duration {
	st, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		b.Fatal(err)
	}
	f := strings.Fields(string(st[bytes.LastIndexByte(st, ')')+2:]))
	ut, _ := strconv.ParseInt(f[11], 10, 64) // utime, field 14 of stat
	stt, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+stt) * time.Second / 100 // USER_HZ
}
