package dsp

import "math"

const (
	// limiterLookahead is 1 ms: it delays every sound by that much (the
	// engine stamps commands that far ahead), and 1 ms keeps a note from
	// the wire to the card under 6 ms at 128 frames (BenchmarkOSCLatency).
	limiterLookahead = 0.001 // seconds
	limiterRelease   = 0.080 // seconds, release time constant
	// limiterMax is the longest look-ahead window (frames) at MaxSampleRate.
	limiterMax = int(limiterLookahead*MaxSampleRate) + 2
)

// Limiter is a stereo-linked look-ahead peak limiter. The gain needed by each
// input frame is held (sliding minimum) over the look-ahead window, released
// with a one-pole and smoothed by a moving average of the same length, so
// the gain is already down when a peak leaves the delay line, with no
// discontinuity. A final clamp guarantees that every output sample is
// finite and |x| <= ceiling (NaN/Inf inputs become 0).
type Limiter struct {
	ceiling float32
	rate    float64
	n       int // window length L; latency L-1
	relCoef float64

	// Input delay line (L-1 frames) for both channels.
	dl, dr [limiterMax]float32
	di     int

	// Sliding-window minimum of the required gain: monotonic deque of
	// (frame, gain) in a ring.
	qg    [limiterMax]float64
	qf    [limiterMax]uint64
	qh    int // head index
	qn    int // length
	frame uint64

	env float64 // released hold gain

	clamped uint64 // samples the final clamp changed

	// Moving average of env over L frames.
	box    [limiterMax]float64
	bi     int
	boxSum float64
}

// Init sets the ceiling (linear, > 0) and the sample rate and resets the
// state.
func (l *Limiter) Init(ceiling float32, sampleRate float64) {
	if !(ceiling > 0) || !Finite(ceiling) {
		ceiling = 1
	}
	if !(sampleRate > 0) || !finite64(sampleRate) {
		sampleRate = 48000
	}
	sampleRate = math.Min(sampleRate, MaxSampleRate)
	l.ceiling = ceiling
	l.rate = sampleRate
	l.n = max(1, min(limiterMax-1, int(math.Round(limiterLookahead*sampleRate))))
	l.relCoef = math.Exp(-1 / (limiterRelease * sampleRate))
	l.Reset()
}

// Reset clears the state (gain 1, delay line silent).
func (l *Limiter) Reset() {
	l.dl = [limiterMax]float32{}
	l.dr = [limiterMax]float32{}
	l.di = 0
	l.qh, l.qn = 0, 0
	l.frame = 0
	l.env = 1
	l.clamped = 0
	for i := range l.box {
		l.box[i] = 1
	}
	l.bi = 0
	l.boxSum = float64(l.n)
}

// Clamped returns how many frames the final safety clamp had to change since
// Init or Reset (the look-ahead gain normally keeps this at 0, apart from
// rare last-bit rounding).
func (l *Limiter) Clamped() uint64 { return l.clamped }

// Latency returns the look-ahead delay in frames.
func (l *Limiter) Latency() int { return max(l.n-1, 0) }

// Ceiling returns the output ceiling.
func (l *Limiter) Ceiling() float32 { return l.ceiling }

// Gain returns the gain applied to the last output frame.
func (l *Limiter) Gain() float64 { return l.boxSum / float64(max(l.n, 1)) }

// Process limits both channels in place (equal lengths).
func (l *Limiter) Process(left, right []float32) {
	if l.n == 0 {
		l.Init(1, 48000)
	}
	cnt := min(len(left), len(right))
	left, right = left[:cnt], right[:cnt]
	n := l.n
	lat := n - 1
	ceil := float64(l.ceiling)
	c32 := l.ceiling
	fn := float64(n)
	for i := range left {
		xl, xr := left[i], right[i]
		if xl-xl != 0 {
			xl = 0
		}
		if xr-xr != 0 {
			xr = 0
		}
		// Required gain of this frame.
		pk := math.Max(math.Abs(float64(xl)), math.Abs(float64(xr)))
		g := 1.0
		if pk > ceil {
			g = ceil / pk
		}
		// Push into the sliding-minimum deque (pop larger-or-equal tails).
		for l.qn > 0 {
			t := l.qh + l.qn - 1
			if t >= limiterMax {
				t -= limiterMax
			}
			if l.qg[t] < g {
				break
			}
			l.qn--
		}
		t := l.qh + l.qn
		if t >= limiterMax {
			t -= limiterMax
		}
		l.qg[t], l.qf[t] = g, l.frame
		l.qn++
		// Drop the head if it left the window [frame-n+1, frame].
		if l.frame-l.qf[l.qh] >= uint64(n) {
			l.qh++
			if l.qh == limiterMax {
				l.qh = 0
			}
			l.qn--
		}
		hold := l.qg[l.qh]
		l.frame++
		// Instant attack, one-pole release towards the hold.
		e := l.env
		if hold < e {
			e = hold
		} else {
			e = hold + (e-hold)*l.relCoef
		}
		l.env = e
		// Moving average over n frames.
		l.boxSum += e - l.box[l.bi]
		l.box[l.bi] = e
		l.bi++
		if l.bi == n {
			l.bi = 0
			// Recompute the sum once per window to stop rounding drift.
			s := 0.0
			for _, v := range l.box[:n] {
				s += v
			}
			l.boxSum = s
		}
		gain := l.boxSum / fn
		// Delay the input by lat frames.
		var yl, yr float32
		if lat == 0 {
			yl, yr = xl, xr
		} else {
			yl, yr = l.dl[l.di], l.dr[l.di]
			l.dl[l.di], l.dr[l.di] = xl, xr
			l.di++
			if l.di == lat {
				l.di = 0
			}
		}
		yl = float32(float64(yl) * gain)
		yr = float32(float64(yr) * gain)
		// Final guarantee (gain and samples are finite here).
		if yl > c32 || yl < -c32 || yr > c32 || yr < -c32 {
			yl = min(max(yl, -c32), c32)
			yr = min(max(yr, -c32), c32)
			l.clamped++
		}
		left[i], right[i] = yl, yr
	}
}
