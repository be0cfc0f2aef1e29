package dsp

import (
	"math"
	"slices"
	"testing"
	"time"
)

// fxSineItems is graphSine's voice: a 0.5 sine through an amplifier
// opened by an envelope with a 20 ms release.
var fxSineItems = []string{"osc1:osc", "env1:env", "amp1:amp",
	"osc1.wave=sine", "osc1.level=0.5",
	"env1.attack=0.005", "env1.decay=0.01", "env1.sustain=1", "env1.release=0.02",
	"amp1.gain=0", "osc1>amp1.in", "env1>amp1.gain"}

// fxGraph is the sine voice followed by the effects items fx
// ("id:kind", "id.param=value").
func fxGraph(t testing.TB, fx ...string) *Graph {
	return graphBuild(t, "amp1", append(slices.Clone(fxSineItems), fx...)...)
}

// fxSynth is a synth whose master chain is linear: no shared delay,
// reverb or drive (the limiter stays under its ceiling).
func fxSynth(t testing.TB) *Synth {
	s := synNew(t, 0)
	synDry(s)
	s.setParam(0, ParamMasterDrive, 0)
	return s
}

// fxPlay commits g into slot 0 for channel 0, plays key 69 from frame 0
// for hold frames and renders n frames in blocks of blk.
func fxPlay(t testing.TB, g *Graph, hold, n, blk int) (l, r []float32, s *Synth) {
	t.Helper()
	s = fxSynth(t)
	synCommit(t, s, g, 0, 0, 0)
	synNote(s, 0, 0, 69, 0.8)
	synOff(s, uint64(hold), 0, 69)
	l, r = synRender(s, n, blk)
	return l, r, s
}

func fxStageFor(kind ModuleKind, p [4]float64) (*progFx, *fxStage) {
	fx := &progFx{kind: kind, p: p}
	st := new(fxStage)
	st.setup(fx, synRate)
	return fx, st
}

// TestFxDelayImpulse: an impulse comes back every D = round(time·rate)
// frames, the first echo mix times it, each next one feedback times the
// one before, and nothing else; with a tone, echo k has gone k-1 times
// through the one-pole low-pass (a·(1-a)^n, DC gain 1).
func TestFxDelayImpulse(t *testing.T) {
	cases := []struct {
		time, fb, mix, tone float64
		wantD               int
	}{
		{0.25, 0.5, 0.3, fxToneOpen, 12000},
		{0.0101, 0.95, 1, fxToneOpen, 485},
		{0.001, 0, 0.5, fxToneOpen, 48},
		{0.02, 0.8, 0.6, 2000, 960},
	}
	for _, c := range cases {
		fx, st := fxStageFor(KindDelay, [4]float64{c.time, c.fb, c.mix, c.tone})
		ln := new(fxDelayLine)
		ln.d = fx.delayFrames(synRate)
		if int(ln.d) != c.wantD {
			t.Fatalf("time %v: D = %d, want %d", c.time, ln.d, c.wantD)
		}
		st.unit = 0
		d := c.wantD
		n := 4*d + 50
		l := make([]float32, n)
		r := make([]float32, n)
		l[0], r[0] = 1, -0.5
		for i := 0; i < n; i += 37 { // blocks that do not divide D
			e := min(i+37, n)
			ln.process(st, l[i:e], r[i:e])
		}
		mix, fb := float64(float32(c.mix)), float64(float32(c.fb))
		a := float64(toneCoef(c.tone, synRate))
		for i := 0; i < n; i++ {
			want := 0.0
			switch k, m := i/d, i%d; {
			case i == 0:
				want = 1 - mix
			case k >= 1 && c.tone == fxToneOpen && m == 0:
				want = mix * math.Pow(fb, float64(k-1))
			case k == 1 && m == 0:
				want = mix
			case k == 2 && c.tone != fxToneOpen:
				want = mix * fb * a * math.Pow(1-a, float64(m))
			case k >= 3 && c.tone != fxToneOpen:
				continue // checked by its sum below
			}
			if math.Abs(float64(l[i])-want) > 1e-6 || math.Abs(float64(r[i])+0.5*want) > 1e-6 {
				t.Fatalf("%+v: frame %d = %g, %g; want %g, %g", c, i, l[i], r[i], want, -0.5*want)
			}
		}
		if c.tone != fxToneOpen {
			sum := 0.0
			for _, v := range l[3*d : 4*d] {
				sum += float64(v)
			}
			// Echo 3 sums to mix·fb² (DC gain 1), less the part past 4D.
			if want := mix * fb * fb; math.Abs(sum-want) > 0.01*want {
				t.Fatalf("%+v: echo 3 sums to %g, want %g", c, sum, want)
			}
		}
	}
}

// soft is SoftClip's documented curve: x(27+x²)/(27+9x²) of x clamped
// to ±3.
func soft(x float64) float64 {
	x = math.Max(-3, math.Min(3, x))
	return x * (27 + x*x) / (27 + 9*x*x)
}

// TestFxDriveCurve: with the tone open the drive follows
// level·((1-mix)·x + mix·sat(amount·x)).
func TestFxDriveCurve(t *testing.T) {
	for _, c := range [][4]float64{
		{1, fxToneOpen, 1, 1}, {3, fxToneOpen, 1, 1}, {20, fxToneOpen, 1, 1},
		{4, fxToneOpen, 0.5, 0.8}, {100, fxToneOpen, 0.25, 2},
	} {
		_, st := fxStageFor(KindDrive, c)
		x := make([]float32, 4001)
		for i := range x {
			x[i] = float32(-1.5 + 3*float64(i)/4000)
		}
		y := slices.Clone(x)
		tmp := make([]float32, len(x))
		st.drive(y, tmp, 0)
		amount, mix, level := c[0], c[2], c[3]
		for i := range x {
			xv := float64(x[i])
			want := level * ((1-mix)*xv + mix*soft(amount*xv))
			if math.Abs(float64(y[i])-want) > 2e-6*math.Max(1, level) {
				t.Fatalf("%v: f(%g) = %g, want %g", c, xv, y[i], want)
			}
			if math.Abs(float64(y[i])) > level*math.Max(1, math.Abs(xv))+1e-6 {
				t.Fatalf("%v: |f(%g)| = %g exceeds its bound", c, xv, y[i])
			}
		}
	}
}

// TestFxDriveHarmonics: the drive adds odd harmonics that grow with the
// amount; at low level the third is (2/27)·(amount·A)² of the
// fundamental (the curve is x - (8/27)x³ + ...), and the tone low-pass
// scales the fundamental by the one-pole's |H|.
func TestFxDriveHarmonics(t *testing.T) {
	const f0 = 375 // whole cycles in the window
	const n = 1 << 14
	amp := 0.1
	prev := -200.0
	for _, amount := range []float64{1, 2, 4, 8} {
		_, st := fxStageFor(KindDrive, [4]float64{amount, fxToneOpen, 1, 1})
		x := sine(n, f0, synRate, amp)
		inBlocks(x, func(b []float32) { st.drive(b, make([]float32, len(b)), 0) })
		h1 := sineFit(x, f0, synRate, 0)
		h2 := sineFit(x, 2*f0, synRate, 0)
		h3 := sineFit(x, 3*f0, synRate, 0)
		thd := thdDB(x, synRate, f0, 9)
		if thd <= prev+3 {
			t.Fatalf("amount %v: THD %.1f dB, not above %.1f dB", amount, thd, prev)
		}
		prev = thd
		if h2 > 1e-5*h1 {
			t.Fatalf("amount %v: even harmonic %g (the curve is odd)", amount, h2/h1)
		}
		aA := amount * amp
		if aA < 0.3 {
			want := 2.0 / 27 * aA * aA
			if got := h3 / h1; math.Abs(20*math.Log10(got/want)) > 0.5 {
				t.Fatalf("amount %v: third harmonic %.3g of the fundamental, want %.3g", amount, got, want)
			}
		}
	}
	if thd := thdDB(sine(n, f0, synRate, amp), synRate, f0, 9); thd > -100 {
		t.Fatalf("the test sine itself has THD %.1f dB", thd)
	}

	for _, c := range []struct{ tone, hz float64 }{{1000, 300}, {1000, 1000}, {4000, 6000}, {500, 2000}} {
		gain := func(tone float64) float64 {
			_, st := fxStageFor(KindDrive, [4]float64{2, tone, 1, 1})
			return toneGainDB(func(b []float32) { st.drive(b, make([]float32, len(b)), 0) }, c.hz, synRate)
		}
		a := float64(toneCoef(c.tone, synRate))
		w := 2 * math.Pi * c.hz / synRate
		h := a / math.Hypot(1-(1-a)*math.Cos(w), (1-a)*math.Sin(w))
		got := gain(c.tone) - gain(fxToneOpen)
		if want := 20 * math.Log10(h); math.Abs(got-want) > 0.05 {
			t.Fatalf("tone %v Hz at %v Hz: %.3f dB, want %.3f dB", c.tone, c.hz, got, want)
		}
	}
}

// TestFxDelayInSynth: a patch's delay echoes its voices, summed with
// their channel gains, at its time and feedback: the output is
// (1-mix)·A + mix·e, e[t] = A[t-D] + fb·e[t-D], A the same patch without
// effects.
func TestFxDelayInSynth(t *testing.T) {
	for _, c := range []struct {
		time, fb, mix string
		d             int
	}{{"0.1", "0.5", "0.4", 4800}, {"0.0371", "0.9", "1", 1781}} {
		const n, hold = 36000, 4000
		a, ar, _ := fxPlay(t, fxGraph(t), hold, n, 64)
		b, br, s := fxPlay(t, fxGraph(t, "dly:delay", "dly.time="+c.time, "dly.feedback="+c.fb, "dly.mix="+c.mix), hold, n, 100)
		fb, mix := float64(float32(parseF(t, c.fb))), float64(float32(parseF(t, c.mix)))
		for ch, pair := range [][2][]float32{{a, b}, {ar, br}} {
			a, b := pair[0], pair[1]
			e := make([]float64, n)
			for i := c.d; i < n; i++ {
				e[i] = float64(a[i-c.d]) + fb*e[i-c.d]
			}
			worst := 0.0
			for i := range b {
				want := (1-mix)*float64(a[i]) + mix*e[i]
				worst = math.Max(worst, math.Abs(float64(b[i])-want))
			}
			if worst > 2e-6 {
				t.Fatalf("%+v channel %d: off by %g", c, ch, worst)
			}
		}
		if synPeak(b[hold+2000:]) < 0.01 || synPeak(a[hold+2000:]) != 0 {
			t.Fatalf("%+v: no echo after the note", c)
		}
		if st := s.GraphFxStats(); st.Chains != 1 || st.DelayLines != 1 || st.DelayBypassed != 0 {
			t.Fatalf("%+v: %+v", c, st)
		}
	}
}

// TestFxDriveInSynth: a patch's drive shapes its summed voices by its
// curve.
func TestFxDriveInSynth(t *testing.T) {
	const n, hold = 12000, 6000
	a, _, _ := fxPlay(t, fxGraph(t), hold, n, 64)
	b, _, _ := fxPlay(t, fxGraph(t, "d:drive", "d.amount=6", "d.mix=0.75", "d.level=0.5"), hold, n, 77)
	for i := range b {
		x := float64(a[i])
		if want := 0.5 * (0.25*x + 0.75*soft(6*x)); math.Abs(float64(b[i])-want) > 1e-6 {
			t.Fatalf("frame %d: %g, want %g", i, b[i], want)
		}
	}
	if synPeak(b) < synPeak(a) { // 0.5·a if it were linear
		t.Fatalf("peak %g from %g: not driven", synPeak(b), synPeak(a))
	}
}

// TestFxBypassExact: effects that cannot change the sound (a delay with
// mix 0, a drive with mix 0 and level 1) are left out, and the patch
// sounds bit for bit as without them.
func TestFxBypassExact(t *testing.T) {
	g := fxGraph(t, "d:drive", "d.amount=50", "d.mix=0", "dly:delay", "dly.mix=0", "dly.feedback=0.9")
	if p := mustCompile(t, g); p.nfx != 0 {
		t.Fatalf("%d stages compiled", p.nfx)
	}
	const n = 20000
	a, ar, _ := fxPlay(t, fxGraph(t), 5000, n, 64)
	b, br, s := fxPlay(t, g, 5000, n, 64)
	if !slices.Equal(a, b) || !slices.Equal(ar, br) {
		t.Fatal("the bypassed chain changed the sound")
	}
	if st := s.GraphFxStats(); st.Chains != 0 || st.DelayLines != 0 {
		t.Fatalf("%+v", st)
	}
}

// TestFxTailEnds: the chain outlives its voices while its echoes ring,
// then stops where its output has stayed under fxQuiet for D+fxHold
// frames: silence from there on, the delay line free, the instance
// reusable. Echoes are spaced further than the note lasts, so the last
// one above fxQuiet is the k-th with mix·fb^(k-1)·peak >= fxQuiet.
func TestFxTailEnds(t *testing.T) {
	const d = 9600
	g := fxGraph(t, "dly:delay", "dly.time=0.2", "dly.feedback=0.5", "dly.mix=0.5")
	a, _, _ := fxPlay(t, fxGraph(t), 2000, 8000, 64)
	peak := synPeak(a)
	const n = 48000 * 6
	l, _, s := fxPlay(t, g, 2000, n, 128)
	last := -1
	for i, v := range l {
		if math.Abs(float64(v)) >= fxQuiet {
			last = i
		}
	}
	k := 1 + int(math.Floor(math.Log(fxQuiet/(0.5*peak))/math.Log(0.5)))
	if last < k*d || last > k*d+8000 {
		t.Fatalf("last audible frame %d, want echo %d at %d", last, k, k*d)
	}
	end := last + d + fxHold
	if !synAllZero(l[end:]) || synAllZero(l[end-fxHold:end]) {
		t.Fatalf("the tail does not end at frame %d", end)
	}
	if st := s.GraphFxStats(); st.Chains != 0 || st.DelayLines != 0 {
		t.Fatalf("after the tail: %+v", st)
	}
	if u := s.usedInstances(); u != 1<<uint(s.g.slots[0]-1) {
		t.Fatalf("instances in use %b", u)
	}
}

// TestFxCompile: effects take no routes, cannot be the output, and are
// limited to MaxFx (MaxFxDelays delays) with ranged parameters; the
// chain keeps their order.
func TestFxCompile(t *testing.T) {
	cases := []struct {
		name  string
		items []string
		out   string
		code  GraphErrorCode
	}{
		{"ok", []string{"d:drive", "e:delay", "d2:drive"}, "amp1", ErrNone},
		{"route to fx", []string{"e:delay", "env1>e.mix"}, "amp1", ErrFxRoute},
		{"route from fx", []string{"d:drive", "d>amp1.gain"}, "amp1", ErrFxRoute},
		{"fx out", []string{"d:drive"}, "d", ErrFxOut},
		{"too many", []string{"a:drive", "b:drive", "c:drive", "d:drive", "e:drive"}, "amp1", ErrKindLimit},
		{"two delays", []string{"a:delay", "b:delay"}, "amp1", ErrKindLimit},
		{"time", []string{"e:delay", "e.time=1.5"}, "amp1", ErrParamRange},
		{"feedback", []string{"e:delay", "e.feedback=0.96"}, "amp1", ErrParamRange},
		{"amount", []string{"d:drive", "d.amount=0.5"}, "amp1", ErrParamRange},
		{"tone", []string{"d:drive", "d.tone=100"}, "amp1", ErrParamRange},
	}
	for _, c := range cases {
		g := graphBuild(t, c.out, append(slices.Clone(fxSineItems), c.items...)...)
		var p GraphProgram
		err := Compile(g, &p)
		if c.code == ErrNone {
			if err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			if p.nfx != 3 || p.fx[0].kind != KindDrive || p.fx[1].kind != KindDelay || p.nops != 3 {
				t.Fatalf("%s: chain %d stages %v %v, %d ops", c.name, p.nfx, p.fx[0].kind, p.fx[1].kind, p.nops)
			}
			continue
		}
		ge, ok := err.(*GraphError)
		if !ok || ge.Code != c.code {
			t.Fatalf("%s: %v, want code %d", c.name, err, c.code)
		}
		t.Logf("%s: %v", c.name, err)
	}
	for k := KindNone; k <= numKinds; k++ {
		if k.Fx() != (k == KindDrive || k == KindDelay) || k.Fx() && (k.AudioOut() || k.NumInputs() != 0) {
			t.Fatalf("%v: Fx %v", k, k.Fx())
		}
	}
}

// fxDelayPatch is the sine voice with a long, slowly decaying echo.
func fxDelayPatch(t testing.TB, semi string) *Graph {
	g := fxGraph(t, "dly:delay", "dly.time=0.05", "dly.feedback=0.9", "dly.mix=0.5")
	if err := g.SetParam("osc1", "semi", parseF(t, semi)); err != nil {
		t.Fatal(err)
	}
	return g
}

// TestFxDelayLinesRunOut: with every line held by a patch a slot names,
// a fifth delay plays without echoes (counted) and its dry part only;
// it takes the first line that frees up at its next note.
func TestFxDelayLinesRunOut(t *testing.T) {
	play := func(chans int) ([]float32, *Synth) {
		s := fxSynth(t)
		for ch := 0; ch < chans; ch++ {
			synCommit(t, s, fxDelayPatch(t, itoa(ch)), 0, uint8(ch), uint8(ch))
			synNote(s, uint64(100*ch), uint8(ch), 60, 0.8)
			synOff(s, 3000, uint8(ch), 60)
		}
		l, _ := synRender(s, 9600, 64)
		return l, s
	}
	four, _ := play(FxDelayUnits)
	five, s := play(FxDelayUnits + 1)
	// The fifth chain, without a line, ended with its voice.
	if st := s.GraphFxStats(); st.DelayBypassed != 1 || st.DelayLines != FxDelayUnits || st.Chains != FxDelayUnits {
		t.Fatalf("%+v", st)
	}
	// It added its voice times 1-mix, and no echo.
	ref := fxSynth(t)
	g := fxGraph(t)
	if err := g.SetParam("osc1", "semi", 4); err != nil {
		t.Fatal(err)
	}
	synCommit(t, ref, g, 0, 4, 4)
	synNote(ref, 400, 4, 60, 0.8)
	synOff(ref, 3000, 4, 60)
	voice, _ := synRender(ref, 9600, 64)
	worst := 0.0
	for i := range five {
		want := float64(four[i]) + 0.5*float64(voice[i])
		worst = math.Max(worst, math.Abs(float64(five[i])-want))
	}
	if worst > 1e-6 {
		t.Fatalf("the fifth chain is off by %g", worst)
	}
	// Once the first tails have ended, a note takes a freed line.
	synRender(s, 48000*6, 256)
	if st := s.GraphFxStats(); st.Chains != 0 || st.DelayLines != 0 {
		t.Fatalf("after the tails: %+v", st)
	}
	synNote(s, s.Frame(), 4, 62, 0.8)
	synRender(s, 64, 64)
	if st := s.GraphFxStats(); st.DelayBypassed != 1 || st.DelayLines != 1 {
		t.Fatalf("%+v", st)
	}
}

// TestFxRetiredTailGivesUpItsLine: with every line held by the tails of
// retired versions of a patch, a note on the newest version takes the
// line of the oldest tail, which fades out first.
func TestFxRetiredTailGivesUpItsLine(t *testing.T) {
	s := fxSynth(t)
	var insts []int
	for i := 0; i <= FxDelayUnits; i++ {
		synCommit(t, s, fxDelayPatch(t, itoa(i)), s.Frame(), 0, 0)
		synNote(s, s.Frame(), 0, 60, 0.8)
		synOff(s, s.Frame()+500, 0, 60)
		synRender(s, 64, 64)
		insts = append(insts, int(s.g.slots[0])-1)
		if i < FxDelayUnits {
			synRender(s, 2000, 64)
		}
	}
	oldest, newest := insts[0], insts[FxDelayUnits]
	if st := s.GraphFxStats(); st.DelayBypassed != 0 || st.Chains != FxDelayUnits+1 || st.DelayLines != FxDelayUnits {
		t.Fatalf("%+v", st)
	}
	if s.g.fx[newest].st[0].unit >= 0 || !s.g.fx[oldest].fading {
		t.Fatal("the oldest tail did not start to fade for the newest note")
	}
	l, _ := synRender(s, int(s.fadeLen)+64, 64)
	if s.g.fxLive&(1<<uint(oldest)) != 0 || s.g.fx[newest].st[0].unit < 0 {
		t.Fatal("the line did not pass from the oldest tail to the newest note")
	}
	if st := s.GraphFxStats(); st.Chains != FxDelayUnits || st.DelayLines != FxDelayUnits {
		t.Fatalf("%+v", st)
	}
	if d := maxAbsDiff(l); d > 0.05 {
		t.Fatalf("a step of %g while the tail faded", d)
	}
}

// TestFxAllSoundOff: all sound off on a channel ends the tails its notes
// left (after a fade), and no other channel's.
func TestFxAllSoundOff(t *testing.T) {
	s := fxSynth(t)
	synCommit(t, s, fxDelayPatch(t, "0"), 0, 0, 0)
	synNote(s, 0, 0, 60, 0.8)
	synOff(s, 500, 0, 60)
	synRender(s, 4000, 64)
	synCC(s, s.Frame(), 5, 120, 1)
	l, _ := synRender(s, 1000, 64)
	if s.GraphFxStats().Chains != 1 || synPeak(l) < 0.001 {
		t.Fatal("all sound off on another channel ended the tail")
	}
	synCC(s, s.Frame(), 0, 120, 1)
	l, _ = synRender(s, s.Latency()+int(s.fadeLen)+256, 64)
	if s.GraphFxStats().Chains != 0 || !synAllZero(l[len(l)-256:]) || synAllZero(l[:s.Latency()+10]) {
		t.Fatalf("all sound off did not end the tail: %+v", s.GraphFxStats())
	}
	if d := maxAbsDiff(l); d > 0.05 {
		t.Fatalf("a step of %g", d)
	}
}

// TestFxTailKeepsInstance: a retired instance whose tail still rings is
// in use; when commits run out of instances, it is the victim whose
// latest note is oldest, its tail fades out and the parked commit takes
// effect.
func TestFxTailKeepsInstance(t *testing.T) {
	s := synNew(t, 128)
	synDry(s)
	synCommit(t, s, fxDelayPatch(t, "0"), s.Frame(), 0, 0)
	synNote(s, s.Frame(), 0, 30, 0.5)
	synOff(s, s.Frame()+100, 0, 30)
	synRender(s, 3000, 64)
	tail := int(s.g.slots[0]) - 1
	for i := 0; i < graphInstances-GraphSlots; i++ {
		synCommit(t, s, graphSine(t, itoa(i%12), "0.2"), s.Frame(), 0, 0)
		synNote(s, s.Frame(), 0, uint8(40+i), 0.5)
		synRender(s, 64, 64)
	}
	for sl := uint8(1); sl < GraphSlots; sl++ {
		synCommit(t, s, graphSine(t, "0", "0.2"), s.Frame(), sl, 1)
	}
	synRender(s, 256, 64)
	if s.freeInstance() >= 0 || s.g.fxLive != 1<<uint(tail) {
		t.Fatalf("instances free (%b) or no tail (%b)", s.usedInstances(), s.g.fxLive)
	}
	held := synGraphVoices(s)
	synCommit(t, s, graphSine(t, "5", "0.2"), s.Frame()+1000, 0, 2)
	if !s.g.parked {
		t.Fatal("the commit was not parked")
	}
	synRender(s, 3000, 50)
	if s.ChannelGraph(2) != 0 || s.g.parked || s.g.fxLive != 0 {
		t.Fatalf("the parked commit did not take the tail's instance: channel 2 plays %d", s.ChannelGraph(2))
	}
	if got := synGraphVoices(s); got != held {
		t.Fatalf("%d voices, want %d (only the tail faded)", got, held)
	}
}

// fxScript is graphScript with effects: a delay-and-drive patch on
// channel 1 (recommitted halfway, so a retired tail rings on) and a
// toned drive on channel 2, under synScript's notes and all-sound-offs.
func fxScript(t testing.TB, s *Synth, frames int) {
	t.Helper()
	for _, e := range synScript(11, 100, frames, 3000) {
		if !s.Schedule(e) {
			t.Fatal("Schedule failed")
		}
	}
	a := fxDelayPatch(t, "0")
	if err := a.AddModule("d", KindDrive); err != nil {
		t.Fatal(err)
	}
	synCommit(t, s, a, 2000, 0, 1)
	synCommit(t, s, fxGraph(t, "d:drive", "d.amount=3", "d.tone=3000", "d.mix=0.7"), 30000, 1, 2)
	synCommit(t, s, fxDelayPatch(t, "5"), uint64(frames/2), 0, 1)
}

// TestFxDeterminism: chains, their tails and where they end do not
// depend on how Render's caller splits the blocks, and a snapshot
// continues bit-identically.
func TestFxDeterminism(t *testing.T) {
	const frames = 96000
	var chains int
	play := func(sizes []int) []float32 {
		s := synNew(t, 0)
		fxScript(t, s, frames)
		l := make([]float32, frames)
		r := make([]float32, frames)
		for i, k := 0, 0; i < frames; k++ {
			e := min(i+sizes[k%len(sizes)], frames)
			s.Render(l[i:e], r[i:e])
			chains = max(chains, s.GraphFxStats().Chains)
			i = e
		}
		if st := s.Stats(); st.PatchRefused != 0 || st.PatchInvalid != 0 || st.NonFinite != 0 {
			t.Fatalf("stats %+v", st)
		}
		return append(l, r...)
	}
	a := play([]int{64})
	if chains < 2 {
		t.Fatalf("at most %d chains ran", chains)
	}
	b := play([]int{1, 7, 64, 255, 256, 300, 3, 1000, 17})
	synEqual(t, "block sizes", a, b)

	x := synNew(t, 0)
	fxScript(t, x, frames)
	l1, _ := synRender(x, frames*3/5, 64)
	if x.GraphFxStats().Chains == 0 {
		t.Fatal("no chain runs at the snapshot")
	}
	y := new(Synth)
	y.CopyFrom(x)
	lx, rx := synRender(x, frames-len(l1), 64)
	ly, ry := synRender(y, frames-len(l1), 100)
	synEqual(t, "snapshot left", lx, ly)
	synEqual(t, "snapshot right", rx, ry)
}

// TestFxAllocs: notes, commits, chains starting and stopping, lines
// taken, passed on and missing allocate nothing.
func TestFxAllocs(t *testing.T) {
	s := fxSynth(t)
	g := fxDelayPatch(t, "0")
	if err := g.AddModule("d", KindDrive); err != nil {
		t.Fatal(err)
	}
	synStage(t, s, g)
	l := make([]float32, 256)
	r := make([]float32, 256)
	k := 0
	allocs := testing.AllocsPerRun(300, func() {
		slot := uint8(k % 6)
		s.StagePatch(PatchSet, "osc1", "semi", 0, float64(k%12), 0)
		if k%5 == 0 && !s.CommitPatch(s.Frame(), "amp1", slot, slot) {
			t.Fatal("commit refused")
		}
		synNote(s, s.Frame(), slot, uint8(40+k%30), 0.7)
		synOff(s, s.Frame()+300, slot, uint8(40+k%30))
		if k%50 == 49 {
			synCC(s, s.Frame(), slot, 120, 1)
		}
		s.Render(l, r)
		k++
	})
	if allocs != 0 {
		t.Fatalf("rendering with effects allocates %v times", allocs)
	}
	if st := s.GraphFxStats(); st.Chains == 0 || st.DelayLines == 0 || st.DelayBypassed == 0 {
		t.Fatalf("not every path ran: %+v", st)
	}
}

// BenchmarkGraphFxChain renders 64-frame blocks of 8 held notes of graphSub6
// with a drive and a delay (tone on both) and without effects, in
// alternating chunks of 200 blocks, and reports the fastest chunk's cost
// of the chain per frame (the difference) and of a voice sample without
// effects: the chain costs per frame of a sounding patch, not per voice.
func BenchmarkGraphFxChain(b *testing.B) {
	mk := func(fx bool) *Synth {
		s, err := New(Config{})
		if err != nil {
			b.Fatal(err)
		}
		g := graphSub6(b)
		if fx {
			for _, it := range []struct {
				id    string
				k     ModuleKind
				param string
				v     float64
			}{{"d", KindDrive, "tone", 5000}, {"e", KindDelay, "tone", 3000}} {
				if err := g.AddModule(it.id, it.k); err != nil {
					b.Fatal(err)
				}
				if err := g.SetParam(it.id, it.param, it.v); err != nil {
					b.Fatal(err)
				}
			}
		}
		synCommit(b, s, g, 0, 0, 0)
		for k := 0; k < 8; k++ {
			synNote(s, 0, 0, uint8(48+3*k), 0.8)
		}
		return s
	}
	plain, fx := mk(false), mk(true)
	l := make([]float32, benchBlock)
	r := make([]float32, benchBlock)
	chunk := func(s *Synth) time.Duration {
		t0 := time.Now()
		for range 200 {
			s.Render(l, r)
		}
		return time.Since(t0)
	}
	var bp, bf time.Duration
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if d := chunk(plain); bp == 0 || d < bp {
			bp = d
		}
		if d := chunk(fx); bf == 0 || d < bf {
			bf = d
		}
	}
	frames := float64(200 * benchBlock)
	b.ReportMetric(float64((bf-bp).Nanoseconds())/frames, "chain-ns/frame")
	b.ReportMetric(float64(bp.Nanoseconds())/frames/8, "plain-ns/voice-sample")
	if st := fx.GraphFxStats(); st.Chains != 1 || st.DelayLines != 1 {
		b.Fatalf("%+v", st)
	}
}
