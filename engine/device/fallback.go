package device

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// ErrFellBack is the sticky error of a Fallback that switched to the null
// device: its primary output stopped calling back (the sound card went away,
// the JACK server died).
var ErrFellBack = errors.New("device: the audio device stopped; playing on the null device")

// Fallback plays on a primary output and, when that output stops calling
// back, on the null device instead, so the Source keeps running (and the
// recorder keeps recording) however the device went away.
//
// A normal goroutine watches the primary's callback count. Once it has not
// moved for the stall timeout while the watcher itself ran on time, the
// Fallback hands the Source to a null device at the same rate and buffer,
// records ErrFellBack, counts it in Stats.FellBack, calls OnFallback once,
// and closes the primary in the background. It never switches back.
//
// The Source is never called by both outputs at once: each call goes
// through a gate that admits only the current owner, and the switch waits
// for a call in progress to finish. A call the gate refuses plays silence on
// that output and does not reach the Source, so the Source's own stream (an
// engine's tap, say) has no gap: it only pauses while the device is silent.
type Fallback struct {
	cfg     Config
	primary Output
	null    *NullOutput
	gate    gate
	stall   time.Duration
	notify  func(error)

	fell      atomic.Bool
	closeOnce sync.Once
	stop      chan struct{}
	done      chan struct{}
	started   atomic.Bool
	primDone  chan struct{} // closed when the primary is closed
	primClose sync.Once
}

// gate admits one output at a time to the Source. Audio threads only, except
// where noted.
type gate struct {
	src   Source
	owner atomic.Int32 // the output allowed to render
	busy  atomic.Int32 // 1 while a call is inside src.Render
}

// gated is one output's door to the gate.
type gated struct {
	g  *gate
	id int32
}

const (
	ownerPrimary int32 = 1
	ownerNull    int32 = 2
)

// Render passes the call to the Source if this output owns it, else plays
// silence. Audio thread only: no allocation, lock or wait.
func (s *gated) Render(left, right []float32) {
	g := s.g
	if g.owner.Load() != s.id || !g.busy.CompareAndSwap(0, 1) {
		clear(left)
		clear(right)
		return
	}
	// Re-check: the owner may have changed between the load and the CAS.
	if g.owner.Load() != s.id {
		g.busy.Store(0)
		clear(left)
		clear(right)
		return
	}
	g.src.Render(left, right)
	g.busy.Store(0)
}

// DefaultStall is how long a Fallback waits for a callback before it gives
// up on the primary output; far beyond any host's period.
const DefaultStall = 500 * time.Millisecond

// NewFallback opens the primary output through open, handing it the gated
// Source, and prepares a null device with cfg's rate and buffer. stall is how
// long the primary may go without a callback (0: DefaultStall, and at least
// eight times its latency). notify, if not nil, is called once, from a normal
// goroutine, when the Fallback switches. Normal goroutines only.
func NewFallback(cfg Config, src Source, open func(Source) (Output, error), stall time.Duration, notify func(error)) (*Fallback, error) {
	f := &Fallback{cfg: cfg, notify: notify, stop: make(chan struct{}), done: make(chan struct{}), primDone: make(chan struct{})}
	f.gate.src = src
	f.gate.owner.Store(ownerPrimary)
	p, err := open(&gated{g: &f.gate, id: ownerPrimary})
	if err != nil {
		return nil, err
	}
	f.primary = p
	info := p.Info()
	ncfg := cfg
	ncfg.Backend = Null
	if ncfg.FramesPerBuffer <= 0 {
		ncfg.FramesPerBuffer = info.FramesPerBuffer
	}
	n, err := OpenNull(ncfg, &gated{g: &f.gate, id: ownerNull})
	if err != nil {
		p.Close()
		return nil, err
	}
	f.null = n
	if stall <= 0 {
		stall = max(DefaultStall, 8*info.Latency)
	}
	f.stall = stall
	return f, nil
}

// Start starts the primary and its watcher. Normal goroutines only.
func (f *Fallback) Start() error {
	if err := f.primary.Start(); err != nil {
		return err
	}
	if f.started.CompareAndSwap(false, true) {
		go f.watch()
	}
	return nil
}

// watchEvery is the watcher's period. A tick that comes much later than this
// means the watcher itself was not running (the process was stopped or
// starved): such a tick proves nothing about the device, so it restarts the
// count instead of adding to it.
const watchEvery = 20 * time.Millisecond

func (f *Fallback) watch() {
	defer close(f.done)
	tick := time.NewTicker(watchEvery)
	defer tick.Stop()
	last := f.primary.Stats().Callbacks
	prev := time.Now()
	var stalled time.Duration
	for {
		select {
		case <-f.stop:
			return
		case now := <-tick.C:
			gap := now.Sub(prev)
			prev = now
			cb := f.primary.Stats().Callbacks
			if cb != last || gap > 5*watchEvery {
				last, stalled = cb, 0
				continue
			}
			stalled += gap
			if stalled >= f.stall {
				f.fallBack(stalled)
				return
			}
		}
	}
}

// fallBack moves the Source to the null device. Watcher goroutine only.
func (f *Fallback) fallBack(stalled time.Duration) {
	f.gate.owner.Store(ownerNull)
	// A primary call already inside the Source finishes first (it cannot
	// take long: it is a real-time callback).
	for f.gate.busy.Load() != 0 {
		time.Sleep(100 * time.Microsecond)
	}
	_ = f.null.Start()
	f.fell.Store(true)
	go f.closePrimary()
	if f.notify != nil {
		f.notify(fmt.Errorf("%w (%s: no callback for %v)", ErrFellBack, f.primary.Info().Device, stalled.Round(time.Millisecond)))
	}
}

// closePrimary closes the primary once. A backend whose server died may
// take its time; nothing waits for it but Close, and that only briefly.
func (f *Fallback) closePrimary() {
	f.primClose.Do(func() {
		_ = f.primary.Close()
		close(f.primDone)
	})
}

// Close stops whichever output plays and the watcher. It waits up to two
// seconds for a primary whose backend hangs on close. Normal goroutines
// only; safe to call more than once.
func (f *Fallback) Close() error {
	f.closeOnce.Do(func() {
		close(f.stop)
		if f.started.Load() {
			<-f.done
		}
		// No output may call the Source after Close returns.
		f.gate.owner.Store(0)
		f.null.Close()
		go f.closePrimary()
		select {
		case <-f.primDone:
		case <-time.After(2 * time.Second):
		}
		for f.gate.busy.Load() != 0 {
			time.Sleep(100 * time.Microsecond)
		}
	})
	return nil
}

// FellBack reports whether the Fallback plays on the null device. Any
// goroutine.
func (f *Fallback) FellBack() bool { return f.fell.Load() }

// Info describes the output that plays now.
func (f *Fallback) Info() Info {
	if f.fell.Load() {
		return f.null.Info()
	}
	return f.primary.Info()
}

// Stats adds up both outputs' counters; FellBack is 1 after the switch.
// Normal goroutines only.
func (f *Fallback) Stats() Stats {
	s := f.primary.Stats()
	if f.fell.Load() {
		n := f.null.Stats()
		s.Callbacks += n.Callbacks
		s.Frames += n.Frames
		s.Panics += n.Panics
		s.Underflows += n.Underflows
		s.Late += n.Late
		s.MaxCallback = max(s.MaxCallback, n.MaxCallback)
		s.NoRealtime = s.NoRealtime || n.NoRealtime
		s.FellBack = 1
	}
	return s
}

// Err returns ErrFellBack after the switch, else the primary's first fault.
// Normal goroutines only.
func (f *Fallback) Err() error {
	if f.fell.Load() {
		return ErrFellBack
	}
	return f.primary.Err()
}
