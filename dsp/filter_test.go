package dsp

import (
	"fmt"
	"math"
	"testing"
)

func newBiquad(t FilterType, cutoff, q, rate float64) *Biquad {
	var f Biquad
	f.Init(t, cutoff, q, rate)
	f.Reset()
	return &f
}

// measuredDB is the steady-state gain of a fresh filter for a sine at hz.
func measuredDB(t FilterType, cutoff, q, rate, hz float64) float64 {
	f := newBiquad(t, cutoff, q, rate)
	return toneGainDB(f.Process, hz, rate)
}

// designDB is the analytic RBJ response (bilinear transform of the analogue
// prototype) at hz.
func designDB(t FilterType, cutoff, q, rate, hz float64) float64 {
	w0 := 2 * math.Pi * cutoff / rate
	w := 2 * math.Pi * hz / rate
	// Prewarped analogue frequency ratio s = j·Ω/Ω0.
	x := math.Tan(w/2) / math.Tan(w0/2)
	re := 1 - x*x // denominator 1 + s/Q + s²
	im := x / q
	den := re*re + im*im
	var num float64
	switch t {
	case LowPass:
		num = 1
	case HighPass:
		num = x * x * x * x
	case BandPass:
		num = (x / q) * (x / q)
	case Notch:
		num = (1 - x*x) * (1 - x*x)
	}
	return 10 * math.Log10(num/den+1e-300)
}

func TestBiquadResponseAtCutoff(t *testing.T) {
	const rate = 48000.0
	q := 1 / math.Sqrt2
	for _, fc := range []float64{100, 1000, 5000} {
		for _, typ := range []FilterType{LowPass, HighPass, BandPass, Notch} {
			t.Run(fmt.Sprintf("%v_%g", typ, fc), func(t *testing.T) {
				fq := q
				if typ == BandPass || typ == Notch {
					fq = 2
				}
				got := measuredDB(typ, fc, fq, rate, fc)
				var want float64
				switch typ {
				case LowPass, HighPass:
					want = -3.0103
				case BandPass:
					want = 0
				case Notch:
					want = math.Inf(-1)
				}
				if typ == Notch {
					if got > -60 {
						t.Errorf("notch centre %.2f dB, want < -60", got)
					}
				} else if math.Abs(got-want) > 0.5 {
					t.Errorf("at cutoff %.3f dB, want %.2f ± 0.5", got, want)
				}
				// Measured response matches the analytic design and Response()
				// at several frequencies.
				f := newBiquad(typ, fc, fq, rate)
				for _, m := range []float64{0.25, 0.5, 0.8, 1.25, 2, 4} {
					hz := fc * m
					if hz >= rate/2 {
						continue
					}
					meas := measuredDB(typ, fc, fq, rate, hz)
					des := designDB(typ, fc, fq, rate, hz)
					resp := 20 * math.Log10(f.Response(hz))
					if math.Abs(meas-des) > 0.05 || math.Abs(resp-des) > 1e-6 {
						t.Errorf("at %g Hz: measured %.3f dB, Response %.3f dB, design %.3f dB", hz, meas, resp, des)
					}
				}
			})
		}
	}
}

// Stop-band slope two octaves from the cutoff: ~12 dB/octave for LP and HP
// (the bilinear transform only steepens LP near Nyquist), ~6 dB/octave for
// BP.
func TestBiquadStopbandSlope(t *testing.T) {
	const rate = 48000.0
	q := 1 / math.Sqrt2
	for _, fc := range []float64{100, 1000, 5000} {
		// LP: from 2 to 4 octaves above... measured at 2fc and 4fc.
		if 4*fc < rate/2 {
			g2 := measuredDB(LowPass, fc, q, rate, 2*fc)
			g4 := measuredDB(LowPass, fc, q, rate, 4*fc)
			slope := g2 - g4
			t.Logf("LP %g Hz: %.2f dB at 2fc, %.2f dB at 4fc, slope %.2f dB/oct", fc, g2, g4, slope)
			if slope < 11.5 || (fc <= 1000 && slope > 12.5) {
				t.Errorf("LP %g Hz: slope %.2f dB/octave", fc, slope)
			}
			if g4 > -23.5 {
				t.Errorf("LP %g Hz: %.2f dB two octaves above the cutoff", fc, g4)
			}
		}
		g2 := measuredDB(HighPass, fc, q, rate, fc/2)
		g4 := measuredDB(HighPass, fc, q, rate, fc/4)
		slope := g2 - g4
		t.Logf("HP %g Hz: %.2f dB at fc/2, %.2f dB at fc/4, slope %.2f dB/oct", fc, g2, g4, slope)
		if slope < 11.5 || slope > 12.5 || g4 > -23.5 {
			t.Errorf("HP %g Hz: slope %.2f dB/octave, %.2f dB two octaves below", fc, slope, g4)
		}
		b2 := measuredDB(BandPass, fc, q, rate, fc/2)
		b4 := measuredDB(BandPass, fc, q, rate, fc/4)
		if s := b2 - b4; s < 5.5 || s > 6.5 {
			t.Errorf("BP %g Hz: slope %.2f dB/octave below the centre", fc, s)
		}
	}
}

// complexResponse is H(e^jw) of c at hz.
func complexResponse(c coefs, hz, rate float64) complex128 {
	z1 := cmplxExp(-2 * math.Pi * hz / rate)
	z2 := z1 * z1
	return (complex(c.b0, 0) + complex(c.b1, 0)*z1 + complex(c.b2, 0)*z2) /
		(1 + complex(c.a1, 0)*z1 + complex(c.a2, 0)*z2)
}

func cmplxExp(w float64) complex128 { s, c := math.Sincos(w); return complex(c, s) }

// Changing the coefficients (Init, jump) keeps the state: a sine's output
// moves from the old steady state to the new one with no step larger than
// the signal's own largest step plus the difference of the two steady
// states (|H_new - H_old|·amplitude), while resetting the state clicks.
func TestBiquadCoefficientChangeKeepsState(t *testing.T) {
	const rate = 48000.0
	const hz = 200.0
	const at = 4860 // sine near its peak
	x := sine(9600, hz, rate, 1)
	for _, ch := range []struct{ from, to float64 }{{1000, 3000}, {3000, 400}, {300, 5000}} {
		f := newBiquad(LowPass, ch.from, 0.707, rate)
		y := append([]float32(nil), x...)
		f.Process(y[:at])
		old := complexResponse(f.c, hz, rate)
		f.Init(LowPass, ch.to, 0.707, rate) // jump
		f.Process(y[at:])
		dh := math.Hypot(real(complexResponse(f.c, hz, rate)-old), imag(complexResponse(f.c, hz, rate)-old))
		bound := 2*math.Pi*hz/rate*1.1 + dh*1.1
		d := maxAbsDiff(y[at-50:])
		t.Logf("%g -> %g Hz: max step %.4f, bound %.4f", ch.from, ch.to, d, bound)
		if d > bound {
			t.Errorf("%g -> %g Hz: max step %v after a coefficient jump, bound %v", ch.from, ch.to, d, bound)
		}
		// The same with a state reset steps far more (the test is sensitive).
		g := newBiquad(LowPass, ch.from, 0.707, rate)
		z := append([]float32(nil), x...)
		g.Process(z[:at])
		g.Init(LowPass, ch.to, 0.707, rate)
		g.Reset()
		g.Process(z[at:])
		if dz := maxAbsDiff(z[at-50:]); dz < 2*d {
			t.Errorf("a state reset gave only step %v (kept state: %v)", dz, d)
		}
	}
	// Type changes keep the state too (LP→BP at 1000 Hz passes 200 Hz at
	// -14 dB; the step is bounded by the input's peak).
	h := newBiquad(LowPass, 1000, 0.707, rate)
	w := append([]float32(nil), x...)
	h.Process(w[:4800])
	h.SetTarget(BandPass, 1000, 0.707)
	h.Process(w[4800:])
	for _, v := range w {
		if math.Abs(float64(v)) > 1.2 {
			t.Fatalf("type change blew up: %v", v)
		}
	}
}

// A cutoff sweep driven by per-block SetTarget steps has no zipper noise:
// the energy above 12 kHz of a swept-filtered 300 Hz sine stays far below
// that of the same sweep with a plain TDF-II coefficient jump (no glide, no
// state re-derivation) every block.
func TestBiquadSweepNoZipper(t *testing.T) {
	const rate = 48000.0
	const n = 1 << 16
	x := sine(n, 300, rate, 1)
	cut := func(i int) float64 { // 200 Hz .. 8 kHz and back, 0.7 s period
		ph := math.Mod(float64(i)/(0.7*rate), 1)
		return 200 * math.Pow(40, 1-math.Abs(2*ph-1))
	}
	smooth := append([]float32(nil), x...)
	f := newBiquad(LowPass, cut(0), 4, rate)
	for i := 0; i < n; i += MaxBlock {
		f.SetTarget(LowPass, cut(i), 4)
		f.Process(smooth[i : i+MaxBlock])
	}
	jumpy := append([]float32(nil), x...)
	g := newBiquad(LowPass, cut(0), 4, rate)
	for i := 0; i < n; i += MaxBlock {
		g.c = design(LowPass, cut(i), 4, rate)
		g.end = g.c
		g.Process(jumpy[i : i+MaxBlock])
	}
	hs := bandEnergy(smooth, rate, 12000, 24000) / bandEnergy(smooth, rate, 0, 24000)
	hj := bandEnergy(jumpy, rate, 12000, 24000) / bandEnergy(jumpy, rate, 0, 24000)
	t.Logf("energy above 12 kHz: smoothed sweep %.1f dB, stepped sweep %.1f dB", db(hs), db(hj))
	if db(hs) > -110 || db(hs) > db(hj)-20 {
		t.Errorf("zipper: smoothed %.1f dB, stepped %.1f dB", db(hs), db(hj))
	}
	// The glide reaches the target (log-domain one-pole, 3 ms).
	f.SetTarget(LowPass, 2000, 1)
	for i := 0; i < 10; i++ { // 53 ms
		f.Process(make([]float32, MaxBlock))
	}
	if math.Abs(f.Cutoff()-2000) > 1e-6 || f.Q() != 1 {
		t.Errorf("glide ended at %v Hz, Q %v", f.Cutoff(), f.Q())
	}
	if math.Abs(f.Response(2000)-1) > 1e-9 {
		t.Errorf("response at cutoff with Q=1: %v", f.Response(2000))
	}
}

func TestBiquadSilenceAndTimeInvariance(t *testing.T) {
	const rate = 48000.0
	for typ := LowPass; typ <= Notch; typ++ {
		f := newBiquad(typ, 800, 3, rate)
		buf := make([]float32, 5000)
		inBlocks(buf, f.Process)
		for _, v := range buf {
			if v != 0 {
				t.Fatalf("%v: silence in, %v out", typ, v)
			}
		}
		// Delayed input = delayed output, bit-exact, for any block split.
		in := noiseSignal(3000, 5)
		a := append([]float32(nil), in...)
		f1 := newBiquad(typ, 800, 3, rate)
		inBlocks(a, f1.Process)
		const k = 777
		b := append(make([]float32, k), in...)
		f2 := newBiquad(typ, 800, 3, rate)
		for i := 0; i < len(b); i += 100 {
			f2.Process(b[i:min(i+100, len(b))])
		}
		for i := range a {
			if a[i] != b[i+k] {
				t.Fatalf("%v: not time invariant at %d: %v vs %v", typ, i, a[i], b[i+k])
			}
		}
	}
}

// noiseSignal returns n samples of seeded white noise in [-1,1).
func noiseSignal(n int, seed uint64) []float32 {
	var o Osc
	o.Reset(seed)
	x := make([]float32, n)
	inBlocks(x, func(b []float32) { o.Process(b, WhiteNoise, 0, 0, 0) })
	return x
}

func TestBiquadStability(t *testing.T) {
	// Extreme settings and garbage input stay finite; NaN input is flushed
	// from the state at the end of the block.
	f := newBiquad(LowPass, 1e9, 1e9, 48000)
	buf := noiseSignal(MaxBlock, 1)
	f.Process(buf)
	for _, v := range buf {
		if !Finite(v) {
			t.Fatal("non-finite output at extreme settings")
		}
	}
	f.SetTarget(HighPass, math.NaN(), math.Inf(1))
	buf[3] = float32(math.NaN())
	f.Process(buf)
	clear(buf)
	f.Process(buf)
	for _, v := range buf {
		if !Finite(v) {
			t.Fatal("NaN stuck in the state")
		}
	}
	if FilterType(9).String() != "filter(9)" || BandPass.String() != "bandpass" {
		t.Error("FilterType.String")
	}
}

func TestBiquadAllocs(t *testing.T) {
	f := newBiquad(LowPass, 1000, 0.7, 48000)
	buf := noiseSignal(MaxBlock, 1)
	cut := 1000.0
	if a := testing.AllocsPerRun(100, func() {
		cut = 3000 - cut
		f.SetTarget(LowPass, cut, 2)
		f.Process(buf)
	}); a != 0 {
		t.Errorf("%v allocs", a)
	}
}

func BenchmarkBiquad(b *testing.B) {
	b.Run("static", func(b *testing.B) {
		f := newBiquad(LowPass, 1000, 0.7, 48000)
		buf := noiseSignal(MaxBlock, 1)
		b.ReportAllocs()
		for b.Loop() {
			f.Process(buf)
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*MaxBlock), "ns/sample")
	})
	b.Run("sweep", func(b *testing.B) {
		f := newBiquad(LowPass, 1000, 0.7, 48000)
		buf := noiseSignal(MaxBlock, 1)
		b.ReportAllocs()
		n := 0
		for b.Loop() {
			n++
			f.SetTarget(LowPass, 500+float64(n%100)*50, 2)
			f.Process(buf)
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*MaxBlock), "ns/sample")
	})
}

// The output does not depend on how the caller splits its blocks (glides
// started at the same samples, decaying tails down to the state flush
// included): bit-exact.
func TestBiquadBlockSplitInvariance(t *testing.T) {
	const n = 120000
	in := make([]float32, n)
	copy(in, noiseSignal(3000, 9))
	render := func(split func(i int) int) []float32 {
		f := newBiquad(LowPass, 300, 0.9, 48000)
		x := append([]float32(nil), in...)
		for i := 0; i < n; {
			if i%64 == 0 && i < 20000 {
				f.SetTarget(LowPass, 200+float64(i%6400), 0.7+float64(i%640)/640)
			}
			m := min(split(i), 64-i%64, n-i) // calls never straddle a SetTarget point
			f.Process(x[i : i+m])
			i += m
		}
		return x
	}
	ref := render(func(int) int { return 64 })
	var rng Rand
	rng.Seed(1)
	for _, split := range []func(int) int{
		func(int) int { return 1 },
		func(int) int { return 7 },
		func(int) int { return 1 + int(rng.Uint64()%64) },
	} {
		got := render(split)
		for i := range ref {
			if got[i] != ref[i] {
				t.Fatalf("sample %d: %v, want %v", i, got[i], ref[i])
			}
		}
	}
	if ref[n-1] != 0 {
		t.Errorf("tail did not decay to exact zero: %v", ref[n-1])
	}
}

// runVoiceFilter filters buf in place the way the synth's voices do
// (direct form I through span, runDF1 and advanceDF1).
func runVoiceFilter(f *Biquad, buf []float32) {
	var y [MaxBlock]float32
	for len(buf) > 0 {
		m := f.span(min(len(buf), MaxBlock))
		f.runDF1(buf[:m], y[:m])
		f.advanceDF1(m)
		copy(buf, y[:m])
		buf = buf[m:]
	}
}

// The voices' direct form I is the same filter as Process's TDF-II: with
// fixed coefficients the outputs agree to float32 rounding, for every
// type (so the response tests above hold for it too).
func TestBiquadDF1MatchesProcess(t *testing.T) {
	const rate = 48000.0
	in := noiseSignal(20000, 4)
	for typ := LowPass; typ <= Notch; typ++ {
		for _, fc := range []float64{40, 1000, 15000} {
			a := append([]float32(nil), in...)
			b := append([]float32(nil), in...)
			inBlocks(a, newBiquad(typ, fc, 3, rate).Process)
			runVoiceFilter(newBiquad(typ, fc, 3, rate), b)
			worst, peak := 0.0, 0.0
			for i := range a {
				worst = math.Max(worst, math.Abs(float64(a[i]-b[i])))
				peak = math.Max(peak, math.Abs(float64(a[i])))
			}
			if worst > 1e-5*peak {
				t.Errorf("%v %g Hz: DF-I differs from TDF-II by %g (peak %g)", typ, fc, worst, peak)
			}
		}
	}
}

// The voices' filter path does not depend on how the caller splits its
// blocks (glides started at the same samples), and a decaying tail
// reaches exact zero.
func TestBiquadDF1BlockSplitInvariance(t *testing.T) {
	const n = 120000
	in := make([]float32, n)
	copy(in, noiseSignal(3000, 9))
	render := func(split func(i int) int) []float32 {
		f := newBiquad(LowPass, 300, 0.9, 48000)
		f.setChunk(voiceFilterChunk)
		x := append([]float32(nil), in...)
		for i := 0; i < n; {
			if i%64 == 0 && i < 20000 {
				typ := LowPass
				if i%6400 == 3200 {
					typ = BandPass
				}
				f.SetTarget(typ, 200+float64(i%6400), 0.7+float64(i%640)/640)
			}
			m := min(split(i), 64-i%64, n-i)
			runVoiceFilter(f, x[i:i+m])
			i += m
		}
		return x
	}
	ref := render(func(int) int { return 64 })
	var rng Rand
	rng.Seed(2)
	for _, split := range []func(int) int{
		func(int) int { return 1 },
		func(int) int { return 13 },
		func(int) int { return 1 + int(rng.Uint64()%64) },
	} {
		got := render(split)
		for i := range ref {
			if got[i] != ref[i] {
				t.Fatalf("sample %d: %v, want %v", i, got[i], ref[i])
			}
		}
	}
	if ref[n-1] != 0 {
		t.Errorf("tail did not decay to exact zero: %v", ref[n-1])
	}
}
