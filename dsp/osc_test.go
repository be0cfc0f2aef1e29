package dsp

import (
	"fmt"
	"math"
	"testing"
)

func renderOsc(w Wave, hz, rate float64, n int, seed uint64) []float32 {
	var o Osc
	o.Reset(seed)
	x := make([]float32, n)
	inc := hz / rate
	inBlocks(x, func(b []float32) { o.Process(b, w, inc, inc, 0.5) })
	return x
}

func TestOscSine440(t *testing.T) {
	const rate = 48000.0
	x := renderOsc(Sine, 440, rate, 1<<17, 1)
	if f := peakHz(x, rate); math.Abs(f-440) > 0.1 {
		t.Errorf("peak at %.4f Hz, want 440±0.1", f)
	}
	if d := thdDB(x, rate, 440, 20); d > -80 {
		t.Errorf("THD %.1f dB, want < -80", d)
	}
	// Sample-exact against math.Sin.
	maxErr := 0.0
	for i, v := range x[:48000] {
		want := math.Sin(2 * math.Pi * math.Mod(float64(i)*440/rate, 1))
		maxErr = math.Max(maxErr, math.Abs(float64(v)-want))
	}
	if maxErr > 2e-7 {
		t.Errorf("max deviation from math.Sin = %g", maxErr)
	}
	t.Logf("peak %.4f Hz, THD %.1f dB, max error %.2g", peakHz(x, rate), thdDB(x, rate, 440, 20), maxErr)
}

func TestOscSin2pi(t *testing.T) {
	for i := 0; i <= 100000; i++ {
		p := float64(i) / 100000
		if p >= 1 {
			p = math.Nextafter(1, 0)
		}
		if d := math.Abs(sin2pi(p) - math.Sin(2*math.Pi*p)); d > 6e-8 {
			t.Fatalf("sin2pi(%v) off by %g", p, d)
		}
	}
}

// One hour at 48 kHz in 256-frame blocks: the accumulated phase matches the
// analytic value frac(n·inc).
func TestOscPhaseNoDriftOneHour(t *testing.T) {
	if testing.Short() {
		t.Skip("long")
	}
	const rate = 48000.0
	const n = 3600 * 48000
	buf := make([]float32, MaxBlock)
	for _, hz := range []float64{440, 1000.3, 7919.77} {
		var o Osc
		o.Reset(0)
		inc := hz / rate
		for done := 0; done < n; done += MaxBlock {
			o.Process(buf, Sine, inc, inc, 0.5)
		}
		want := math.Mod(float64(n)*inc, 1)
		got := o.Phase()
		d := math.Abs(got - want)
		d = math.Min(d, 1-d)
		t.Logf("%g Hz: phase after 1 h %.15f, analytic %.15f, error %.3g cycles (%.3g s)", hz, got, want, d, d/hz)
		if d > 1e-7 {
			t.Errorf("%g Hz: phase drift %g cycles after one hour", hz, d)
		}
	}
}

func TestOscFrequencyRamp(t *testing.T) {
	// Phase after a ramp block equals the sum of the per-sample increments,
	// whatever the wave.
	for w := Sine; w <= PinkNoise; w++ {
		var o Osc
		o.Reset(3)
		buf := make([]float32, 200)
		inc0, inc1 := 0.01, 0.03
		o.Process(buf, w, inc0, inc1, 0.5)
		want := 0.0
		for i := 0; i < 200; i++ {
			want += inc0 + (inc1-inc0)*float64(i)/200
		}
		want -= math.Floor(want)
		if d := math.Abs(o.Phase() - want); d > 1e-12 {
			t.Errorf("%v: phase %v after ramp, want %v", w, o.Phase(), want)
		}
	}
}

// naiveWave renders the non-band-limited waveform with the same phase
// convention as Osc.
func naiveWave(w Wave, hz, rate float64, n int) []float32 {
	x := make([]float32, n)
	inc := hz / rate
	for i := range x {
		p := math.Mod(float64(i)*inc, 1)
		var y float64
		switch w {
		case Saw:
			y = 2*p - 1
		case Square:
			y = -1
			if p < 0.5 {
				y = 1
			}
		case Triangle:
			y = 4 * p
			if y >= 3 {
				y -= 4
			} else if y > 1 {
				y = 2 - y
			}
		}
		x[i] = float32(y)
	}
	return x
}

// idealWave renders the band-limited waveform by additive synthesis
// (harmonics below Nyquist only).
func idealWave(w Wave, hz, rate float64, n int) []float32 {
	return weightedWave(w, hz, rate, n, func(float64) float64 { return 1 })
}

// bsplineResponse is the magnitude response of the cubic B-spline kernel
// behind Osc's polyBLEP: sinc⁴(f/rate).
func bsplineResponse(f float64) float64 {
	x := math.Pi * f
	s := math.Sin(x) / x
	return s * s * s * s
}

// weightedWave is idealWave with harmonic k scaled by gain(k·hz/rate).
func weightedWave(w Wave, hz, rate float64, n int, gain func(float64) float64) []float32 {
	x := make([]float32, n)
	for i := range x {
		ph := 2 * math.Pi * hz * float64(i) / rate
		s := 0.0
		for k := 1; float64(k)*hz < rate/2; k++ {
			kf := float64(k)
			g := gain(kf * hz / rate)
			switch w {
			case Saw: // 2p-1 = -2/π Σ sin(kφ)/k
				s -= g * 2 / math.Pi * math.Sin(kf*ph) / kf
			case Square:
				if k%2 == 1 {
					s += g * 4 / math.Pi * math.Sin(kf*ph) / kf
				}
			case Triangle:
				if k%2 == 1 {
					sign := 1.0
					if (k/2)%2 == 1 {
						sign = -1
					}
					s += g * sign * 8 / (math.Pi * math.Pi) * math.Sin(kf*ph) / (kf * kf)
				}
			}
		}
		x[i] = float32(s)
	}
	return x
}

func TestOscBandLimited(t *testing.T) {
	const rate = 48000.0
	const n = 1 << 16
	cases := []struct {
		w      Wave
		hz     float64
		better float64 // dB less aliasing than the naive wave, at least
	}{
		{Saw, 5000, 20},
		{Saw, 1234, 20},
		{Square, 5000, 20},
		{Square, 1234, 20},
		{Triangle, 5000, 17},
		{Triangle, 1234, 20},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%v_%g", c.w, c.hz), func(t *testing.T) {
			x := renderOsc(c.w, c.hz, rate, n, 0)
			if f := peakHz(x, rate); math.Abs(f-c.hz) > 0.5 {
				t.Errorf("fundamental at %.3f Hz, want %g", f, c.hz)
			}
			h, a := harmonicSplit(x, rate, c.hz, 8)
			hn, an := harmonicSplit(naiveWave(c.w, c.hz, rate, n), rate, c.hz, 8)
			blep, naive := db(a/h), db(an/hn)
			t.Logf("aliasing: band-limited %.1f dB, naive %.1f dB (%.1f dB better)", blep, naive, naive-blep)
			if naive-blep < c.better {
				t.Errorf("aliasing %.1f dB vs naive %.1f dB: improvement %.1f dB < %g", blep, naive, naive-blep, c.better)
			}
			// Level of the fundamental matches the ideal wave (within 0.5 dB).
			ideal := idealWave(c.w, c.hz, rate, 1<<13)
			gi := sineFit(ideal, c.hz, rate, 0)
			gx := sineFit(x[:1<<13], c.hz, rate, 0)
			if math.Abs(20*math.Log10(gx/gi)) > 0.7 { // B-spline roll-off: -0.6 dB at 5 kHz
				t.Errorf("fundamental amplitude %.4f, ideal %.4f", gx, gi)
			}
		})
	}
}

// The band-limited waves equal, sample by sample, the additive-synthesis
// wave with each harmonic scaled by the B-spline response sinc⁴(f/rate), up
// to their (small) aliasing: this checks sign, position and size of every
// correction.
func TestOscMatchesAdditive(t *testing.T) {
	const rate = 48000.0
	const n = 4096
	for _, w := range []Wave{Saw, Square, Triangle} {
		for _, hz := range []float64{110, 440, 2000} {
			x := renderOsc(w, hz, rate, n, 0)
			want := weightedWave(w, hz, rate, n, bsplineResponse)
			naive := naiveWave(w, hz, rate, n)
			var e, en, p float64
			for i := range x {
				d := float64(x[i] - want[i])
				e += d * d
				dn := float64(naive[i] - want[i])
				en += dn * dn
				p += float64(want[i]) * float64(want[i])
			}
			t.Logf("%v %g Hz: error vs weighted additive: band-limited %.1f dB, naive %.1f dB", w, hz, db(e/p), db(en/p))
			if db(e/p) > -35 || db(e/p) > db(en/p)-20 {
				t.Errorf("%v %g Hz: band-limited wave %.1f dB from the ideal (naive %.1f dB)", w, hz, db(e/p), db(en/p))
			}
		}
	}
}

func TestOscRanges(t *testing.T) {
	const rate = 48000.0
	for w := Sine; w <= PinkNoise; w++ {
		for _, hz := range []float64{20, 440, 5000, 15000, 23999} {
			x := renderOsc(w, hz, rate, 48000, 7)
			peak := 0.0
			for _, v := range x {
				if !Finite(v) {
					t.Fatalf("%v %g Hz: non-finite sample", w, hz)
				}
				peak = math.Max(peak, math.Abs(float64(v)))
			}
			if peak > 1.6 {
				t.Errorf("%v %g Hz: peak %v", w, hz, peak)
			}
		}
	}
	// Out-of-range frequencies and pulse widths are clamped, not fatal.
	var o Osc
	buf := make([]float32, 64)
	for _, inc := range []float64{-1, 0, 0.7, math.NaN(), math.Inf(1)} {
		for _, pw := range []float64{-1, 0, 0.01, 1, math.NaN()} {
			for w := Sine; w <= PinkNoise+1; w++ {
				o.Process(buf, w, inc, inc, pw)
				for _, v := range buf {
					if !Finite(v) {
						t.Fatalf("%v inc %v pw %v: non-finite", w, inc, pw)
					}
				}
			}
		}
	}
}

func TestOscPulseWidth(t *testing.T) {
	// A 25% pulse: DC-free, fundamental amplitude (4/π)·sin(π·pw).
	const rate = 48000.0
	var o Osc
	o.Reset(0)
	x := make([]float32, 48000)
	inc := 100.0 / rate
	inBlocks(x, func(b []float32) { o.Process(b, Square, inc, inc, 0.25) })
	mean := 0.0
	for _, v := range x {
		mean += float64(v)
	}
	mean /= float64(len(x))
	if math.Abs(mean) > 1e-3 {
		t.Errorf("pulse DC %v", mean)
	}
	a := sineFit(x, 100, rate, 0)
	want := 4 / math.Pi * math.Sin(math.Pi*0.25)
	if math.Abs(a-want) > 0.01 {
		t.Errorf("fundamental %v, want %v", a, want)
	}
}

func TestOscSetPhase(t *testing.T) {
	var o Osc
	o.Reset(0)
	o.SetPhase(1.25)
	if o.Phase() != 0.25 {
		t.Errorf("phase %v", o.Phase())
	}
	o.SetPhase(-0.25)
	if o.Phase() != 0.75 {
		t.Errorf("phase %v", o.Phase())
	}
	buf := make([]float32, 1)
	o.SetPhase(0.25)
	o.Process(buf, Sine, 0.001, 0.001, 0.5)
	if math.Abs(float64(buf[0])-1) > 1e-6 {
		t.Errorf("sine at phase 0.25 = %v", buf[0])
	}
}

func TestWaveNames(t *testing.T) {
	for w := Sine; w <= PinkNoise; w++ {
		got, ok := ParseWave(w.String())
		if !ok || got != w {
			t.Errorf("ParseWave(%q) = %v, %v", w.String(), got, ok)
		}
	}
	if _, ok := ParseWave("nope"); ok {
		t.Error("ParseWave accepted nope")
	}
	if g, ok := ParseWave(" SAW "); !ok || g != Saw {
		t.Error("ParseWave is not case-insensitive")
	}
	if Wave(42).String() != "wave(42)" {
		t.Error(Wave(42).String())
	}
}

func TestOscAllocs(t *testing.T) {
	var o Osc
	o.Reset(1)
	buf := make([]float32, MaxBlock)
	for w := Sine; w <= PinkNoise; w++ {
		if a := testing.AllocsPerRun(100, func() { o.Process(buf, w, 0.01, 0.02, 0.4) }); a != 0 {
			t.Errorf("%v: %v allocs", w, a)
		}
	}
}

func BenchmarkOsc(b *testing.B) {
	for w := Sine; w <= PinkNoise; w++ {
		b.Run(w.String(), func(b *testing.B) {
			var o Osc
			o.Reset(1)
			buf := make([]float32, MaxBlock)
			b.ReportAllocs()
			for b.Loop() {
				o.Process(buf, w, 0.01, 0.0101, 0.5)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*MaxBlock), "ns/sample")
		})
	}
}

// render runs the stretches between band-limiting corrections as tight
// loops; every sample must still equal the per-sample formula at its phase
// (sawAt, squareAt, triangleAt), bit for bit, whatever the block split,
// and the phase must follow the same sequence of additions. The sine runs
// a rotation between exact anchors: it must not depend on the split (bit
// for bit) and stay within 1e-7 of sin2pi.
func TestOscRenderMatchesPerSample(t *testing.T) {
	var rng Rand
	rng.Seed(5)
	for _, w := range []Wave{Sine, Saw, Square, Triangle} {
		for trial := 0; trial < 300; trial++ {
			inc := math.Exp2(-1 - 14*rng.Float()) // 0.5 .. 3e-5 cycles per sample
			if trial%50 == 0 {
				inc = 0.5
			}
			pw := 0.02 + 0.96*rng.Float()
			p0 := rng.Float()
			const n = 3000
			want := make([]float32, n)
			p := p0
			if w != Sine { // render's contract: phase and increment on the grid
				inc, p = onGrid(inc), onGrid(p0)
			}
			dc := 2*clampPW(pw) - 1
			for i := range want {
				var y float64
				switch w {
				case Sine:
					y = sin2pi(p)
				case Saw:
					y = sawAt(p, inc)
				case Square:
					y = squareAt(p, inc, clampPW(pw), dc)
				case Triangle:
					y = triangleAt(p, inc)
				}
				want[i] = float32(y) * 0.75
				p += inc
				if p >= 1 {
					p -= 1
				}
			}
			var o Osc
			o.SetPhase(p0)
			got := make([]float32, n)
			for i := 0; i < n; {
				m := min(n-i, 1+int(rng.Uint64()%300))
				o.render(got[i:i+m], w, inc, pw, 0.75)
				i += m
			}
			if w == Sine {
				var o1 Osc
				o1.SetPhase(p0)
				one := make([]float32, n)
				o1.render(one, w, inc, pw, 0.75)
				for i := range want {
					if math.Float32bits(got[i]) != math.Float32bits(one[i]) {
						t.Fatalf("sine inc %v: sample %d = %v split, %v in one call", inc, i, got[i], one[i])
					}
					if d := math.Abs(float64(got[i] - want[i])); d > 1e-7 {
						t.Fatalf("sine inc %v: sample %d = %v, sin2pi %v", inc, i, got[i], want[i])
					}
				}
				if o.Phase() != o1.Phase() || math.Abs(o.Phase()-p) > 1e-12 {
					t.Fatalf("sine inc %v: phase %v split, %v in one call, %v summed", inc, o.Phase(), o1.Phase(), p)
				}
				continue
			}
			for i := range want {
				if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
					t.Fatalf("%v inc %v pw %v phase %v: sample %d = %v, want %v", w, inc, pw, p0, i, got[i], want[i])
				}
			}
			if o.Phase() != p {
				t.Fatalf("%v inc %v: phase %v, want %v", w, inc, o.Phase(), p)
			}
		}
	}
}

// BenchmarkOscConstant is the synth's case: a constant frequency (440 Hz at
// 48 kHz), so the band-limited waves run their tight stretches.
func BenchmarkOscConstant(b *testing.B) {
	for w := Sine; w <= PinkNoise; w++ {
		b.Run(w.String(), func(b *testing.B) {
			var o Osc
			o.Reset(1)
			buf := make([]float32, MaxBlock)
			b.ReportAllocs()
			for b.Loop() {
				o.Process(buf, w, 440.0/48000, 440.0/48000, 0.5)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*MaxBlock), "ns/sample")
		})
	}
}
