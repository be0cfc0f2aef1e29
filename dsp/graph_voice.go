package dsp

// The graph runtime: a GraphVoice is the state of one note playing a
// GraphProgram, a GraphRenderer the scratch space and sample rate that render
// it. Like the hand-written voice (voice.go) it works in control periods
// of ctrlFrames frames (fastCtrlFrames while an envelope segment is short)
// counted from the note-on, cut where an envelope segment ends so that
// envelope corners are exact; the result does not depend on how the
// caller splits its blocks. At each control point the control modules
// (env, lfo, input) are evaluated in topological order and the
// modulation routes applied once; the audio modules then run block-wise,
// one call per module over stretches of periods with unchanged settings:
// oscillator pitch and filter targets step per period (the filter glides,
// as in the hand-written voice), amplifier gains ramp linearly across a
// period towards their value at its end.

// maxGraphSegs is the number of control periods one render pass plans;
// a block with more (many very short envelope segments) takes more passes.
const maxGraphSegs = 32

// VoiceInput holds the channel inputs a graph voice reads at every
// control point.
type VoiceInput struct {
	Bend     float64 // pitch bend in semitones (added to every oscillator)
	Mod      float64 // mod wheel 0..1
	Pressure float64 // channel pressure 0..1
}

// GraphVoice is one note playing a GraphProgram. It is pointer-free (a plain
// value; see TestGraphSizes for its size), so a synth can keep a pool of
// them in its snapshot state. The zero value is a silent, finished voice.
type GraphVoice struct {
	on      bool // playing (see Done)
	gate    bool // key held
	fresh   bool // first control point pending: jump instead of gliding
	fromCur bool // an event cut the period: amplifier ramps start at the running gain
	once    bool // one-shot: it ends when its envelopes have decayed to 0, gate or not
	key     uint8
	vel     float64
	tick    int32 // frames left of the running control period
	lag     int32 // frames the envelopes lag behind (they advance at control points)

	osc   [MaxOscs]Osc
	filt  [MaxFilters]Biquad
	env   [MaxEnvs]ADSR
	lfo   [MaxLFOs]LFO
	amp   [MaxAmps]graphAmp
	semis [MaxOscs]float64 // pitch offset each oscillator's increment is for

	// The control values of the last period, so that modules whose
	// modulation did not change keep their period values.
	dirty        bool // recompute every module at the next control point
	bend         float64
	prevS, prevE [MaxModules]float64

	row [MaxSegVals]float64 // the running control period's values (GraphProgram.nvals used)
}

// graphAmp is an amplifier's running gain.
type graphAmp struct {
	tgt     float64 // gain at the end of the running period
	cur, dg float32 // gain at the last rendered frame, per-frame slope
}

// GraphRenderer renders GraphVoices: it holds the sample rate and the
// scratch space (audio buffers, the planned control periods), no voice
// state, so one renderer serves any number of voices and programs. It is
// pointer-free. Render thread only.
type GraphRenderer struct {
	sr, invSr  float64
	fastSeg    int
	regS, regE [MaxModules]float64            // control values at a period's start and end
	eff        [MaxModules][MaxParams]float64 // modulated parameters
	segs       [maxGraphSegs]graphSeg
	bufs       [MaxModules][MaxBlock]float32
}

// graphSeg is the part of a block one control period covers.
type graphSeg struct {
	pos, m int32
	start  bool // a period starts here (filter targets, amplifier ramps restart)
	init   bool // the voice's first period: filters jump to their target
	v      [MaxSegVals]float64
}

// Init sets the sample rate (8000..MaxSampleRate; anything else means
// 48000). Voices started at another rate must be restarted.
func (r *GraphRenderer) Init(sampleRate float64) {
	if !(sampleRate >= 8000 && sampleRate <= MaxSampleRate) {
		sampleRate = DefaultSampleRate
	}
	r.sr = sampleRate
	r.invSr = 1 / sampleRate
	r.fastSeg = int(fastSegmentSeconds * sampleRate)
}

// NoteOn starts v on p at key with velocity 0..1; seed seeds the noise
// and sample-and-hold generators. A voice still sounding is retriggered:
// its envelopes restart from their current level and its oscillators
// keep their phase, so nothing clicks. Render thread; never allocates.
func (r *GraphRenderer) NoteOn(p *GraphProgram, v *GraphVoice, key uint8, vel float64, seed uint64) {
	if !p.valid || r.sr == 0 {
		*v = GraphVoice{}
		return
	}
	if v.on {
		v.syncEnv(p)
	} else {
		*v = GraphVoice{}
		// Seeds follow the modules' places in the graph, not the
		// program's order.
		for _, k := range p.aud[:p.naud] {
			if op := &p.ops[k]; op.kind == KindOsc || op.kind == KindNoise {
				v.osc[op.slot].Reset(seed*MaxModules + uint64(op.reg))
			}
		}
		v.fresh = true
	}
	for _, k := range p.ctl[:p.nctl] {
		op := &p.ops[k]
		switch op.kind {
		case KindEnv:
			e := &v.env[op.slot]
			e.Configure(op.envCfg, r.sr)
			e.GateOn()
		case KindLFO:
			v.lfo[op.slot].Reset(seed*MaxModules + uint64(op.reg))
		}
	}
	v.fromCur = !v.fresh
	v.dirty = true
	v.on, v.gate, v.once = true, true, p.once
	v.key, v.vel = key&127, clampF(vel, 0, 1)
	v.tick = 0 // a new control period starts now
}

// NoteOff releases v's envelopes. Render thread; never allocates.
func (r *GraphRenderer) NoteOff(p *GraphProgram, v *GraphVoice) {
	if !v.on || !v.gate {
		return
	}
	v.syncEnv(p)
	for s := 0; s < int(p.nenv); s++ {
		v.env[s].GateOff()
	}
	v.gate = false
	v.fromCur = true
	v.tick = 0
}

// Done reports whether v is silent for good: never started, released
// with every envelope finished (a graph without envelopes ends at its
// note-off), or, for a one-shot graph, with every envelope at rest at 0
// (decayed to its sustain of 0), released or not. It reflects the
// envelopes as of the last control point.
func (v *GraphVoice) Done() bool {
	if !v.on {
		return true
	}
	if v.gate && !v.once {
		return false
	}
	for s := range v.env {
		if e := &v.env[s]; e.stage != stIdle && !(v.once && e.left == 0 && e.level == 0) {
			return false
		}
	}
	return true
}

// endsIn returns the frames from now to the end of v's last running
// envelope segment, or 0 when none runs. A released voice is Done there
// (release is every envelope's last segment), and a control period ends
// there (periods never cross a segment's end).
func (v *GraphVoice) endsIn(p *GraphProgram) int {
	n := 0
	for s := 0; s < int(p.nenv); s++ {
		if e := &v.env[s]; e.left > 0 {
			n = max(n, e.left-int(v.lag))
		}
	}
	return n
}

// syncEnv brings the envelopes up to the current frame (they advance
// lazily, a whole control period in one step).
func (v *GraphVoice) syncEnv(p *GraphProgram) {
	if v.lag > 0 {
		for s := 0; s < int(p.nenv); s++ {
			if v.env[s].left > 0 {
				v.env[s].skip(int(v.lag))
			}
		}
		v.lag = 0
	}
}

// Render overwrites out with the next len(out) frames of v playing p (the
// program v was started on). A voice that is not playing renders silence;
// one whose state turns non-finite is silenced and finished. Render
// thread; never allocates.
func (r *GraphRenderer) Render(p *GraphProgram, v *GraphVoice, in VoiceInput, out []float32) {
	r.render(p, v, &in, &graphSink{out: out}, len(out))
}

// RenderAdd is Render for a stereo mix: it adds the voice times gl to l
// and times gr to rt (n = min(len(l), len(rt)) frames), in the last
// module's loop. Render thread; never allocates.
func (r *GraphRenderer) RenderAdd(p *GraphProgram, v *GraphVoice, in VoiceInput, l, rt []float32, gl, gr float32) {
	n := min(len(l), len(rt))
	r.render(p, v, &in, &graphSink{l: l[:n], r: rt[:n], gl: gl, gr: gr, stereo: true}, n)
}

// graphSink is where the last module's output goes: out (overwritten),
// or added to l and r with gains gl, gr.
type graphSink struct {
	out, l, r []float32
	gl, gr    float32
	stereo    bool
}

// slice returns the sink's part [a, b) (relative to the current block).
func (sk *graphSink) slice(a, b int) graphSink {
	if sk.stereo {
		return graphSink{l: sk.l[a:b], r: sk.r[a:b], gl: sk.gl, gr: sk.gr, stereo: true}
	}
	return graphSink{out: sk.out[a:b]}
}

func (r *GraphRenderer) render(p *GraphProgram, v *GraphVoice, in *VoiceInput, sk *graphSink, n int) {
	if !v.on || !p.valid || r.sr == 0 {
		if !sk.stereo {
			clear(sk.out)
		}
		return
	}
	in.Bend = clampF(in.Bend, -96, 96)
	in.Mod = clampF(in.Mod, 0, 1)
	in.Pressure = clampF(in.Pressure, 0, 1)
	for off := 0; off < n; {
		m := min(n-off, MaxBlock)
		bs := sk
		if m != n {
			part := sk.slice(off, off+m)
			bs = &part
		}
		if !r.block(p, v, in, bs, m) {
			if !sk.stereo {
				clear(sk.out)
			}
			*v = GraphVoice{}
			return
		}
		off += m
	}
	if v.tick == 0 {
		// The block ends on a control point: sync now, so that Done sees
		// an envelope that ended with this block.
		v.syncEnv(p)
	}
}

// block renders n <= MaxBlock frames into sk; false: the state turned
// non-finite (sk may hold part of the block).
func (r *GraphRenderer) block(p *GraphProgram, v *GraphVoice, in *VoiceInput, sk *graphSink, n int) bool {
	nv := int(p.nvals)
	for c0 := 0; c0 < n; {
		// Control pass: plan the periods of this stretch.
		ns, c1 := 0, c0
		for c1 < n && ns < maxGraphSegs {
			sg := &r.segs[ns]
			sg.start, sg.init = false, false
			if v.tick <= 0 {
				sg.start, sg.init = true, v.fresh
				r.control(p, v, in)
			}
			copy(sg.v[:nv], v.row[:nv])
			m := min(int(v.tick), n-c1)
			sg.pos, sg.m = int32(c1), int32(m)
			v.tick -= int32(m)
			v.lag += int32(m)
			c1 += m
			ns++
		}
		// Audio pass: each module over the whole stretch.
		if !r.audio(p, v, r.segs[:ns], c0, c1, sk) {
			return false
		}
		c0 = c1
	}
	return true
}

// period returns the length of the control period that starts now:
// ctrlFrames, fastCtrlFrames while an envelope segment is shorter than
// fastSegmentSeconds, and never past the end of an envelope segment.
func (r *GraphRenderer) period(p *GraphProgram, v *GraphVoice) int {
	tick := ctrlFrames
	for s := 0; s < int(p.nenv); s++ {
		if e := &v.env[s]; e.left > 0 {
			if e.total < r.fastSeg {
				tick = min(tick, fastCtrlFrames)
			}
			tick = min(tick, e.left)
		}
	}
	return tick
}

// params returns op k's parameters for this period: its fixed values, or,
// when routes modulate it, those plus the routes' contributions (from the
// control values reg), clamped to the parameters' ranges (a filter's
// cutoff is clamped by the filter).
func (r *GraphRenderer) params(p *GraphProgram, k uint8, reg *[MaxModules]float64) *[MaxParams]float64 {
	op := &p.ops[k]
	if op.nmod == 0 {
		return &op.p
	}
	e := &r.eff[k]
	np := len(kindInfos[op.kind].params)
	copy(e[:np], op.p[:np])
	ms := p.mods[op.mod0 : op.mod0+op.nmod]
	for i := range ms {
		m := &ms[i]
		x := reg[m.src]
		if m.op == RouteAdd {
			e[m.param] += m.amount * x
		} else {
			e[m.param] *= 1 + m.amount*(x-1)
		}
	}
	ps := kindInfos[op.kind].params
	for i := range ms {
		j := ms[i].param
		if op.kind == KindFilter && j == FilterCutoff {
			continue
		}
		e[j] = clampF(e[j], ps[j].Min, ps[j].Max)
	}
	return e
}

// modOne returns parameter j of op k for this period (params for one
// parameter, without the copy).
func modOne(p *GraphProgram, op *progOp, j uint8, reg *[MaxModules]float64) float64 {
	x := op.p[j]
	if op.pmod&(1<<j) == 0 { // no route modulates it
		return x
	}
	for _, m := range p.mods[op.mod0 : op.mod0+op.nmod] {
		if m.param != j {
			continue
		}
		if m.op == RouteAdd {
			x += m.amount * reg[m.src]
		} else {
			x *= 1 + m.amount*(reg[m.src]-1)
		}
	}
	if !(op.kind == KindFilter && j == FilterCutoff) {
		ps := &kindInfos[op.kind].params[j]
		x = clampF(x, ps.Min, ps.Max)
	}
	return x
}

// rampSlope returns the per-frame slope from g0 to g1 over tick frames.
func rampSlope(g0, g1 float64, tick int) float64 {
	inv := 1.0 / ctrlFrames // a constant: no division in the common case
	if tick != ctrlFrames {
		inv = 1 / float64(tick)
	}
	return (g1 - g0) * inv
}

// inputValue returns an input module's value.
func inputValue(src float64, v *GraphVoice, in *VoiceInput) float64 {
	switch int(src) {
	case InputKey:
		return (float64(v.key) - 60) * (1.0 / 12)
	case InputVelocity:
		return v.vel
	case InputVelocity2:
		return v.vel * v.vel
	case InputGate:
		if v.gate {
			return 1
		}
		return 0
	case InputBend:
		return in.Bend
	case InputMod:
		return in.Mod
	case InputPressure:
		return in.Pressure
	case InputModPressure:
		return max(in.Mod, in.Pressure)
	}
	return 0
}

// control starts a control period: it syncs the envelopes, evaluates the
// control modules (at the period's start and, for amplifier ramps, its
// end) and writes the period's values of the audio modules into v.row.
func (r *GraphRenderer) control(p *GraphProgram, v *GraphVoice, in *VoiceInput) {
	v.syncEnv(p)
	tick := r.period(p, v)
	fresh := v.fresh
	for _, k := range p.ctl[:p.nctl] {
		op := &p.ops[k]
		var x float64
		switch op.kind {
		case KindEnv:
			x = v.env[op.slot].level
		case KindLFO:
			// The LFO runs only while it has depth: a depth brought in
			// later (mod wheel) starts it at phase 0, smoothly.
			pp := r.params(p, k, &r.regS)
			if d := pp[LFODepth]; d > 0 {
				l := &v.lfo[op.slot]
				x = l.value(LFOShape(op.p[LFOShapeParam]), false) * d
				l.advance(float64(tick) * pp[LFORate] * r.invSr)
			}
		case KindInput:
			x = inputValue(op.p[InputSource], v, in)
		}
		r.regS[op.reg] = x
	}
	if p.ramp {
		// The same at the period's end, for the amplifiers' ramps.
		for _, k := range p.ctl[:p.nctl] {
			op := &p.ops[k]
			x := r.regS[op.reg]
			switch op.kind {
			case KindEnv:
				x = v.env[op.slot].peek(tick)
			case KindLFO:
				pp := r.params(p, k, &r.regE)
				x = 0
				if d := pp[LFODepth]; d > 0 {
					x = v.lfo[op.slot].value(LFOShape(op.p[LFOShapeParam]), false) * d
				}
			}
			r.regE[op.reg] = x
		}
	}
	// Which control values changed since the last period.
	all := fresh || v.dirty
	var changed uint16
	for _, k := range p.ctl[:p.nctl] {
		i := p.ops[k].reg
		if r.regS[i] != v.prevS[i] || p.ramp && r.regE[i] != v.prevE[i] {
			changed |= 1 << i
			v.prevS[i], v.prevE[i] = r.regS[i], r.regE[i]
		}
	}
	bendMoved := in.Bend != v.bend
	v.bend = in.Bend
	row := &v.row
	aud := p.aud[:p.naud]
	if !all && changed == 0 && !bendMoved {
		aud = p.ampOps[:p.namp] // only the amplifiers' ramps restart
	}
	for _, k := range aud {
		op := &p.ops[k]
		if !all && op.deps&changed == 0 && !(bendMoved && op.kind == KindOsc) {
			// Nothing this module depends on moved: its values stay,
			// except that an amplifier's ramp restarts from where it is.
			if op.kind == KindAmp {
				a := &v.amp[op.slot]
				g0 := a.tgt
				if v.fromCur {
					g0 = float64(a.cur)
				}
				row[op.val] = g0
				row[op.val+1] = rampSlope(g0, a.tgt, tick)
			}
			continue
		}
		var pp *[MaxParams]float64
		if op.kind == KindOsc || op.kind == KindNoise || op.kind == KindMix {
			pp = r.params(p, k, &r.regS)
		}
		switch op.kind {
		case KindOsc:
			semis := pp[OscSemi] + pp[OscDetune]*0.01 + in.Bend
			if fresh || semis != v.semis[op.slot] {
				v.semis[op.slot] = semis
				var hz float64
				if fixed := op.p[OscHz]; fixed > 0 {
					hz = fixed * exp2Fast(semis*(1.0/12))
				} else {
					hz = 440 * exp2Fast((float64(v.key)-69+semis)*(1.0/12))
				}
				row[op.val] = hz * r.invSr
			}
			row[op.val+1] = pp[OscPW]
			row[op.val+2] = pp[OscLevel]
		case KindNoise:
			row[op.val] = pp[NoiseLevel]
		case KindShaper:
			row[op.val] = modOne(p, op, ShaperAmount, &r.regS) * op.inAmt[0]
		case KindFilter:
			row[op.val] = modOne(p, op, FilterCutoff, &r.regS)
			row[op.val+1] = modOne(p, op, FilterQ, &r.regS)
		case KindAmp:
			a := &v.amp[op.slot]
			g := modOne(p, op, AmpGain, &r.regS) * op.inAmt[0]
			g1 := g
			if op.nmod > 0 {
				g1 = modOne(p, op, AmpGain, &r.regE) * op.inAmt[0]
			}
			var g0 float64
			switch {
			case fresh:
				g0 = g
			case v.fromCur:
				g0 = float64(a.cur)
			default:
				g0 = a.tgt
			}
			a.tgt = g1
			row[op.val] = g0
			row[op.val+1] = rampSlope(g0, g1, tick)
		case KindMix:
			for j := 0; j < MaxInputs; j++ {
				lv := pp[j] * op.inAmt[j]
				if f := op.fold[j]; f != noBuf {
					row[p.ops[f].gv] *= lv
				} else {
					row[op.val+uint8(j)] = lv
				}
			}
		}
	}
	v.tick = int32(tick)
	v.fresh, v.fromCur, v.dirty = false, false, false
}

// audio runs the audio modules over the periods segs, which cover frames
// c0..c1 of the block; the last one (the output: every other module
// feeds it, so it comes last) writes into sk. It returns false when a
// filter's state turned non-finite.
func (r *GraphRenderer) audio(p *GraphProgram, v *GraphVoice, segs []graphSeg, c0, c1 int, sk *graphSink) bool {
	ok := true
	last := p.aud[p.naud-1]
	for _, k := range p.aud[:p.naud] {
		op := &p.ops[k]
		y := r.bufs[op.buf][:]
		switch op.kind {
		case KindOsc, KindNoise:
			if op.clear {
				clear(y[c0:c1])
			}
			runGraphOsc(&v.osc[op.slot], op, y, segs)
		case KindFilter:
			if op.fused {
				continue
			}
			x := r.bufs[op.in[0]][:]
			if amt := op.inAmt[0]; amt != 1 {
				a := float32(amt)
				for i := c0; i < c1; i++ {
					y[i] = x[i] * a
				}
				x = y
			}
			if !r.runGraphFilter(&v.filt[op.slot], op, x, y, segs) {
				ok = false
			}
		case KindAmp:
			out := sk
			var own graphSink
			if k != last {
				own.out = y[:c1]
				out = &own
			}
			if !r.runGraphAmp(p, v, op, r.bufs[op.in[0]][:], y, segs, out) {
				ok = false
			}
			continue
		case KindShaper:
			x := r.bufs[op.in[0]][:]
			for si := range segs {
				s := &segs[si]
				shape(x[s.pos:s.pos+s.m], y[s.pos:s.pos+s.m], float32(s.v[op.val]))
			}
		case KindMix:
			if op.clear {
				clear(y[c0:c1])
			}
			for j := 0; j < MaxInputs; j++ {
				if op.in[j] == noBuf {
					continue
				}
				x := r.bufs[op.in[j]][:]
				for si := range segs {
					s := &segs[si]
					lv := float32(s.v[op.val+uint8(j)])
					xs := x[s.pos : s.pos+s.m]
					ys := y[s.pos : s.pos+s.m]
					ys = ys[:len(xs)]
					for i, xv := range xs {
						ys[i] += lv * xv
					}
				}
			}
		}
		if k == last { // the output is in y: copy or mix it into sk
			ys := y[c0:c1]
			if sk.stereo {
				ls, rs := sk.l[c0:c1], sk.r[c0:c1]
				ls, rs = ls[:len(ys)], rs[:len(ys)]
				for i, yv := range ys {
					ls[i] += yv * sk.gl
					rs[i] += yv * sk.gr
				}
			} else {
				copy(sk.out[c0:c1], ys)
			}
		}
	}
	return ok
}

// shape writes the soft clip of g·x into y (they may be the same
// buffer): SoftClip's curve, x·(27+x²)/(27+9x²) for |x| <= 3 and ±1
// beyond, with any gain (SoftClip raises a gain below 1 to 1; here a
// route's amount may scale the input down).
func shape(x, y []float32, g float32) {
	y = y[:len(x)]
	for i, v := range x {
		u := v * g
		if u > 3 {
			u = 3
		} else if u < -3 {
			u = -3
		}
		u2 := u * u
		w := u * (27 + u2) / (27 + 9*u2)
		if w > 1 { // float32 rounding near |u| = 3
			w = 1
		} else if w < -1 {
			w = -1
		} else if w != w { // NaN input
			w = 0
		}
		y[i] = w
	}
}

// runGraphOsc adds an oscillator or noise module into y, one render call
// per stretch of periods with the same increment, pulse width and gain.
func runGraphOsc(o *Osc, op *progOp, y []float32, segs []graphSeg) {
	var w Wave
	osc := op.kind == KindOsc
	if osc {
		w = Wave(op.p[OscWave])
	} else {
		w = WhiteNoise + Wave(op.p[NoiseColor])
	}
	for a := 0; a < len(segs); {
		s := &segs[a]
		g := s.v[op.gv]
		var inc, pw float64
		if osc {
			inc, pw = s.v[op.val], s.v[op.val+1]
		}
		b := a + 1
		for b < len(segs) && segs[b].v[op.gv] == g && (!osc || segs[b].v[op.val] == inc && segs[b].v[op.val+1] == pw) {
			b++
		}
		end := segs[b-1].pos + segs[b-1].m
		o.render(y[s.pos:end], w, inc, pw, float32(g))
		a = b
	}
}

// runGraphFilter filters x into y (they may be the same buffer) period by
// period: a new target at every period start (the filter glides to it),
// or, on the voice's first period, a jump.
func (r *GraphRenderer) runGraphFilter(f *Biquad, op *progOp, x, y []float32, segs []graphSeg) bool {
	ok := true
	for a := range segs {
		s := &segs[a]
		if s.start {
			r.filterTarget(f, op, s)
		}
		for i, end := int(s.pos), int(s.pos+s.m); i < end; {
			m := f.span(end - i)
			f.runDF1(x[i:i+m], y[i:i+m])
			if !f.advanceDF1(m) {
				ok = false
			}
			i += m
		}
	}
	return ok
}

// filterTarget applies a period's filter target: a glide towards it, or
// on the voice's first period a jump.
func (r *GraphRenderer) filterTarget(f *Biquad, op *progOp, s *graphSeg) {
	typ := FilterType(op.p[FilterTypeParam])
	if s.init {
		f.setChunk(voiceFilterChunk)
		f.setRate(r.sr)
		f.initLog(typ, s.v[op.val], s.v[op.val+1])
	} else {
		f.setTargetLog(typ, s.v[op.val], s.v[op.val+1])
	}
}

// sameTarget reports whether period s leaves filter f as it is (its
// target is the one f has; filterTarget would change nothing).
func sameTarget(f *Biquad, op *progOp, s *graphSeg) bool {
	return !s.init && f.clampLog(s.v[op.val]) == f.ltarget && clampQ(s.v[op.val+1]) == f.qTarget
}

// runGraphAmp writes x times the running gain into out (which may be x
// itself); the gain ramps linearly across each period. An amplifier with
// a fused filter runs the filter on x first, in the same loop where the
// filter is a static low-pass (the common case, as in mixVoice), else
// into y and then the gains. It returns false when the filter's state
// turned non-finite.
func (r *GraphRenderer) runGraphAmp(p *GraphProgram, v *GraphVoice, op *progOp, x, y []float32, segs []graphSeg, out *graphSink) bool {
	a := &v.amp[op.slot]
	var f *Biquad
	var fop *progOp
	if op.filt != noBuf {
		fop = &p.ops[op.filt]
		f = &v.filt[fop.slot]
	}
	ok := true
	g := a.cur
	for si := 0; si < len(segs); {
		s := &segs[si]
		if s.start {
			g = float32(s.v[op.val])
			if f != nil {
				r.filterTarget(f, fop, s)
			}
		}
		dg := float32(s.v[op.val+1])
		end := int(s.pos + s.m)
		si++
		if dg == 0 {
			// Constant gain: run on through the periods that change
			// nothing (same gain, no slope, the same filter target).
			for si < len(segs) && segs[si].v[op.val+1] == 0 &&
				(!segs[si].start || float32(segs[si].v[op.val]) == g && (f == nil || sameTarget(f, fop, &segs[si]))) {
				end += int(segs[si].m)
				si++
			}
		}
		for i := int(s.pos); i < end; {
			m := end - i
			if f == nil {
				g = gainOut(x[i:i+m], g, dg, out, i)
				i += m
				continue
			}
			m = f.span(m)
			if f.typ == LowPass && f.rampLeft == 0 {
				g = lowpassGainOut(f, x[i:i+m], g, dg, out, i)
			} else {
				f.runDF1(x[i:i+m], y[i:i+m])
				g = gainOut(y[i:i+m], g, dg, out, i)
			}
			if !f.advanceDF1(m) {
				ok = false
			}
			i += m
		}
	}
	a.cur = g
	return ok
}

// gainOut writes (or mixes) xs times a gain ramp into out at offset at
// and returns the gain reached.
func gainOut(xs []float32, g, dg float32, out *graphSink, at int) float32 {
	if out.stereo {
		ls, rs := out.l[at:at+len(xs)], out.r[at:at+len(xs)]
		gl, gr := out.gl, out.gr
		for i, xv := range xs {
			g += dg
			a := xv * g
			ls[i] += a * gl
			rs[i] += a * gr
		}
		return g
	}
	ys := out.out[at : at+len(xs)]
	for i, xv := range xs {
		g += dg
		ys[i] = xv * g
	}
	return g
}

// lowpassGainOut is runDF1's static low-pass and gainOut in one loop: the
// gain ramp runs in the shadow of the filter's recursion.
func lowpassGainOut(f *Biquad, xs []float32, g, dg float32, out *graphSink, at int) float32 {
	x1, x2, y1, y2 := f.x1, f.x2, f.y1, f.y2
	b0, a1, a2 := f.c.b0, f.c.a1, f.c.a2
	if out.stereo {
		ls, rs := out.l[at:at+len(xs)], out.r[at:at+len(xs)]
		gl, gr := out.gl, out.gr
		for i, xv32 := range xs {
			xv := float64(xv32)
			yv := b0*(xv+x1+x1+x2) - a2*y2 - a1*y1
			x2, x1 = x1, xv
			y2, y1 = y1, yv
			g += dg
			a := float32(yv) * g
			ls[i] += a * gl
			rs[i] += a * gr
		}
	} else {
		ys := out.out[at : at+len(xs)]
		for i, xv32 := range xs {
			xv := float64(xv32)
			yv := b0*(xv+x1+x1+x2) - a2*y2 - a1*y1
			x2, x1 = x1, xv
			y2, y1 = y1, yv
			g += dg
			ys[i] = float32(yv) * g
		}
	}
	f.x1, f.x2, f.y1, f.y2 = x1, x2, y1, y2
	return g
}
