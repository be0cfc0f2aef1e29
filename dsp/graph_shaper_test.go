package dsp

import (
	"math"
	"testing"
)

// softClipCurve is the soft clipper's curve in float64: u·(27+u²)/(27+9u²)
// for |u| <= 3, ±1 beyond.
func softClipCurve(u float64) float64 {
	u = clampF(u, -3, 3)
	return u * (27 + u*u) / (27 + 9*u*u)
}

// TestShapeCurve: the shaper's curve is SoftClip's for gains >= 1 (bit
// for bit: a preset's drive), the curve's math for any gain (within
// float32 rounding), odd, saturating at ±1 from |g·x| = 3, and of slope
// g at 0.
func TestShapeCurve(t *testing.T) {
	x := make([]float32, 2001)
	for i := range x {
		x[i] = float32(i-1000) / 250 // -4..4
	}
	y := make([]float32, len(x))
	for _, g := range []float32{1, 1.1, 1.6, 2, 7.5, 100} {
		want := append([]float32(nil), x...)
		SoftClip(want, g)
		shape(x, y, g)
		for i := range y {
			if y[i] != want[i] {
				t.Fatalf("gain %g: shape(%g) = %g, SoftClip %g", g, x[i], y[i], want[i])
			}
		}
	}
	for _, g := range []float32{0, 0.3, 0.5, 1, 3, -2} {
		shape(x, y, g)
		for i := range y {
			u := float64(x[i]) * float64(g)
			if d := math.Abs(float64(y[i]) - softClipCurve(u)); d > 1e-6 {
				t.Fatalf("gain %g: shape(%g) = %g, want %g", g, x[i], y[i], softClipCurve(u))
			}
			if y[len(y)-1-i] != -y[i] {
				t.Fatalf("gain %g: not odd at %g", g, x[i])
			}
			if math.Abs(u) >= 3 && math.Abs(float64(y[i])) != 1 {
				t.Fatalf("gain %g: shape(%g) = %g, want ±1 (|g·x| >= 3)", g, x[i], y[i])
			}
		}
		small := []float32{1e-4}
		shape(small, small, g)
		if d := math.Abs(float64(small[0]) - 1e-4*float64(g)); d > 1e-9 {
			t.Errorf("gain %g: slope at 0 is %g, want %g", g, small[0]/1e-4, g)
		}
	}
	nan := []float32{float32(math.NaN())}
	shape(nan, nan, 2)
	if nan[0] != 0 {
		t.Errorf("NaN in: %g out", nan[0])
	}
}

// TestGraphShaper: a sine of amplitude a through a shaper of amount g
// (its input route scaling it by k) comes out as the curve of its
// samples: peak curve(k·g·a) and, being odd, harmonics at odd multiples
// only (the 3rd within 40 dB of the fundamental when it clips hard,
// the 2nd below -100 dB).
func TestGraphShaper(t *testing.T) {
	const a, g, k = 0.8, 4.0, 0.75
	gr := graphBuild(t, "sh", "o:osc", "sh:shaper", "o.wave=sine", "o.level=0.8", "sh.amount=4", "o>sh.in*0.75")
	p := mustCompile(t, gr)
	var r GraphRenderer
	r.Init(48000)
	var v GraphVoice
	r.NoteOn(p, &v, 69, 1, 1)
	x := make([]float32, 16384)
	for i := 0; i < len(x); i += 100 {
		r.Render(p, &v, VoiceInput{}, x[i:min(i+100, len(x))])
	}
	want := softClipCurve(k * g * a)
	if pk := synPeak(x); math.Abs(pk-want) > 1e-3 {
		t.Errorf("peak %g, want curve(%g) = %g", pk, k*g*a, want)
	}
	h1 := bandEnergy(x, 48000, 430, 450)
	h2 := bandEnergy(x, 48000, 870, 890)
	h3 := bandEnergy(x, 48000, 1310, 1330)
	if h3 < h1*1e-4 || h2 > h1*1e-10 {
		t.Errorf("harmonics re the fundamental: 2nd %.1f dB, 3rd %.1f dB", 10*math.Log10(h2/h1), 10*math.Log10(h3/h1))
	}
}

// TestGraphShaperChecks: the shaper's amount has the range 1..100, its
// input is required and takes audio only; an envelope may modulate the
// amount.
func TestGraphShaperChecks(t *testing.T) {
	cases := []struct {
		name string
		g    *Graph
		code GraphErrorCode
	}{
		{"amount below 1", graphBuild(t, "sh", "o:osc", "sh:shaper", "sh.amount=0.5", "o>sh.in"), ErrParamRange},
		{"amount above 100", graphBuild(t, "sh", "o:osc", "sh:shaper", "sh.amount=101", "o>sh.in"), ErrParamRange},
		{"no input", graphBuild(t, "sh", "sh:shaper"), ErrMissingInput},
		{"audio into amount", graphBuild(t, "sh", "o:osc", "sh:shaper", "o>sh.in", "o>sh.amount"), ErrAudioToParam},
		{"control into in", graphBuild(t, "sh", "e:env", "sh:shaper", "e>sh.in"), ErrControlToAudio},
		{"modulated", graphBuild(t, "sh", "o:osc", "e:env", "sh:shaper", "o>sh.in", "e>sh.amount*10"), ErrNone},
	}
	for _, c := range cases {
		var p GraphProgram
		err := Compile(c.g, &p)
		if c.code == ErrNone {
			if err != nil {
				t.Errorf("%s: %v", c.name, err)
			}
			continue
		}
		ge, ok := err.(*GraphError)
		if !ok || ge.Code != c.code {
			t.Errorf("%s: %v, want code %d", c.name, err, c.code)
			continue
		}
		t.Logf("%s: %v", c.name, err)
	}
	if k, ok := ParseModuleKind("shaper"); !ok || k != KindShaper || !k.AudioOut() || k.Fx() || k.NumInputs() != 1 || !k.InputRequired(0) {
		t.Error("shaper: not an audio module with one required input")
	}
}

// TestInputModPressure: the mod_pressure source is the larger of the mod
// wheel and channel pressure, as the hand-written voice's LFO mod depth
// reads them.
func TestInputModPressure(t *testing.T) {
	if i := KindInput.ParamIndex("source"); KindInput.Param(i).Enum[InputModPressure] != "mod_pressure" {
		t.Fatal("source name")
	}
	var v GraphVoice
	for _, c := range []struct{ mod, pr, want float64 }{{0, 0, 0}, {0.3, 0, 0.3}, {0, 0.7, 0.7}, {0.9, 0.4, 0.9}, {0.2, 0.5, 0.5}} {
		if got := inputValue(InputModPressure, &v, &VoiceInput{Mod: c.mod, Pressure: c.pr}); got != c.want {
			t.Errorf("mod %g, pressure %g: %g, want %g", c.mod, c.pr, got, c.want)
		}
	}
}
