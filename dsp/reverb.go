package dsp

import "math"

// Freeverb tunings (samples at 44.1 kHz) by Jezar at Dreampoint.
var (
	combTuning    = [numCombs]int{1116, 1188, 1277, 1356, 1422, 1491, 1557, 1617}
	allpassTuning = [numAllpasses]int{556, 441, 341, 225}
)

const (
	numCombs     = 8
	numAllpasses = 4
	stereoSpread = 23
	// Buffers sized for MaxSampleRate: ceil((1617+23)*96000/44100)+1.
	combMax    = (1617+stereoSpread)*MaxSampleRate/44100 + 2
	allpassMax = (556+stereoSpread)*MaxSampleRate/44100 + 2

	fixedGain    = 0.015
	scaleDamp    = 0.4
	scaleRoom    = 0.28
	offsetRoom   = 0.7
	wetScale     = 3
	allpassFeedb = 0.5
)

type comb struct {
	buf    [combMax]float32
	n, i   int
	filter float32
}

type allpass struct {
	buf  [allpassMax]float32
	n, i int
}

// Reverb is a stereo Freeverb: 8 parallel low-pass-feedback combs and 4
// series all-passes per channel, the right channel's delays 23 samples
// (at 44.1 kHz) longer. The input is summed to mono;
// out = in*(1-mix) + mix*reverb.
type Reverb struct {
	combs    [2][numCombs]comb
	aps      [2][numAllpasses]allpass
	feedback float32 // room size
	damp1    float32
	damp2    float32
	mix      float32
	rate     float64
}

// Reset clears all delay lines.
func (r *Reverb) Reset() {
	for c := range r.combs {
		for k := range r.combs[c] {
			cb := &r.combs[c][k]
			clear(cb.buf[:])
			cb.i, cb.filter = 0, 0
		}
		for k := range r.aps[c] {
			ap := &r.aps[c][k]
			clear(ap.buf[:])
			ap.i = 0
		}
	}
}

// Set sets the room size (0..1), damping (0..1), wet mix (0..1) and sample
// rate. Changing the sample rate re-tunes the delay lengths.
func (r *Reverb) Set(size, damping, mix, sampleRate float64) {
	if !finite64(sampleRate) || sampleRate <= 0 {
		sampleRate = 48000
	}
	sampleRate = math.Min(sampleRate, MaxSampleRate)
	size = clamp(nan0(size), 0, 1)
	damping = clamp(nan0(damping), 0, 1)
	mix = clamp(nan0(mix), 0, 1)
	r.feedback = float32(size*scaleRoom + offsetRoom)
	r.damp1 = float32(damping * scaleDamp)
	r.damp2 = 1 - r.damp1
	r.mix = float32(mix)
	if sampleRate != r.rate {
		r.rate = sampleRate
		scale := sampleRate / 44100
		for c := 0; c < 2; c++ {
			spread := 0
			if c == 1 {
				spread = stereoSpread
			}
			for k := range r.combs[c] {
				cb := &r.combs[c][k]
				cb.n = max(1, min(combMax, int(math.Round(float64(combTuning[k]+spread)*scale))))
				if cb.i >= cb.n {
					cb.i = 0
				}
			}
			for k := range r.aps[c] {
				ap := &r.aps[c][k]
				ap.n = max(1, min(allpassMax, int(math.Round(float64(allpassTuning[k]+spread)*scale))))
				if ap.i >= ap.n {
					ap.i = 0
				}
			}
		}
	}
}

func nan0(x float64) float64 {
	if !finite64(x) {
		return 0
	}
	return x
}

// Process runs the reverb in place (equal lengths). Call Set first.
//
// It works comb by comb over the block (at most MaxBlock frames at a time)
// with the comb's state in registers; the sums run in the same order as a
// frame-by-frame loop, so the output is the same.
func (r *Reverb) Process(l, rr []float32) {
	n := min(len(l), len(rr))
	if r.rate == 0 {
		return
	}
	l, rr = l[:n], rr[:n]
	for len(l) > 0 {
		m := min(len(l), MaxBlock)
		r.block(l[:m], rr[:m])
		l, rr = l[m:], rr[m:]
	}
}

// block is Process for at most MaxBlock frames.
func (r *Reverb) block(l, rr []float32) {
	var in, acc [MaxBlock]float32
	n := len(l)
	inb := in[:n]
	rr = rr[:n]
	for i := range inb {
		x := (l[i] + rr[i]) * fixedGain
		if x-x != 0 {
			x = 0
		}
		inb[i] = x
	}
	fb, d1, d2 := r.feedback, r.damp1, r.damp2
	mix := r.mix
	dry := 1 - mix
	wet := mix * wetScale
	for c := 0; c < 2; c++ {
		a := acc[:n]
		clear(a)
		for k := range r.combs[c] {
			cb := &r.combs[c][k]
			buf := cb.buf[:max(cb.n, 1)]
			i, filt := cb.i, cb.filter
			for j := 0; j < n; {
				// Up to the wrap of the comb's index.
				seg := min(n-j, len(buf)-i)
				bs := buf[i : i+seg]
				xs := inb[j : j+seg]
				as := a[j : j+seg]
				for t, y := range bs {
					f := y*d2 + filt*d1
					if f < 1e-15 && f > -1e-15 {
						f = 0
					}
					filt = f
					bs[t] = xs[t] + f*fb
					as[t] += y
				}
				j += seg
				if i += seg; i >= len(buf) {
					i = 0
				}
			}
			cb.i, cb.filter = i, filt
		}
		for k := range r.aps[c] {
			ap := &r.aps[c][k]
			buf := ap.buf[:max(ap.n, 1)]
			i := ap.i
			for j := 0; j < n; {
				seg := min(n-j, len(buf)-i)
				bs := buf[i : i+seg]
				as := a[j : j+seg]
				for t, b := range bs {
					if b < 1e-15 && b > -1e-15 {
						b = 0
					}
					x := as[t]
					bs[t] = x + b*allpassFeedb
					as[t] = b - x
				}
				j += seg
				if i += seg; i >= len(buf) {
					i = 0
				}
			}
			ap.i = i
		}
		out := l
		if c == 1 {
			out = rr
		}
		for i := range out {
			out[i] = out[i]*dry + a[i]*wet
		}
	}
}
