package dsp

import (
	"math"
	"testing"
)

func TestFinite(t *testing.T) {
	for _, c := range []struct {
		x    float32
		want bool
	}{
		{0, true}, {1, true}, {-math.MaxFloat32, true}, {math.SmallestNonzeroFloat32, true},
		{float32(math.NaN()), false}, {float32(math.Inf(1)), false}, {float32(math.Inf(-1)), false},
	} {
		if Finite(c.x) != c.want {
			t.Errorf("Finite(%v) = %v", c.x, !c.want)
		}
	}
}

// BenchmarkVoiceChain estimates the per-voice cost of the primitives in a
// typical voice: two band-limited oscillators with gliding pitch, a
// low-pass whose cutoff follows an envelope (SetTarget every block, always
// gliding), amplitude and filter envelopes. The synth budget is about 32 ns
// per voice-sample (256 voices in 40% of a core at 48 kHz).
func BenchmarkVoiceChain(b *testing.B) {
	var o1, o2 Osc
	o1.Reset(1)
	o2.Reset(2)
	var f Biquad
	f.Init(LowPass, 2000, 2, 48000)
	var amp, fenv ADSR
	amp.Configure(ADSRConfig{Attack: 0.01, Decay: 0.3, Sustain: 0.7, Release: 0.3, Curve: Exponential}, 48000)
	fenv.Configure(ADSRConfig{Attack: 0.05, Decay: 0.5, Sustain: 0.2, Release: 0.3, Curve: Exponential}, 48000)
	amp.GateOn()
	fenv.GateOn()
	var a, c, ea, ef [MaxBlock]float32
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		n++
		if n%400 == 0 {
			amp.GateOn()
			fenv.GateOn()
		}
		inc := 220.0 / 48000
		o1.Process(a[:], Saw, inc, inc*1.0001, 0.5)
		o2.Process(c[:], Square, inc*1.003, inc*1.003, 0.4)
		fenv.Process(ef[:])
		f.SetTarget(LowPass, 300+6000*float64(ef[MaxBlock-1])+float64(n%7), 2)
		for i := range a {
			a[i] += c[i]
		}
		f.Process(a[:])
		amp.Process(ea[:])
		for i := range a {
			a[i] *= ea[i]
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*MaxBlock), "ns/voice-sample")
}
