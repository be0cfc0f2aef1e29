package device

import (
	"errors"
	"sync/atomic"
	"testing"
	"time"
)

// fakeOutput calls its source every 2 ms from its own goroutine until it is
// unplugged or paused, like a sound card that can go away.
type fakeOutput struct {
	src      Source
	c        counters
	unplug   atomic.Bool
	pause    atomic.Bool
	closed   atomic.Bool
	stop     chan struct{}
	l, r     []float32
	started  bool
	finished chan struct{}
}

func openFake(src Source) (*fakeOutput, error) {
	return &fakeOutput{src: src, stop: make(chan struct{}), finished: make(chan struct{}),
		l: make([]float32, 96), r: make([]float32, 96)}, nil
}

func (o *fakeOutput) Start() error {
	o.started = true
	go func() {
		defer close(o.finished)
		for {
			select {
			case <-o.stop:
				return
			case <-time.After(2 * time.Millisecond):
			}
			if o.unplug.Load() {
				return
			}
			if o.pause.Load() {
				continue
			}
			o.c.render(o.src, o.l, o.r)
			o.c.callbacks.Add(1)
			o.c.frames.Add(96)
		}
	}()
	return nil
}

func (o *fakeOutput) Close() error {
	if o.closed.CompareAndSwap(false, true) {
		close(o.stop)
		if o.started {
			<-o.finished
		}
	}
	return nil
}
func (o *fakeOutput) Info() Info {
	return Info{Backend: PortAudio, Device: "fake", SampleRate: 48000, FramesPerBuffer: 96, Latency: 2 * time.Millisecond}
}
func (o *fakeOutput) Stats() Stats { return o.c.stats() }
func (o *fakeOutput) Err() error   { return o.c.err() }

// exclusive is a Source that detects two outputs calling it at once.
type exclusive struct {
	counting
	in      atomic.Int32
	overlap atomic.Int32
}

func (s *exclusive) Render(l, r []float32) {
	if s.in.Add(1) != 1 {
		s.overlap.Add(1)
	}
	s.counting.Render(l, r)
	s.in.Add(-1)
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func TestFallbackWhenTheDeviceGoesAway(t *testing.T) {
	src := &exclusive{}
	var fake *fakeOutput
	var told atomic.Int32
	var why atomic.Pointer[error]
	f, err := NewFallback(Config{SampleRate: 48000}, src, func(s Source) (Output, error) {
		o, err := openFake(s)
		fake = o
		return o, err
	}, 200*time.Millisecond, func(err error) { told.Add(1); why.Store(&err) })
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the primary to play", func() bool { return src.frames.Load() > 4800 })
	if f.FellBack() || f.Info().Backend != PortAudio {
		t.Fatal("fell back while the primary played")
	}
	fake.unplug.Store(true)
	waitFor(t, "the fallback", f.FellBack)
	at := src.frames.Load()
	waitFor(t, "the null device to play", func() bool { return src.frames.Load() > at+9600 })
	if n := told.Load(); n != 1 {
		t.Fatalf("told %d times, want once", n)
	}
	if !errors.Is(*why.Load(), ErrFellBack) || !errors.Is(f.Err(), ErrFellBack) {
		t.Fatalf("reason %v, sticky error %v", *why.Load(), f.Err())
	}
	if inf := f.Info(); inf.Backend != Null || inf.FramesPerBuffer != 96 {
		t.Fatalf("after the fallback: %+v", inf)
	}
	if st := f.Stats(); st.FellBack != 1 || st.Frames < at {
		t.Fatalf("stats %+v", st)
	}
	waitFor(t, "the primary to be closed", fake.closed.Load)
	if n := src.overlap.Load(); n != 0 {
		t.Fatalf("the source was called by two outputs at once %d times", n)
	}
	f.Close()
	calls := src.calls.Load()
	time.Sleep(20 * time.Millisecond)
	if src.calls.Load() != calls {
		t.Fatal("the source was called after Close")
	}
	if n := told.Load(); n != 1 {
		t.Fatalf("told %d times, want once", n)
	}
}

// A device that pauses for less than the stall timeout keeps its stream.
func TestFallbackToleratesAShortStall(t *testing.T) {
	src := &exclusive{}
	var fake *fakeOutput
	f, err := NewFallback(Config{SampleRate: 48000}, src, func(s Source) (Output, error) {
		o, err := openFake(s)
		fake = o
		return o, err
	}, 5*time.Second, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	f.Start()
	waitFor(t, "the primary to play", func() bool { return src.frames.Load() > 4800 })
	fake.pause.Store(true)
	time.Sleep(100 * time.Millisecond)
	fake.pause.Store(false)
	at := src.frames.Load()
	waitFor(t, "the primary to resume", func() bool { return src.frames.Load() > at+4800 })
	if f.FellBack() || f.Stats().FellBack != 0 {
		t.Fatal("fell back after a short pause")
	}
}
