package dsp

import "strings"

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
}

// Reset sets the phase to 0 and reseeds the noise generator (seed 0 is
// valid). The pink-noise filter is cleared.
func (o *Osc) Reset(seed uint64) {
	o.phase = 0
	o.rng = splitmix64(seed)
	o.pk = pinkState{}
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
}

// Phase returns the current phase in cycles, [0,1).
func (o *Osc) Phase() float64 { return o.phase }

// maxInc is the highest frequency in cycles per sample (Nyquist).
const maxInc = 0.5

const twoPi = 6.283185307179586476925286766559

// sin2pi returns sin(2πp) for p in [0,1) with an error below 6e-8.
func sin2pi(p float64) float64 {
	x := p
	if x > 0.75 {
		x -= 1
	} else if x > 0.25 {
		x = 0.5 - x
	}
	z := x * twoPi
	z2 := z * z
	return z * (1 + z2*(-1.0/6+z2*(1.0/120+z2*(-1.0/5040+z2*(1.0/362880+z2*(-1.0/39916800))))))
}

// Process overwrites dst with len(dst) samples of w. The frequency moves
// linearly from inc0 to inc1 (cycles per sample = hz/sampleRate, clamped to
// [0, 0.5]) across the block: sample i uses inc0+(inc1-inc0)*i/len(dst). pw
// is the pulse width of Square (0.5 = square, clamped to [0.02, 0.98]); the
// pulse is DC-free. Saw rises from -1 to 1, Triangle and Sine start at 0
// rising; all have peak amplitude about 1 (noise: white uniform in [-1,1),
// pink roughly ±1). Saw, Square and Triangle are band-limited by the
// 4-point B-spline polyBLEP / polyBLAMP described below.
func (o *Osc) Process(dst []float32, w Wave, inc0, inc1, pw float64) {
	n := len(dst)
	if n == 0 {
		return
	}
	if !(inc0 > 0) { // also NaN
		inc0 = 0
	}
	if !(inc1 > 0) {
		inc1 = 0
	}
	if inc0 > maxInc {
		inc0 = maxInc
	}
	if inc1 > maxInc {
		inc1 = maxInc
	}
	inc := inc0
	d := (inc1 - inc0) / float64(n)
	p := o.phase
	switch w {
	case Sine:
		for i := range dst {
			x := p
			if x > 0.75 {
				x -= 1
			} else if x > 0.25 {
				x = 0.5 - x
			}
			z := x * twoPi
			z2 := z * z
			dst[i] = float32(z * (1 + z2*(-1.0/6+z2*(1.0/120+z2*(-1.0/5040+z2*(1.0/362880+z2*(-1.0/39916800)))))))
			p += inc
			if p >= 1 {
				p -= 1
			}
			inc += d
		}
	case Saw:
		for i := range dst {
			y := 2*p - 1
			// Step of -2 at every wrap (p = 0).
			if p < 2*inc {
				y -= 2 * blep4(p/inc)
			}
			if p > 1-2*inc {
				y += 2 * blep4((1-p)/inc)
			}
			dst[i] = float32(y)
			p += inc
			if p >= 1 {
				p -= 1
			}
			inc += d
		}
	case Square:
		if !(pw >= 0.02) {
			pw = 0.02
		}
		if pw > 0.98 {
			pw = 0.98
		}
		dc := 2*pw - 1
		for i := range dst {
			var y float64
			if p < pw {
				y = 1 - dc
			} else {
				y = -1 - dc
			}
			// Step of +2 at p = 0.
			if p < 2*inc {
				y += 2 * blep4(p/inc)
			}
			if p > 1-2*inc {
				y -= 2 * blep4((1-p)/inc)
			}
			// Step of -2 at p = pw.
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
			dst[i] = float32(y)
			p += inc
			if p >= 1 {
				p -= 1
			}
			inc += d
		}
	case Triangle:
		for i := range dst {
			// Naive triangle: 0 at p=0, +1 at 0.25, -1 at 0.75.
			y := 4 * p
			if y >= 3 {
				y -= 4
			} else if y > 1 {
				y = 2 - y
			}
			// Slope change of -8·inc per sample at the peak (p = 0.25)
			// and +8·inc at the trough (p = 0.75).
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
			dst[i] = float32(y + 8*inc*c)
			p += inc
			if p >= 1 {
				p -= 1
			}
			inc += d
		}
	case WhiteNoise:
		o.white(dst)
		p = advance(p, inc0, inc1, n)
	case PinkNoise:
		o.pink(dst)
		p = advance(p, inc0, inc1, n)
	default:
		clear(dst)
		p = advance(p, inc0, inc1, n)
	}
	if p >= 1 || p < 0 || !finite64(p) { // guard against rounding at the edges
		p -= float64(int64(p))
		if p < 0 || p >= 1 || !finite64(p) {
			p = 0
		}
	}
	o.phase = p
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
