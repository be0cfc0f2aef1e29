// Package device plays audio on an output backend: PortAudio (the sound card,
// or a JACK server) or the null device, a deadline-paced clock with no sound
// card. It is the only package in Chronus that imports PortAudio.
//
// A backend pulls audio from a Source on its own real-time thread. Faults on
// that thread (a panic in the Source, an underflow reported by the host) never
// stop the stream: they become counters and a sticky first error that a normal
// goroutine reads through Stats and Err. A device that goes away altogether
// (unplugged, its JACK server died) is replaced by the null device: Open wraps
// PortAudio outputs in a Fallback, which watches the callbacks from a normal
// goroutine and moves the Source to a null device, so recording goes on.
package device

import (
	"errors"
	"fmt"
	"sync/atomic"
	"time"
)

// Source produces the audio that a device plays.
//
// Render is called on the device's audio thread only, one call at a time. It
// fills left and right (equal lengths, any length the host chooses) and must
// not allocate, lock, block, log or keep the slices after it returns.
type Source interface {
	Render(left, right []float32)
}

// ReadySource is a Source that can tell whether its next n frames are ready.
// The null device (which nobody hears in real time) waits up to
// NullPatience for them before it calls Render, so a late block becomes a
// short delay instead of a gap in a recording. Ready is called on the
// device's thread and must not allocate, lock or block.
type ReadySource interface {
	Source
	Ready(n int) bool
}

// NullPatience bounds how long the null device waits for a late block.
const NullPatience = 500 * time.Millisecond

// SourceFunc adapts a function to Source.
type SourceFunc func(left, right []float32)

// Render calls f(left, right). Audio thread only.
func (f SourceFunc) Render(left, right []float32) { f(left, right) }

// Backend names an output backend.
type Backend string

// Output backends accepted by Open.
const (
	Auto      Backend = "auto"      // PortAudio when a device works, else Null
	PortAudio Backend = "portaudio" // the sound card or JACK through PortAudio
	Null      Backend = "null"      // no sound card: a clock paced by absolute deadlines
)

// ParseBackend checks a --output value.
func ParseBackend(s string) (Backend, error) {
	switch b := Backend(s); b {
	case Auto, PortAudio, Null:
		return b, nil
	}
	return "", fmt.Errorf("device: unknown output %q (want auto, portaudio or null)", s)
}

// Config selects and sizes an output.
type Config struct {
	Backend    Backend
	Device     string  // PortAudio device: name substring or index; "" = default
	SampleRate float64 // frames per second, e.g. 48000
	// FramesPerBuffer is the host buffer; 0 lets PortAudio pick (best on JACK,
	// where a mismatch makes PortAudio call back twice per period).
	FramesPerBuffer int
	// Strict makes the null device keep strict real time even when its
	// source is late (see ReadySource): benchmarks measure underruns so.
	Strict bool
	// Realtime > 0 asks for SCHED_FIFO at that priority for the null
	// device's clock thread (PortAudio's thread is the host's business).
	Realtime int
	// OnFallback, if set, is called once, from a normal goroutine, when a
	// PortAudio output stopped calling back (the device or the JACK server
	// went away) and Open's Fallback moved playback to the null device.
	OnFallback func(err error)
}

// DefaultNullBuffer is the null device's period when Config.FramesPerBuffer is 0.
const DefaultNullBuffer = 128

// Info describes an opened output.
type Info struct {
	Backend         Backend
	Device          string
	SampleRate      float64
	FramesPerBuffer int // 0 = variable, chosen by the host
	Latency         time.Duration
}

// Output is an opened device. Start, Close, Stats and Err are for normal
// goroutines; none may be called from the audio thread.
type Output interface {
	Start() error
	// Close stops the stream at once and releases the device. It is safe to
	// call more than once.
	Close() error
	Info() Info
	Stats() Stats
	// Err returns the first fault seen on the audio thread, or nil.
	Err() error
}

// Stats are counters kept by the audio thread.
type Stats struct {
	Callbacks  uint64
	Frames     uint64
	Panics     uint64 // Source panics recovered; those buffers were silence
	Underflows uint64 // host-reported output underflows (xruns)
	// Late counts callbacks the null device made while catching up after
	// a stall (no audio is lost; the stream ran behind the wall clock).
	Late uint64
	// FellBack is 1 once a Fallback output switched to the null device
	// because its device stopped (see Fallback).
	FellBack    uint64
	MaxCallback time.Duration
	NoRealtime  bool // the clock thread asked for SCHED_FIFO and was refused
}

// ErrSourcePanic is the sticky error after the Source panicked.
var ErrSourcePanic = errors.New("device: the audio source panicked; the buffer was replaced by silence")

// ErrUnderflow is the sticky error after the host reported an output underflow.
var ErrUnderflow = errors.New("device: the host reported an output underflow")

// counters are the audio thread's atomics, shared by every backend.
type counters struct {
	callbacks   atomic.Uint64
	frames      atomic.Uint64
	panics      atomic.Uint64
	underflows  atomic.Uint64
	late        atomic.Uint64
	maxCallback atomic.Int64
	firstErr    atomic.Pointer[error]
	rtErr       atomic.Bool // SCHED_FIFO was refused
}

func (c *counters) stats() Stats {
	return Stats{
		Callbacks:   c.callbacks.Load(),
		Frames:      c.frames.Load(),
		Panics:      c.panics.Load(),
		Underflows:  c.underflows.Load(),
		Late:        c.late.Load(),
		MaxCallback: time.Duration(c.maxCallback.Load()),
		NoRealtime:  c.rtErr.Load(),
	}
}

// fault records err as the sticky error if it is the first. err must be a
// package-level variable so that the audio thread never allocates here.
func (c *counters) fault(err *error) {
	c.firstErr.CompareAndSwap(nil, err)
}

func (c *counters) err() error {
	if p := c.firstErr.Load(); p != nil {
		return *p
	}
	return nil
}

func (c *counters) took(d int64) {
	for {
		old := c.maxCallback.Load()
		if d <= old || c.maxCallback.CompareAndSwap(old, d) {
			return
		}
	}
}

// render calls src with panic protection: a panic silences this buffer and
// is counted. Audio thread only.
func (c *counters) render(src Source, left, right []float32) {
	defer c.recoverRender(left, right)
	src.Render(left, right)
}

// recoverRender is a named deferred function so it allocates no closure.
func (c *counters) recoverRender(left, right []float32) {
	if r := recover(); r != nil {
		clear(left)
		clear(right)
		c.panics.Add(1)
		c.fault(&ErrSourcePanic)
	}
}

// Open opens the configured backend. With Auto it tries PortAudio and falls
// back to Null; the PortAudio error is then returned as fallback so the
// caller can log why, while out is the working null device. A PortAudio
// output comes wrapped in a Fallback: if the device or its JACK server goes
// away while playing, the null device takes over and cfg.OnFallback is told.
func Open(cfg Config, src Source) (out Output, fallback error, err error) {
	if cfg.SampleRate <= 0 {
		return nil, nil, fmt.Errorf("device: sample rate %v must be positive", cfg.SampleRate)
	}
	openPA := func(s Source) (Output, error) { return OpenPortAudio(cfg, s) }
	switch cfg.Backend {
	case Null:
		out, err = OpenNull(cfg, src)
		return out, nil, err
	case PortAudio:
		f, err := NewFallback(cfg, src, openPA, 0, cfg.OnFallback)
		if err != nil {
			return nil, nil, err
		}
		return f, nil, nil
	case Auto, "":
		f, err := NewFallback(cfg, src, openPA, 0, cfg.OnFallback)
		if err == nil {
			return f, nil, nil
		}
		n, nerr := OpenNull(cfg, src)
		if nerr != nil {
			return nil, nil, nerr
		}
		return n, err, nil
	}
	return nil, nil, fmt.Errorf("device: unknown output %q", cfg.Backend)
}
