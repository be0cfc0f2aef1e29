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
	v := l.value(shape, true)
	if n > 0 && hz > 0 && sampleRate > 0 && finite64(hz) && finite64(sampleRate) {
		l.advance(float64(n) * hz / sampleRate)
	}
	return v
}

// value returns the value at the current phase. precise selects the sine
// to 5e-14 (Next's promise); the synth's voices take sin2pi (2e-8, far
// below anything a modulation depth can make audible, and cheaper).
func (l *LFO) value(shape LFOShape, precise bool) float64 {
	p := l.phase
	switch shape {
	case LFOSine:
		if !precise {
			return sin2pi(p)
		}
		// sin(2πp) folded into [-π/2, π/2] (sinCos's series, error
		// below 5e-14; math.Sin costs three times as much).
		x := p
		if x > 0.75 {
			x -= 1
		} else if x > 0.25 {
			x = 0.5 - x
		}
		return max(min(math.Copysign(sinTaylor(math.Abs(twoPi*x)), x), 1), -1)
	case LFOTriangle:
		v := 4 * p
		if v >= 3 {
			v -= 4
		} else if v > 1 {
			v = 2 - v
		}
		return v
	case LFOSquare:
		if p < 0.5 {
			return 1
		}
		return -1
	case LFOSaw:
		return 2*p - 1
	case LFOSampleHold:
		return l.held
	}
	return 0
}

// advance moves the phase by d cycles (d >= 0, finite); a new cycle draws
// a new sample-and-hold value.
func (l *LFO) advance(d float64) {
	p := l.phase + d
	if p >= 1 {
		p -= math.Floor(p)
		l.held = l.rng.Bipolar()
	}
	l.phase = p
}
