package dsp

import "math"

// MaxDelaySeconds is the longest delay time.
const MaxDelaySeconds = 2

const delayLen = MaxDelaySeconds*MaxSampleRate + 4

// The delay time follows Set with a one-pole of time constant delayGlide
// whose speed is limited to delaySlew samples per sample, so the pitch of
// the echoes bends by at most ±50% while the time glides (no clicks).
const (
	delayGlide = 0.05
	delaySlew  = 0.5
)

// Delay is a stereo feedback delay with a linearly interpolated, gliding
// delay time (at least one sample). out = in*(1-mix) + delayed*mix, delayed = line[t-d], line[t] = in +
// feedback*delayed.
type Delay struct {
	line     [2][delayLen]float32
	w        int     // write index
	d        float64 // current delay in samples (smoothed)
	target   float64 // target delay in samples
	glide    float64 // per-sample one-pole factor
	feedback float32
	mix      float32
	set      bool // Set called since Reset: the first Set jumps
}

// Reset clears the lines; the next Set jumps to its delay time.
func (d *Delay) Reset() {
	d.line = [2][delayLen]float32{}
	d.w = 0
	d.set = false
}

// Set sets the delay time (glides after the first call since Reset),
// feedback (clamped to [0, 0.98]) and the wet mix (0..1).
func (d *Delay) Set(seconds, feedback, mix, sampleRate float64) {
	if !(sampleRate > 0) || !finite64(sampleRate) {
		sampleRate = 48000
	}
	sampleRate = math.Min(sampleRate, MaxSampleRate)
	if !finite64(seconds) {
		seconds = 0
	}
	s := clamp(seconds*sampleRate, 1, MaxDelaySeconds*sampleRate)
	d.target = s
	if !d.set {
		d.d = s
		d.set = true
	}
	d.glide = math.Exp(-1 / (delayGlide * sampleRate))
	if !finite64(feedback) {
		feedback = 0
	}
	if !finite64(mix) {
		mix = 0
	}
	d.feedback = float32(clamp(feedback, 0, 0.98))
	d.mix = float32(clamp(mix, 0, 1))
}

// Process runs the delay in place on both channels (equal lengths).
func (d *Delay) Process(l, r []float32) {
	n := min(len(l), len(r))
	l, r = l[:n], r[:n]
	w := d.w
	ds, tgt, g := d.d, d.target, d.glide
	fb, mix := d.feedback, d.mix
	dry := 1 - mix
	L, R := &d.line[0], &d.line[1]
	if ds == tgt {
		// Not gliding: a fixed read offset, the same arithmetic as below.
		ip := int(ds)
		frac := float32(ds - float64(ip))
		for i := range l {
			i0 := w - ip
			if i0 < 0 {
				i0 += delayLen
			}
			i1 := i0 - 1
			if i1 < 0 {
				i1 += delayLen
			}
			wl := L[i0] + (L[i1]-L[i0])*frac
			wr := R[i0] + (R[i1]-R[i0])*frac
			xl, xr := l[i], r[i]
			L[w] = flush32(xl + fb*wl)
			R[w] = flush32(xr + fb*wr)
			l[i] = xl*dry + wl*mix
			r[i] = xr*dry + wr*mix
			w++
			if w == delayLen {
				w = 0
			}
		}
		d.w = w
		return
	}
	for i := range l {
		if ds != tgt {
			step := (tgt - ds) * (1 - g)
			if step > delaySlew {
				step = delaySlew
			} else if step < -delaySlew {
				step = -delaySlew
			}
			ds += step
			if math.Abs(ds-tgt) < 1e-6 {
				ds = tgt
			}
		}
		// Read position w - ds, split into integer and fraction.
		ip := int(ds)
		frac := float32(ds - float64(ip))
		i0 := w - ip
		if i0 < 0 {
			i0 += delayLen
		}
		i1 := i0 - 1
		if i1 < 0 {
			i1 += delayLen
		}
		wl := L[i0] + (L[i1]-L[i0])*frac
		wr := R[i0] + (R[i1]-R[i0])*frac
		xl, xr := l[i], r[i]
		L[w] = flush32(xl + fb*wl)
		R[w] = flush32(xr + fb*wr)
		l[i] = xl*dry + wl*mix
		r[i] = xr*dry + wr*mix
		w++
		if w == delayLen {
			w = 0
		}
	}
	d.w = w
	d.d = ds
}

// flush32 maps tiny values (and NaN/Inf) to 0 so feedback tails never
// become subnormal and a non-finite input cannot poison the line forever.
func flush32(x float32) float32 {
	if x > 1e-15 || x < -1e-15 {
		if x-x == 0 {
			return x
		}
	}
	return 0
}
