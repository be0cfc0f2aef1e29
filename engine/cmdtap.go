package engine

import (
	"sync/atomic"

	"github.com/chronus-audio/chronus/engine/proto"
)

// CmdTapSize is how many commands the command tap holds before it drops.
// At the recorder's 50 ms drain that is over 80 000 commands a second, far
// beyond what controllers send.
const CmdTapSize = 4096

// CmdTap is the command tap: a lock-free single-producer single-consumer
// ring of the commands the audio thread forwards to the workers, each as
// stamped (Frame is the absolute engine frame the workers apply it at,
// FlagAbsolute set). A recording reads it to capture what the synth really
// received, on the audio's own timeline. One consumer reads it at a time.
//
// The producer never waits: when the consumer falls behind, commands that
// do not fit are dropped and counted. The zero value is ready to use
// (disabled); the ring is a fixed array, so nothing is allocated on
// either side.
type CmdTap struct {
	buf     [CmdTapSize]proto.Command
	head    atomic.Uint64 // commands written (producer)
	tail    atomic.Uint64 // commands read (consumer)
	dropped atomic.Uint64 // commands that did not fit
	on      atomic.Bool
}

// CmdTap returns the engine's command tap. Any goroutine.
func (e *Engine) CmdTap() *CmdTap { return &e.cmdTap }

// Enable starts (true) or stops (false) capturing. Enabling discards
// anything left from an earlier capture. Consumer goroutine (any normal
// goroutine, one at a time).
func (t *CmdTap) Enable(on bool) {
	if on {
		t.tail.Store(t.head.Load())
	}
	t.on.Store(on)
}

// Write appends one stamped command when capturing. Audio thread only (the
// single producer); it never blocks, locks or allocates.
func (t *CmdTap) Write(c *proto.Command) {
	if !t.on.Load() {
		return
	}
	h := t.head.Load()
	if h-t.tail.Load() >= CmdTapSize {
		t.dropped.Add(1)
		return
	}
	t.buf[h&(CmdTapSize-1)] = *c
	t.head.Store(h + 1)
}

// Read copies up to len(dst) commands, oldest first, and returns how many.
// Consumer goroutine only; never blocks.
func (t *CmdTap) Read(dst []proto.Command) int {
	tl := t.tail.Load()
	n := min(t.head.Load()-tl, uint64(len(dst)))
	for i := uint64(0); i < n; i++ {
		dst[i] = t.buf[(tl+i)&(CmdTapSize-1)]
	}
	t.tail.Store(tl + n)
	return int(n)
}

// Dropped is the number of commands the consumer missed because the ring
// was full. Any goroutine.
func (t *CmdTap) Dropped() uint64 { return t.dropped.Load() }
