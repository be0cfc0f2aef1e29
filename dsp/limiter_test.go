package dsp

import (
	"math"
	"testing"
)

func newLimiter(ceiling float32) *Limiter {
	l := new(Limiter)
	l.Init(ceiling, 48000)
	return l
}

// Random loud input with NaN and ±Inf: every output sample is finite and
// within the ceiling.
func TestLimiterCeilingAndFinite(t *testing.T) {
	for _, ceiling := range []float32{1, 0.5, 0.891} {
		lim := newLimiter(ceiling)
		var rng Rand
		rng.Seed(uint64(ceiling * 1000))
		l := make([]float32, 100000)
		r := make([]float32, 100000)
		for i := range l {
			scale := math.Pow(10, 6*rng.Float()-2) // 0.01 .. 10^4
			l[i] = float32(scale * rng.Bipolar())
			r[i] = float32(scale * rng.Bipolar())
			switch rng.Uint64() % 50 {
			case 0:
				l[i] = float32(math.NaN())
			case 1:
				r[i] = float32(math.Inf(1))
			case 2:
				l[i] = float32(math.Inf(-1))
			case 3:
				r[i] = math.MaxFloat32
			case 4:
				l[i] = -math.MaxFloat32
			}
		}
		for i := 0; i < len(l); {
			n := 1 + int(rng.Uint64()%MaxBlock)
			j := min(i+n, len(l))
			lim.Process(l[i:j], r[i:j])
			i = j
		}
		for i := range l {
			if !Finite(l[i]) || !Finite(r[i]) || l[i] > ceiling || l[i] < -ceiling || r[i] > ceiling || r[i] < -ceiling {
				t.Fatalf("ceiling %v: sample %d = %v, %v", ceiling, i, l[i], r[i])
			}
		}
		t.Logf("ceiling %v: final clamp touched %d of %d frames", ceiling, lim.Clamped(), len(l))
	}
}

// Below the ceiling the limiter is a pure delay of Latency() frames.
func TestLimiterTransparent(t *testing.T) {
	lim := newLimiter(1)
	// 1 ms of look-ahead: the window holds 48 frames at 48 kHz, the
	// newest of them the frame going in, so the delay is 47 frames.
	if lat := lim.Latency(); lat != 47 {
		t.Errorf("latency %d frames at 48 kHz, want 47 (1 ms window)", lat)
	}
	in := sine(10000, 440, 48000, 0.99)
	l := append([]float32(nil), in...)
	r := append([]float32(nil), in...)
	stereoBlocks(l, r, 100, lim.Process)
	lat := lim.Latency()
	for i := 0; i < len(in)-lat; i++ {
		if l[i+lat] != in[i] || r[i+lat] != in[i] {
			t.Fatalf("frame %d: %v, want %v", i, l[i+lat], in[i])
		}
	}
	for i := 0; i < lat; i++ {
		if l[i] != 0 {
			t.Fatal("output before the latency")
		}
	}
	// Silence in, silence out.
	lim.Reset()
	z := make([]float32, 1000)
	z2 := make([]float32, 1000)
	lim.Process(z, z2)
	for i := range z {
		if z[i] != 0 || z2[i] != 0 {
			t.Fatal("silence in, noise out")
		}
	}
}

// The look-ahead gain, not the final clamp, does the limiting: a sudden
// burst after silence and a loud sine stay under the ceiling before the
// clamp (Clamped stays ~0), the gain changes smoothly, and a steady loud
// sine comes out close to the ceiling.
func TestLimiterLookahead(t *testing.T) {
	const rate = 48000.0
	lim := newLimiter(0.9)
	n := 48000
	l := make([]float32, n)
	r := make([]float32, n)
	s := sine(n, 220, rate, 4)
	copy(l[10000:], s) // burst from silence, +13 dB over the ceiling
	copy(r[10000:], s)
	stereoBlocks(l, r, MaxBlock, lim.Process)
	if c := lim.Clamped(); c > 2 {
		t.Errorf("final clamp needed on %d frames", c)
	}
	peak := 0.0
	for _, v := range l[30000:] {
		peak = math.Max(peak, math.Abs(float64(v)))
	}
	if peak < 0.85 || peak > 0.9 {
		t.Errorf("steady peak %v, want just under 0.9", peak)
	}
	// Gain changes smoothly: the output never steps more than the input
	// sine's largest step (times the ceiling ratio) plus the gain change.
	if d := maxAbsDiff(l); d > 4*2*math.Pi*220/rate {
		t.Errorf("output step %v", d)
	}
	// Release: after the burst the gain returns to 1.
	lim.Reset()
	a := make([]float32, 96000)
	b := make([]float32, 96000)
	a[1000], b[1000] = 10, 10
	for i := 50000; i < len(a); i++ {
		a[i] = 0.5
		b[i] = 0.5
	}
	stereoBlocks(a, b, MaxBlock, lim.Process)
	if a[len(a)-1] != 0.5 {
		t.Errorf("gain did not recover: %v", a[len(a)-1])
	}
	if math.Abs(float64(a[1000+lim.Latency()])-0.9) > 1e-6 {
		t.Errorf("peak frame limited to %v, want 0.9", a[1000+lim.Latency()])
	}
}

func TestLimiterDefaults(t *testing.T) {
	var lim Limiter // zero value: Init(1, 48000) on first use
	l := []float32{5, -5}
	r := []float32{0, float32(math.NaN())}
	lim.Process(l, r)
	for i := range l {
		if !Finite(l[i]) || !Finite(r[i]) || math.Abs(float64(l[i])) > 1 {
			t.Fatal(l, r)
		}
	}
	lim.Init(float32(math.NaN()), math.Inf(1))
	if lim.Ceiling() != 1 {
		t.Error("NaN ceiling accepted")
	}
}

func TestLimiterAllocs(t *testing.T) {
	lim := newLimiter(0.9)
	l := noiseSignal(MaxBlock, 1)
	r := noiseSignal(MaxBlock, 2)
	if a := testing.AllocsPerRun(100, func() { lim.Process(l, r) }); a != 0 {
		t.Errorf("%v allocs", a)
	}
}

func BenchmarkLimiter(b *testing.B) {
	lim := newLimiter(0.9)
	l := noiseSignal(MaxBlock, 1)
	r := noiseSignal(MaxBlock, 2)
	for i := range l {
		l[i] *= 3
	}
	b.ReportAllocs()
	for b.Loop() {
		lim.Process(l, r)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*MaxBlock), "ns/frame")
}
