//go:build cgo

package engine

import (
	"errors"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/chronus-audio/chronus/engine/device"
	"github.com/chronus-audio/chronus/engine/device/jackd"
)

// startJack starts a private dummy JACK server, stopped by its PID at the end.
func startJack(t testing.TB, period int) *jackd.Server {
	t.Helper()
	s, err := jackd.StartFree("chronus-engine-test", testRate, period)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	return s
}

// openJack opens PortAudio on the running JACK server, through device.Open
// (so with its fallback to the null device), telling fell when it falls back.
func openJack(fell *atomic.Int32) func(*Engine) (device.Output, error) {
	return func(e *Engine) (device.Output, error) {
		out, why, err := device.Open(device.Config{Backend: device.PortAudio, Device: "system", SampleRate: testRate,
			OnFallback: func(error) { fell.Add(1) }}, e)
		if err == nil && why != nil {
			err = why
		}
		return out, err
	}
}

// TestFailoverOnJackDummy is TestFailoverLosesNoSample's SIGKILL of the
// active worker mid-note, played through PortAudio on a JACK server.
func TestFailoverOnJackDummy(t *testing.T) {
	js := startJack(t, 128)
	var fell atomic.Int32
	cs := script(3, 7)
	h := startHarnessOn(t, Config{}, openJack(&fell), 4)
	if b := h.out.Info().Backend; b != device.PortAudio {
		t.Fatalf("playing on %s, want portaudio", b)
	}
	killed := 0
	h.feed(cs, func(played uint64) {
		if killed == 0 && played > testRate && h.redundant(0) {
			killed = h.activePID()
			kill(h, killed, syscall.SIGKILL)
		}
	})
	if killed == 0 {
		t.Fatal("the engine never had two workers in sync")
	}
	frames := int(cs[len(cs)-1].Frame) + testRate/2
	got := h.waitFrames(frames)
	compare(t, got, reference(t, cs, frames, 64))
	st := h.e.Stats()
	if st.Underruns != 0 || st.Mismatches != 0 || st.LateCommands != 0 || st.Deaths != 1 {
		t.Fatalf("stats %+v", st)
	}
	if fell.Load() != 0 {
		t.Fatalf("fell back to the null device while JACK ran: device %+v; jackd said:\n%s", h.out.Stats(), js.Log())
	}
	h.waitRedundant(killed)
	t.Logf("engine %+v; device %+v", h.e.Stats(), h.out.Stats())
}

// TestJackDiesRecordingGoesOn kills the JACK server mid-phrase: the output
// falls back to the null device, says so once, and the engine's stream (what
// the recorder reads from the tap) goes on without losing or altering a
// sample.
func TestJackDiesRecordingGoesOn(t *testing.T) {
	s := startJack(t, 128)
	var fell atomic.Int32
	cs := script(3, 8)
	h := startHarnessOn(t, Config{}, openJack(&fell), 4)
	stopped := false
	h.feed(cs, func(played uint64) {
		if !stopped && played > testRate {
			stopped = true
			// SIGKILL, as a crash would; Kill also frees JACK's
			// registry slot afterwards (off this goroutine: the engine
			// must keep being fed meanwhile).
			go s.Kill()
		}
	})
	frames := int(cs[len(cs)-1].Frame) + testRate/2
	got := h.waitFrames(frames)
	compare(t, got, reference(t, cs, frames, 64))
	if n := fell.Load(); n != 1 {
		t.Fatalf("told of the fallback %d times, want once", n)
	}
	if h.out.Info().Backend != device.Null || !errors.Is(h.out.Err(), device.ErrFellBack) {
		t.Fatalf("after JACK died: %+v, %v", h.out.Info(), h.out.Err())
	}
	if st := h.e.Stats(); st.Underruns != 0 || st.Mismatches != 0 || st.Deaths != 0 {
		t.Fatalf("stats %+v", st)
	}
	t.Logf("engine %+v; device %+v", h.e.Stats(), h.out.Stats())
}

// BenchmarkJackDummy plays a phrase through PortAudio on a private JACK
// dummy server for CHRONUS_SOAK (default 5 s; the figure is 60 s,
// see soak) and reports underruns (goal 0), the host's xruns, samples that
// differ from the reference render, and the callback's duration.
func BenchmarkJackDummy(b *testing.B) {
	for range b.N {
		startJack(b, 128)
		d := soak(b)
		var fell atomic.Int32
		var ts *timedSource
		h := startHarnessOn(b, Config{}, func(e *Engine) (device.Output, error) {
			ts = &timedSource{e: e, dur: make([]int64, 1<<21)}
			out, why, err := device.Open(device.Config{Backend: device.PortAudio, Device: "system", SampleRate: testRate,
				OnFallback: func(error) { fell.Add(1) }}, ts)
			if err == nil && why != nil {
				err = why
			}
			return out, err
		}, d.Seconds()+1)
		cs := script(d.Seconds(), 12)
		h.feed(cs, nil)
		frames := int(d.Seconds() * testRate)
		got := h.waitFrames(frames)
		st, ds := h.e.Stats(), h.out.Stats()
		p50, p99, mx := ts.percentiles()
		h.close()
		want := reference(b, cs, frames, 64)
		lost := 0
		for i := range want {
			if got[i] != want[i] {
				lost++
			}
		}
		b.ReportMetric(d.Seconds(), "seconds")
		b.ReportMetric(float64(st.Underruns), "underruns")
		b.ReportMetric(float64(ds.Underflows), "host-xruns")
		b.ReportMetric(float64(fell.Load()), "fallbacks")
		b.ReportMetric(float64(lost), "lost-samples")
		b.ReportMetric(float64(p50)/1e3, "callback-p50-µs")
		b.ReportMetric(float64(p99)/1e3, "callback-p99-µs")
		b.ReportMetric(float64(mx)/1e3, "callback-max-µs")
	}
}
