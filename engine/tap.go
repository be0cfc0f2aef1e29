package engine

import (
	"sync/atomic"
)

// Tap is the output tap: a lock-free single-producer single-consumer ring of
// stereo frames that the audio callback fills with every block it plays. One
// consumer (the recorder, a test) reads it at a time.
//
// The callback never waits: when the consumer falls behind, the frames that do
// not fit are dropped and counted, and the consumer learns of the gap.
type Tap struct {
	buf     []float32 // interleaved L,R; len = 2*capacity
	mask    uint64
	head    atomic.Uint64 // frames written (producer)
	tail    atomic.Uint64 // frames read (consumer)
	dropped atomic.Uint64 // frames that did not fit
	on      atomic.Bool
	// played counts every frame handed to Write, captured or not: with the
	// engine's callback writing every buffer it plays, it is the engine's
	// frame position. from is the first frame EnableFrom wants.
	played atomic.Uint64
	from   atomic.Uint64
}

// NewTap makes a tap holding capacity frames (rounded up to a power of two).
func NewTap(capacity int) *Tap {
	c := 1
	for c < capacity {
		c <<= 1
	}
	return &Tap{buf: make([]float32, 2*c), mask: uint64(c - 1)}
}

// Enable starts (true) or stops (false) capturing. Normal goroutines only.
// Enabling discards anything left from an earlier capture.
func (t *Tap) Enable(on bool) {
	if on {
		t.from.Store(0)
		t.tail.Store(t.head.Load())
	}
	t.on.Store(on)
}

// EnableFrom starts capturing at engine frame frame exactly (the frame
// position PlayPosition counts): the first frame the consumer reads is that
// one, so a recording can start sample-accurately at a frame chosen a little
// ahead. A frame already played starts the capture with the next buffer.
// Normal goroutines only; discards anything left from an earlier capture.
func (t *Tap) EnableFrom(frame uint64) {
	t.on.Store(false)
	t.from.Store(frame)
	t.tail.Store(t.head.Load())
	t.on.Store(true)
}

// Write appends one buffer. Audio thread only; never blocks or allocates.
func (t *Tap) Write(left, right []float32) {
	at := t.played.Add(uint64(len(left))) - uint64(len(left))
	if !t.on.Load() {
		return
	}
	if from := t.from.Load(); at < from {
		skip := from - at
		if skip >= uint64(len(left)) {
			return
		}
		left, right = left[skip:], right[skip:]
	}
	h := t.head.Load()
	free := uint64(len(t.buf)/2) - (h - t.tail.Load())
	n := uint64(len(left))
	if n > free {
		t.dropped.Add(n - free)
		n = free
	}
	for i := uint64(0); i < n; i++ {
		j := ((h + i) & t.mask) * 2
		t.buf[j] = left[i]
		t.buf[j+1] = right[i]
	}
	t.head.Store(h + n)
}

// Read copies up to len(dst)/2 frames, interleaved, into dst and returns the
// number of frames copied. Consumer goroutine only; never blocks.
func (t *Tap) Read(dst []float32) int {
	tl := t.tail.Load()
	n := min(t.head.Load()-tl, uint64(len(dst)/2))
	for i := uint64(0); i < n; i++ {
		j := ((tl + i) & t.mask) * 2
		dst[2*i] = t.buf[j]
		dst[2*i+1] = t.buf[j+1]
	}
	t.tail.Store(tl + n)
	return int(n)
}

// Dropped is the number of frames the consumer missed. Any goroutine.
func (t *Tap) Dropped() uint64 { return t.dropped.Load() }
