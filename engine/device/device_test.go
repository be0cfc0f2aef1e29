package device

import (
	"errors"
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

func BenchmarkNullDrift(b *testing.B) {
	// One iteration = 2 s of null-device playback; reports drift in ppm.
	for i := 0; i < b.N; i++ {
		src := &counting{}
		out, _ := OpenNull(Config{SampleRate: 48000, FramesPerBuffer: 128}, src)
		start := time.Now()
		out.Start()
		time.Sleep(2 * time.Second)
		frames := out.Stats().Frames
		el := time.Since(start).Seconds()
		out.Close()
		b.ReportMetric((float64(frames)/48000-el)/el*1e6, "drift-ppm")
	}
}
