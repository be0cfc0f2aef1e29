package dsp

import (
	"math"
	"math/bits"
)

// Per-patch effects. A graph's fx modules (drive, delay) form its effects
// chain (compiled into GraphProgram.fx). Each program instance whose
// chain has a stage owns a chain state, and while that chain runs
// (Synth.g.fxLive) the instance's voices are not added to the mix one by
// one: they are summed, each with its channel's volume and pan, into a
// stereo bus, the chain processes the bus in place, and the bus joins the
// mix. Instances without a chain mix their voices directly, exactly as
// before effects existed.
//
// The stages, for input x (each channel alike):
//
//	drive: y = level·((1-mix)·x + mix·T(sat(amount·x)))
//	       sat is SoftClip's curve (drive.go), T a one-pole low-pass at
//	       tone Hz (none at 20000)
//	delay: y[t] = (1-mix)·x[t] + mix·e[t], e[t] = w[t-D],
//	       w[t] = x[t] + feedback·T(e)[t], D = round(time·sampleRate)
//	       frames, T a one-pole low-pass at tone Hz (none at 20000), so
//	       echo k of an impulse comes k·D frames later, feedback^(k-1)
//	       times mix, each darker than the one before
//
// with the one-pole y += a·(x-y), a = 1-exp(-2π·tone/sampleRate).
//
// Lifetime. A chain starts with its instance's first note and runs while
// a voice of the instance sounds and then until its tail has died away:
// its output stayed under fxQuiet (-100 dBFS) for fxHold frames plus its
// delay's length with no voice sounding; from that frame it outputs
// silence and stops. While it runs the instance counts as used, so it is
// not reused for a commit (see usedInstances); when commits need an
// instance and none is free, a retired instance's tail fades out like its
// voices (unpark). All sound off on a channel fades out, once their voices
// have ended, the tails of the chains that channel's notes fed.
//
// Delay lines. A delay line is big (2·fxDelayLen float32, 768 KB), so a
// synth has FxDelayUnits of them, not one per instance. A chain takes a
// line for its delay when a note starts it (and at each later note while
// it has none) and gives it back when it stops. With every line taken, a
// retired instance (no slot names it) whose voices have all ended gives
// its line up: its tail fades out (fadeSeconds) and the line then passes
// to the waiting chain, whose echoes start from there. With no such
// instance either, the delay runs without a line: its wet part is silent
// (the output is (1-mix)·x, so taking a line later needs no jump), and
// the note is counted in GraphFxStats.DelayBypassed. Commits are never
// refused for want of a line.

// FxDelayUnits is the number of delay lines a Synth shares among the
// program instances whose effects chain has a delay.
const FxDelayUnits = 4

// MaxFxDelaySeconds is the longest time of a delay effect.
const MaxFxDelaySeconds = 1

const (
	fxDelayLen = MaxFxDelaySeconds * MaxSampleRate // frames of a delay line
	fxToneOpen = 20000                             // a tone at this cutoff leaves its low-pass out
	fxQuiet    = 1e-5                              // -100 dBFS: below it a chain's output counts as silent
	fxHold     = 64                                // silent frames (beyond a delay's length) that end a tail
)

// fxDelayLine is one of the synth's shared delay lines: a ring of d
// frames, read (the echo of d frames ago) and then written at w.
type fxDelayLine struct {
	line [2][fxDelayLen]float32
	d    int32 // delay in frames, 1..fxDelayLen: the ring's length
	w    int32 // read and write index
	fill int32 // frames written since the line was taken, up to d (unwritten frames read as 0)
}

// fxStage is the running state of one stage of a chain.
type fxStage struct {
	a    float32    // one-pole low-pass coefficient (1: none)
	lp   [2]float32 // low-pass states, left and right
	gain float32    // drive: amount; delay: feedback
	dry  float32    // gain of the input
	wet  float32    // gain of the effect
	unit int8       // delay: the line it holds, -1 none (its wet part is silent)
}

// fxChain is the effects-chain state of one program instance.
type fxChain struct {
	fading bool   // fading out: fade frames left, then it stops
	cut    bool   // fade out once no voice of the instance sounds (all sound off)
	fade   int32  // frames left of the fade-out
	quiet  int32  // silent frames in a row with no voice sounding
	hold   int32  // silent frames that end the tail
	serial uint64 // its latest note (Synth.serial)
	chans  uint16 // channels whose notes it took
	st     [MaxFx]fxStage
}

// GraphFxStats describes the effects chains of a synth's graph patches.
type GraphFxStats struct {
	Chains     int // program instances whose chain runs (voices or a ringing tail)
	DelayLines int // delay lines in use, of FxDelayUnits
	// DelayBypassed counts notes that started a chain, or played on one,
	// whose delay found no line: its echoes were missing until it got one.
	DelayBypassed uint64
}

// GraphFxStats returns the state of the effects chains. Same thread as
// Render; never allocates.
func (s *Synth) GraphFxStats() GraphFxStats {
	gs := &s.g
	st := GraphFxStats{Chains: bits.OnesCount64(gs.fxLive), DelayBypassed: gs.fxSkips}
	for _, o := range gs.fxOwner {
		if o != 0 {
			st.DelayLines++
		}
	}
	return st
}

// toneCoef returns the one-pole coefficient of a tone parameter.
func toneCoef(hz, sampleRate float64) float32 {
	if hz >= fxToneOpen {
		return 1
	}
	return float32(1 - math.Exp(-2*math.Pi*hz/sampleRate))
}

// fxNoteOn starts instance inst's chain (or joins it) for a note on
// channel ch.
func (s *Synth) fxNoteOn(inst int, ch uint8) {
	gs := &s.g
	f := &gs.fx[inst]
	if gs.fxLive&(1<<uint(inst)) == 0 || f.fading {
		// A chain fading out after all sound off starts again (what is
		// left of its tail is dropped).
		s.fxStop(inst)
		s.fxStart(inst)
	}
	f.cut = false
	f.serial = s.serial
	f.chans |= 1 << (ch & 15)
	p := &gs.progs[inst]
	for k := 0; k < int(p.nfx); k++ {
		if p.fx[k].kind == KindDelay && f.st[k].unit < 0 && !s.fxTake(inst, k) {
			gs.fxSkips++
		}
	}
}

// fxStart sets up instance inst's chain from its program (no delay line
// yet: fxNoteOn takes them).
func (s *Synth) fxStart(inst int) {
	gs := &s.g
	f := &gs.fx[inst]
	p := &gs.progs[inst]
	*f = fxChain{hold: fxHold}
	for k := 0; k < int(p.nfx); k++ {
		f.st[k].setup(&p.fx[k], s.sr)
	}
	gs.fxLive |= 1 << uint(inst)
}

// setup sets a stage up for its compiled parameters, with no delay line.
func (st *fxStage) setup(fx *progFx, sampleRate float64) {
	*st = fxStage{unit: -1}
	switch fx.kind {
	case KindDrive:
		st.a = toneCoef(fx.p[DriveTone], sampleRate)
		st.gain = float32(fx.p[DriveAmount])
		st.dry = float32(fx.p[DriveLevel] * (1 - fx.p[DriveMix]))
		st.wet = float32(fx.p[DriveLevel] * fx.p[DriveMix])
	case KindDelay:
		st.a = toneCoef(fx.p[DelayTone], sampleRate)
		st.gain = float32(fx.p[DelayFeedback])
		st.dry = float32(1 - fx.p[DelayMix])
		st.wet = float32(fx.p[DelayMix])
	}
}

// delayFrames returns a delay stage's time in frames.
func (fx *progFx) delayFrames(sampleRate float64) int32 {
	return int32(clamp(math.Round(fx.p[DelayTime]*sampleRate), 1, fxDelayLen))
}

// fxStop stops instance inst's chain and gives its delay lines back (to
// a chain waiting for one, if any).
func (s *Synth) fxStop(inst int) {
	gs := &s.g
	gs.fx[inst] = fxChain{}
	gs.fxLive &^= 1 << uint(inst)
	for u, nx := range gs.fxNext {
		if int(nx) == inst+1 {
			gs.fxNext[u] = 0 // it waits no more
		}
	}
	for u := range gs.fxOwner {
		if int(gs.fxOwner[u]) != inst+1 {
			continue
		}
		gs.fxOwner[u] = 0
		if nx := int(gs.fxNext[u]) - 1; nx >= 0 {
			gs.fxNext[u] = 0
			s.fxGive(nx, u)
		}
	}
}

// fxGive gives free line u to the delay of instance inst's chain, if it
// still runs and waits for one.
func (s *Synth) fxGive(inst, u int) {
	gs := &s.g
	f := &gs.fx[inst]
	if gs.fxLive&(1<<uint(inst)) == 0 || f.fading {
		return
	}
	p := &gs.progs[inst]
	for k := 0; k < int(p.nfx); k++ {
		if p.fx[k].kind == KindDelay && f.st[k].unit < 0 {
			s.fxAssign(inst, k, u)
			return
		}
	}
}

// fxAssign gives line u to stage k (a delay) of instance inst's chain.
func (s *Synth) fxAssign(inst, k, u int) {
	gs := &s.g
	f := &gs.fx[inst]
	ln := &gs.fxLines[u]
	ln.d, ln.w, ln.fill = gs.progs[inst].fx[k].delayFrames(s.sr), 0, 0
	gs.fxOwner[u] = uint8(inst) + 1
	f.st[k].unit = int8(u)
	f.st[k].lp = [2]float32{}
	f.hold = max(f.hold, ln.d+fxHold)
}

// fxTake finds a line for stage k (a delay) of instance inst's chain: a
// free one, or the line of a retired instance whose voices have all
// ended, which fades out its tail and then passes the line on (fxStop).
// It returns false when there is neither.
func (s *Synth) fxTake(inst, k int) bool {
	gs := &s.g
	for _, nx := range gs.fxNext {
		if int(nx) == inst+1 {
			return true // a line is on its way
		}
	}
	for u := range gs.fxOwner {
		if gs.fxOwner[u] == 0 && gs.fxNext[u] == 0 {
			s.fxAssign(inst, k, u)
			return true
		}
	}
	named := s.namedInstances()
	best := -1
	for u, o := range gs.fxOwner {
		y := int(o) - 1
		if y < 0 || named&(1<<uint(y)) != 0 || gs.fxNext[u] != 0 {
			continue
		}
		if best < 0 || gs.fx[y].serial < gs.fx[int(gs.fxOwner[best])-1].serial {
			best = u
		}
	}
	if best < 0 {
		return false
	}
	gs.fxNext[best] = uint8(inst) + 1
	s.fxFade(int(gs.fxOwner[best]) - 1)
	return true
}

// fxFade starts fading out instance inst's chain (never lengthens a fade).
func (s *Synth) fxFade(inst int) {
	f := &s.g.fx[inst]
	if s.g.fxLive&(1<<uint(inst)) == 0 || f.fading && f.fade <= s.fadeLen {
		return
	}
	f.fading, f.fade = true, s.fadeLen
}

// fxSoundOff marks the chains that channel ch's notes fed to fade out
// once their voices have ended.
func (s *Synth) fxSoundOff(ch uint8) {
	gs := &s.g
	for set := gs.fxLive; set != 0; set &= set - 1 {
		if f := &gs.fx[bits.TrailingZeros64(set)]; f.chans&(1<<(ch&15)) != 0 {
			f.cut = true
		}
	}
}

// renderFx renders the voices of instance inst among gs.fxList[:nv] into
// the bus, runs the instance's chain on it and adds it to l and r.
func (s *Synth) renderFx(inst, nv int, l, r []float32) {
	gs := &s.g
	n := len(l)
	bl, br := gs.fxBus[0][:n], gs.fxBus[1][:n]
	clear(bl)
	clear(br)
	until := 0 // frames of the block in which a voice of inst sounds
	for _, i := range gs.fxList[:nv] {
		v := &gs.voices[i]
		if gs.active[i/64]&(1<<(i%64)) == 0 || int(v.inst) != inst {
			continue
		}
		until = max(until, s.runGraphVoice(v, bl, br))
		if v.done() {
			*v = graphVoice{}
			gs.active[i/64] &^= 1 << (i % 64)
		}
	}
	f := &gs.fx[inst]
	p := &gs.progs[inst]
	for k := 0; k < int(p.nfx); k++ {
		st := &f.st[k]
		switch p.fx[k].kind {
		case KindDrive:
			st.drive(bl, gs.fxTmp[:n], 0)
			st.drive(br, gs.fxTmp[:n], 1)
		case KindDelay:
			if st.unit >= 0 {
				gs.fxLines[st.unit].process(st, bl, br)
			} else {
				for i := range bl {
					bl[i] *= st.dry
					br[i] *= st.dry
				}
			}
		}
	}
	ended := f.tail(bl, br, until, s.fadeLen, gs.invFade)
	for i := range l {
		l[i] += bl[i]
		r[i] += br[i]
	}
	if ended {
		s.fxStop(inst)
	}
}

// drive runs a drive stage on channel c's samples x in place (tmp is
// scratch of len(x)).
func (st *fxStage) drive(x, tmp []float32, c int) {
	copy(tmp, x)
	SoftClip(tmp, st.gain)
	if a := st.a; a != 1 {
		// Flushed per sample (not per block), so that the output does not
		// depend on where the blocks are split.
		y := st.lp[c]
		for i, v := range tmp {
			y = flush32(y + a*(v-y))
			tmp[i] = y
		}
		st.lp[c] = y
	}
	dry, wet := st.dry, st.wet
	for i, v := range tmp {
		x[i] = dry*x[i] + wet*v
	}
}

// process runs a delay stage on l and r in place.
func (ln *fxDelayLine) process(st *fxStage, l, r []float32) {
	d, w, fill := int(ln.d), int(ln.w), int(ln.fill)
	L, R := ln.line[0][:d], ln.line[1][:d]
	fb, dry, wet, a := st.gain, st.dry, st.wet, st.a
	yl, yr := st.lp[0], st.lp[1]
	r = r[:len(l)]
	for i := range l {
		var el, er float32 // the echo: what was written d frames ago
		if fill >= d {
			el, er = L[w], R[w]
		} else {
			fill++
		}
		fl, fr := el, er
		if a != 1 {
			yl = flush32(yl + a*(el-yl))
			yr = flush32(yr + a*(er-yr))
			fl, fr = yl, yr
		}
		xl, xr := l[i], r[i]
		L[w] = flush32(xl + fb*fl)
		R[w] = flush32(xr + fb*fr)
		l[i] = xl*dry + el*wet
		r[i] = xr*dry + er*wet
		if w++; w == d {
			w = 0
		}
	}
	ln.w, ln.fill = int32(w), int32(fill)
	st.lp = [2]float32{yl, yr}
}

// tail applies the chain's fade-out to its output l, r and finds where
// its tail ends: a voice sounds in the first until frames; after them the
// chain ends once its output stayed under fxQuiet for hold frames, or its
// fade reached zero. It reports whether the chain ended, and zeroes the
// output from there on, so that where a chain stops does not depend on
// how the blocks are split.
func (f *fxChain) tail(l, r []float32, until int, fadeLen int32, invFade float32) bool {
	q := f.quiet
	r = r[:len(l)]
	for i := range l {
		if f.cut && !f.fading && i >= until {
			f.fading, f.fade = true, fadeLen
		}
		if f.fading {
			f.fade--
			g := float32(max(f.fade, 0)) * invFade
			l[i] *= g
			r[i] *= g
			if f.fade <= 0 && i >= until {
				clear(l[i:])
				clear(r[i:])
				return true
			}
		}
		if i < until || !(l[i] < fxQuiet && l[i] > -fxQuiet && r[i] < fxQuiet && r[i] > -fxQuiet) {
			q = 0
			continue
		}
		if q++; q >= f.hold {
			clear(l[i:])
			clear(r[i:])
			return true
		}
	}
	f.quiet = q
	return false
}
