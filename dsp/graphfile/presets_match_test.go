package graphfile

import (
	"io/fs"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	"gonum.org/v1/gonum/dsp/fourier"

	"github.com/chronus-audio/chronus/dsp"
	"github.com/chronus-audio/chronus/dsp/presets"
)

// The graph forms of the shipped presets (presets/*.toml) are checked
// against the hand-written voice playing the preset files they come from
// (dsp/presets/*.toml): the same notes through a dsp.Synth, once with the
// preset on channel 0 and once with the graph committed for channel 0,
// measured the same way and compared. What the graphs compute is the
// preset voice's arithmetic (see each file's comments), so the tolerances
// below only allow for what differs by construction: the noise generators'
// seeds, and for the mallet's pitch envelope an ADSR segment standing in
// for the preset's e^(-t/τ) (equal within 0.001 of its amount).

const mRate = 48000.0

// mNote is one test note: key, velocity and the channel's mod wheel and
// pressure while it plays.
type mNote struct {
	key           uint8
	vel           float64
	mod, pressure float64
}

var mNotes = []mNote{
	{45, 1, 0, 0},
	{60, 0.6, 0, 0},
	{76, 0.3, 0, 0},
	{64, 0.8, 1, 0}, // full mod wheel: vibrato, tremolo, wah
	{57, 0.8, 0, 1}, // full pressure: the same, and the filter an octave up
}

// mSynth returns a dry synth: no reverb, no delay, no master drive, so
// that the output is the voice (times the channel's gains).
func mSynth(t testing.TB) *dsp.Synth {
	t.Helper()
	s, err := dsp.New(dsp.Config{SampleRate: mRate, Voices: 4})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []dsp.Param{dsp.ParamReverbMix, dsp.ParamDelayMix, dsp.ParamMasterDrive} {
		s.Schedule(dsp.Event{Kind: dsp.SetParam, Param: p, Value: 0})
	}
	return s
}

// mCommit stages g with the synth's staging edits (as the wire would) and
// commits it into slot 0 for channel 0.
func mCommit(t testing.TB, s *dsp.Synth, g *dsp.Graph) {
	t.Helper()
	ok := s.StagePatch(dsp.PatchAbort, "", "", 0, 0, 0)
	for i := 0; i < int(g.NModules); i++ {
		m := &g.Modules[i]
		ok = ok && s.StagePatch(dsp.PatchCreate, m.IDString(), m.Kind.String(), 0, 0, 0)
	}
	for i := 0; i < int(g.NModules); i++ {
		m := &g.Modules[i]
		for p := 0; p < m.Kind.NumParams(); p++ {
			if m.Set&(1<<uint(p)) != 0 {
				ok = ok && s.StagePatch(dsp.PatchSet, m.IDString(), m.Kind.Param(p).Name, 0, m.Param[p], 0)
			}
		}
	}
	for r := 0; r < int(g.NRoutes); r++ {
		rt := &g.Routes[r]
		to := g.ModuleIndex(pad(rt.To[:]))
		port := g.Modules[to].Kind.PortIndex(pad(rt.Port[:]))
		ok = ok && s.StagePatch(dsp.PatchConnect, pad(rt.From[:]), pad(rt.To[:]), uint8(port), rt.Amount, uint16(rt.Op))
	}
	if !ok {
		t.Fatal("a staging edit was refused")
	}
	if !s.CommitPatch(0, g.OutString(), 0, 0) {
		e, _ := s.LastPatchError()
		t.Fatalf("commit refused: %v", e.Error())
	}
}

// mRender plays n on channel 0 of s: note-on at frame start (well past the
// limiter's latency), note-off hold frames later, and returns the left
// channel from the note-on on, hold+tail frames.
func mRender(s *dsp.Synth, n mNote, hold, tail int) []float32 {
	const start = 4800
	s.Schedule(dsp.Event{Frame: 100, Kind: dsp.Control, Key: 1, Value: n.mod})
	s.Schedule(dsp.Event{Frame: 100, Kind: dsp.Pressure, Value: n.pressure})
	s.Schedule(dsp.Event{Frame: start, Kind: dsp.NoteOn, Key: n.key, Value: n.vel})
	s.Schedule(dsp.Event{Frame: uint64(start + hold), Kind: dsp.NoteOff, Key: n.key})
	total := start + hold + tail
	l := make([]float32, total)
	r := make([]float32, total)
	for i := 0; i < total; i += 256 {
		e := min(i+256, total)
		s.Render(l[i:e], r[i:e])
	}
	return l[start:]
}

// mMeasures are what the test compares.
type mMeasures struct {
	f0       float64 // strongest peak within half an octave of the expected fundamental, Hz
	centroid float64 // spectral centroid of the analysis window, Hz
	attack   float64 // s from note-on until the envelope first reaches -1 dB of its maximum
	sustain  float64 // RMS over the last 150 ms of the hold
	t60      float64 // s from note-off until the envelope is 60 dB below its level at note-off
	peak     float64 // largest |sample|
}

// Envelope: RMS over a window of envW frames (20 ms; 80 ms for the noise
// presets, whose short-time RMS scatters), every envHop frames; an entry's
// time is its window's end.
const envHop = 240

func envelope(x []float32, w int) (env []float64, at func(j int) int) {
	for j := 0; j+w <= len(x); j += envHop {
		s := 0.0
		for _, v := range x[j : j+w] {
			s += float64(v) * float64(v)
		}
		env = append(env, math.Sqrt(s/float64(w)))
	}
	return env, func(j int) int { return j*envHop + w }
}

func rms(x []float32) float64 {
	s := 0.0
	for _, v := range x {
		s += float64(v) * float64(v)
	}
	return math.Sqrt(s / float64(len(x)))
}

// spectrum returns the Blackman-Harris-windowed power spectrum of x and
// its bin width.
func spectrum(x []float32) ([]float64, float64) {
	n := len(x)
	in := make([]float64, n)
	for i, v := range x {
		a := 2 * math.Pi * float64(i) / float64(n)
		w := 0.35875 - 0.48829*math.Cos(a) + 0.14128*math.Cos(2*a) - 0.01168*math.Cos(3*a)
		in[i] = float64(v) * w
	}
	c := fourier.NewFFT(n).Coefficients(nil, in)
	p := make([]float64, len(c))
	for k, v := range c {
		p[k] = real(v)*real(v) + imag(v)*imag(v)
	}
	return p, mRate / float64(n)
}

// peakIn returns the strongest peak in [lo, hi] Hz, refined by parabolic
// interpolation of the log power.
func peakIn(p []float64, bin, lo, hi float64) float64 {
	k0, k1 := max(int(math.Ceil(lo/bin)), 1), min(int(hi/bin), len(p)-2)
	k := k0
	for i := k0; i <= k1; i++ {
		if p[i] > p[k] {
			k = i
		}
	}
	a, b, c := math.Log(p[k-1]+1e-300), math.Log(p[k]+1e-300), math.Log(p[k+1]+1e-300)
	return (float64(k) + 0.5*(a-c)/(a-2*b+c)) * bin
}

const fftN = 16384 // 0.34 s: 2.9 Hz bins

func measure(x []float32, hold, envW, fftAt int, f0 float64) mMeasures {
	var m mMeasures
	p, bin := spectrum(x[fftAt : fftAt+fftN])
	m.f0 = peakIn(p, bin, f0/math.Sqrt2, f0*math.Sqrt2)
	num, den := 0.0, 0.0
	for k := int(20 / bin); k < len(p) && float64(k)*bin <= 20000; k++ {
		num += float64(k) * bin * p[k]
		den += p[k]
	}
	m.centroid = num / den
	env, at := envelope(x, envW)
	top := 0.0
	for j := range env {
		if at(j) <= hold {
			top = max(top, env[j])
		}
	}
	for j := range env {
		if env[j] >= top*math.Pow(10, -1.0/20) {
			m.attack = float64(at(j)-envW/2) / mRate // the window's middle
			break
		}
	}
	m.sustain = rms(x[hold-int(0.15*mRate) : hold])
	ref := rms(x[hold-envW : hold])
	m.t60 = math.Inf(1)
	for j := range env {
		if at(j)-envW >= hold && env[j] < ref*1e-3 {
			m.t60 = float64(at(j)-hold) / mRate
			break
		}
	}
	for _, v := range x {
		m.peak = max(m.peak, math.Abs(float64(v)))
	}
	return m
}

func db(r float64) float64 { return 20 * math.Log10(r) }

// t60Model returns when an envelope release of r seconds from any level
// is 60 dB below that level: a linear one at 0.999·r; an exponential
// one (ADSR: a one-pole aiming at -0.001 of its start, cut at 0 after r)
// where 1.001·e^(-t·ln(1001)/r) - 0.001 = 0.001.
func t60Model(r float64, c dsp.Curve) float64 {
	if c == dsp.Linear {
		return 0.999 * r
	}
	return r * math.Log(1.001/0.002) / math.Log(1001)
}

func TestPresetGraphsMatchPresets(t *testing.T) {
	names, err := fs.Glob(Shipped(), "presets/*.toml")
	if err != nil {
		t.Fatal(err)
	}
	shipped, _ := fs.Glob(presets.Shipped(), "*.toml")
	if want := len(shipped) - 1; len(names) != want { // all but drums
		t.Fatalf("%d preset graphs, want %d (every shipped preset but drums)", len(names), want)
	}
	for _, file := range names {
		name := strings.TrimSuffix(strings.TrimPrefix(file, "presets/"), ".toml")
		t.Run(name, func(t *testing.T) {
			src, err := fs.ReadFile(Shipped(), file)
			if err != nil {
				t.Fatal(err)
			}
			g, err := Parse(file, src)
			if err != nil {
				t.Fatal(err)
			}
			if g.NameString() != name {
				t.Errorf("name %q, want %q", g.NameString(), name)
			}
			if again, err := Parse(file, Encode(&g)); err != nil || again != g {
				t.Errorf("encode/parse round trip: %v", err)
			}
			psrc, err := fs.ReadFile(presets.Shipped(), name+".toml")
			if err != nil {
				t.Fatalf("no preset %s: %v", name, err)
			}
			pt, err := presets.Parse(name+".toml", psrc)
			if err != nil {
				t.Fatal(err)
			}
			comparePreset(t, &pt, &g)
		})
	}
}

func comparePreset(t *testing.T, pt *dsp.Patch, g *dsp.Graph) {
	a := pt.AmpEnv
	// Hold until the sustain has settled (at most 2 s); a preset that
	// decays to silence is released while it still sounds, at 60% of
	// its decay (about -36 dB for an exponential decay).
	hold := a.Attack + a.Decay + 0.3
	if a.Sustain == 0 {
		hold = a.Attack + 0.6*a.Decay
	}
	hold = min(hold, 2)
	holdN := int(hold * mRate)
	tail := int((1.2*a.Release + 0.2) * mRate)
	fftAt := int((a.Attack + 0.08) * mRate) // past the attack and the mallet's pitch drop
	if fftAt+fftN > holdN+tail {
		t.Fatalf("render too short for the spectrum")
	}
	noisy := pt.Noise > 0.5 // fx: pink noise dominates

	// Tolerances. The graphs compute the preset voice's arithmetic, so
	// the deterministic presets agree far inside these; they are set
	// by what the measurements can resolve:
	//   fundamental: half a bin (2.9 Hz bins) plus 0.5% (the largest
	//     detune in the library, pad's ±8 cents, is 0.46%): the peak
	//     must be at the oscillators' frequency in both renders;
	//   attack: one envelope hop (5 ms) plus 10% of the amp attack;
	//   sustain level and peak: 0.5 dB;
	//   t60: one envelope window plus 5% of the release (graph vs
	//     preset), and against the envelope's math one window plus 15%
	//     of the release, as the filter envelope's release also dims
	//     the note;
	//   centroid: 3%.
	// The noise preset (fx) gets 1.5 dB on the level, 10% on the
	// centroid and 80 ms windows: its two renders are different noise
	// (the generators' seeds differ), 0.34 s of band-passed noise has a
	// centroid that scatters by a few percent and a 20 ms RMS that
	// scatters by ±1 dB; its peak, the largest of many random samples,
	// gets 3 dB. The presets with a little noise (flute, mallet) get
	// 1 dB on the peak, which their noise can move by half a dB.
	// Without noise (or with it switched off in both), the graph's
	// samples are the preset's: the residual must be 40 dB below the
	// signal (1% in amplitude; it is far lower, see the log). With a
	// pitch envelope (mallet) 20 dB: the graph's envelope moves the
	// pitch every 32 frames where the preset's does every 16, and its
	// ADSR curve differs from e^(-t/τ) by up to 0.001 of the amount, so
	// the oscillators come out of the pitch drop with a slightly
	// different phase (inaudible; the residual is a phase offset, up to
	// -33 dB at key 76).
	resMax := 1e-4 // -40 dB
	if pt.PitchEnv != 0 {
		resMax = 1e-2 // -20 dB
	}
	envW := int(0.02 * mRate)
	lvlDB, peakDB, centTol := 0.5, 0.5, 0.03
	switch {
	case noisy:
		envW, lvlDB, peakDB, centTol = int(0.08*mRate), 1.5, 3, 0.10
	case pt.Noise > 0:
		peakDB = 1
	}
	winS := float64(envW) / mRate
	for _, n := range mNotes {
		// The expected fundamental: the lowest oscillator's frequency
		// f0, or up to that of another oscillator detuned from it by
		// less than a quarter tone (two saws a few cents apart beat: the
		// window's peak lies between them); vibrato (the LFO's depth
		// plus its mod_depth at the wheel or pressure) widens it by its
		// depth.
		var fs []float64
		for _, o := range pt.Osc {
			if o.Level > 0 {
				f := 440 * math.Exp2((float64(n.key)-69+o.Semi+o.Detune/100)/12)
				if o.Hz > 0 {
					f = o.Hz
				}
				fs = append(fs, f)
			}
		}
		f0 := fs[0]
		for _, f := range fs {
			f0 = min(f0, f)
		}
		vib := 0.0
		if l := &pt.LFO; l.Dest == dsp.LFOToPitch && l.Rate > 0 {
			vib = l.Depth + l.ModDepth*max(n.mod, n.pressure)
		}

		ps := mSynth(t)
		ps.SetChannelPatch(0, *pt)
		xp := mRender(ps, n, holdN, tail)
		gs := mSynth(t)
		mCommit(t, gs, g)
		xg := mRender(gs, n, holdN, tail)
		if ps.ActiveVoices() != 0 || gs.ActiveVoices() != 0 {
			t.Errorf("note %+v: voices still sounding after the tail (preset %d, graph %d)", n, ps.ActiveVoices(), gs.ActiveVoices())
		}

		mp := measure(xp, holdN, envW, fftAt, f0)
		mg := measure(xg, holdN, envW, fftAt, f0)
		t.Logf("note %+v: preset %+v", n, mp)
		t.Logf("note %+v: graph  %+v", n, mg)

		for _, m := range []struct {
			what string
			f    float64
		}{{"preset", mp.f0}, {"graph", mg.f0}} {
			hi := f0
			for _, f := range fs {
				if f < f0*math.Exp2(1.0/24) {
					hi = max(hi, f)
				}
			}
			spread := math.Exp2(vib/12) - 1 + 0.001
			if !(m.f >= f0*(1-spread)-0.5*mRate/fftN && m.f <= hi*(1+spread)+0.5*mRate/fftN) {
				t.Errorf("note %+v: %s fundamental %.2f Hz, want %.2f Hz (oscillators %.2f, vibrato %g semitones)", n, m.what, m.f, f0, fs, vib)
			}
		}
		if r := mg.centroid / mp.centroid; math.Abs(r-1) > centTol {
			t.Errorf("note %+v: centroid %.0f Hz, preset %.0f Hz (ratio %.3f, tolerance %g)", n, mg.centroid, mp.centroid, r, centTol)
		}
		if d := math.Abs(mg.attack - mp.attack); d > float64(envHop)/mRate+0.1*a.Attack+boolF(noisy)*winS {
			t.Errorf("note %+v: attack %.4f s, preset %.4f s", n, mg.attack, mp.attack)
		}
		if d := db(mg.sustain / mp.sustain); math.Abs(d) > lvlDB {
			t.Errorf("note %+v: level at the end of the hold %.2f dB from the preset's", n, d)
		}
		if d := db(mg.peak / mp.peak); math.Abs(d) > peakDB {
			t.Errorf("note %+v: peak %.2f dB from the preset's", n, d)
		}
		if d := math.Abs(mg.t60 - mp.t60); !(d <= winS+0.05*a.Release) {
			t.Errorf("note %+v: -60 dB %.3f s after note-off, preset %.3f s", n, mg.t60, mp.t60)
		}
		if want := t60Model(a.Release, a.Curve); !(math.Abs(mp.t60-want) <= winS+0.15*a.Release) {
			t.Errorf("note %+v: the preset is -60 dB %.3f s after note-off, the amp envelope's math says %.3f s", n, mp.t60, want)
		}
		res, sig := 0.0, 0.0
		for i := range xp {
			d := float64(xg[i] - xp[i])
			res += d * d
			sig += float64(xp[i]) * float64(xp[i])
		}
		t.Logf("note %+v: residual %.1f dB", n, db(math.Sqrt(res/sig)))
		if pt.Noise == 0 && !(res <= sig*resMax) {
			t.Errorf("note %+v: the graph's samples differ from the preset's by %.1f dB of the signal", n, db(math.Sqrt(res/sig)))
		}
		if pt.Noise > 0 {
			// The same with the noise off in both: the rest of the
			// voice is sample for sample the preset's.
			qt, h := *pt, *g
			qt.Noise = 0
			if err := h.SetParam("noise", "level", 0); err != nil {
				t.Fatal(err)
			}
			ps, gs := mSynth(t), mSynth(t)
			ps.SetChannelPatch(0, qt)
			mCommit(t, gs, &h)
			yp, yg := mRender(ps, n, holdN, tail), mRender(gs, n, holdN, tail)
			res, sig := 0.0, 0.0
			for i := range yp {
				d := float64(yg[i] - yp[i])
				res += d * d
				sig += float64(yp[i]) * float64(yp[i])
			}
			t.Logf("note %+v: residual without noise %.1f dB", n, db(math.Sqrt(res/sig)))
			if !(res <= sig*resMax) {
				t.Errorf("note %+v: without noise the graph's samples differ from the preset's by %.1f dB of the signal", n, db(math.Sqrt(res/sig)))
			}
		}
		if mp.peak < 1e-3 || mp.sustain < 1e-5 {
			t.Errorf("note %+v: the preset is (nearly) silent: peak %g, sustain %g", n, mp.peak, mp.sustain)
		}
	}
}

func boolF(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// presetGraphs returns the parsed preset graphs by file name.
func presetGraphs(t testing.TB) map[string]dsp.Graph {
	t.Helper()
	names, err := fs.Glob(Shipped(), "presets/*.toml")
	if err != nil || len(names) == 0 {
		t.Fatalf("preset graphs: %v %v", names, err)
	}
	out := map[string]dsp.Graph{}
	for _, n := range names {
		src, err := fs.ReadFile(Shipped(), n)
		if err != nil {
			t.Fatal(err)
		}
		g, err := Parse(n, src)
		if err != nil {
			t.Fatal(err)
		}
		out[n] = g
	}
	return out
}

// TestPresetGraphsRenderAllocs: a synth playing every preset graph at
// once (one per channel, with mod wheel and pressure) allocates nothing.
func TestPresetGraphsRenderAllocs(t *testing.T) {
	s := mSynth(t)
	ch := uint8(0)
	for _, g := range presetGraphs(t) {
		ok := s.StagePatch(dsp.PatchAbort, "", "", 0, 0, 0)
		for i := 0; i < int(g.NModules); i++ {
			m := &g.Modules[i]
			ok = ok && s.StagePatch(dsp.PatchCreate, m.IDString(), m.Kind.String(), 0, 0, 0)
			for p := 0; p < m.Kind.NumParams(); p++ {
				if m.Set&(1<<uint(p)) != 0 {
					ok = ok && s.StagePatch(dsp.PatchSet, m.IDString(), m.Kind.Param(p).Name, 0, m.Param[p], 0)
				}
			}
		}
		for r := 0; r < int(g.NRoutes); r++ {
			rt := &g.Routes[r]
			to := g.ModuleIndex(pad(rt.To[:]))
			ok = ok && s.StagePatch(dsp.PatchConnect, pad(rt.From[:]), pad(rt.To[:]), uint8(g.Modules[to].Kind.PortIndex(pad(rt.Port[:]))), rt.Amount, uint16(rt.Op))
		}
		if !ok || !s.CommitPatch(0, g.OutString(), ch, ch) {
			t.Fatalf("%s: not committed", g.NameString())
		}
		s.Schedule(dsp.Event{Kind: dsp.Control, Channel: ch, Key: 1, Value: 0.5})
		s.Schedule(dsp.Event{Kind: dsp.Pressure, Channel: ch, Value: 0.3})
		ch++
	}
	l := make([]float32, 128)
	r := make([]float32, 128)
	k, loud := 0, 0.0
	allocs := testing.AllocsPerRun(200, func() {
		f := s.Frame() + uint64(s.Latency())
		for c := uint8(0); c < ch; c++ {
			switch k % 40 {
			case 0:
				s.Schedule(dsp.Event{Frame: f, Kind: dsp.NoteOn, Channel: c, Key: 48 + c, Value: 0.9})
			case 30:
				s.Schedule(dsp.Event{Frame: f, Kind: dsp.NoteOff, Channel: c, Key: 48 + c})
			}
		}
		s.Render(l, r)
		for _, v := range l {
			loud = max(loud, math.Abs(float64(v)))
		}
		k++
	})
	if allocs != 0 {
		t.Errorf("%v allocs per block", allocs)
	}
	if st := s.Stats(); st.NonFinite != 0 || st.PatchRefused != 0 || loud < 0.05 {
		t.Errorf("stats %+v, peak %g", st, loud)
	}
}

// TestPresetGraphErrors: the new parameters are checked where they are
// written.
func TestPresetGraphErrors(t *testing.T) {
	src, err := fs.ReadFile(Shipped(), "presets/organ.toml")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct{ from, to, want string }{
		{"amount = 1.2 #", "amount = 0.5 #", `drive.amount = 0.5 is out of range 1..100`},
		{`source = "mod_pressure"`, `source = "modwheel"`, `wheel.source: unknown value "modwheel" (want key, velocity, velocity2, gate, bend, mod, pressure, mod_pressure)`},
		{`to = "drive.in"`, `to = "drive.drive"`, `route 2 (mix -> drive.drive): module "drive" has no input or parameter "drive"`},
	}
	for _, c := range cases {
		at := strings.Index(string(src), c.from)
		if at < 0 {
			t.Fatalf("%q not in organ.toml", c.from)
		}
		bad := strings.Replace(string(src), c.from, c.to, 1)
		want := "organ.toml:" + strconv.Itoa(1+strings.Count(string(src[:at]), "\n")) + ":1: " + c.want // the edited line
		_, err := Parse("organ.toml", []byte(bad))
		if err == nil || err.Error() != want {
			t.Errorf("got %v\nwant %s", err, want)
		}
	}
}

// BenchmarkPresetGraphVsPreset: the cost of 8 held notes of each preset
// graph in a synth against the same notes of its preset, per voice
// sample (the synth's fixed cost included in both) and as a ratio.
func BenchmarkPresetGraphVsPreset(b *testing.B) {
	for file, g := range presetGraphs(b) {
		name := strings.TrimSuffix(strings.TrimPrefix(file, "presets/"), ".toml")
		b.Run(name, func(b *testing.B) {
			psrc, _ := fs.ReadFile(presets.Shipped(), name+".toml")
			pt, err := presets.Parse(name+".toml", psrc)
			if err != nil {
				b.Fatal(err)
			}
			l := make([]float32, 128)
			r := make([]float32, 128)
			run := func(s *dsp.Synth) float64 {
				for k := uint8(0); k < 8; k++ {
					s.Schedule(dsp.Event{Frame: 0, Kind: dsp.NoteOn, Key: 48 + 3*k, Value: 0.8})
				}
				for range 20 {
					s.Render(l, r)
				}
				// 0.8 s: every preset still sounds (pluck decays over 0.9 s).
				start := time.Now()
				for range 300 {
					s.Render(l, r)
				}
				return float64(time.Since(start).Nanoseconds()) / (300 * 128 * 8)
			}
			b.ReportAllocs()
			// The fastest of b.N alternating runs of each: on a shared
			// machine a far steadier estimate than one average.
			hand, graph := math.Inf(1), math.Inf(1)
			for range b.N {
				ps := mSynth(b)
				ps.SetChannelPatch(0, pt)
				gs := mSynth(b)
				mCommit(b, gs, &g)
				hand, graph = min(hand, run(ps)), min(graph, run(gs))
			}
			b.ReportMetric(hand, "preset-ns/voice-sample")
			b.ReportMetric(graph, "graph-ns/voice-sample")
			b.ReportMetric(graph/hand, "graph/preset")
		})
	}
}
