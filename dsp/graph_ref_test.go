package dsp

import (
	"math"
	"testing"
)

// refVoice is a naive reference evaluator of a Graph, written
// independently of Compile and the GraphRenderer: it walks the graph
// itself (routes looked up by name, outputs computed recursively with a
// per-sample memo), one sample at a time, with the same primitives (Osc,
// Biquad, ADSR, LFO) and the same control-rate rules (periods of 32
// frames, 16 while an envelope segment is short, cut at envelope segment
// ends; parameters = base + adds, times muls, clamped; amplifier gains
// ramp to their value at the period's end). Envelopes advance one sample
// at a time here, not a period at a time.
type refVoice struct {
	g      *Graph
	sr     float64
	key    uint8
	vel    float64
	gate   bool
	fresh  bool
	cur    bool // an event cut the period
	tick   int
	in     VoiceInput
	osc    [MaxModules]Osc
	filt   [MaxModules]Biquad
	env    [MaxModules]ADSR
	lfo    [MaxModules]LFO
	inc    [MaxModules]float64
	val    [MaxModules][MaxParams]float64 // this period's parameter values
	ampG   [MaxModules]float32
	ampDG  [MaxModules]float32
	ampTgt [MaxModules]float64
	ctlS   [MaxModules]float64 // control values at the period start
	ctlE   [MaxModules]float64 // and end
	done   [MaxModules]bool    // memo flags for the current walk
	memo   [MaxModules]float32
}

func newRef(g *Graph, key uint8, vel float64, seed uint64) *refVoice {
	rv := &refVoice{g: g, sr: 48000, key: key, vel: vel, gate: true, fresh: true}
	for i := 0; i < int(g.NModules); i++ {
		m := &g.Modules[i]
		switch m.Kind {
		case KindOsc, KindNoise:
			rv.osc[i].Reset(seed*MaxModules + uint64(i))
		case KindEnv:
			rv.env[i].Configure(ADSRConfig{Attack: m.Value(EnvAttack), Decay: m.Value(EnvDecay), Sustain: m.Value(EnvSustain),
				Release: m.Value(EnvRelease), Curve: Curve(m.Value(EnvCurve))}, rv.sr)
			rv.env[i].GateOn()
		case KindLFO:
			rv.lfo[i].Reset(seed*MaxModules + uint64(i))
		}
	}
	return rv
}

func (rv *refVoice) index(id [16]byte) int {
	for i := 0; i < int(rv.g.NModules); i++ {
		if rv.g.Modules[i].ID == id {
			return i
		}
	}
	panic("no module")
}

// param returns parameter j of module i from the control values ctl.
func (rv *refVoice) param(i, j int, ctl *[MaxModules]float64) float64 {
	m := &rv.g.Modules[i]
	x := m.Value(j)
	if m.Kind == KindFilter && j == FilterCutoff {
		x = math.Log2(x)
	}
	touched := false
	for _, op := range []RouteOp{RouteAdd, RouteMul} {
		for r := 0; r < int(rv.g.NRoutes); r++ {
			rt := &rv.g.Routes[r]
			if rt.To != m.ID || rt.Op != op || !eqName(&rt.Port, m.Kind.Param(j).Name) {
				continue
			}
			s := ctl[rv.index(rt.From)]
			touched = true
			if op == RouteAdd {
				x += rt.Amount * s
			} else {
				x *= 1 + rt.Amount*(s-1)
			}
		}
	}
	if touched && !(m.Kind == KindFilter && j == FilterCutoff) {
		x = clampF(x, m.Kind.Param(j).Min, m.Kind.Param(j).Max)
	}
	return x
}

// control evaluates module i's control output at the period start
// (end=false) or end, recursively.
func (rv *refVoice) control(i int, end bool) float64 {
	ctl := &rv.ctlS
	if end {
		ctl = &rv.ctlE
	}
	if rv.done[i] {
		return ctl[i]
	}
	m := &rv.g.Modules[i]
	// Evaluate the sources first.
	for r := 0; r < int(rv.g.NRoutes); r++ {
		if rt := &rv.g.Routes[r]; rt.To == m.ID {
			if s := rv.index(rt.From); !rv.g.Modules[s].Kind.AudioOut() {
				rv.control(s, end)
			}
		}
	}
	var x float64
	switch m.Kind {
	case KindEnv:
		if end {
			x = rv.env[i].peek(rv.tick)
		} else {
			x = rv.env[i].level
		}
	case KindLFO:
		if d := rv.param(i, LFODepth, ctl); d > 0 {
			x = rv.lfo[i].value(LFOShape(m.Value(LFOShapeParam)), false) * d
		}
	case KindInput:
		x = inputValue(m.Value(InputSource), &GraphVoice{key: rv.key, vel: rv.vel, gate: rv.gate}, &rv.in)
	}
	ctl[i] = x
	rv.done[i] = true
	return x
}

// startPeriod is a control point.
func (rv *refVoice) startPeriod() {
	tick := ctrlFrames
	for i := 0; i < int(rv.g.NModules); i++ {
		if e := &rv.env[i]; e.left > 0 {
			if e.total < int(fastSegmentSeconds*rv.sr) {
				tick = min(tick, fastCtrlFrames)
			}
			tick = min(tick, e.left)
		}
	}
	rv.tick = tick
	n := int(rv.g.NModules)
	clear(rv.done[:])
	for i := 0; i < n; i++ {
		if !rv.g.Modules[i].Kind.AudioOut() {
			rv.control(i, false)
		}
	}
	for i := 0; i < n; i++ { // the LFOs run on (with the start's rate) while they have depth
		if m := &rv.g.Modules[i]; m.Kind == KindLFO && rv.param(i, LFODepth, &rv.ctlS) > 0 {
			rv.lfo[i].advance(float64(tick) * rv.param(i, LFORate, &rv.ctlS) / rv.sr)
		}
	}
	clear(rv.done[:])
	for i := 0; i < n; i++ {
		if !rv.g.Modules[i].Kind.AudioOut() {
			rv.control(i, true)
		}
	}
	for i := 0; i < n; i++ {
		m := &rv.g.Modules[i]
		for j := 0; j < m.Kind.NumParams(); j++ {
			rv.val[i][j] = rv.param(i, j, &rv.ctlS)
		}
		switch m.Kind {
		case KindOsc:
			semis := rv.val[i][OscSemi] + rv.val[i][OscDetune]*0.01 + rv.in.Bend
			if hz := m.Value(OscHz); hz > 0 {
				rv.inc[i] = hz * exp2Fast(semis/12) / rv.sr
			} else {
				rv.inc[i] = 440 * exp2Fast((float64(rv.key)-69+semis)/12) / rv.sr
			}
		case KindFilter:
			typ := FilterType(m.Value(FilterTypeParam))
			f := &rv.filt[i]
			if rv.fresh {
				f.setChunk(voiceFilterChunk)
				f.setRate(rv.sr)
				f.initLog(typ, rv.val[i][FilterCutoff], rv.val[i][FilterQ])
			} else {
				f.setTargetLog(typ, rv.val[i][FilterCutoff], rv.val[i][FilterQ])
			}
		case KindAmp:
			g0, g1 := rv.val[i][AmpGain], rv.param(i, AmpGain, &rv.ctlE)
			switch {
			case rv.fresh:
			case rv.cur:
				g0 = float64(rv.ampG[i])
			default:
				g0 = rv.ampTgt[i]
			}
			rv.ampG[i] = float32(g0)
			rv.ampDG[i] = float32((g1 - g0) / float64(tick))
			rv.ampTgt[i] = g1
		}
	}
	rv.fresh, rv.cur = false, false
}

// audio returns module i's output at this sample.
func (rv *refVoice) audio(i int) float32 {
	if rv.done[i] {
		return rv.memo[i]
	}
	m := &rv.g.Modules[i]
	input := func(port string) (float32, bool) {
		for r := 0; r < int(rv.g.NRoutes); r++ {
			if rt := &rv.g.Routes[r]; rt.To == m.ID && eqName(&rt.Port, port) {
				x := rv.audio(rv.index(rt.From))
				if rt.Amount != 1 {
					x *= float32(rt.Amount)
				}
				return x, true
			}
		}
		return 0, false
	}
	var t [1]float32
	var y float32
	switch m.Kind {
	case KindOsc:
		rv.osc[i].render(t[:], Wave(m.Value(OscWave)), rv.inc[i], rv.val[i][OscPW], 1)
		y = t[0] * float32(rv.val[i][OscLevel])
	case KindNoise:
		rv.osc[i].render(t[:], WhiteNoise+Wave(m.Value(NoiseColor)), 0, 0, 1)
		y = t[0] * float32(rv.val[i][NoiseLevel])
	case KindFilter:
		t[0], _ = input("in")
		f := &rv.filt[i]
		f.span(1)
		f.runDF1(t[:], t[:])
		f.advanceDF1(1)
		y = t[0]
	case KindAmp:
		x, _ := input("in")
		rv.ampG[i] += rv.ampDG[i]
		y = x * rv.ampG[i]
	case KindMix:
		for k := 0; k < MaxInputs; k++ {
			if x, ok := input(m.Kind.Input(k)); ok {
				y += x * float32(rv.val[i][k])
			}
		}
	case KindShaper: // the soft clip of SoftClip's doc, in float64
		x, _ := input("in")
		u := clampF(float64(x)*rv.val[i][ShaperAmount], -3, 3)
		y = float32(u * (27 + u*u) / (27 + 9*u*u))
	}
	rv.done[i] = true
	rv.memo[i] = y
	return y
}

// next renders one sample.
func (rv *refVoice) next() float32 {
	if rv.tick == 0 {
		rv.startPeriod()
	}
	clear(rv.done[:])
	y := rv.audio(rv.index(rv.g.Out))
	for i := range rv.env {
		if rv.env[i].left > 0 {
			rv.env[i].skip(1)
		}
	}
	rv.tick--
	return y
}

func (rv *refVoice) noteOff() {
	for i := range rv.env {
		rv.env[i].GateOff()
	}
	rv.gate = false
	rv.cur = true
	rv.tick = 0
}

// TestGraphMatchesReference renders graphs with the compiled program and
// with the reference evaluator: they agree within 1e-6 (see below), and
// the compiled output is bit-identical whatever the block size.
//
// Why not bit-exact against the reference: the compiler folds gains the
// reference applies one by one (an oscillator's level into its mixer's
// level, a filter's input gain into its amplifier's), which rounds the
// float32 products differently (1 ulp, about 6e-8 of full scale), and the
// reference advances envelopes one sample at a time where the renderer
// takes a period in one step (about 1e-16 relative). Everything else is
// the same arithmetic.
func TestGraphMatchesReference(t *testing.T) {
	cases := []struct {
		name      string
		g         *Graph
		key       uint8
		vel       float64
		hold, rel int
		in        VoiceInput
	}{
		{"sub6", graphSub6(t), 57, 0.9, 20000, 12000, VoiceInput{}},
		{"everything", graphLFOPatch(t), 64, 0.7, 15000, 6000, VoiceInput{Bend: 0.3, Mod: 0.6}},
		{"short segments", graphBuild(t, "a", "o:osc", "a:amp", "e:env", "o.wave=sine",
			"e.attack=0.0001", "e.decay=0.0003", "e.sustain=0.5", "e.release=0.0002", "a.gain=0", "o>a.in", "e>a.gain"), 69, 1, 3000, 1000, VoiceInput{}},
		{"fan out", graphBuild(t, "m2", "o:osc", "f1:filter", "f2:filter", "m2:mix", "l:lfo",
			"f2.type=highpass", "f1.cutoff=500", "f2.cutoff=3000", "l.rate=3", "l.shape=samplehold",
			"o>f1.in*0.5", "o>f2.in", "f1>m2.in1", "f2>m2.in2*0.3", "l>f1.cutoff", "l>m2.level1*0.5"), 50, 1, 9000, 3000, VoiceInput{Bend: -1}},
		// A shaper before the filter (a preset's drive), its gain scaled
		// by its input route and swept by an envelope; one after the
		// amplifier as the output; an LFO whose depth follows
		// mod_pressure.
		{"shapers", graphBuild(t, "sh2", "o:osc", "n:noise", "m:mix", "sh:shaper", "f:filter", "a:amp", "sh2:shaper",
			"e:env", "fe:env", "l:lfo", "mp:input", "n.level=0.2", "sh.amount=3", "sh2.amount=1.5", "f.cutoff=900", "f.q=2",
			"e.attack=0.002", "e.decay=0.3", "e.sustain=0.7", "e.release=0.1", "e.curve=exponential",
			"fe.attack=0.05", "fe.decay=0.1", "fe.sustain=0", "a.gain=0", "l.depth=0", "l.rate=6", "mp.source=mod_pressure",
			"o>m.in1", "n>m.in2", "m>sh.in*0.6", "sh>f.in", "f>a.in", "a>sh2.in*2", "e>a.gain*0.8", "fe>sh.amount*20",
			"fe>f.cutoff*2", "mp>l.depth*0.5", "l>o.semi"), 45, 0.8, 12000, 6000, VoiceInput{Mod: 0.2, Pressure: 0.7}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := mustCompile(t, c.g)
			want := make([]float32, c.hold+c.rel)
			rv := newRef(c.g, c.key, c.vel, 7)
			rv.in = c.in
			for i := range want {
				if i == c.hold {
					rv.noteOff()
				}
				want[i] = rv.next()
			}
			var first []float32
			for _, blk := range []int{64, 1, 7, 256, 333} {
				got := make([]float32, len(want))
				var r GraphRenderer
				r.Init(48000)
				var v GraphVoice
				r.NoteOn(p, &v, c.key, c.vel, 7)
				for i := 0; i < len(got); {
					if i == c.hold {
						r.NoteOff(p, &v)
					}
					e := min(i+blk, len(got))
					if i < c.hold {
						e = min(e, c.hold)
					}
					r.Render(p, &v, c.in, got[i:e])
					i = e
				}
				if first == nil {
					first = got
					worst, at := 0.0, 0
					for i := range got {
						if d := math.Abs(float64(got[i] - want[i])); d > worst || math.IsNaN(d) {
							worst, at = d, i
						}
					}
					if !(worst <= 1e-6) {
						t.Errorf("differs from the reference by %g at frame %d (%g, want %g)", worst, at, got[at], want[at])
					}
					if synRMS(got) < 1e-3 {
						t.Errorf("rms %g: silent", synRMS(got))
					}
					t.Logf("max |compiled - reference| = %g", worst)
					continue
				}
				for i := range got {
					if got[i] != first[i] {
						t.Fatalf("block size %d: frame %d is %g, with 64-frame blocks %g", blk, i, got[i], first[i])
					}
				}
			}
		})
	}
}
