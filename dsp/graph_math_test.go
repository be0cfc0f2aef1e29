package dsp

import (
	"math"
	"testing"
)

// The graph voice checked against the math: pitch (FFT peaks), envelope
// timing (the amplifier's gain at control points), filter cutoff (the
// -3 dB point of an RBJ low-pass at Q 1/√2) with key tracking.

func TestGraphPitch(t *testing.T) {
	cases := []struct {
		name  string
		wave  string
		key   uint8
		extra []string
		bend  float64
		hz    float64
	}{
		{"sine a4", "sine", 69, nil, 0, 440},
		{"saw a3", "saw", 57, nil, 0, 220},
		{"semi and detune", "sine", 69, []string{"o.semi=7", "o.detune=-30"}, 0, 440 * math.Exp2((7-0.3)/12)},
		{"bend", "sine", 69, nil, 2, 440 * math.Exp2(2.0/12)},
		{"fixed hz", "triangle", 30, []string{"o.hz=1000"}, 0, 1000},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			items := append([]string{"o:osc", "a:amp", "o>a.in", "o.wave=" + c.wave}, c.extra...)
			p := mustCompile(t, graphBuild(t, "a", items...))
			var r GraphRenderer
			r.Init(48000)
			var v GraphVoice
			r.NoteOn(p, &v, c.key, 1, 1)
			x := make([]float32, 16384)
			for i := 0; i < len(x); i += 64 {
				r.Render(p, &v, VoiceInput{Bend: c.bend}, x[i:i+64])
			}
			if f := peakHz(x, 48000); math.Abs(f-c.hz) > 0.1 {
				t.Errorf("peak at %.3f Hz, want %.3f", f, c.hz)
			}
		})
	}
}

// TestGraphEnvTiming: an amplifier driven by a linear envelope has, at
// every control point, exactly the envelope's value: the attack reaches
// the full gain after Attack seconds, the decay the sustain after Decay
// more, the release 0 after Release seconds; the voice is done then.
func TestGraphEnvTiming(t *testing.T) {
	const (
		sr      = 48000.0
		attack  = 0.1
		decay   = 0.05
		sustain = 0.4
		release = 0.2
		amount  = 0.8
		hold    = 9600 // note-off at 0.2 s
	)
	p := mustCompile(t, graphBuild(t, "a", "o:osc", "a:amp", "e:env", "o>a.in", "e>a.gain*0.8", "a.gain=0",
		"e.attack=0.1", "e.decay=0.05", "e.sustain=0.4", "e.release=0.2"))
	// The envelope's value at frame n (linear segments).
	env := func(n int) float64 {
		a, d := attack*sr, decay*sr
		switch {
		case n < hold && float64(n) <= a:
			return float64(n) / a
		case n < hold && float64(n) <= a+d:
			return 1 - (1-sustain)*(float64(n)-a)/d
		case n < hold:
			return sustain
		default:
			return max(0, sustain*(1-float64(n-hold)/(release*sr)))
		}
	}
	var r GraphRenderer
	r.Init(sr)
	var v GraphVoice
	r.NoteOn(p, &v, 60, 1, 1)
	buf := make([]float32, 16)
	for n := 0; n < hold+int(release*sr)+64; n += len(buf) {
		if n == hold {
			r.NoteOff(p, &v)
		}
		r.Render(p, &v, VoiceInput{}, buf)
		// Frames on the 16-frame grid are control points here (every
		// period boundary of this envelope falls on it).
		got := float64(v.amp[0].cur)
		if want := amount * env(n+len(buf)); math.Abs(got-want) > 1e-5 {
			t.Fatalf("gain after frame %d: %g, want %g", n+len(buf), got, want)
		}
	}
	if !v.Done() {
		t.Error("voice not done after its release")
	}
}

// TestGraphFilterCutoff: a sine at the cutoff of a Q = 1/√2 low-pass comes
// out 3 dB down, with the cutoff set directly or reached by key tracking
// (an input "key" routed to the cutoff with amount 1: one octave per
// octave above middle C).
func TestGraphFilterCutoff(t *testing.T) {
	cases := []struct {
		name  string
		key   uint8
		extra []string
		hz    float64
	}{
		{"1 kHz", 60, []string{"o.hz=1000"}, 1000},
		{"key tracked 2 kHz", 72, []string{"o.hz=2000", "k:input", "k.source=key", "k>f.cutoff"}, 2000},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			gain := func(filtered bool) float64 {
				items := []string{"o:osc", "o.wave=sine", "f:filter", "f.cutoff=1000", "f.q=0.7071067811865476", "a:amp", "o>f.in", "f>a.in"}
				items = append(items, c.extra...)
				if !filtered {
					items = append(items, "f.type=notch", "f.cutoff=10", "f.q=20") // flat away from 10 Hz
				}
				p := mustCompile(t, graphBuild(t, "a", items...))
				var r GraphRenderer
				r.Init(48000)
				var v GraphVoice
				r.NoteOn(p, &v, c.key, 1, 1)
				x := make([]float32, 48128)
				for i := 0; i < len(x); i += 256 {
					r.Render(p, &v, VoiceInput{}, x[i:i+256])
				}
				return sineFit(x, c.hz, 48000, 24000)
			}
			db := 20 * math.Log10(gain(true)/gain(false))
			if math.Abs(db+3.0103) > 0.05 {
				t.Errorf("gain at the cutoff %.3f dB, want -3.01", db)
			}
		})
	}
}

// TestGraphRetrigger: a note played again while it sounds continues
// without a jump (the envelopes restart from their level, the phases run
// on, the amplifier ramps from where it is).
func TestGraphRetrigger(t *testing.T) {
	p := mustCompile(t, graphSub6(t))
	var r GraphRenderer
	r.Init(48000)
	var v GraphVoice
	r.NoteOn(p, &v, 57, 1, 1)
	x := make([]float32, 24000)
	for i := 0; i < len(x); i += 100 {
		switch i {
		case 6000:
			r.NoteOff(p, &v)
		case 7000, 15000:
			r.NoteOn(p, &v, 57, 1, 2)
		}
		r.Render(p, &v, VoiceInput{}, x[i:min(i+100, len(x))])
	}
	// Around each retrigger the signal moves no more from one sample to
	// the next than it did just before (a restart from zero or a jump of
	// the gain would).
	for _, at := range []int{7000, 15000} {
		before, after := maxAbsDiff(x[at-1000:at]), maxAbsDiff(x[at-1:at+64])
		if after > 1.2*before {
			t.Errorf("retrigger at %d: largest step %g, %g before", at, after, before)
		}
	}
	if synRMS(x[16000:]) < 0.01 {
		t.Error("silent after the retrigger")
	}
}
