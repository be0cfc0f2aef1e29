package dsp

import "math"

// LFOShape selects an LFO waveform.
type LFOShape uint8

// LFO shapes.
const (
	LFOSine LFOShape = iota
	LFOTriangle
	LFOSquare
	LFOSaw
	LFOSampleHold
	numLFOShapes
)

var lfoNames = [numLFOShapes]string{"sine", "triangle", "square", "saw", "samplehold"}

// String returns the shape's name.
func (s LFOShape) String() string {
	if s < numLFOShapes {
		return lfoNames[s]
	}
	return "lfo(" + itoa(int(s)) + ")"
}

// LFO is a block-rate low-frequency oscillator. Phase 0 is the start of a
// cycle: sine and triangle start at 0 rising, square starts at +1, saw rises
// from -1 to 1, sample-and-hold draws a new seeded random value at the start
// of every cycle.
type LFO struct {
	phase float64
	held  float64
	rng   Rand
}

// Reset sets the phase to 0 and reseeds the sample-and-hold generator; the
// first held value is drawn immediately.
func (l *LFO) Reset(seed uint64) {
	l.phase = 0
	l.rng.Seed(seed)
	l.held = l.rng.Bipolar()
}

// SetPhase sets the phase in cycles (wrapped into [0,1)).
func (l *LFO) SetPhase(p float64) {
	if !finite64(p) {
		p = 0
	}
	p -= math.Floor(p)
	if p >= 1 {
		p = 0
	}
	l.phase = p
}

// Phase returns the phase in cycles.
func (l *LFO) Phase() float64 { return l.phase }

// Next returns the value (-1..1) at the current phase, then advances the
// phase by n frames at hz.
func (l *LFO) Next(n int, shape LFOShape, hz, sampleRate float64) float64 {
	if l.rng.s == 0 { // zero value: behave as Reset(0)
		l.Reset(0)
	}
	p := l.phase
	var v float64
	switch shape {
	case LFOSine:
		v = math.Sin(twoPi * p)
	case LFOTriangle:
		v = 4 * p
		if v >= 3 {
			v -= 4
		} else if v > 1 {
			v = 2 - v
		}
	case LFOSquare:
		if p < 0.5 {
			v = 1
		} else {
			v = -1
		}
	case LFOSaw:
		v = 2*p - 1
	case LFOSampleHold:
		v = l.held
	}
	if n > 0 && hz > 0 && sampleRate > 0 && finite64(hz) && finite64(sampleRate) {
		p += float64(n) * hz / sampleRate
		if p >= 1 {
			p -= math.Floor(p)
			l.held = l.rng.Bipolar()
		}
		l.phase = p
	}
	return v
}
