package dsp

import "math"

// Curve selects the shape of the ADSR segments.
type Curve uint8

// Envelope curves.
const (
	Linear Curve = iota
	// Exponential segments approach an overshooting target (one-pole, one
	// multiply-add per sample) chosen so that each segment ends exactly at
	// its set time: attack is concave (fast start), decay and release
	// convex (fast start, long tail), like an analogue envelope.
	Exponential
)

// ADSRConfig holds envelope times in seconds and the sustain level 0..1.
type ADSRConfig struct {
	Attack, Decay, Sustain, Release float64
	Curve                           Curve
}

type envStage uint8

const (
	stIdle envStage = iota
	stAttack
	stDecay
	stSustain
	stRelease
)

// Overshoot ratios of the exponential segments: the one-pole aims at
// end + ratio*(end-start) and the segment is cut when it reaches end.
const (
	attackRatio = 0.3   // gentle, analogue-like attack curvature
	decayRatio  = 0.001 // about -60 dB tail shape for decay and release
)

// sustainGlide is the time over which a sustain change during the sustain
// stage is followed (avoids clicks).
const sustainGlide = 0.005

// ADSR is a sample-accurate attack/decay/sustain/release envelope. The
// caller splits blocks at gate frames. Timing: from level 0 the attack
// reaches 1 at output sample round(Attack*rate)-1 (that is, after Attack
// seconds), the decay reaches Sustain after Decay seconds, and the release
// reaches 0 Release seconds after GateOff whatever the level it starts
// from. A retriggered attack starts from the current level and lasts
// Attack*(1-level) (constant slope for Linear).
type ADSR struct {
	cfg  ADSRConfig
	rate float64

	stage envStage
	level float64 // current output level
	end   float64 // level at which the current segment ends
	left  int     // samples until the segment ends (>0 while in a segment)
	total int     // segment length in samples, for rescaling on Configure
	// Per-sample update: linear level += step; exponential
	// level = level*mul + add. For linear segments mul = 1 and add = step,
	// so level*mul + add is the update of either.
	step, mul, add float64
	// The same over envStride (and envStride/2) samples at once (skip).
	mulS, addS float64
	mulH, addH float64
	expo       bool // the running segment is exponential
	fading     bool // the running segment is a fadeOut
}

// envStride is the stride skip advances in one step: the synth's control
// period.
const envStride = ctrlFrames

// Configure sets new times and curve; the stage and the current level are
// kept. A running segment continues from the current level and finishes in
// the same fraction of its new length. Calling it again with an identical
// configuration is free.
func (e *ADSR) Configure(c ADSRConfig, sampleRate float64) {
	c.Attack = sanitizeTime(c.Attack)
	c.Decay = sanitizeTime(c.Decay)
	c.Release = sanitizeTime(c.Release)
	if !(c.Sustain >= 0) {
		c.Sustain = 0
	}
	if c.Sustain > 1 {
		c.Sustain = 1
	}
	if c.Curve > Exponential {
		c.Curve = Exponential
	}
	if !(sampleRate > 0) || !finite64(sampleRate) {
		sampleRate = 48000
	}
	if c == e.cfg && sampleRate == e.rate {
		return
	}
	if e.fading { // a fade keeps its length
		e.cfg, e.rate = c, sampleRate
		return
	}
	old := e.cfg
	oldRate := e.rate
	e.cfg, e.rate = c, sampleRate
	switch e.stage {
	case stAttack, stDecay, stRelease:
		var tOld, tNew float64
		switch e.stage {
		case stAttack:
			tOld, tNew = old.Attack, c.Attack
		case stDecay:
			tOld, tNew = old.Decay, c.Decay
		case stRelease:
			tOld, tNew = old.Release, c.Release
		}
		if e.stage == stDecay {
			e.end = c.Sustain
		}
		frac := 1.0
		if e.total > 0 {
			frac = float64(e.left) / float64(e.total)
		}
		total := samples(tNew, sampleRate)
		if tOld == tNew && oldRate == sampleRate && old.Curve == c.Curve && e.stage != stDecay {
			return
		}
		e.begin(e.stage, e.end, int(math.Round(frac*float64(total))), total)
	case stSustain:
		if c.Sustain != old.Sustain {
			n := samples(sustainGlide, sampleRate)
			e.begin(stDecay, c.Sustain, n, n)
		}
	}
}

func sanitizeTime(t float64) float64 {
	if !(t > 0) || !finite64(t) {
		return 0
	}
	if t > 3600 {
		return 3600
	}
	return t
}

func samples(t, rate float64) int { return int(math.Round(t * rate)) }

// begin starts a segment from the current level to end lasting n samples
// (total is the nominal full length of this stage).
func (e *ADSR) begin(st envStage, end float64, n, total int) {
	e.stage = st
	e.end = end
	e.total = total
	e.fading = false
	if n <= 0 {
		e.left = 0
		e.level = end
		e.finish()
		return
	}
	e.left = n
	span := end - e.level
	e.expo = e.cfg.Curve == Exponential
	if e.expo {
		ratio := decayRatio
		if st == stAttack {
			ratio = attackRatio
		}
		target := end + ratio*span
		e.mul = math.Exp(math.Log(ratio/(1+ratio)) / float64(n))
		e.add = target * (1 - e.mul)
	} else {
		e.step = span / float64(n)
		e.mul, e.add = 1, e.step
	}
	e.strides()
}

// strides computes mulS, addS (envStride updates at once:
// level·mul^n + add·(1 + mul + … + mul^(n-1)), by repeated squaring) and
// mulH, addH (envStride/2 updates).
func (e *ADSR) strides() {
	p, s := e.mul, 1.0
	for k := 1; k < envStride; k *= 2 {
		if k == envStride/2 {
			e.mulH, e.addH = p, e.add*s
		}
		s *= 1 + p
		p *= p
	}
	e.mulS, e.addS = p, e.add*s
}

// fadeOut starts a linear fade from the current level to 0 over n samples
// (voice stealing, all-sound-off). A running fade is shortened, never
// lengthened; Configure and GateOff leave a fade alone.
func (e *ADSR) fadeOut(n int) {
	if e.fading && e.left <= n {
		return
	}
	if e.stage == stIdle {
		return
	}
	e.stage = stRelease
	e.end = 0
	e.total = n
	e.expo = false
	if n <= 0 {
		e.left = 0
		e.level = 0
		e.finish()
		return
	}
	e.fading = true
	e.left = n
	e.step = -e.level / float64(n)
	e.mul, e.add = 1, e.step
	e.strides()
}

// finish moves to the stage after the current segment ended.
func (e *ADSR) finish() {
	switch e.stage {
	case stAttack:
		e.level = 1
		n := samples(e.cfg.Decay, e.rate)
		e.begin(stDecay, e.cfg.Sustain, n, n)
	case stDecay:
		e.level = e.end
		e.stage = stSustain
		e.left = 0
		if e.cfg.Sustain != e.end { // sustain changed mid-decay
			n := samples(sustainGlide, e.rate)
			e.begin(stDecay, e.cfg.Sustain, n, n)
		}
	case stRelease:
		e.level = 0
		e.stage = stIdle
		e.left = 0
		e.fading = false
	}
}

// Reset makes the envelope idle at level 0.
func (e *ADSR) Reset() {
	e.stage = stIdle
	e.level = 0
	e.left = 0
	e.total = 0
	e.fading = false
}

// GateOn starts the attack from the current level (retrigger without a
// click).
func (e *ADSR) GateOn() {
	if e.rate == 0 {
		e.rate = 48000
	}
	total := samples(e.cfg.Attack, e.rate)
	n := int(math.Round(float64(total) * (1 - e.level)))
	if total > 0 && n < 1 && e.level < 1 {
		n = 1
	}
	e.begin(stAttack, 1, n, total)
}

// GateOff starts the release from the current level; it lasts Release
// seconds. It does nothing when idle.
func (e *ADSR) GateOff() {
	if e.stage == stIdle || e.stage == stRelease {
		return
	}
	if e.rate == 0 {
		e.rate = 48000
	}
	n := samples(e.cfg.Release, e.rate)
	e.begin(stRelease, 0, n, n)
}

// Process writes the envelope level of each sample into dst (the level
// after advancing one sample).
func (e *ADSR) Process(dst []float32) {
	for len(dst) > 0 {
		if e.left == 0 {
			// Idle or sustain: constant.
			v := float32(e.level)
			for i := range dst {
				dst[i] = v
			}
			return
		}
		n := e.left
		if n > len(dst) {
			n = len(dst)
		}
		seg := dst[:n]
		l := e.level
		if e.expo {
			m, a := e.mul, e.add
			for i := range seg {
				l = l*m + a
				seg[i] = float32(l)
			}
		} else {
			s := e.step
			for i := range seg {
				l += s
				seg[i] = float32(l)
			}
		}
		e.level = l
		e.left -= n
		if e.left == 0 {
			e.level = e.end
			seg[n-1] = float32(e.end)
			e.finish()
		}
		dst = dst[n:]
	}
}

// peek returns the level n samples ahead without advancing (n at most the
// running segment's length): the same arithmetic as skip(n).
func (e *ADSR) peek(n int) float64 {
	switch {
	case e.left == 0:
		return e.level
	case n >= e.left:
		return e.end
	case n == envStride:
		return e.level*e.mulS + e.addS
	case n == envStride/2:
		return e.level*e.mulH + e.addH
	}
	l, m, a := e.level, e.mul, e.add
	for range n {
		l = l*m + a
	}
	return l
}

// skip advances n samples without output, a stride of envStride samples
// in one step (the filter envelope, which the synth reads once per control
// period).
func (e *ADSR) skip(n int) {
	for n > 0 && e.left > 0 {
		k := min(n, e.left)
		switch {
		case k == e.left:
			e.level = e.end
		case k == envStride:
			e.level = e.level*e.mulS + e.addS
		case k == envStride/2:
			e.level = e.level*e.mulH + e.addH
		default:
			l, m, a := e.level, e.mul, e.add
			for range k {
				l = l*m + a
			}
			e.level = l
		}
		n -= k
		e.left -= k
		if e.left == 0 {
			e.finish()
		}
	}
}

// Level returns the current level.
func (e *ADSR) Level() float32 { return float32(e.level) }

// Active reports whether the envelope is running (false when idle: the
// release finished or it never started).
func (e *ADSR) Active() bool { return e.stage != stIdle }

// Releasing reports whether the envelope is in its release stage.
func (e *ADSR) Releasing() bool { return e.stage == stRelease }
