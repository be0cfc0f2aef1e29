package device

import (
	"errors"
	"os"
	"sync/atomic"
	"testing"
	"time"
)

// counting is a Source that writes a ramp and counts frames.
type counting struct {
	frames atomic.Uint64
	calls  atomic.Uint64
	panic  atomic.Bool
}

func (c *counting) Render(l, r []float32) {
	c.calls.Add(1)
	if c.panic.Load() {
		panic("boom")
	}
	for i := range l {
		l[i], r[i] = 0.25, -0.25
	}
	c.frames.Add(uint64(len(l)))
}

func TestParseBackend(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Backend
		ok   bool
	}{{"auto", Auto, true}, {"null", Null, true}, {"portaudio", PortAudio, true}, {"alsa", "", false}, {"", "", false}} {
		got, err := ParseBackend(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("ParseBackend(%q) = %q, %v", tc.in, got, err)
		}
	}
}

func TestNullPlaysAtRate(t *testing.T) {
	src := &counting{}
	out, err := OpenNull(Config{Backend: Null, SampleRate: 48000, FramesPerBuffer: 64}, src)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := out.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second)
	out.Close()
	el := time.Since(start).Seconds()
	got := float64(src.frames.Load())
	want := el * 48000
	// Loose bounds: a busy CI machine may starve the thread; the exact drift
	// figure is a benchmark. Pacing must never run ahead of real time though.
	if got > want+64*2 || got < want*0.8 {
		t.Fatalf("null device rendered %v frames in %.3f s, want about %.0f", got, el, want)
	}
	if st := out.Stats(); st.Frames != src.frames.Load() || st.Panics != 0 {
		t.Fatalf("stats %+v disagree with source (%d frames)", st, src.frames.Load())
	}
	calls := src.calls.Load()
	time.Sleep(20 * time.Millisecond)
	if src.calls.Load() != calls {
		t.Fatal("the null device kept calling its source after Close")
	}
}

func TestNullCloseWithoutStart(t *testing.T) {
	out, _ := OpenNull(Config{SampleRate: 48000}, &counting{})
	done := make(chan struct{})
	go func() { out.Close(); out.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Close of an unstarted null device hung")
	}
}

func TestPanicBecomesSilenceAndCounter(t *testing.T) {
	src := &counting{}
	src.panic.Store(true)
	out, _ := OpenNull(Config{SampleRate: 48000, FramesPerBuffer: 64}, src)
	out.Start()
	deadline := time.Now().Add(5 * time.Second)
	for out.Stats().Panics < 3 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	src.panic.Store(false)
	out.Close()
	st := out.Stats()
	if st.Panics < 3 {
		t.Fatalf("panics counted %d, want >= 3", st.Panics)
	}
	if !errors.Is(out.Err(), ErrSourcePanic) {
		t.Fatalf("sticky error %v, want ErrSourcePanic", out.Err())
	}
	// The buffer of a panicking call must be silence, not stale data.
	if out.left[0] != 0 && out.left[0] != 0.25 {
		t.Fatalf("left[0] = %v", out.left[0])
	}
}

func TestRenderRecoverDoesNotAllocate(t *testing.T) {
	var c counters
	src := &counting{}
	l, r := make([]float32, 128), make([]float32, 128)
	if n := testing.AllocsPerRun(100, func() { c.render(src, l, r) }); n != 0 {
		t.Fatalf("render allocates %v per call", n)
	}
	src.panic.Store(true)
	c.render(src, l, r)
	for i := range l {
		if l[i] != 0 || r[i] != 0 {
			t.Fatalf("sample %d not silenced after panic: %v %v", i, l[i], r[i])
		}
	}
}

// BenchmarkNullDrift plays the null device for CHRONUS_SOAK (a Go duration,
// default 5 s; the figure is over 60 s:
// CHRONUS_SOAK=60s go test -run '^$' -bench NullDrift -benchtime 1x ./engine/device)
// and reports how far the frames it delivered drift from the wall clock
// (goal under 0.01%, i.e. 100 ppm), with the device thread in SCHED_FIFO as
// chronus runs it.
func BenchmarkNullDrift(b *testing.B) {
	d := 5 * time.Second
	if v := os.Getenv("CHRONUS_SOAK"); v != "" {
		var err error
		if d, err = time.ParseDuration(v); err != nil {
			b.Fatal(err)
		}
	}
	for range b.N {
		src := &stamping{}
		out, _ := OpenNull(Config{SampleRate: 48000, FramesPerBuffer: 128, Realtime: 80}, src)
		out.Start()
		time.Sleep(d)
		out.Close()
		st := out.Stats()
		// Drift is the device's rate against the wall clock: n-1 periods
		// of audio against the time between the first and the last call.
		// Counting delivered frames against elapsed time instead would
		// report up to one buffer (it is rendered ahead) as drift.
		n, first, last := src.n.Load(), src.first.Load(), src.last.Load()
		el := float64(last-first) / 1e9
		drift := (float64(n-1)*128/48000 - el) / el
		b.ReportMetric(el, "seconds")
		b.ReportMetric(drift*1e6, "drift-ppm")
		b.ReportMetric(100*drift, "drift-%")
		b.ReportMetric(float64(st.Late), "late-callbacks")
		b.ReportMetric(float64(st.Underflows), "reanchors")
	}
}

// stamping records when its first and last calls started.
type stamping struct {
	n           atomic.Int64
	first, last atomic.Int64
}

func (s *stamping) Render(l, r []float32) {
	now := monoNow()
	if s.n.Add(1) == 1 {
		s.first.Store(now)
	}
	s.last.Store(now)
}

// stalling is a Source that stalls once for 60 ms and records when each
// call starts.
type stalling struct {
	n      int
	starts [4096]int64
	stall  int // call index that stalls
}

func (s *stalling) Render(l, r []float32) {
	if s.n < len(s.starts) {
		s.starts[s.n] = monoNow()
	}
	if s.n == s.stall {
		time.Sleep(60 * time.Millisecond)
	}
	s.n++
}

// TestNullCatchesUpGently: after a stall the null device makes up the lost
// time (no drift), but never calls faster than twice real time, since a
// source that renders only a buffer or two ahead could not keep up with a
// burst of back-to-back calls. The bounds are lower bounds on time, and the
// device can never run ahead of the clock, so a slow machine cannot make
// the checks fail.
func TestNullCatchesUpGently(t *testing.T) {
	const period = 128
	src := &stalling{stall: 20}
	out, _ := OpenNull(Config{SampleRate: 48000, FramesPerBuffer: period}, src)
	start := monoNow()
	out.Start()
	time.Sleep(500 * time.Millisecond)
	out.Close()
	el := float64(monoNow()-start) / 1e9
	n := min(src.n, len(src.starts))
	periodNs := int64(period) * 1e9 / 48000
	// One short gap is normal (a late wake-up followed by an on-time
	// deadline); two in a row would be a burst.
	for i := 2; i < n; i++ {
		if gap := src.starts[i] - src.starts[i-2]; gap < periodNs/2-1000 {
			t.Fatalf("calls %d to %d came within %v, less than half a period", i-2, i, time.Duration(gap))
		}
	}
	st := out.Stats()
	if st.Late == 0 {
		t.Fatalf("the stall was not caught up: %+v", st)
	}
	if float64(st.Frames) > el*48000+period {
		t.Fatalf("the null device ran ahead of real time: %d frames in %.3f s", st.Frames, el)
	}
}

// lateSource is not ready until its time comes.
type lateSource struct {
	counting
	readyAt time.Time
}

func (s *lateSource) Ready(int) bool { return time.Now().After(s.readyAt) }

// The null device waits (at most NullPatience) for a late source instead of
// playing a gap into a recording; Strict keeps real time.
func TestNullWaitsForALateSource(t *testing.T) {
	for _, strict := range []bool{false, true} {
		src := &lateSource{readyAt: time.Now().Add(150 * time.Millisecond)}
		out, _ := OpenNull(Config{SampleRate: 48000, FramesPerBuffer: 64, Strict: strict}, src)
		out.Start()
		time.Sleep(100 * time.Millisecond)
		calls := src.calls.Load()
		time.Sleep(200 * time.Millisecond)
		out.Close()
		if !strict && calls != 0 {
			t.Fatalf("patient null device called a source that was not ready (%d calls)", calls)
		}
		if strict && calls == 0 {
			t.Fatal("strict null device waited for its source")
		}
		if src.calls.Load() == 0 {
			t.Fatalf("strict=%v: the device never played once the source was ready", strict)
		}
	}
}
