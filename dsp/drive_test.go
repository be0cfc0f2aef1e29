package dsp

import (
	"math"
	"testing"
)

func TestSoftClip(t *testing.T) {
	x := make([]float32, 2001)
	for i := range x {
		x[i] = float32(i-1000) / 100 // -10 .. 10
	}
	for _, drive := range []float32{0, 0.5, 1, 2, 8, 1e6} {
		y := append([]float32(nil), x...)
		SoftClip(y, drive)
		for i := range y {
			if y[i] < -1 || y[i] > 1 {
				t.Fatalf("drive %v: y(%v) = %v out of [-1,1]", drive, x[i], y[i])
			}
			if y[i] != -y[2000-i] {
				t.Fatalf("drive %v: not odd at %v", drive, x[i])
			}
			if i > 0 && y[i] < y[i-1] {
				t.Fatalf("drive %v: not monotonic at %v", drive, x[i])
			}
		}
		// Close to tanh(g·x) (within 0.025) and continuous (no step larger
		// than the slope allows).
		g := math.Max(float64(drive), 1)
		g = math.Min(g, 1000)
		for i := range y {
			if d := math.Abs(float64(y[i]) - math.Tanh(g*float64(x[i]))); d > 0.025 {
				t.Fatalf("drive %v: y(%v) = %v, tanh %v", drive, x[i], y[i], math.Tanh(g*float64(x[i])))
			}
		}
	}
	// drive <= 1 is nearly transparent at low level: < 0.3% error below 0.1,
	// < 3% below 0.3.
	for _, v := range []float32{0.001, 0.01, 0.05, 0.1, 0.3} {
		b := []float32{v}
		SoftClip(b, 1)
		tol := float32(0.003)
		if v > 0.1 {
			tol = 0.03
		}
		if d := (v - b[0]) / v; d < 0 || d > tol {
			t.Errorf("SoftClip(%v) = %v (%.3f%% compression)", v, b[0], 100*d)
		}
	}
	// Non-finite input.
	b := []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1))}
	SoftClip(b, 3)
	if b[0] != 0 || b[1] != 1 || b[2] != -1 {
		t.Errorf("non-finite input: %v", b)
	}
	buf := noiseSignal(MaxBlock, 1)
	if a := testing.AllocsPerRun(100, func() { SoftClip(buf, 2) }); a != 0 {
		t.Errorf("%v allocs", a)
	}
}

func BenchmarkSoftClip(b *testing.B) {
	buf := noiseSignal(MaxBlock, 1)
	b.ReportAllocs()
	for b.Loop() {
		SoftClip(buf, 1.5)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*MaxBlock), "ns/sample")
}
