package dsp

import (
	"math"
	"strings"
)

// Wave selects an oscillator waveform.
type Wave uint8

// Oscillator waveforms.
const (
	Sine Wave = iota
	Saw
	Square
	Triangle
	WhiteNoise
	PinkNoise
	numWaves
)

var waveNames = [numWaves]string{"sine", "saw", "square", "triangle", "white", "pink"}

// String returns the lower-case name ParseWave accepts.
func (w Wave) String() string {
	if w < numWaves {
		return waveNames[w]
	}
	return "wave(" + itoa(int(w)) + ")"
}

// ParseWave parses a wave name (case-insensitive). Besides the names String
// returns it accepts "sin", "sawtooth", "pulse", "tri", "noise",
// "whitenoise", "white_noise", "pinknoise" and "pink_noise".
func ParseWave(s string) (Wave, bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "sine", "sin":
		return Sine, true
	case "saw", "sawtooth", "ramp":
		return Saw, true
	case "square", "pulse", "sqr", "rect":
		return Square, true
	case "triangle", "tri":
		return Triangle, true
	case "white", "noise", "whitenoise", "white_noise", "white-noise":
		return WhiteNoise, true
	case "pink", "pinknoise", "pink_noise", "pink-noise":
		return PinkNoise, true
	}
	return 0, false
}

func itoa(v int) string {
	if v == 0 {
		return "0"
	}
	neg := v < 0
	if neg {
		v = -v
	}
	var b [20]byte
	i := len(b)
	for v > 0 {
		i--
		b[i] = byte('0' + v%10)
		v /= 10
	}
	if neg {
		i--
		b[i] = '-'
	}
	return string(b[i:])
}

// Osc is an audio-rate oscillator. The zero value is usable (phase 0, noise
// seeded as with Reset(0)).
type Osc struct {
	phase float64 // cycles, [0,1)
	rng   uint64
	pk    pinkState
	sine  sineRot
}

// sineRot is the sine's recurrence state: sin and cos of the phase, exact
// (sin2pi) at every sineAnchor-th sample of the oscillator's own count and
// advanced by rotations in between (4 multiplies instead of a polynomial
// per sample): sample j+2 is sample j rotated by 2·2π·inc, so two
// independent chains run side by side. The anchors fall on the
// oscillator's own sample count, so the output does not depend on how
// calls split the samples.
type sineRot struct {
	s0, c0   float64 // sin, cos of 2π·phase: the next sample
	s1, c1   float64 // the same one sample later
	sw, cw   float64 // sin, cos of 2π·inc (all four 0: not computed)
	sw2, cw2 float64 // sin, cos of 4π·inc
	inc      float64 // the increment sw, cw, sw2, cw2 are for
	pb       float64 // phase at sample nb before now (set at anchors and increment changes)
	nb       int32   // samples since pb
	n        int32   // samples since the last anchor; 0: anchor due
}

// sineAnchor is the number of rotation steps between exact anchors:
// the rotation's rounding error grows by about 2e-16 per step.
const sineAnchor = 32

// Reset sets the phase to 0 and reseeds the noise generator (seed 0 is
// valid). The pink-noise filter is cleared.
func (o *Osc) Reset(seed uint64) {
	o.phase = 0
	o.rng = splitmix64(seed)
	o.pk = pinkState{}
	o.sine = sineRot{}
}

// SetPhase sets the phase in cycles; it is wrapped into [0,1).
func (o *Osc) SetPhase(p float64) {
	if !finite64(p) {
		p = 0
	}
	p -= float64(int64(p))
	if p < 0 {
		p++
	}
	if p >= 1 {
		p = 0
	}
	o.phase = p
	o.sine.n = 0
}

// Phase returns the current phase in cycles, [0,1).
func (o *Osc) Phase() float64 { return o.phase }

// maxInc is the highest frequency in cycles per sample (Nyquist).
const maxInc = 0.5

const twoPi = 6.283185307179586476925286766559

// sin2pi returns sin(2πp) for p in [0,1) with an error below 2e-8: p is
// folded into [-1/4, 1/4] and a minimax odd polynomial of degree 9 takes
// over. (The branches are predictable; a branch-free reduction measured
// slower.)
func sin2pi(p float64) float64 {
	x := p
	if x > 0.75 {
		x -= 1
	} else if x > 0.25 {
		x = 0.5 - x
	}
	x2 := x * x
	return x * (sinC1 + x2*(sinC3+x2*(sinC5+x2*(sinC7+x2*sinC9))))
}

// Minimax coefficients of sin(2πu) on [-1/4, 1/4] (Remez, absolute error
// 1.9e-8).
const (
	sinC1 = 6.2831852971120021
	sinC3 = -41.341691611493303
	sinC5 = 81.603432918873182
	sinC7 = -76.606416523578361
	sinC9 = 39.96105731633336
)

// Process overwrites dst with len(dst) samples of w. The frequency moves
// linearly from inc0 to inc1 (cycles per sample = hz/sampleRate, clamped to
// [0, 0.5]) across the block: sample i uses inc0+(inc1-inc0)*i/len(dst). pw
// is the pulse width of Square (0.5 = square, clamped to [0.02, 0.98]); the
// pulse is DC-free. Saw rises from -1 to 1, Triangle and Sine start at 0
// rising; all have peak amplitude about 1 (noise: white uniform in [-1,1),
// pink roughly ±1). Saw, Square and Triangle are band-limited by the
// 4-point B-spline polyBLEP / polyBLAMP described below. At a constant
// frequency (inc0 == inc1) the faster path of the synth's voices runs (see
// render): the band-limited waves keep phase and increment on a 2^-52
// grid, the sine rotates between exact anchors.
func (o *Osc) Process(dst []float32, w Wave, inc0, inc1, pw float64) {
	n := len(dst)
	if n == 0 {
		return
	}
	inc0, inc1 = clampInc(inc0), clampInc(inc1)
	if inc0 == inc1 {
		clear(dst)
		o.render(dst, w, inc0, pw, 1)
		return
	}
	inc := inc0
	d := (inc1 - inc0) / float64(n)
	p := o.phase
	switch w {
	case Sine:
		for i := range dst {
			dst[i] = float32(sin2pi(p))
			p += inc
			if p >= 1 {
				p -= 1
			}
			inc += d
		}
	case Saw:
		for i := range dst {
			dst[i] = float32(sawAt(p, inc))
			p += inc
			if p >= 1 {
				p -= 1
			}
			inc += d
		}
	case Square:
		pw = clampPW(pw)
		dc := 2*pw - 1
		for i := range dst {
			dst[i] = float32(squareAt(p, inc, pw, dc))
			p += inc
			if p >= 1 {
				p -= 1
			}
			inc += d
		}
	case Triangle:
		for i := range dst {
			dst[i] = float32(triangleAt(p, inc))
			p += inc
			if p >= 1 {
				p -= 1
			}
			inc += d
		}
	case WhiteNoise:
		clear(dst)
		o.white(dst, 1)
		p = advance(p, inc0, inc1, n)
	case PinkNoise:
		clear(dst)
		o.pink(dst, 1)
		p = advance(p, inc0, inc1, n)
	default:
		clear(dst)
		p = advance(p, inc0, inc1, n)
	}
	o.phase = wrapPhase(p)
	o.sine.n = 0
}

// clampInc clamps a phase increment to [0, maxInc] (NaN: 0).
func clampInc(inc float64) float64 {
	if !(inc > 0) {
		return 0
	}
	return min(inc, maxInc)
}

func clampPW(pw float64) float64 {
	if !(pw >= 0.02) {
		return 0.02
	}
	return min(pw, 0.98)
}

// wrapPhase guards against rounding at the edges of [0,1).
func wrapPhase(p float64) float64 {
	if p >= 1 || p < 0 || !finite64(p) {
		p -= float64(int64(p))
		if p < 0 || p >= 1 || !finite64(p) {
			p = 0
		}
	}
	return p
}

// sawAt is the band-limited saw at phase p: a step of -2 at every wrap.
func sawAt(p, inc float64) float64 {
	y := 2*p - 1
	if p < 2*inc {
		y -= 2 * blep4(p/inc)
	}
	if p > 1-2*inc {
		y += 2 * blep4((1-p)/inc)
	}
	return y
}

// squareAt is the band-limited DC-free pulse: a step of +2 at p = 0 and
// of -2 at p = pw; dc = 2pw-1.
func squareAt(p, inc, pw, dc float64) float64 {
	var y float64
	if p < pw {
		y = 1 - dc
	} else {
		y = -1 - dc
	}
	if p < 2*inc {
		y += 2 * blep4(p/inc)
	}
	if p > 1-2*inc {
		y -= 2 * blep4((1-p)/inc)
	}
	q := p - pw
	if q < 0 {
		q++
	}
	if q < 2*inc {
		y -= 2 * blep4(q/inc)
	}
	if q > 1-2*inc {
		y += 2 * blep4((1-q)/inc)
	}
	return y
}

// triangleAt is the band-limited triangle: 0 at p=0, +1 at 0.25, -1 at
// 0.75, with slope changes of -8·inc per sample at the peak and +8·inc at
// the trough.
func triangleAt(p, inc float64) float64 {
	y := 4 * p
	if y >= 3 {
		y -= 4
	} else if y > 1 {
		y = 2 - y
	}
	var c float64
	q := p - 0.25
	if q < 0 {
		q++
	}
	if q < 2*inc {
		c -= blamp4(q / inc)
	}
	if q > 1-2*inc {
		c -= blamp4((1 - q) / inc)
	}
	q = p - 0.75
	if q < 0 {
		q++
	}
	if q < 2*inc {
		c += blamp4(q / inc)
	}
	if q > 1-2*inc {
		c += blamp4((1 - q) / inc)
	}
	return y + 8*inc*c
}

// minTightInc is the smallest increment for which render runs the
// correction-free stretches between discontinuities as straight loops
// (their length is computed with a margin of one sample, which must
// dwarf the rounding of the phase sum).
const minTightInc = 1e-9

// render adds g times len(dst) samples of w at the constant increment inc
// to dst. For Saw, Square and Triangle every sample equals what the
// per-sample code (sawAt, squareAt, triangleAt) gives at its phase, with
// the phase and the increment on the 2^-52 grid (see phaseGrid); between
// the regions that need a band-limiting correction the wave is a straight
// line in the phase, and those stretches run as tight loops without tests.
// The phases are the same exact sums either way, so the output does not
// depend on how the calls split the samples. Sine: see sineRot.
func (o *Osc) render(dst []float32, w Wave, inc, pw float64, g float32) {
	inc = clampInc(inc)
	p := o.phase
	n := len(dst)
	if w == Saw || w == Square || w == Triangle {
		inc = onGrid(inc)
		p = onGrid(p)
		if p >= 1 {
			p = 0
		}
	}
	switch w {
	case Sine:
		o.sineRender(dst, inc, g)
		return
	case Saw:
		if inc < minTightInc {
			p = o.slow(dst, w, inc, 0, g)
			break
		}
		lo, hi := 2*inc, 1-2*inc
		inv := 1 / inc
		for i := 0; i < n; {
			if p >= lo && p <= hi {
				// Samples i..i+k-1 have phases in [lo, hi]: no correction, no wrap.
				if k := min(int((hi-p)*inv), n-i); k > 0 {
					p = line(dst[i:i+k], p, inc, 2, -1, g)
					i += k
					continue
				}
			}
			dst[i] += float32(sawAt(p, inc)) * g
			p += inc
			if p >= 1 {
				p -= 1
			}
			i++
		}
	case Square:
		if inc < minTightInc {
			p = o.slow(dst, w, inc, pw, g)
			break
		}
		pw = clampPW(pw)
		dc := 2*pw - 1
		lo := 2 * inc
		inv := 1 / inc
		hiA, hiB := pw-2*inc, 1-2*inc // ends of the high and the low stretch
		for i := 0; i < n; {
			var k int
			var y float32
			if p >= lo && p <= hiA {
				k, y = int((hiA-p)*inv), float32(1-dc)
			} else if p >= pw+2*inc && p <= hiB {
				k, y = int((hiB-p)*inv), float32(-1-dc)
			}
			if k = min(k, n-i); k > 0 {
				// Constant stretch: phases stay inside it, away from both
				// steps (so squareAt's corrections are all zero).
				seg := dst[i : i+k]
				y *= g
				for j := range seg {
					seg[j] += y
				}
				p = advanceGrid(p, inc, k)
				i += k
				continue
			}
			dst[i] += float32(squareAt(p, inc, pw, dc)) * g
			p += inc
			if p >= 1 {
				p -= 1
			}
			i++
		}
	case Triangle:
		if inc < minTightInc {
			p = o.slow(dst, w, inc, 0, g)
			break
		}
		inv := 1 / inc
		m := 2 * inc
		for i := 0; i < n; {
			var k int
			switch {
			case p >= 0.25+m && p <= 0.75-m: // falling: 2-4p
				if k = min(int((0.75-m-p)*inv), n-i); k > 0 {
					p = line(dst[i:i+k], p, inc, -4, 2, g)
				}
			case p >= 0.75+m: // rising before the wrap: 4p-4
				if k = min(int((1-p)*inv), n-i); k > 0 {
					p = line(dst[i:i+k], p, inc, 4, -4, g)
				}
			case p <= 0.25-m: // rising after the wrap: 4p
				if k = min(int((0.25-m-p)*inv), n-i); k > 0 {
					p = line(dst[i:i+k], p, inc, 4, 0, g)
				}
			}
			if k > 0 {
				i += k
				if p >= 1 {
					p -= 1
				}
				continue
			}
			dst[i] += float32(triangleAt(p, inc)) * g
			p += inc
			if p >= 1 {
				p -= 1
			}
			i++
		}
	case WhiteNoise:
		o.white(dst, g)
		p = advance(p, inc, inc, n)
	case PinkNoise:
		o.pink(dst, g)
		p = advance(p, inc, inc, n)
	default:
		p = advance(p, inc, inc, n)
	}
	o.phase = wrapPhase(p)
	o.sine.n = 0 // the sine's recurrence restarts from the phase
}

// sineRender is render's Sine case (its own function, so that the
// register allocator sees only this loop's variables).
func (o *Osc) sineRender(dst []float32, inc float64, g float32) {
	n := len(dst)
	r := &o.sine
	if inc != r.inc || r.cw == 0 && r.sw == 0 {
		r.sw, r.cw = sinCos2pi(inc)
		r.sw2, r.cw2 = 2*r.sw*r.cw, 1-2*r.sw*r.sw
		r.inc = inc
		r.pb, r.nb = o.phase, 0
	}
	if r.n == 0 {
		r.pb, r.nb = o.phase, 0
	}
	// The phase is pb + nb·inc, computed where it is needed (anchors and
	// the end of the call) rather than summed per sample.
	s0, c0, s1, c1, k := r.s0, r.c0, r.s1, r.c1, int(r.n)
	pb, nb := r.pb, int(r.nb)
	for i := 0; i < n; {
		if k == 0 { // anchor: exact values
			p := wrapUnit(pb + float64(nb)*inc)
			pb, nb = p, 0
			q := p + 0.25
			if q >= 1 {
				q -= 1
			}
			s0, c0 = sin2pi(p), sin2pi(q)
			s1, c1 = s0*r.cw+c0*r.sw, c0*r.cw-s0*r.sw
		}
		m := min(n-i, sineAnchor-k)
		s0, c0, s1, c1 = rotate(dst[i:i+m], s0, c0, s1, c1, r.sw2, r.cw2, g)
		i += m
		nb += m
		if k += m; k == sineAnchor {
			k = 0
		}
	}
	r.s0, r.c0, r.s1, r.c1, r.n = s0, c0, s1, c1, int32(k)
	r.pb, r.nb = pb, int32(nb)
	o.phase = wrapUnit(pb + float64(nb)*inc)
}

// wrapUnit wraps a non-negative phase into [0,1).
func wrapUnit(p float64) float64 {
	if p >= 1 {
		p -= float64(int64(p))
	}
	return wrapPhase(p)
}

// rotate adds g·s for the samples of dst, where sample j+2 is sample j
// rotated by (sw2, cw2); (s0, c0) is the first sample, (s1, c1) the
// second. It returns the same for the sample after dst. (A leaf function:
// the register allocator keeps the four chains in registers.)
func rotate(dst []float32, s0, c0, s1, c1, sw2, cw2 float64, g float32) (float64, float64, float64, float64) {
	j := 0
	for ; j+2 <= len(dst); j += 2 {
		d := dst[j : j+2 : j+2]
		d[0] += float32(s0) * g
		d[1] += float32(s1) * g
		t0 := s0*cw2 + c0*sw2
		c0 = c0*cw2 - s0*sw2
		s0 = t0
		t1 := s1*cw2 + c1*sw2
		c1 = c1*cw2 - s1*sw2
		s1 = t1
	}
	if j < len(dst) { // odd count: one step, the chains swap
		dst[j] += float32(s0) * g
		return s1, c1, s0*cw2 + c0*sw2, c0*cw2 - s0*sw2
	}
	return s0, c0, s1, c1
}

// phaseGrid: render keeps the phase and the increment of the band-limited
// waves on multiples of 1/phaseGrid (2^-52; the increment moves by at most
// 1.1e-16 cycles per sample, 5e-12 Hz at 48 kHz). Every partial sum
// p + j·inc below 2 is then exact, so two interleaved sums give the same
// phases as one, and the tight loops need not wait for each addition.
const phaseGrid = 0x1p52

// onGrid rounds x to the nearest multiple of 1/phaseGrid.
func onGrid(x float64) float64 { return math.Round(x*phaseGrid) * (1 / phaseGrid) }

// line adds g·float32(a·p_j + b) to dst[j] for the phases p_j = p + j·inc
// and returns p + len(dst)·inc (p and inc on the grid; the caller keeps
// the phases below 1). The sums are exact, so the even and the odd samples
// run as two independent chains.
func line(dst []float32, p, inc, a, b float64, g float32) float64 {
	inc2 := inc + inc
	pa, pb := p, p+inc
	j := 0
	for ; j+2 <= len(dst); j += 2 {
		d := dst[j : j+2 : j+2]
		d[0] += float32(a*pa+b) * g
		d[1] += float32(a*pb+b) * g
		pa += inc2
		pb += inc2
	}
	if j < len(dst) {
		dst[j] += float32(a*pa+b) * g
		return pb
	}
	return pa
}

// advanceGrid returns p + k·inc, the same exact sum as k additions (p and
// inc on the grid, the result below 2).
func advanceGrid(p, inc float64, k int) float64 {
	inc2 := inc + inc
	for ; k >= 2; k -= 2 {
		p += inc2
	}
	if k == 1 {
		p += inc
	}
	return p
}

// slow is render's per-sample path for tiny increments; it returns the new
// phase.
func (o *Osc) slow(dst []float32, w Wave, inc, pw float64, g float32) float64 {
	p := o.phase
	pw = clampPW(pw)
	dc := 2*pw - 1
	for i := range dst {
		var y float64
		switch w {
		case Saw:
			y = sawAt(p, inc)
		case Square:
			y = squareAt(p, inc, pw, dc)
		default:
			y = triangleAt(p, inc)
		}
		dst[i] += float32(y) * g
		p += inc
		if p >= 1 {
			p -= 1
		}
	}
	return p
}

// The band-limiting corrections are the 4-point polyBLEP / polyBLAMP
// obtained by integrating the cubic B-spline (Välimäki, Pekonen and Nam,
// "Perceptually informed synthesis of bandlimited classical waveforms using
// integrated polynomial interpolation", JASA 2012). Compared with the
// 2-point polyBLEP they suppress aliasing about 9 dB more (a 5 kHz saw at
// 48 kHz: 23 dB below the naive saw's aliasing instead of 14 dB) at the
// price of a gentle treble roll-off of sinc⁴(f/rate): -0.6 dB at 5 kHz,
// -3 dB near 10.8 kHz, -10 dB at 20 kHz at 48 kHz.

// blep4 returns the B-spline polyBLEP residual of a unit step at distance x
// samples after it (x in [0,2); the residual before the step is -blep4(-x)).
func blep4(x float64) float64 {
	if x < 1 {
		x2 := x * x
		return -0.5 + x*(2.0/3) + x2*(x2*(1.0/8)-x*(1.0/3))
	}
	if x < 2 {
		u := 2 - x
		u *= u
		return u * u * (-1.0 / 24)
	}
	return 0
}

// blamp4 returns the B-spline polyBLAMP residual of a unit slope change (per
// sample) at distance |x| samples from it (even in x, x in [0,2)).
func blamp4(x float64) float64 {
	if x < 1 {
		x2 := x * x
		return 7.0/30 - 0.5*x + x2*(1.0/3) + x2*x2*(x*(1.0/40)-1.0/12)
	}
	if x < 2 {
		u := 2 - x
		u2 := u * u
		return u2 * u2 * u * (1.0 / 120)
	}
	return 0
}

// advance moves a phase by n samples of a linear frequency ramp (noise waves
// keep the phase running so switching waves stays continuous).
func advance(p, inc0, inc1 float64, n int) float64 {
	// Sum_{i<n} inc0 + (inc1-inc0)*i/n = n*inc0 + (inc1-inc0)*(n-1)/2.
	p += float64(n)*inc0 + (inc1-inc0)*float64(n-1)*0.5
	return p - float64(int64(p))
}
