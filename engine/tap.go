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
	// first is the engine frame of the capture's first frame, valid once
	// started is set (by the producer).
	first   atomic.Uint64
	started atomic.Bool

	// Where frames were dropped: a small SPSC ring of gap records, so the
	// consumer can put each gap's silence exactly where the audio is
	// missing. A record whose position the producer has not written past
	// yet may still grow (the ring stayed full); the consumer takes it
	// only once it is final. seen is the drop total the consumer has
	// accounted for.
	gaps    [tapGapSlots]tapGap
	gapHead atomic.Uint64 // producer
	gapTail atomic.Uint64 // consumer
	seen    atomic.Uint64 // consumer
}

// tapGapSlots bounds the gaps the consumer may have pending; consecutive
// drops at one position (a writer stalled for many callbacks) share one.
const tapGapSlots = 64

// tapGap is one place where frames were dropped.
type tapGap struct {
	pos   atomic.Uint64 // ring position: frames captured before the gap
	frame atomic.Uint64 // engine frame of the first dropped frame
	total atomic.Uint64 // Dropped() once this gap's frames are counted
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
		t.reset()
	}
	t.on.Store(on)
}

// reset discards what an earlier capture left. Consumer side.
func (t *Tap) reset() {
	t.started.Store(false)
	t.tail.Store(t.head.Load())
	t.gapTail.Store(t.gapHead.Load())
	t.seen.Store(t.dropped.Load())
}

// EnableFrom starts capturing at engine frame frame exactly (the frame
// position PlayPosition counts): the first frame the consumer reads is that
// one, so a recording can start sample-accurately at a frame chosen a little
// ahead. A frame already played starts the capture with the next buffer.
// Normal goroutines only; discards anything left from an earlier capture.
func (t *Tap) EnableFrom(frame uint64) {
	t.on.Store(false)
	t.from.Store(frame)
	t.reset()
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
		at = from
	}
	if !t.started.Load() {
		t.first.Store(at)
		t.started.Store(true)
	}
	h := t.head.Load()
	free := uint64(len(t.buf)/2) - (h - t.tail.Load())
	n := uint64(len(left))
	if n > free {
		t.drop(h+free, at+free, n-free)
		n = free
	}
	for i := uint64(0); i < n; i++ {
		j := ((h + i) & t.mask) * 2
		t.buf[j] = left[i]
		t.buf[j+1] = right[i]
	}
	t.head.Store(h + n)
}

// drop counts d frames dropped at ring position pos (engine frame frame)
// and records where. The record is written before the total is published,
// so a consumer that sees the total also sees the record. Audio thread.
func (t *Tap) drop(pos, frame, d uint64) {
	total := t.dropped.Load() + d // the producer is the only writer
	gh := t.gapHead.Load()
	if gh > t.gapTail.Load() {
		if g := &t.gaps[(gh-1)%tapGapSlots]; g.pos.Load() == pos {
			// The ring is still full where the last gap began: it grows.
			g.total.Store(total)
			t.dropped.Store(total)
			return
		}
	}
	if gh-t.gapTail.Load() < tapGapSlots {
		g := &t.gaps[gh%tapGapSlots]
		g.pos.Store(pos)
		g.frame.Store(frame)
		g.total.Store(total)
		t.gapHead.Store(gh + 1)
	}
	// With every record pending, the drop is counted only; ReadGap then
	// places it where the consumer is when it finds out.
	t.dropped.Store(total)
}

// ReadGap copies up to len(dst)/2 frames, interleaved, into dst, stopping
// where frames were dropped, and returns the frames copied. Once the
// consumer has read everything before a gap, a call returns n = 0, gap =
// the number of frames dropped there and at = the engine frame of the
// first of them: a writer that fills the gap with that much silence keeps
// every later frame at its exact place. A gap is reported once the
// callback has written past it (until then it may still grow); one at the
// very end of a capture, with nothing after it, is not reported. Consumer
// goroutine only; never blocks or allocates.
//
// Positions are exact for up to 64 gaps pending at once; beyond that a
// gap is reported, still whole, where the consumer is when it drains the
// ring.
func (t *Tap) ReadGap(dst []float32) (n int, gap, at uint64) {
	dropped := t.dropped.Load() // before the records: see drop
	tl := t.tail.Load()
	h := t.head.Load()
	limit := h
	if gt := t.gapTail.Load(); gt < t.gapHead.Load() {
		g := &t.gaps[gt%tapGapSlots]
		pos := g.pos.Load()
		if pos <= tl {
			if pos == tl && h == tl {
				return 0, 0, 0 // the callback may still drop more here
			}
			total, at := g.total.Load(), g.frame.Load()
			t.gapTail.Store(gt + 1)
			seen := t.seen.Load()
			if total <= seen {
				return 0, 0, 0
			}
			t.seen.Store(total)
			return 0, total - seen, at
		}
		limit = min(h, pos)
	} else if h == tl {
		if seen := t.seen.Load(); dropped > seen {
			t.seen.Store(dropped)
			return 0, dropped - seen, 0
		}
	}
	return t.copyOut(dst, tl, limit), 0, 0
}

// Read copies up to len(dst)/2 frames, interleaved, into dst and returns the
// number of frames copied, ignoring where frames were dropped (see ReadGap
// and Dropped). Consumer goroutine only; never blocks.
func (t *Tap) Read(dst []float32) int {
	tl := t.tail.Load()
	return t.copyOut(dst, tl, t.head.Load())
}

// Start returns the engine frame of the first frame of the current
// capture; ok is false until the callback has captured one. With
// EnableFrom it is the requested frame, unless that had already played.
// Any goroutine.
func (t *Tap) Start() (frame uint64, ok bool) {
	if !t.started.Load() {
		return 0, false
	}
	return t.first.Load(), true
}

// copyOut copies frames [tl, limit), at most len(dst)/2 of them, and
// advances the tail. Consumer.
func (t *Tap) copyOut(dst []float32, tl, limit uint64) int {
	n := min(limit-tl, uint64(len(dst)/2))
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
