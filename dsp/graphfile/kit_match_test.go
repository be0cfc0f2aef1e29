package graphfile

import (
	"io/fs"
	"math"
	"testing"

	"github.com/chronus-audio/chronus/dsp"
)

// The shipped kit (kits/drums.toml) is checked against the preset drum
// kit (dsp.DrumPatch, drum.go) the way presets_match_test.go checks the
// melodic presets: the same note through a dry dsp.Synth, once on the
// percussion channel playing the preset kit and once with the kit file
// loaded (Synth.LoadKit) for that channel, measured the same way and
// compared, and each against the arithmetic the sound is made of (its
// oscillator frequency, its envelope's decay).

// kitKeys are the keys compared: a kick, a snare, the closed and open
// hats, a tom, a crash, the cowbell, a conga, the triangle, and the
// three odd graphs (the side stick written inline, the whistle's
// vibrato, the guiro's tremolo).
var kitKeys = []struct {
	key  uint8
	hz   float64 // the fixed oscillator frequency to find by FFT, 0: not tonal
	penv float64 // the pitch envelope (semitones, time constant) it starts with
	tau  float64
}{
	{36, 55, 30, 0.03}, // bass drum
	{38, 190, 7, 0.02}, // acoustic snare: its triangle under the noise
	{42, 0, 0, 0},      // closed hi-hat
	{46, 0, 0, 0},      // open hi-hat
	{45, 110, 6, 0.06}, // low tom
	{49, 0, 0, 0},      // crash cymbal
	{56, 562, 0, 0},    // cowbell (its lower square)
	{63, 330, 2, 0.02}, // open hi conga
	{81, 4400, 0, 0},   // open triangle
	{37, 1700, 0, 0},   // side stick
	{71, 2300, 0.3, 0}, // short whistle (vibrato ±0.3 semitones)
	{73, 0, 0, 0},      // short guiro
}

func shippedKit(t testing.TB) *Kit {
	t.Helper()
	src, err := fs.ReadFile(Kits(), "kits/drums.toml")
	if err != nil {
		t.Fatal(err)
	}
	k, err := ParseKit("drums.toml", src)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// kitPlay renders key at velocity vel on the percussion channel of s
// (note-on well past the limiter's latency; note-off after 10 ms, which
// one-shots ignore) and returns both channels from the note-on on.
func kitPlay(s *dsp.Synth, ch, key uint8, vel float64, frames int) (l, r []float32) {
	const start = 4800
	s.Schedule(dsp.Event{Frame: start, Kind: dsp.NoteOn, Channel: ch, Key: key, Value: vel})
	s.Schedule(dsp.Event{Frame: start + 480, Kind: dsp.NoteOff, Channel: ch, Key: key})
	total := start + frames
	l, r = make([]float32, total), make([]float32, total)
	for i := 0; i < total; i += 256 {
		e := min(i+256, total)
		s.Render(l[i:e], r[i:e])
	}
	return l[start:], r[start:]
}

// kitMeasures are what the test compares for one note.
type kitMeasures struct {
	f0        float64 // strongest peak within half an octave of the oscillator's frequency, Hz
	centroid  float64 // spectral centroid of the first fftN/4 frames, Hz
	t20, t40  float64 // s from the envelope's peak until it is 20 and 40 dB below it
	peak      float64 // largest |sample| of l+r
	panDB     float64 // RMS of l over RMS of r, dB
	fftAt, bw float64 // the pitch window's start (s) and bin width (Hz)
}

const kitFFT = 4096 // 85 ms: 11.7 Hz bins

func measureKit(l, r []float32, hz, tau float64, span, w int) kitMeasures {
	var m kitMeasures
	x := make([]float32, len(l))
	for i := range l {
		x[i] = l[i] + r[i]
	}
	m.panDB = db(rms(l) / rms(r))
	for _, v := range x {
		m.peak = max(m.peak, math.Abs(float64(v)))
	}
	// Brightness: the centroid of the power spectrum averaged over
	// half-overlapping 1024-frame windows (21 ms) across the note's
	// first span frames (Welch: a single window of noise scatters).
	var avg []float64
	var bin float64
	for j := 0; j+1024 <= span; j += 512 {
		p, b := spectrum(x[j : j+1024])
		if avg == nil {
			avg = make([]float64, len(p))
		}
		for k := range p {
			avg[k] += p[k]
		}
		bin = b
	}
	num, den := 0.0, 0.0
	for k := int(20 / bin); k < len(avg) && float64(k)*bin <= 20000; k++ {
		num += float64(k) * bin * avg[k]
		den += avg[k]
	}
	m.centroid = num / den
	// Pitch: past four time constants of the pitch envelope (it is
	// then within 2% of its amount from the oscillator's frequency).
	if hz > 0 {
		at := int(max(4*tau, 0.005) * mRate)
		p, bin := spectrum(x[at : at+kitFFT])
		m.f0, m.fftAt, m.bw = peakIn(p, bin, hz/math.Sqrt2, hz*math.Sqrt2), float64(at)/mRate, bin
	}
	// Decay, from an RMS envelope over w frames.
	env, at := envelope(x, w)
	top, jt := 0.0, 0
	for j := range env {
		if env[j] > top {
			top, jt = env[j], j
		}
	}
	m.t20, m.t40 = math.Inf(1), math.Inf(1)
	for j := jt; j < len(env); j++ {
		if env[j] < top*0.1 && math.IsInf(m.t20, 1) {
			m.t20 = float64(at(j)-at(jt)) / mRate
		}
		if env[j] < top*0.01 {
			m.t40 = float64(at(j)-at(jt)) / mRate
			break
		}
	}
	return m
}

// kitSynths returns a dry synth playing the preset kit on the percussion
// channel and one playing the kit sounds given on it.
func kitSynths(t testing.TB, sounds []dsp.KitSound) (preset, graph *dsp.Synth) {
	t.Helper()
	preset, graph = mSynth(t), mSynth(t)
	if !preset.ChannelPatch(dsp.DrumChannel).Kit {
		t.Fatal("the percussion channel does not play the preset kit")
	}
	if _, err := graph.LoadKit(sounds, 0, dsp.DrumChannel); err != nil {
		t.Fatal(err)
	}
	return preset, graph
}

func residualDB(a, b []float32) float64 {
	res, sig := 0.0, 0.0
	for i := range a {
		d := float64(b[i] - a[i])
		res += d * d
		sig += float64(a[i]) * float64(a[i])
	}
	return 10 * math.Log10(res/sig)
}

// TestDrumKitMatchesPresetKit compares, for kitKeys at two velocities,
// the kit file's sound with the preset kit's. Tolerances, and why:
//
//   - pitch: both peaks within half a bin (5.9 Hz) plus 0.3% of the
//     oscillator's frequency, widened upward by what is left of the
//     pitch envelope at the window's start (P·e^-4 semitones) and by a
//     vibrato's depth: the sound must be at its oscillator's pitch;
//   - decay to -20 and -40 dB: one RMS window (5 ms; 20 ms for noise and
//     tremolo, whose short-time RMS scatters) plus 5% between the two
//     renders; against the amplitude envelope's math (an
//     exponential segment d reaches -20 dB at d·ln(1.001/0.101)/ln(1001),
//     -40 dB at d·ln(1.001/0.011)/ln(1001)) 10 ms plus 15% for the
//     deterministic sounds without a filter envelope (the RMS window and
//     the filters' ringing shift the measured times);
//   - peak: 0.5 dB (1.5 dB with noise: the two renders' noise differs,
//     the generators are seeded differently), pan balance 0.1 dB: the
//     sound's pan offset is the preset's;
//   - centroid of the power averaged over the decay: 3%, 10% for the
//     noise-dominated sounds (their two renders are different noise:
//     the snare's and the closed hat's differ by 6-7%);
//   - with the noise set to 0 in both (where that leaves a sound), the
//     samples: the residual must be 40 dB below the signal without a
//     pitch envelope (it is ~-120 dB: the same arithmetic). With one,
//     20 dB, as for the mallet preset: the preset voice steps its pitch
//     every 16 frames while the envelope moves and a graph every 32, and
//     the ADSR segment differs from e^(-t/τ) by up to 0.001 of the
//     amount, so the oscillator leaves the drop with a slightly
//     different phase (measured: kick, tom -36 dB, conga -34 dB, snare
//     -26.5 dB); the pitch, decay and centroid checks hold there.
func TestDrumKitMatchesPresetKit(t *testing.T) {
	kit := shippedKit(t)
	for _, c := range kitKeys {
		sd := kit.Sound(c.key)
		if sd == nil {
			t.Fatalf("key %d: no sound", c.key)
		}
		pt := dsp.DrumPatch(c.key)
		t.Run(sd.Name, func(t *testing.T) {
			if pt.NameString() != sd.Name {
				t.Errorf("key %d is %q in the kit file, %q in the preset kit", c.key, sd.Name, pt.NameString())
			}
			if sd.Graph.OneShot != pt.OneShot || sd.Graph.Choke != pt.Choke {
				t.Errorf("one_shot %v choke %d, preset %v %d", sd.Graph.OneShot, sd.Graph.Choke, pt.OneShot, pt.Choke)
			}
			if sd.Pan != pt.Pan {
				t.Errorf("pan %g, preset %g", sd.Pan, pt.Pan)
			}
			a := pt.AmpEnv
			frames := int((a.Attack + min(a.Decay, 1.5) + 0.1) * mRate)
			frames = max(frames, kitFFT+int(0.3*mRate))
			// Noise and tremolo make a short RMS window scatter: 20 ms
			// for them (the decay tolerance grows by that window), 5 ms
			// for the rest.
			noisy := pt.Noise > 0.5
			envW := 240
			if noisy || pt.LFO.Dest == dsp.LFOToAmp {
				envW = 960
			}
			winS := float64(envW) / mRate
			for _, vel := range []float64{1, 0.5} {
				ps, gs := kitSynths(t, kit.KitSounds())
				pl, pr := kitPlay(ps, dsp.DrumChannel, c.key, vel, frames)
				gl, gr := kitPlay(gs, dsp.DrumChannel, c.key, vel, frames)
				tau := c.tau
				// The centroid's span: the decay to about -40 dB, at
				// least 2 windows.
				span := max(int(min(0.65*a.Decay, 1)*mRate), 2048)
				mp := measureKit(pl, pr, c.hz, tau, span, envW)
				mg := measureKit(gl, gr, c.hz, tau, span, envW)
				t.Logf("vel %g: preset %+v", vel, mp)
				t.Logf("vel %g: graph  %+v", vel, mg)

				if c.hz > 0 {
					lo := c.hz*(1-0.003) - mp.bw/2
					up := c.penv * math.Exp(-4)
					if tau == 0 {
						up = c.penv // a vibrato's depth
					}
					hi := c.hz*math.Exp2(up/12)*(1+0.003) + mp.bw/2
					for _, m := range []struct {
						what string
						f    float64
					}{{"preset", mp.f0}, {"graph", mg.f0}} {
						if !(m.f >= lo && m.f <= hi) {
							t.Errorf("vel %g: %s pitch %.1f Hz, want %.1f..%.1f", vel, m.what, m.f, lo, hi)
						}
					}
				}
				for _, d := range []struct {
					what   string
					p, g   float64
					factor float64
				}{{"-20 dB", mp.t20, mg.t20, math.Log(1.001/0.101) / math.Log(1001)}, {"-40 dB", mp.t40, mg.t40, math.Log(1.001/0.011) / math.Log(1001)}} {
					if !(math.Abs(d.g-d.p) <= winS+0.05*d.p) {
						t.Errorf("vel %g: %s after %.3f s, preset %.3f s", vel, d.what, d.g, d.p)
					}
					if want := a.Decay * d.factor; pt.Noise == 0 && pt.Filter.EnvAmount == 0 && pt.LFO.Depth == 0 &&
						!(math.Abs(d.p-want) <= 0.01+0.15*want) {
						t.Errorf("vel %g: the preset is %s after %.3f s, its envelope's math says %.3f s", vel, d.what, d.p, want)
					}
				}
				peakDB, centTol := 0.5, 0.03
				if pt.Noise > 0 {
					peakDB = 1.5
				}
				if noisy {
					centTol = 0.10
				}
				if d := db(mg.peak / mp.peak); math.Abs(d) > peakDB {
					t.Errorf("vel %g: peak %.2f dB from the preset's", vel, d)
				}
				if d := mg.panDB - mp.panDB; math.Abs(d) > 0.1 {
					t.Errorf("vel %g: l/r balance %.2f dB, preset %.2f dB", vel, mg.panDB, mp.panDB)
				}
				if r := mg.centroid / mp.centroid; math.Abs(r-1) > centTol {
					t.Errorf("vel %g: centroid %.0f Hz, preset %.0f Hz (ratio %.3f, tolerance %g)", vel, mg.centroid, mp.centroid, r, centTol)
				}
				if mp.peak < 1e-3 {
					t.Errorf("vel %g: the preset is (nearly) silent: peak %g", vel, mp.peak)
				}

				// The samples, with the noise off where the sound has
				// more than noise.
				if pt.Osc[0].Level == 0 && pt.Osc[1].Level == 0 {
					continue
				}
				qt := pt
				qt.Noise = 0
				qt.Kit = false
				h := sd.Graph
				if pt.Noise > 0 {
					if err := h.SetParam("noise", "level", 0); err != nil {
						t.Fatal(err)
					}
				}
				ks := dsp.KitSound{Graph: h, Pan: sd.Pan}
				ks.SetKeys(c.key, c.key)
				ps, gs = kitSynths(t, []dsp.KitSound{ks})
				ps.SetChannelPatch(0, qt)
				yl, yr := kitPlay(ps, 0, c.key, vel, frames)
				zl, zr := kitPlay(gs, dsp.DrumChannel, c.key, vel, frames)
				resL, resR := residualDB(yl, zl), residualDB(yr, zr)
				t.Logf("vel %g: residual without noise %.1f dB (left), %.1f dB (right)", vel, resL, resR)
				limit := -40.0
				if pt.PitchEnv != 0 {
					limit = -20
				}
				if res := max(resL, resR); !(res <= limit) {
					t.Errorf("vel %g: without noise the kit's samples differ from the preset's by %.1f dB of the signal (limit %g)", vel, res, limit)
				}
			}
		})
	}
}

// TestDrumKitChokesHats: in both kits a closed hat 100 ms into an open
// one silences it within the fade; with the noise off (the preset hats
// then played as plain patches on one channel, the patch switched
// between the notes) the two agree sample for sample, choke included
// (-40 dB).
func TestDrumKitChokesHats(t *testing.T) {
	kit := shippedKit(t)
	quiet := kit.KitSounds()
	for i := range quiet {
		if quiet[i].HasKey(42) || quiet[i].HasKey(46) {
			if err := quiet[i].Graph.SetParam("noise", "level", 0); err != nil {
				t.Fatal(err)
			}
		}
	}
	const start, choke = 4800, 4800 + 4800
	const n = choke + 9600
	lat := mSynth(t).Latency()
	// run plays the open hat at start and the closed one at choke on ch;
	// patches, when given, are the channel's patch for each.
	run := func(s *dsp.Synth, ch uint8, patches []dsp.Patch) []float32 {
		if patches != nil {
			s.SetChannelPatch(int(ch), patches[0])
		}
		s.Schedule(dsp.Event{Frame: start, Kind: dsp.NoteOn, Channel: ch, Key: 46, Value: 1})
		s.Schedule(dsp.Event{Frame: choke, Kind: dsp.NoteOn, Channel: ch, Key: 42, Value: 1})
		l, r := make([]float32, n), make([]float32, n)
		for i := 0; i < n; i += 16 {
			if patches != nil && i == (choke-lat)/16*16 {
				s.SetChannelPatch(int(ch), patches[1]) // before the closed hat's event applies
			}
			s.Render(l[i:i+16], r[i:i+16])
		}
		return l[start:]
	}
	at := choke - start
	check := func(what string, y []float32) {
		before := rms(y[at-2400 : at])
		// The closed hat (50 ms decay) is more than 60 dB down 170 ms
		// later; the open one (0.4 s decay) would be 25 dB down.
		after := rms(y[at+int(0.17*mRate) : at+int(0.19*mRate)])
		if !(after < before*1e-3) || before < 1e-3 {
			t.Errorf("%s: open hat RMS %.2g before the closed hat, %.2g 170 ms after", what, before, after)
		}
	}
	ps, gs := kitSynths(t, kit.KitSounds())
	check("preset kit", run(ps, dsp.DrumChannel, nil))
	check("kit file", run(gs, dsp.DrumChannel, nil))

	open, closed := dsp.DrumPatch(46), dsp.DrumPatch(42)
	open.Noise, closed.Noise, open.Kit, closed.Kit = 0, 0, false, false
	ps, gs = kitSynths(t, quiet)
	xp := run(ps, 0, []dsp.Patch{open, closed})
	xg := run(gs, dsp.DrumChannel, nil)
	check("preset hats without noise", xp)
	check("kit file without noise", xg)
	res := residualDB(xp, xg)
	t.Logf("residual without noise, choke included: %.1f dB", res)
	if !(res <= -40) {
		t.Errorf("without noise the kit's hats differ from the preset's by %.1f dB of the signal", res)
	}
}
