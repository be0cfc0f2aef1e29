package dsp

import "math"

const (
	// ctrlFrames is the voice control period: pitch, filter target, LFO,
	// gains and the amplitude envelope are recomputed every ctrlFrames
	// frames of the voice's own time (counted from its note-on), so the
	// result does not depend on how Render's caller or the event frames
	// split the blocks. Gains and the amplitude envelope ramp linearly
	// across a period (a period ends early where an envelope segment ends,
	// so its corners are exact); pitch steps (phase-continuous, 1.5 kHz
	// update rate at 48 kHz); the filter glides (Biquad.SetTarget). 32
	// frames (0.67 ms) keeps slow modulation smooth and costs half as much
	// per voice as 16; fast modulation gets fastCtrlFrames.
	ctrlFrames = 32
	// fadeSlots extra voices hold stolen notes while they fade out.
	fadeSlots = 16
	// fadeSeconds is the fade-out of a stolen, choked or all-sound-off
	// voice: short enough to free the voice quickly, long enough not to
	// click.
	fadeSeconds = 0.003
	// gainSmoothSeconds smooths channel volume, expression and pan.
	gainSmoothSeconds = 0.005
	// fastCtrlFrames is the control period while a voice's pitch or
	// envelopes move fast (see Synth.period): percussive sounds keep the
	// 3 kHz control rate.
	fastCtrlFrames = 16
	// fastSegmentSeconds: envelope segments shorter than this are fast.
	fastSegmentSeconds = 0.03
	// pitchEnvSpan: a pitch envelope counts as moving for this many time
	// constants (e^-7 < 0.1%).
	pitchEnvSpan = 7
	// voiceFilterChunk is the voices' filter glide chunk: while the cutoff
	// or Q moves, the coefficients are recomputed every 32 frames
	// (1.5 kHz at 48 kHz) and interpolated linearly in between.
	voiceFilterChunk = 32
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
	replan    bool // an event changed the amplitude envelope mid-period
	fromCur   bool // the next period's gain ramp starts from curL, curR (retrigger)
	ch, key   uint8
	tick      int32 // frames to the next control update
	fade      int32 // frames left of the fade-out
	flag      int32 // frames the envelopes lag behind (see syncEnv)
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
	ratio      float64 // inc[1]/inc[0] when both oscillators follow the key, else 0
	lbase      float64 // log2 of the patch cutoff
	oct        float64 // cutoff offset in octaves
	lcut, q    float64 // filter target: cutoff as log2(Hz), Q
	ftype      FilterType
	pan        float64 // pan input of panL/panR
	panL, panR float64 // equal-power targets for pan
	gain       float64 // smoothed velocity · patch · channel gain
	smL, smR   float64 // smoothed pan gains
	gl, gr     float64 // gains without the envelope at the end of the current control period
	dgl, dgr   float32 // per-frame slope of the running gains
	curL, curR float32 // running gains (envelope included) at the last rendered frame
}

// done reports whether the voice is silent for good: unused, faded out, or
// its amplitude envelope has finished (released, or decayed to a zero
// sustain). It depends only on the voice's own state (the envelope as of
// its last control point or event), so the answer at an event frame does
// not depend on block boundaries.
func (v *voice) done() bool {
	return !v.on || (v.fading && v.fade <= 0) || (v.age > 0 && v.amp.left == 0 && v.amp.level == 0)
}

// startFade begins a click-free fade-out (never lengthens a running one):
// the amplitude envelope falls linearly to 0 over the fade.
func (v *voice) startFade(frames int32) {
	if !v.fading || v.fade > frames {
		v.fade = frames
	}
	v.fading = true
	v.held, v.sustained = false, false
	v.syncEnv()
	v.amp.fadeOut(int(v.fade))
	v.ampChanged()
}

// release starts the release stage of both envelopes.
func (v *voice) release() {
	v.syncEnv()
	v.amp.GateOff()
	v.fenv.GateOff()
	v.ampChanged()
	v.held, v.sustained = false, false
}

// syncEnv brings both envelopes up to the current frame. The synth reads
// them only at control points (the amplitude envelope is interpolated
// linearly between them, folded into the gain ramps), so they advance
// lazily, by whole periods in one step (ADSR.skip); events that change
// them sync them first. Their updates therefore happen at control points
// and event frames only, wherever the blocks end.
func (v *voice) syncEnv() {
	if v.flag > 0 {
		if v.amp.left > 0 { // else constant
			v.amp.skip(int(v.flag))
		}
		if v.fenv.left > 0 {
			v.fenv.skip(int(v.flag))
		}
		v.flag = 0
	}
}

// ampChanged follows an event that changed the amplitude envelope (after
// syncEnv): the running control period ends no later than the envelope's
// segment, and its gain ramp is re-planned from the current frame.
func (v *voice) ampChanged() {
	if v.tick > 0 {
		if left := v.amp.left; left > 0 && left < int(v.tick) {
			v.tick = int32(left)
		}
		v.replan = true
	}
}

// period returns the length of the control period that starts now:
// ctrlFrames, or fastCtrlFrames while something moves fast (a pitch
// envelope that has not died away, an envelope segment shorter than
// fastSegmentSeconds), and never past the end of the amplitude envelope's
// segment (its corners are exact). It depends only on the voice's state.
func (s *Synth) period(v *voice) int {
	tick := ctrlFrames
	p := &v.p
	if p.PitchEnv != 0 && float64(v.age) < pitchEnvSpan*p.PitchDecay*s.sr ||
		v.amp.left > 0 && v.amp.total < s.fastSeg ||
		v.fenv.left > 0 && v.fenv.total < s.fastSeg {
		tick = fastCtrlFrames
	}
	if left := v.amp.left; left > 0 && left < tick {
		tick = left
	}
	return tick
}

// panGains returns equal-power left/right gains for pan -1..1 (both sines,
// so the far side is exactly 0 at the extremes).
func panGains(pan float64) (l, r float64) {
	return math.Sin((1 - pan) * (math.Pi / 4)), math.Sin((1 + pan) * (math.Pi / 4))
}

// ctrlSeg is the part of a block that one control period covers: its
// settings are constant (pitch, filter target) or ramp linearly (gains).
type ctrlSeg struct {
	pos, m   int        // start in the block, length
	inc      [2]float64 // oscillator increments (cycles per sample)
	filt     uint8      // filtNone, filtSet (a new target starts here) or filtInit (jump to it)
	ftype    FilterType
	lcut, q  float64 // filter target: log2(Hz), Q
	gl, gr   float32 // gains before the segment's first frame
	dgl, dgr float32 // per-frame slope
}

// ctrlSeg.filt values.
const (
	filtNone = iota
	filtSet
	filtInit
)

// maxSegs is the most control periods a block can touch (a period may be
// as short as one frame, where envelope segments are that short).
const maxSegs = MaxBlock + 1

// voiceControl recomputes the voice's control values for the next tick
// frames into sg (the envelopes are synced).
func (s *Synth) voiceControl(v *voice, sg *ctrlSeg, tick int) {
	p := &v.p
	c := &s.chans[v.ch]
	rate := s.sr

	// The LFO only runs while it has depth: a mod wheel brought in later
	// starts the vibrato at phase 0, smoothly.
	var lfo, depth float64
	if p.LFO.Rate > 0 {
		depth = p.LFO.Depth + p.LFO.ModDepth*max(c.mod, c.pressure)
		if depth > 0 {
			lfo = v.lfo.value(p.LFO.Shape, false)
			v.lfo.advance(float64(tick) * p.LFO.Rate * s.invSr)
		}
	}

	// Pitch.
	semis := 0.0
	if !v.kit {
		semis = c.bend * c.bendRange
	}
	if p.PitchEnv != 0 { // e^(-t/decay)
		semis += p.PitchEnv * exp2Fast(-float64(v.age)*(1/math.Ln2)/(p.PitchDecay*rate))
	}
	if p.LFO.Dest == LFOToPitch {
		semis += lfo * depth
	}
	if semis != v.semis || v.dirty || v.fresh {
		v.semis = semis
		o0, o1 := &p.Osc[0], &p.Osc[1]
		if v.dirty || v.fresh {
			// Both oscillators follow the key: the second's increment is
			// the first's times a constant ratio (one exp2 per period).
			v.ratio = 0
			if o0.Hz == 0 && o1.Hz == 0 && o0.Level > 0 && o1.Level > 0 {
				v.ratio = exp2Fast((o1.Semi - o0.Semi + (o1.Detune-o0.Detune)*0.01) * (1.0 / 12))
			}
		}
		for k := range p.Osc {
			o := &p.Osc[k]
			if o.Level <= 0 { // not rendered; a level change sets dirty
				continue
			}
			if k == 1 && v.ratio != 0 {
				v.inc[1] = v.inc[0] * v.ratio
				break
			}
			var hz float64
			if o.Hz > 0 {
				hz = o.Hz * exp2Fast((semis+o.Detune*0.01)*(1.0/12))
			} else {
				hz = 440 * exp2Fast((float64(v.key)-69+o.Semi+o.Detune*0.01+semis)*(1.0/12))
			}
			v.inc[k] = hz * s.invSr
		}
	}

	// Filter, in the log2 domain: no exp/log per period.
	f := &p.Filter
	if v.dirty || v.fresh {
		v.lbase = math.Log2(f.Cutoff)
	}
	oct := f.EnvAmount*v.fenv.level + f.KeyTrack*(float64(v.key)-60)*(1.0/12) + f.Velocity*(v.vel-1) + c.bright + c.pressure
	if p.LFO.Dest == LFOToCutoff {
		oct += lfo * depth
	}
	v.oct = oct
	lcut := v.lbase + oct
	q := f.Resonance * c.resoMul
	switch {
	case v.fresh:
		sg.filt = filtInit
	case lcut != v.lcut || q != v.q || f.Type != v.ftype:
		sg.filt = filtSet
	default:
		sg.filt = filtNone
	}
	sg.ftype, sg.lcut, sg.q = f.Type, lcut, q
	v.lcut, v.q, v.ftype = lcut, q, f.Type

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
	gl := v.gain * v.smL * trem
	gr := v.gain * v.smR * trem
	// The amplitude envelope is exact at control points and linear in
	// between (its segment ends are control points, see runVoice), folded
	// into the gain ramps.
	e0 := v.amp.level
	var sl, sr float64
	switch {
	case v.fresh:
		sl, sr = gl*e0, gr*e0
	case v.fromCur:
		sl, sr = float64(v.curL), float64(v.curR)
	default:
		sl, sr = v.gl*e0, v.gr*e0
	}
	v.gl, v.gr = gl, gr
	e1 := v.amp.peek(tick)
	inv := 1.0 / ctrlFrames
	if tick != ctrlFrames {
		inv = 1 / float64(tick)
	}
	sg.gl, sg.gr = float32(sl), float32(sr)
	v.dgl = float32((gl*e1 - sl) * inv)
	v.dgr = float32((gr*e1 - sr) * inv)
	sg.dgl, sg.dgr = v.dgl, v.dgr
	v.fresh, v.dirty, v.fromCur, v.replan = false, false, false, false
}

// replanRamp re-plans the gain ramps of the rest of the control period after
// an event changed the amplitude envelope (at this block's first frame).
func (v *voice) replanRamp() {
	e1 := v.amp.peek(int(v.tick))
	inv := 1 / float64(v.tick)
	v.dgl = float32((v.gl*e1 - float64(v.curL)) * inv)
	v.dgr = float32((v.gr*e1 - float64(v.curR)) * inv)
	v.replan = false
}

// finite reports whether the state the mix pass starts from is finite (a
// corrupted voice is silenced before any of it reaches the mix).
func (v *voice) finite() bool {
	f := &v.filt
	e := &v.amp
	x := f.x1 + f.x2 + f.y1 + f.y2 + f.c.b0 + f.c.b1 + f.c.b2 + f.c.a1 + f.c.a2 +
		f.dc.b0 + f.dc.b1 + f.dc.b2 + f.dc.a1 + f.dc.a2 +
		e.level + e.mul + e.add + e.end + v.gl + v.gr +
		float64(v.curL+v.curR+v.dgl+v.dgr) + v.osc[0].phase + v.osc[1].phase
	return finite64(x)
}

// runVoice renders len(l) frames of v and adds them to l and r.
//
// The block is cut at the voice's own control periods (counted from its
// note-on), so the result does not depend on where blocks start. All
// control periods are computed first; then each oscillator adds itself,
// scaled by its level, over whole stretches of periods with unchanged
// frequency (an oscillator at a constant frequency produces the same
// samples whether it is called once or in pieces), and mixVoice runs the
// filter and the gain ramps (the amplitude envelope, gain and pan in one
// product). A voice whose state is not finite is silenced before any of it
// reaches l and r.
func (s *Synth) runVoice(v *voice, l, r []float32) {
	n := len(l)
	p := &v.p

	// Control pass. A period ends early where the amplitude envelope's
	// segment ends, so that the envelope, interpolated linearly between
	// control points, is exact at its corners.
	ns := 0
	for pos := 0; pos < n; ns++ {
		sg := &s.segs[ns]
		if v.tick <= 0 {
			v.syncEnv()
			tick := s.period(v)
			s.voiceControl(v, sg, tick)
			v.tick = int32(tick)
		} else { // the rest of a period the last block began
			if v.replan {
				v.replanRamp()
			}
			sg.filt = filtNone
			sg.gl, sg.gr, sg.dgl, sg.dgr = v.curL, v.curR, v.dgl, v.dgr
		}
		sg.inc = v.inc
		sg.pos = pos
		m := min(int(v.tick), n-pos)
		sg.m = m
		v.tick -= int32(m)
		v.flag += int32(m)
		v.age += uint64(m)
		pos += m
	}
	segs := s.segs[:ns]

	if !v.finite() {
		s.stats.NonFinite++
		*v = voice{}
		return
	}

	// Oscillators, noise and drive.
	out := s.vbuf[:n]
	clear(out)
	for k := range p.Osc {
		if op := &p.Osc[k]; op.Level > 0 {
			runOsc(&v.osc[k], op, k, out, segs, float32(op.Level))
		}
	}
	if p.Noise > 0 {
		v.noise.render(out, p.NoiseWave, 0, 0, float32(p.Noise))
	}
	if p.Drive > 0 {
		SoftClip(out, float32(p.Drive))
	}

	// Filter, envelope, gains and pan.
	if chk := s.mixVoice(v, out, s.tbuf[:n], l, r, segs); chk != 0 {
		// Cannot happen from finite state (the filter is stable, the
		// rest bounded); should it anyway, no NaN or Inf stays in the mix.
		for i := range l {
			if !Finite(l[i]) {
				l[i] = 0
			}
			if !Finite(r[i]) {
				r[i] = 0
			}
		}
		s.stats.NonFinite++
		*v = voice{}
		return
	}
	if v.fading {
		v.fade -= int32(n)
	}
	if v.tick == 0 {
		// The block ends on a control point: sync now (the same skip the
		// next block would do there), so that done() sees an envelope
		// that ended with this block.
		v.syncEnv()
	}
	if v.done() {
		*v = voice{}
	}
}

// mixVoice filters x (the oscillator mix; y is scratch), multiplies it by
// the running gains (envelope · gain · pan, ramping linearly within each
// period) and adds it to l and r, period by period (segs). It returns 0, or
// NaN when an output sample was not finite.
//
// This is the voice's hot loop. The filter is Biquad.runDF1; with fixed
// low-pass coefficients (the common case), or a gliding low-pass at
// constant gains, the filter and the gains share one loop, where the gains
// run in the shadow of the filter's recursion. Periods that change nothing (constant gains, no new filter
// target) run on as one. The arithmetic per sample is the same however
// the block is cut.
func (s *Synth) mixVoice(v *voice, x, y, l, r []float32, segs []ctrlSeg) float64 {
	f := &v.filt
	var chk float64
	var gl, gr float32
	for k := 0; k < len(segs); {
		sg := &segs[k]
		if sg.filt != filtNone {
			if sg.filt == filtInit {
				f.setChunk(voiceFilterChunk)
				f.setRate(s.sr)
				f.initLog(sg.ftype, sg.lcut, sg.q)
			} else {
				f.setTargetLog(sg.ftype, sg.lcut, sg.q)
			}
		}
		gl, gr = sg.gl, sg.gr
		dgl, dgr := sg.dgl, sg.dgr
		end := sg.pos + sg.m
		k++
		if dgl == 0 && dgr == 0 {
			// Constant gains: run on through the periods that change
			// nothing (the running gains stay exactly gl, gr).
			for k < len(segs) && segs[k].filt == filtNone && segs[k].dgl == 0 && segs[k].dgr == 0 &&
				segs[k].gl == gl && segs[k].gr == gr {
				end += segs[k].m
				k++
			}
		}
		for i := sg.pos; i < end; {
			m := f.span(end - i)
			xs := x[i : i+m]
			ls := l[i : i+m]
			rs := r[i : i+m]
			ls = ls[:len(xs)]
			rs = rs[:len(xs)]
			if f.typ == LowPass && f.rampLeft == 0 {
				// The common case in one loop: runDF1's static low-pass
				// and the gain ramps run in the shadow of its recursion.
				x1, x2, y1, y2 := f.x1, f.x2, f.y1, f.y2
				b0, a1, a2 := f.c.b0, f.c.a1, f.c.a2
				for j, xv32 := range xs {
					xv := float64(xv32)
					yv := b0*(xv+x1+x1+x2) - a2*y2 - a1*y1
					x2, x1 = x1, xv
					y2, y1 = y1, yv
					a := float32(yv)
					gl += dgl
					gr += dgr
					ls[j] += a * gl
					rs[j] += a * gr
				}
				f.x1, f.x2, f.y1, f.y2 = x1, x2, y1, y2
			} else if f.typ == LowPass && dgl == 0 && dgr == 0 {
				// A gliding low-pass at constant gains (a held note
				// with a moving cutoff), also in one loop.
				x1, x2, y1, y2 := f.x1, f.x2, f.y1, f.y2
				b0, a1, a2 := f.c.b0, f.c.a1, f.c.a2
				d0, e1, e2 := f.dc.b0, f.dc.a1, f.dc.a2
				for j, xv32 := range xs {
					b0 += d0
					a1 += e1
					a2 += e2
					xv := float64(xv32)
					yv := b0*(xv+x1+x1+x2) - a2*y2 - a1*y1
					x2, x1 = x1, xv
					y2, y1 = y1, yv
					a := float32(yv)
					ls[j] += a * gl
					rs[j] += a * gr
				}
				f.x1, f.x2, f.y1, f.y2 = x1, x2, y1, y2
				f.c = coefs{b0, 2 * b0, b0, a1, a2}
			} else {
				ys := y[i : i+m]
				ys = ys[:len(xs)]
				f.runDF1(xs, ys)
				for j, yv := range ys {
					gl += dgl
					gr += dgr
					ls[j] += yv * gl
					rs[j] += yv * gr
				}
			}
			if !f.advanceDF1(m) {
				chk = math.NaN()
			}
			i += m
		}
	}
	v.curL, v.curR = gl, gr
	return chk
}

// runOsc adds oscillator k, times g, to dst over the block, one render
// call per stretch of control periods with the same frequency.
func runOsc(o *Osc, op *OscParams, k int, dst []float32, segs []ctrlSeg, g float32) {
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
		o.render(dst[segs[a].pos:end], op.Wave, inc, pw, g)
		a = b
	}
}

func pulseWidth(pw float64) float64 {
	if pw == 0 {
		return 0.5
	}
	return pw
}

// fadeLeft is the frames left of the voice's fade-out (fadeSlot).
func (v *voice) fadeLeft() int32 { return v.fade }
