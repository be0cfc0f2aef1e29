package dsp

import "math"

// Smoother is a one-pole parameter smoother for block-rate parameters: after
// `seconds` the remaining distance to the target has shrunk to 1/e.
type Smoother struct {
	value, target float64
	coef          float64 // per-sample decay factor
	lastN         int
	lastPow       float64 // coef^lastN
}

// Init jumps to value and sets the time constant (seconds <= 0: no
// smoothing).
func (s *Smoother) Init(value, seconds, sampleRate float64) {
	if !finite64(value) {
		value = 0
	}
	s.value, s.target = value, value
	s.coef = 0
	if seconds > 0 && sampleRate > 0 && finite64(seconds*sampleRate) {
		s.coef = math.Exp(-1 / (seconds * sampleRate))
	}
	s.lastN = -1
}

// Set sets a new target (non-finite targets are ignored).
func (s *Smoother) Set(target float64) {
	if finite64(target) {
		s.target = target
	}
}

// Jump sets value and target at once.
func (s *Smoother) Jump(v float64) {
	if finite64(v) {
		s.value, s.target = v, v
	}
}

// Target returns the current target.
func (s *Smoother) Target() float64 { return s.target }

// Next advances n frames and returns the value reached.
func (s *Smoother) Next(n int) float64 {
	if s.value == s.target || n <= 0 {
		return s.value
	}
	if n != s.lastN {
		s.lastN = n
		s.lastPow = math.Pow(s.coef, float64(n))
	}
	d := s.value - s.target
	d *= s.lastPow
	if math.Abs(d) <= 1e-9*math.Abs(s.target) || math.Abs(d) < 1e-12 {
		d = 0
	}
	s.value = s.target + d
	return s.value
}

// Value returns the current value.
func (s *Smoother) Value() float64 { return s.value }
