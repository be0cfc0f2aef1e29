package engine

import (
	"math"
	"sync/atomic"
)

// meter holds the output's peak level for the level display, measured by
// the audio callback on the buffers it plays. It is separate from the Tap
// on purpose: the Tap has one consumer, the recorder, and a display must
// not take its frames.
//
// The callback raises each channel's peak with a compare-and-swap; the one
// reader (PeakLevels) swaps it back to 0, so each read covers every buffer
// played since the previous read.
type meter struct {
	peak [2]atomic.Uint32 // float32 bits of the largest |sample|, L and R
}

// write raises the peaks to those of left and right. Audio thread only: it
// never allocates, locks or blocks (the CAS only retries when a reader swapped
// the value in between, at most once per read). NaN samples are ignored.
func (m *meter) write(left, right []float32) {
	m.raise(0, peakOf(left))
	m.raise(1, peakOf(right))
}

func (m *meter) raise(ch int, p float32) {
	for {
		old := m.peak[ch].Load()
		if p <= math.Float32frombits(old) || m.peak[ch].CompareAndSwap(old, math.Float32bits(p)) {
			return
		}
	}
}

// peakOf is the largest |x| of buf, NaN ignored (a NaN compares false).
func peakOf(buf []float32) float32 {
	var p float32
	for _, x := range buf {
		if x < 0 {
			x = -x
		}
		if x > p {
			p = x
		}
	}
	return p
}

// PeakLevels returns the largest absolute sample of the left and right
// output (1 = full scale) played since the previous call, and starts a new
// measurement. It is meant for one reader, a level display polling a few
// times a second; two readers would split the peaks between them. Normal
// goroutines; it never blocks the audio thread.
func (e *Engine) PeakLevels() (left, right float32) {
	return math.Float32frombits(e.meter.peak[0].Swap(0)), math.Float32frombits(e.meter.peak[1].Swap(0))
}

// ActiveVoices returns the number of voices sounding in the active worker
// after the last block it rendered (0 when no worker is active). Any
// goroutine.
func (e *Engine) ActiveVoices() int {
	a := e.pubActive.Load()
	if a < 0 || int(a) >= len(e.slots) {
		return 0
	}
	w := e.slots[a].Load()
	if w == nil {
		return 0
	}
	return int(w.reg.u64(offVoicesOn).Load())
}

// DBFS converts a peak level (1 = full scale) to decibels relative to full
// scale, with silence (and anything under -120 dBFS) as -120.
func DBFS(peak float32) float64 {
	const floor = -120
	if !(peak > 1e-6) {
		return floor
	}
	return math.Max(floor, 20*math.Log10(float64(peak)))
}
