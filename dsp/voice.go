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

// voiceControl recomputes the voice's control values for the next ctrlFrames
// frames. fl is the filter-envelope level now.
func (s *Synth) voiceControl(v *voice, fl float64) {
	p := &v.p
	c := &s.chans[v.ch]
	rate := s.sr

	var lfo, depth float64
	if p.LFO.Rate > 0 {
		lfo = v.lfo.Next(ctrlFrames, p.LFO.Shape, p.LFO.Rate, rate)
		depth = p.LFO.Depth + p.LFO.ModDepth*max(c.mod, c.pressure)
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
	if v.fresh {
		v.filt.Init(f.Type, cut, q, rate)
	} else if cut != v.cut || q != v.q || f.Type != v.ftype {
		v.filt.SetTarget(f.Type, cut, q)
	}
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

// runVoice renders len(l) frames of v and adds them to l and r. It splits
// the block at the voice's own control periods. A voice whose output is not
// finite is silenced before any of it reaches l and r.
func (s *Synth) runVoice(v *voice, l, r []float32) {
	n := len(l)
	env := s.ebuf[:n]
	fenv := s.fbuf[:n]
	out := s.vbuf[:n]
	fl0 := v.fenv.Level()
	v.amp.Process(env)
	v.fenv.Process(fenv)
	p := &v.p
	for pos := 0; pos < n; {
		if v.tick <= 0 {
			fl := fl0
			if pos > 0 {
				fl = fenv[pos-1]
			}
			s.voiceControl(v, float64(fl))
			v.tick = ctrlFrames
		}
		m := min(int(v.tick), n-pos)
		j0 := ctrlFrames - int(v.tick)
		seg := out[pos : pos+m]
		tmp := s.tbuf[:m]

		o := &p.Osc[0]
		if o.Level > 0 {
			v.osc[0].Process(seg, o.Wave, v.inc[0], v.inc[0], pulseWidth(o.PW))
			if o.Level != 1 {
				scale(seg, float32(o.Level))
			}
		} else {
			clear(seg)
		}
		if o := &p.Osc[1]; o.Level > 0 {
			v.osc[1].Process(tmp, o.Wave, v.inc[1], v.inc[1], pulseWidth(o.PW))
			addScaled(seg, tmp, float32(o.Level))
		}
		if p.Noise > 0 {
			v.noise.Process(tmp, p.NoiseWave, 0, 0, 0)
			addScaled(seg, tmp, float32(p.Noise))
		}
		if p.Drive > 0 {
			SoftClip(seg, float32(p.Drive))
		}
		v.filt.Process(seg)

		// x*0 is 0 for finite x and NaN for NaN and ±Inf.
		var chk float32
		for _, x := range seg {
			chk += x * 0
		}
		if chk != 0 {
			s.stats.NonFinite++
			*v = voice{}
			return
		}

		e := env[pos : pos+m]
		ll := l[pos : pos+m]
		rr := r[pos : pos+m]
		gl0, gr0, dgl, dgr := v.gl0, v.gr0, v.dgl, v.dgr
		if !v.fading {
			for i, x := range seg {
				j := float32(j0 + i + 1)
				a := x * e[i]
				ll[i] += a * (gl0 + dgl*j)
				rr[i] += a * (gr0 + dgr*j)
			}
		} else {
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
		}
		v.tick -= int32(m)
		v.age += uint64(m)
		pos += m
		if v.fading && v.fade <= 0 {
			break
		}
	}
	if v.done() {
		*v = voice{}
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

func addScaled(dst, src []float32, g float32) {
	src = src[:len(dst)]
	for i, x := range src {
		dst[i] += x * g
	}
}
