package dsp

import "math"

// FilterType selects the Biquad response.
type FilterType uint8

// Filter types (RBJ Audio EQ Cookbook).
const (
	LowPass FilterType = iota
	HighPass
	BandPass // constant 0 dB peak gain at the centre
	Notch
	numFilterTypes
)

var filterNames = [numFilterTypes]string{"lowpass", "highpass", "bandpass", "notch"}

// String returns the type's name.
func (t FilterType) String() string {
	if t < numFilterTypes {
		return filterNames[t]
	}
	return "filter(" + itoa(int(t)) + ")"
}

const (
	filterChunk     = 16    // coefficients are recomputed every filterChunk samples while gliding
	flushEvery      = 64    // samples between checks for tiny (subnormal-bound) or non-finite state
	defaultGlide    = 0.003 // seconds, time constant of cutoff/Q smoothing
	minCutoff       = 10.0  // Hz
	maxCutoffFrac   = 0.47  // of the sample rate
	minQ, maxQ      = 0.1, 40.0
	glideSnapLog    = 1e-5 // |ln(cut/target)| below which the glide snaps
	glideSnapQRatio = 1e-5
)

// Biquad is a one-channel RBJ-cookbook biquad in transposed direct form II
// with float64 state. Cutoff (in the log domain) and Q glide towards the
// target set by SetTarget with a one-pole of time constant 3 ms (see
// SetGlide); while gliding, the coefficients are recomputed every 16
// samples and interpolated linearly in between. Coefficient changes keep
// the state. The output does not depend on how the caller splits its
// blocks (as long as SetTarget/Init are called at the same samples). The
// zero value outputs silence until Init.
type Biquad struct {
	typ  FilterType
	rate float64

	lnCut, q   float64 // current (smoothed) parameters
	lnTarget   float64
	qTarget    float64
	glideCoef  float64 // per-chunk one-pole factor
	glideSecs  float64
	gliding    bool
	rampLeft   int
	c, dc, end coefs // current, per-sample increment, ramp end
	z1, z2     float64
	// The last two inputs and outputs, kept at block ends (no per-sample
	// cost) so a coefficient jump can re-derive z1, z2 for the new
	// coefficients: the filter then continues exactly as a direct-form-I
	// filter would, without the transient a TDF-II state mismatch causes.
	x1, x2, y1, y2 float64
	tick           int // samples since the last state flush, < flushEvery
}

type coefs struct{ b0, b1, b2, a1, a2 float64 }

// Reset clears the filter state (not the coefficients).
func (f *Biquad) Reset() { f.z1, f.z2, f.x1, f.x2, f.y1, f.y2, f.tick = 0, 0, 0, 0, 0, 0, 0 }

// rederive recomputes the TDF-II state for the current coefficients from
// the signal history.
func (f *Biquad) rederive() {
	c := f.c
	f.z2 = c.b2*f.x1 - c.a2*f.y1
	f.z1 = c.b1*f.x1 - c.a1*f.y1 + c.b2*f.x2 - c.a2*f.y2
}

// Init jumps to these coefficients immediately (no glide) and keeps the
// state: the filter continues from the signal history (last two inputs and
// outputs) as a direct-form-I filter would. cutoff is clamped to [10 Hz, 0.47*sampleRate], q to [0.1, 40].
func (f *Biquad) Init(t FilterType, cutoff, q, sampleRate float64) {
	if !(sampleRate > 0) || !finite64(sampleRate) {
		sampleRate = 48000
	}
	if f.glideSecs == 0 {
		f.glideSecs = defaultGlide
	}
	f.rate = sampleRate
	f.setGlideCoef()
	f.typ = t
	f.lnCut = f.lnCutoff(cutoff)
	f.q = clampQ(q)
	f.lnTarget, f.qTarget = f.lnCut, f.q
	f.gliding = false
	f.rampLeft = 0
	f.c = design(t, math.Exp(f.lnCut), f.q, f.rate)
	f.end = f.c
	f.rederive()
}

// SetGlide sets the time constant of the cutoff/Q smoothing in seconds
// (default 0.003; 0 makes SetTarget jump at the next coefficient update).
func (f *Biquad) SetGlide(seconds float64) {
	if !(seconds >= 0) || !finite64(seconds) {
		seconds = defaultGlide
	}
	if seconds == 0 {
		seconds = 1e-9
	}
	f.glideSecs = seconds
	f.setGlideCoef()
}

func (f *Biquad) setGlideCoef() {
	f.glideCoef = math.Exp(-filterChunk / (f.glideSecs * f.rate))
}

func (f *Biquad) lnCutoff(hz float64) float64 {
	hi := maxCutoffFrac * f.rate
	if !(hz >= minCutoff) { // also NaN
		hz = minCutoff
	}
	if hz > hi {
		hz = hi
	}
	return math.Log(hz)
}

func clampQ(q float64) float64 {
	if !(q >= minQ) {
		return minQ
	}
	if q > maxQ {
		return maxQ
	}
	return q
}

// SetTarget makes cutoff and q glide to new values, keeping the state. A
// type change applies immediately (at the next sample). Call Init first.
func (f *Biquad) SetTarget(t FilterType, cutoff, q float64) {
	if f.rate == 0 {
		f.Init(t, cutoff, q, 48000)
		return
	}
	f.lnTarget = f.lnCutoff(cutoff)
	f.qTarget = clampQ(q)
	if t != f.typ {
		f.typ = t
		if f.rampLeft > 0 { // finish the running ramp at once
			f.lnCut, f.q = f.lnTarget, f.qTarget
		}
		f.c = design(t, math.Exp(f.lnCut), f.q, f.rate)
		f.end = f.c
		f.rampLeft = 0
		f.rederive()
	}
	f.gliding = f.lnTarget != f.lnCut || f.qTarget != f.q
}

// Cutoff returns the current (smoothed) cutoff in Hz.
func (f *Biquad) Cutoff() float64 { return math.Exp(f.lnCut) }

// Q returns the current (smoothed) Q.
func (f *Biquad) Q() float64 { return f.q }

// design computes normalised RBJ coefficients exactly (math.Sincos).
func design(t FilterType, hz, q, rate float64) coefs {
	sh, ch := math.Sincos(math.Pi * hz / rate)
	return designHalf(t, sh, ch, q)
}

// designHalf computes the RBJ coefficients from the sine and cosine of half
// the normalised cutoff w0/2. Using 1-cos w0 = 2 sin²(w0/2) keeps low
// cutoffs accurate.
func designHalf(t FilterType, sh, ch, q float64) coefs {
	s2 := sh * sh
	sn := 2 * sh * ch // sin w0
	cs := 1 - 2*s2    // cos w0
	alpha := sn / (2 * q)
	inv := 1 / (1 + alpha)
	var c coefs
	switch t {
	case HighPass:
		c.b0 = (1 - s2) * inv // (1+cos w0)/2
		c.b1 = -2 * c.b0
		c.b2 = c.b0
	case BandPass:
		c.b0 = alpha * inv
		c.b1 = 0
		c.b2 = -c.b0
	case Notch:
		c.b0 = inv
		c.b1 = -2 * cs * inv
		c.b2 = inv
	default: // LowPass
		c.b0 = s2 * inv // (1-cos w0)/2
		c.b1 = 2 * c.b0
		c.b2 = c.b0
	}
	c.a1 = -2 * cs * inv
	c.a2 = (1 - alpha) * inv
	return c
}

// step advances the glide by one chunk and starts a coefficient ramp.
func (f *Biquad) step() {
	k := f.glideCoef
	f.lnCut = f.lnTarget + (f.lnCut-f.lnTarget)*k
	f.q = f.qTarget + (f.q-f.qTarget)*k
	if math.Abs(f.lnCut-f.lnTarget) < glideSnapLog && math.Abs(f.q-f.qTarget) < glideSnapQRatio*f.qTarget {
		f.lnCut, f.q = f.lnTarget, f.qTarget
		f.gliding = false
	}
	f.c = f.end
	f.end = design(f.typ, math.Exp(f.lnCut), f.q, f.rate)
	const inv = 1.0 / filterChunk
	f.dc = coefs{
		(f.end.b0 - f.c.b0) * inv, (f.end.b1 - f.c.b1) * inv, (f.end.b2 - f.c.b2) * inv,
		(f.end.a1 - f.c.a1) * inv, (f.end.a2 - f.c.a2) * inv,
	}
	f.rampLeft = filterChunk
}

// Process filters buf in place.
func (f *Biquad) Process(buf []float32) {
	n := len(buf)
	if n == 0 {
		return
	}
	// History for rederive: inputs are overwritten in place.
	if n >= 2 {
		f.x2, f.x1 = float64(buf[n-2]), float64(buf[n-1])
	} else {
		f.x2, f.x1 = f.x1, float64(buf[0])
	}
	out := buf
	z1, z2 := f.z1, f.z2
	for len(buf) > 0 {
		// Pieces end at every flushEvery-th sample of the filter's own
		// count, so the flush below happens at the same samples however
		// the caller splits its blocks.
		m := min(len(buf), flushEvery-f.tick)
		if f.rampLeft == 0 && f.gliding {
			f.step()
		}
		if f.rampLeft == 0 {
			// Scalars, not the struct: Go keeps structs of more than
			// four fields in memory.
			b0, b1, b2, a1, a2 := f.c.b0, f.c.b1, f.c.b2, f.c.a1, f.c.a2
			seg := buf[:m]
			for i, v := range seg {
				x := float64(v)
				y := b0*x + z1
				z1 = b1*x - a1*y + z2
				z2 = b2*x - a2*y
				seg[i] = float32(y)
			}
		} else {
			m = min(m, f.rampLeft)
			b0, b1, b2, a1, a2 := f.c.b0, f.c.b1, f.c.b2, f.c.a1, f.c.a2
			d0, d1, d2, e1, e2 := f.dc.b0, f.dc.b1, f.dc.b2, f.dc.a1, f.dc.a2
			seg := buf[:m]
			for i, v := range seg {
				b0 += d0
				b1 += d1
				b2 += d2
				a1 += e1
				a2 += e2
				x := float64(v)
				y := b0*x + z1
				z1 = b1*x - a1*y + z2
				z2 = b2*x - a2*y
				seg[i] = float32(y)
			}
			f.rampLeft -= m
			if f.rampLeft == 0 {
				f.c = f.end
			} else {
				f.c = coefs{b0, b1, b2, a1, a2}
			}
		}
		buf = buf[m:]
		if f.tick += m; f.tick >= flushEvery {
			f.tick = 0
			// Flush tiny state (no subnormals in long decays) and
			// recover from non-finite input.
			if !(math.Abs(z1) >= denormThreshold) || !finite64(z1) {
				z1 = 0
			}
			if !(math.Abs(z2) >= denormThreshold) || !finite64(z2) {
				z2 = 0
			}
		}
	}
	f.z1, f.z2 = z1, z2
	if n >= 2 {
		f.y2, f.y1 = float64(out[n-2]), float64(out[n-1])
	} else {
		f.y2, f.y1 = f.y1, float64(out[0])
	}
	if !finite64(f.x1 + f.x2 + f.y1 + f.y2) {
		f.x1, f.x2, f.y1, f.y2 = 0, 0, 0, 0
	}
}

// Response returns the linear magnitude of the current coefficients at hz.
func (f *Biquad) Response(hz float64) float64 {
	c := f.c
	if f.rate == 0 {
		return 1
	}
	w := twoPi * hz / f.rate
	s1, c1 := math.Sincos(w)
	s2, c2 := math.Sincos(2 * w)
	// H = (b0 + b1 z^-1 + b2 z^-2) / (1 + a1 z^-1 + a2 z^-2), z^-k = cos kw - j sin kw
	nr := c.b0 + c.b1*c1 + c.b2*c2
	ni := -(c.b1*s1 + c.b2*s2)
	dr := 1 + c.a1*c1 + c.a2*c2
	di := -(c.a1*s1 + c.a2*s2)
	return math.Sqrt((nr*nr + ni*ni) / (dr*dr + di*di))
}
