package dsp

import "math"

const (
	// ctrlFrames is the voice control period: pitch, filter target, LFO
	// and gains are recomputed every ctrlFrames frames of the voice's own
	// time (counted from its note-on), so the result does not depend on
	// how Render's caller or the event frames split the blocks. Gains
	// ramp linearly across a period; pitch steps (phase-continuous, 3 kHz
	// update rate at 48 kHz); the filter glides (Biquad.SetTarget).
	ctrlFrames = 16
	// fadeSlots extra voices hold stolen notes while they fade out.
	fadeSlots = 16
	// fadeSeconds is the fade-out of a stolen, choked or all-sound-off
	// voice: short enough to free the voice quickly, long enough not to
	// click.
	fadeSeconds = 0.003
	// gainSmoothSeconds smooths channel volume, expression and pan.
	gainSmoothSeconds = 0.005
)

// voice is one sounding note. Pointer-free; all of it is snapshot state.
type voice struct {
	on        bool // slot in use (it may have ended: see done)
	held      bool // key down
	sustained bool // key up while the sustain pedal was down
	kit       bool // a drum sound from drumKit
	fading    bool // fading out over fade frames
	fresh     bool // first control update pending: jump instead of smoothing
	dirty     bool // patch changed: recompute pitch even if the inputs look equal
	ch, key   uint8
	tick      int32 // frames to the next control update
	fade      int32 // frames left of the fade-out
	vel       float64
	serial    uint64 // note-on counter: age order and noise/LFO seeds
	age       uint64 // frames since note-on

	p     Patch
	osc   [2]Osc
	noise Osc
	amp   ADSR
	fenv  ADSR
	filt  Biquad
	lfo   LFO

	// Control state.
	semis      float64 // pitch offset used for inc (bend, pitch envelope, LFO)
	inc        [2]float64
	oct        float64 // cutoff offset in octaves
	cut, q     float64
	ftype      FilterType
	pan        float64 // pan input of panL/panR
	panL, panR float64 // equal-power targets for pan
	gain       float64 // smoothed velocity · patch · channel gain
	smL, smR   float64 // smoothed pan gains
	gl, gr     float32 // gains at the end of the current control period
	gl0, gr0   float32 // gains at its start
	dgl, dgr   float32 // per-frame slope
}

// done reports whether the voice is silent for good: unused, faded out, or
// its amplitude envelope has finished (released, or decayed to a zero
// sustain). It depends only on the voice's own state, so the answer at an
// event frame does not depend on block boundaries.
func (v *voice) done() bool {
	return !v.on || (v.fading && v.fade <= 0) || (v.age > 0 && v.amp.Level() == 0)
}

// startFade begins a click-free fade-out (never lengthens a running one).
func (v *voice) startFade(frames int32) {
	if !v.fading || v.fade > frames {
		v.fade = frames
	}
	v.fading = true
	v.held, v.sustained = false, false
}

// release starts the release stage of both envelopes.
func (v *voice) release() {
	v.amp.GateOff()
	v.fenv.GateOff()
	v.held, v.sustained = false, false
}

// panGains returns equal-power left/right gains for pan -1..1 (both sines,
// so the far side is exactly 0 at the extremes).
func panGains(pan float64) (l, r float64) {
	return math.Sin((1 - pan) * (math.Pi / 4)), math.Sin((1 + pan) * (math.Pi / 4))
}

// ctrlSeg is the part of a block that one control period covers: its
// settings are constant (pitch, filter target) or ramp linearly (gains).
type ctrlSeg struct {
	pos, m, j0 int        // start in the block, length, offset in the period
	inc        [2]float64 // oscillator increments (cycles per sample)
	setFilt    bool       // a new filter target starts here
	initFilt   bool       // the filter jumps to it (first period of a note)
	ftype      FilterType
	cut, q     float64
	gl0, gr0   float32 // gains at the period's start
	dgl, dgr   float32 // per-frame slope
}

// maxSegs is the most control periods a block can touch.
const maxSegs = MaxBlock/ctrlFrames + 2

// voiceControl recomputes the voice's control values for the next
// ctrlFrames frames into seg. fl is the filter-envelope level now.
func (s *Synth) voiceControl(v *voice, fl float64, seg *ctrlSeg) {
	p := &v.p
	c := &s.chans[v.ch]
	rate := s.sr

	// The LFO only runs while it has depth: a mod wheel brought in later
	// starts the vibrato at phase 0, smoothly.
	var lfo, depth float64
	if p.LFO.Rate > 0 {
		depth = p.LFO.Depth + p.LFO.ModDepth*max(c.mod, c.pressure)
		if depth > 0 {
			lfo = v.lfo.Next(ctrlFrames, p.LFO.Shape, p.LFO.Rate, rate)
		}
	}

	// Pitch.
	semis := 0.0
	if !v.kit {
		semis = c.bend * c.bendRange
	}
	if p.PitchEnv != 0 {
		semis += p.PitchEnv * math.Exp(-float64(v.age)/(p.PitchDecay*rate))
	}
	if p.LFO.Dest == LFOToPitch {
		semis += lfo * depth
	}
	if semis != v.semis || v.dirty || v.fresh {
		v.semis = semis
		for k := range p.Osc {
			o := &p.Osc[k]
			var hz float64
			if o.Hz > 0 {
				hz = o.Hz * math.Exp2((semis+o.Detune*0.01)*(1.0/12))
			} else {
				hz = 440 * math.Exp2((float64(v.key)-69+o.Semi+o.Detune*0.01+semis)*(1.0/12))
			}
			v.inc[k] = hz / rate
		}
	}
	seg.inc = v.inc

	// Filter.
	f := &p.Filter
	oct := f.EnvAmount*fl + f.KeyTrack*(float64(v.key)-60)*(1.0/12) + f.Velocity*(v.vel-1) + c.bright + c.pressure
	if p.LFO.Dest == LFOToCutoff {
		oct += lfo * depth
	}
	cut := v.cut
	if oct != v.oct || v.dirty || v.fresh {
		v.oct = oct
		cut = f.Cutoff * math.Exp2(oct)
	}
	q := f.Resonance * c.resoMul
	seg.initFilt = v.fresh
	seg.setFilt = v.fresh || cut != v.cut || q != v.q || f.Type != v.ftype
	seg.ftype, seg.cut, seg.q = f.Type, cut, q
	v.cut, v.q, v.ftype = cut, q, f.Type

	// Gains: velocity, patch and channel gain and pan are smoothed; the
	// tremolo is not (it is already smooth).
	g := p.Gain * (1 - p.Velocity + p.Velocity*v.vel*v.vel) * c.volume * c.volume * c.expression * c.expression
	pan := clampF(p.Pan+c.pan, -1, 1)
	if pan != v.pan || v.fresh {
		v.pan = pan
		v.panL, v.panR = panGains(pan)
	}
	if v.fresh {
		v.gain, v.smL, v.smR = g, v.panL, v.panR
	} else {
		a := s.ctrlAlpha
		v.gain += (g - v.gain) * a
		v.smL += (v.panL - v.smL) * a
		v.smR += (v.panR - v.smR) * a
	}
	trem := 1.0
	if p.LFO.Dest == LFOToAmp && depth > 0 {
		trem = 1 - 0.5*min(depth, 1)*(1-lfo)
	}
	gl := float32(v.gain * v.smL * trem)
	gr := float32(v.gain * v.smR * trem)
	if v.fresh {
		v.gl0, v.gr0 = gl, gr
	} else {
		v.gl0, v.gr0 = v.gl, v.gr
	}
	v.gl, v.gr = gl, gr
	v.dgl = (gl - v.gl0) * (1.0 / ctrlFrames)
	v.dgr = (gr - v.gr0) * (1.0 / ctrlFrames)
	v.fresh, v.dirty = false, false
}

// runVoice renders len(l) frames of v and adds them to l and r.
//
// The block is cut at the voice's own control periods (counted from its
// note-on), so the result does not depend on where blocks start. All
// control periods are computed first; then each oscillator and the filter
// run over whole stretches of periods with unchanged settings (an
// oscillator at a constant frequency and the filter produce the same
// samples whether they are called once or in pieces). A voice whose output
// is not finite is silenced before any of it reaches l and r.
func (s *Synth) runVoice(v *voice, l, r []float32) {
	n := len(l)
	env := s.ebuf[:n]
	fenv := s.fbuf[:n]
	fl0 := v.fenv.Level()
	v.amp.Process(env)
	v.fenv.Process(fenv)
	p := &v.p

	// Control pass.
	segs := s.segs[:0]
	for pos := 0; pos < n; {
		var sg ctrlSeg
		if v.tick <= 0 {
			fl := fl0
			if pos > 0 {
				fl = fenv[pos-1]
			}
			s.voiceControl(v, float64(fl), &sg)
			v.tick = ctrlFrames
		} else {
			sg.inc = v.inc
		}
		sg.pos = pos
		sg.m = min(int(v.tick), n-pos)
		sg.j0 = ctrlFrames - int(v.tick)
		sg.gl0, sg.gr0, sg.dgl, sg.dgr = v.gl0, v.gr0, v.dgl, v.dgr
		segs = append(segs, sg)
		v.tick -= int32(sg.m)
		v.age += uint64(sg.m)
		pos += sg.m
	}

	// Oscillators, noise and drive.
	out := s.vbuf[:n]
	tmp := s.tbuf[:n]
	o1, o2 := &p.Osc[0], &p.Osc[1]
	switch {
	case o1.Level > 0 && o2.Level > 0:
		s.runOsc(&v.osc[0], o1, 0, out, segs)
		s.runOsc(&v.osc[1], o2, 1, tmp, segs)
		mix2(out, float32(o1.Level), tmp, float32(o2.Level))
	case o1.Level > 0:
		s.runOsc(&v.osc[0], o1, 0, out, segs)
		if o1.Level != 1 {
			scale(out, float32(o1.Level))
		}
	case o2.Level > 0:
		s.runOsc(&v.osc[1], o2, 1, out, segs)
		if o2.Level != 1 {
			scale(out, float32(o2.Level))
		}
	default:
		clear(out)
	}
	if p.Noise > 0 {
		v.noise.Process(tmp, p.NoiseWave, 0, 0, 0)
		addScaled(out, tmp, float32(p.Noise))
	}
	if p.Drive > 0 {
		SoftClip(out, float32(p.Drive))
	}

	// Filter: new targets start at their period.
	for a := 0; a < len(segs); {
		sg := &segs[a]
		if sg.initFilt {
			v.filt.Init(sg.ftype, sg.cut, sg.q, s.sr)
		} else if sg.setFilt {
			v.filt.SetTarget(sg.ftype, sg.cut, sg.q)
		}
		b := a + 1
		for b < len(segs) && !segs[b].setFilt {
			b++
		}
		end := n
		if b < len(segs) {
			end = segs[b].pos
		}
		v.filt.Process(out[sg.pos:end])
		a = b
	}

	// x*0 is 0 for finite x and NaN for NaN and ±Inf.
	var chk float32
	for _, x := range out {
		chk += x * 0
	}
	if chk != 0 {
		s.stats.NonFinite++
		*v = voice{}
		return
	}

	// Envelope, gain ramps, pan, fade; mix.
	for k := range segs {
		sg := &segs[k]
		m := sg.m
		seg := out[sg.pos : sg.pos+m]
		e := env[sg.pos : sg.pos+m]
		ll := l[sg.pos : sg.pos+m]
		rr := r[sg.pos : sg.pos+m]
		gl0, gr0, dgl, dgr := sg.gl0, sg.gr0, sg.dgl, sg.dgr
		j0 := sg.j0
		if !v.fading {
			for i, x := range seg {
				j := float32(j0 + i + 1)
				a := x * e[i]
				ll[i] += a * (gl0 + dgl*j)
				rr[i] += a * (gr0 + dgr*j)
			}
			continue
		}
		inv := s.invFade
		fd := v.fade
		for i, x := range seg {
			f := float32(fd-int32(i)) * inv
			if f < 0 {
				f = 0
			}
			j := float32(j0 + i + 1)
			a := x * e[i] * f
			ll[i] += a * (gl0 + dgl*j)
			rr[i] += a * (gr0 + dgr*j)
		}
		v.fade -= int32(m)
		if v.fade <= 0 {
			break
		}
	}
	if v.done() {
		*v = voice{}
	}
}

// runOsc renders oscillator k over the block, one Process call per stretch
// of control periods with the same frequency.
func (s *Synth) runOsc(o *Osc, op *OscParams, k int, dst []float32, segs []ctrlSeg) {
	pw := pulseWidth(op.PW)
	for a := 0; a < len(segs); {
		inc := segs[a].inc[k]
		b := a + 1
		for b < len(segs) && segs[b].inc[k] == inc {
			b++
		}
		end := len(dst)
		if b < len(segs) {
			end = segs[b].pos
		}
		o.Process(dst[segs[a].pos:end], op.Wave, inc, inc, pw)
		a = b
	}
}

func pulseWidth(pw float64) float64 {
	if pw == 0 {
		return 0.5
	}
	return pw
}

func scale(x []float32, g float32) {
	for i := range x {
		x[i] *= g
	}
}

// mix2 sets dst = dst·g1 + src·g2.
func mix2(dst []float32, g1 float32, src []float32, g2 float32) {
	src = src[:len(dst)]
	for i, x := range src {
		dst[i] = dst[i]*g1 + x*g2
	}
}

func addScaled(dst, src []float32, g float32) {
	src = src[:len(dst)]
	for i, x := range src {
		dst[i] += x * g
	}
}
