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
	glideSnapLog    = 1e-5 / math.Ln2 // |log2(cut/target)| below which the glide snaps
	glideSnapQRatio = 1e-5
)

// Biquad is a one-channel RBJ-cookbook biquad in transposed direct form II
// with float64 state (the synth's voices run it in direct form I, see
// runDF1). Cutoff (in the log domain) and Q glide towards the
// target set by SetTarget with a one-pole of time constant 3 ms (see
// SetGlide); while gliding, the coefficients are recomputed every 16
// samples and interpolated linearly in between. Coefficient changes keep
// the state. The output does not depend on how the caller splits its
// blocks (as long as SetTarget/Init are called at the same samples). The
// zero value outputs silence until Init.
type Biquad struct {
	typ        FilterType
	rate       float64
	lrate      float64 // log2(rate)
	lmin, lmax float64 // log2 of the cutoff bounds

	lcut, q    float64 // current (smoothed) parameters; cutoff as log2(Hz)
	ltarget    float64
	qTarget    float64
	hq, hqOf   float64 // 1/(2Q) and the Q it is for (designFast)
	glideCoef  float64 // per-chunk one-pole factor
	chunk      int     // glide chunk in samples (0: filterChunk)
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
	f.setRate(sampleRate)
	f.initLog(t, f.lcutoff(cutoff), q)
}

// setRate sets the sample rate (and the glide time on a zero Biquad).
func (f *Biquad) setRate(sampleRate float64) {
	if !(sampleRate > 0) || !finite64(sampleRate) {
		sampleRate = 48000
	}
	if f.glideSecs == 0 {
		f.glideSecs = defaultGlide
	}
	if sampleRate != f.rate {
		f.rate = sampleRate
		f.lrate = math.Log2(sampleRate)
		f.lmin = math.Log2(minCutoff)
		f.lmax = math.Log2(maxCutoffFrac * sampleRate)
	}
	f.setGlideCoef()
}

// initLog is Init with the cutoff as log2(Hz), after setRate. It designs
// the coefficients exactly (math.Sincos).
func (f *Biquad) initLog(t FilterType, lcut, q float64) {
	f.typ = t
	f.lcut = f.clampLog(lcut)
	f.q = clampQ(q)
	f.ltarget, f.qTarget = f.lcut, f.q
	f.gliding = false
	f.rampLeft = 0
	f.c = design(t, math.Exp2(f.lcut), f.q, f.rate)
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

// chunkLen returns the glide chunk: filterChunk unless the synth set a
// longer one for its voices (setChunk).
func (f *Biquad) chunkLen() int {
	if f.chunk > 0 {
		return f.chunk
	}
	return filterChunk
}

// setChunk sets the glide chunk (coefficient recomputation interval).
func (f *Biquad) setChunk(n int) {
	f.chunk = n
	if f.rate > 0 {
		f.setGlideCoef()
	}
}

func (f *Biquad) setGlideCoef() {
	f.glideCoef = math.Exp(-float64(f.chunkLen()) / (f.glideSecs * f.rate))
}

// lcutoff returns log2 of hz clamped to [minCutoff, maxCutoffFrac·rate].
func (f *Biquad) lcutoff(hz float64) float64 {
	hi := maxCutoffFrac * f.rate
	if !(hz >= minCutoff) { // also NaN
		hz = minCutoff
	}
	if hz > hi {
		hz = hi
	}
	return f.clampLog(math.Log2(hz))
}

// clampLog clamps a log2 cutoff to [lmin, lmax] (NaN: lmin).
func (f *Biquad) clampLog(l float64) float64 {
	if !(l >= f.lmin) {
		return f.lmin
	}
	return min(l, f.lmax)
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
	f.setTargetLog(t, f.lcutoff(cutoff), q)
}

// setTargetLog is SetTarget with the cutoff as log2(Hz), after Init.
func (f *Biquad) setTargetLog(t FilterType, lcut, q float64) {
	f.ltarget = f.clampLog(lcut)
	f.qTarget = clampQ(q)
	if t != f.typ {
		f.typ = t
		if f.rampLeft > 0 { // finish the running ramp at once
			f.lcut, f.q = f.ltarget, f.qTarget
		}
		f.c = design(t, math.Exp2(f.lcut), f.q, f.rate)
		f.end = f.c
		f.rampLeft = 0
		f.rederive()
	}
	f.gliding = f.ltarget != f.lcut || f.qTarget != f.q
}

// Cutoff returns the current (smoothed) cutoff in Hz.
func (f *Biquad) Cutoff() float64 { return math.Exp2(f.lcut) }

// Q returns the current (smoothed) Q.
func (f *Biquad) Q() float64 { return f.q }

// design computes normalised RBJ coefficients exactly (math.Sincos).
func design(t FilterType, hz, q, rate float64) coefs {
	sh, ch := math.Sincos(math.Pi * hz / rate)
	return designHalf(t, sh, ch, 0.5/q)
}

// designHalf computes the RBJ coefficients from the sine and cosine of half
// the normalised cutoff w0/2 and hq = 1/(2Q). Using 1-cos w0 = 2 sin²(w0/2)
// keeps low cutoffs accurate.
func designHalf(t FilterType, sh, ch, hq float64) coefs {
	s2 := sh * sh
	sn := 2 * sh * ch // sin w0
	cs := 1 - 2*s2    // cos w0
	alpha := sn * hq
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

// designFast is design from a log2 cutoff with exp2Fast and sinCos
// (relative error about 1e-15 below 10 kHz at 48 kHz, 5e-14 at worst):
// the glide calls it once per chunk, where math.Exp2 and math.Sincos
// would cost more than the filtering itself.
func (f *Biquad) designFast(lcut float64) coefs {
	if f.q != f.hqOf { // one division per Q change, not per chunk
		f.hq, f.hqOf = 0.5/f.q, f.q
	}
	sh, ch := sinCos(math.Pi * exp2Fast(lcut-f.lrate))
	return designHalf(f.typ, sh, ch, f.hq)
}

// step advances the glide by one chunk and starts a coefficient ramp.
func (f *Biquad) step() {
	k := f.glideCoef
	f.lcut = f.ltarget + (f.lcut-f.ltarget)*k
	f.q = f.qTarget + (f.q-f.qTarget)*k
	if math.Abs(f.lcut-f.ltarget) < glideSnapLog && math.Abs(f.q-f.qTarget) < glideSnapQRatio*f.qTarget {
		f.lcut, f.q = f.ltarget, f.qTarget
		f.gliding = false
	}
	f.c = f.end
	f.end = f.designFast(f.lcut)
	n := f.chunkLen()
	inv := 1 / float64(n) // exact: n is a power of two
	f.dc = coefs{
		(f.end.b0 - f.c.b0) * inv, (f.end.b1 - f.c.b1) * inv, (f.end.b2 - f.c.b2) * inv,
		(f.end.a1 - f.c.a1) * inv, (f.end.a2 - f.c.a2) * inv,
	}
	f.rampLeft = n
}

// span prepares the next run of at most n samples and returns its length:
// it starts the next glide chunk when one is due, and runs end where the
// coefficient ramp ends and at every flushEvery-th sample of the filter's
// own count (so the flush in advance happens at the same samples however
// the caller splits its blocks).
func (f *Biquad) span(n int) int {
	if f.rampLeft == 0 && f.gliding {
		f.step()
	}
	m := min(n, flushEvery-f.tick)
	if f.rampLeft > 0 {
		m = min(m, f.rampLeft)
	}
	return m
}

// advance ends a run of m samples that span returned: z1, z2 are the new
// state and c the coefficients reached (used while ramping).
func (f *Biquad) advance(m int, z1, z2 float64, c coefs) {
	if f.rampLeft > 0 {
		f.rampLeft -= m
		if f.rampLeft == 0 {
			f.c = f.end
		} else {
			f.c = c
		}
	}
	if f.tick += m; f.tick >= flushEvery {
		f.tick = 0
		// Flush tiny state (no subnormals in long decays) and recover
		// from non-finite input.
		if !(math.Abs(z1) >= denormThreshold) || !finite64(z1) {
			z1 = 0
		}
		if !(math.Abs(z2) >= denormThreshold) || !finite64(z2) {
			z2 = 0
		}
	}
	f.z1, f.z2 = z1, z2
}

// history records the last two inputs and outputs of a run (x before, y
// after filtering) for rederive.
func (f *Biquad) history(x1, x2, y1, y2 float32, n int) {
	if n >= 2 {
		f.x2, f.x1 = float64(x2), float64(x1)
		f.y2, f.y1 = float64(y2), float64(y1)
	} else {
		f.x2, f.x1 = f.x1, float64(x1)
		f.y2, f.y1 = f.y1, float64(y1)
	}
	if !finite64(f.x1 + f.x2 + f.y1 + f.y2) {
		f.x1, f.x2, f.y1, f.y2 = 0, 0, 0, 0
	}
}

// runDF1 filters x into y (equal lengths) in direct form I with the
// coefficients (and, while ramping, the increments) span set up, leaving
// the coefficients reached in f.c. The synth's voices use it: the state
// is the signal history itself (x1, x2, y1, y2), so coefficient changes
// need no re-derivation, and the recursion's dependency chain is one
// multiply and one subtraction per sample (TDF-II's is a multiply and two
// additions). The low-pass case uses b1 = 2·b0 and b2 = b0, which the
// cookbook design and the linear ramps keep exact.
func (f *Biquad) runDF1(x, y []float32) {
	y = y[:len(x)]
	x1, x2, y1, y2 := f.x1, f.x2, f.y1, f.y2
	b0, b1, b2, a1, a2 := f.c.b0, f.c.b1, f.c.b2, f.c.a1, f.c.a2
	switch {
	case f.typ == LowPass && f.rampLeft == 0:
		for i, v := range x {
			xv := float64(v)
			yv := b0*(xv+x1+x1+x2) - a2*y2 - a1*y1
			x2, x1 = x1, xv
			y2, y1 = y1, yv
			y[i] = float32(yv)
		}
	case f.typ == LowPass:
		d0, e1, e2 := f.dc.b0, f.dc.a1, f.dc.a2
		for i, v := range x {
			b0 += d0
			a1 += e1
			a2 += e2
			xv := float64(v)
			yv := b0*(xv+x1+x1+x2) - a2*y2 - a1*y1
			x2, x1 = x1, xv
			y2, y1 = y1, yv
			y[i] = float32(yv)
		}
		f.c = coefs{b0, 2 * b0, b0, a1, a2}
	case f.rampLeft == 0:
		for i, v := range x {
			xv := float64(v)
			yv := b0*xv + b1*x1 + b2*x2 - a2*y2 - a1*y1
			x2, x1 = x1, xv
			y2, y1 = y1, yv
			y[i] = float32(yv)
		}
	default:
		d0, d1, d2, e1, e2 := f.dc.b0, f.dc.b1, f.dc.b2, f.dc.a1, f.dc.a2
		for i, v := range x {
			b0 += d0
			b1 += d1
			b2 += d2
			a1 += e1
			a2 += e2
			xv := float64(v)
			yv := b0*xv + b1*x1 + b2*x2 - a2*y2 - a1*y1
			x2, x1 = x1, xv
			y2, y1 = y1, yv
			y[i] = float32(yv)
		}
		f.c = coefs{b0, b1, b2, a1, a2}
	}
	f.x1, f.x2, f.y1, f.y2 = x1, x2, y1, y2
}

// advanceDF1 ends a run of m samples of runDF1 (span returned m): the
// coefficient ramp, and at every flushEvery-th sample the flush of tiny
// (subnormal-bound) or non-finite state. It reports whether the state
// was finite before the flush: a non-finite output sample stays in y1, y2
// through the recursion.
func (f *Biquad) advanceDF1(m int) bool {
	if f.rampLeft > 0 {
		if f.rampLeft -= m; f.rampLeft == 0 {
			f.c = f.end
		}
	}
	ok := finite64(f.y1 + f.y2)
	if f.tick += m; f.tick >= flushEvery {
		f.tick = 0
		f.x1, f.x2 = flush64(f.x1), flush64(f.x2)
		f.y1, f.y2 = flush64(f.y1), flush64(f.y2)
	}
	return ok
}

// flush64 maps tiny values (and NaN/Inf) to 0.
func flush64(x float64) float64 {
	if !(math.Abs(x) >= denormThreshold) || !finite64(x) {
		return 0
	}
	return x
}

// Process filters buf in place.
func (f *Biquad) Process(buf []float32) {
	n := len(buf)
	if n == 0 {
		return
	}
	// History for rederive: inputs are overwritten in place.
	x1, x2 := buf[n-1], buf[max(n-2, 0)]
	out := buf
	for len(buf) > 0 {
		m := f.span(len(buf))
		z1, z2 := f.z1, f.z2
		// Scalars, not the struct: Go keeps structs of more than four
		// fields in memory.
		b0, b1, b2, a1, a2 := f.c.b0, f.c.b1, f.c.b2, f.c.a1, f.c.a2
		seg := buf[:m]
		if f.rampLeft == 0 {
			for i, v := range seg {
				x := float64(v)
				y := b0*x + z1
				z1 = b1*x - a1*y + z2
				z2 = b2*x - a2*y
				seg[i] = float32(y)
			}
		} else {
			d0, d1, d2, e1, e2 := f.dc.b0, f.dc.b1, f.dc.b2, f.dc.a1, f.dc.a2
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
		}
		f.advance(m, z1, z2, coefs{b0, b1, b2, a1, a2})
		buf = buf[m:]
	}
	f.history(x1, x2, out[n-1], out[max(n-2, 0)], n)
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
