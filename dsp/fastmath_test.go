package dsp

import (
	"math"
	"testing"
)

func TestExp2Fast(t *testing.T) {
	worst := 0.0
	for i := -400000; i <= 400000; i++ {
		x := float64(i) * 1e-4 // -40 .. 40, off the table grid
		want := math.Exp2(x)
		worst = math.Max(worst, math.Abs(exp2Fast(x)-want)/want)
	}
	t.Logf("max relative error %.2g", worst)
	if worst > 1e-15 {
		t.Errorf("exp2Fast: relative error %g", worst)
	}
	for _, c := range []struct{ x, want float64 }{{0, 1}, {1, 2}, {-1, 0.5}, {10, 1024}, {math.NaN(), 1}} {
		if got := exp2Fast(c.x); got != c.want {
			t.Errorf("exp2Fast(%v) = %v, want %v", c.x, got, c.want)
		}
	}
	for _, x := range []float64{math.Inf(1), math.Inf(-1), 1e300, -1e300} {
		if y := exp2Fast(x); !(y > 0) || math.IsInf(y, 0) {
			t.Errorf("exp2Fast(%v) = %v, want finite and positive (clamped)", x, y)
		}
	}
}

func TestSinCos(t *testing.T) {
	var ws, wc, wt float64
	for i := 0; i <= 100000; i++ {
		z := math.Pi / 2 * float64(i) / 100000
		s, c := sinCos(z)
		ws = math.Max(ws, math.Abs(s-math.Sin(z)))
		wc = math.Max(wc, math.Abs(c-math.Cos(z)))
		st := sinTaylor(z)
		if st < math.Sin(z)-1e-16 {
			t.Fatalf("sinTaylor(%v) = %v below sin %v", z, st, math.Sin(z))
		}
		wt = math.Max(wt, math.Abs(st-math.Sin(z)))
		// Small angles: relative accuracy (the filter design relies on it).
		if z > 0 && z < 0.01 && math.Abs(s/math.Sin(z)-1) > 1e-15 {
			t.Fatalf("sinCos(%v): relative error %g", z, s/math.Sin(z)-1)
		}
	}
	t.Logf("max error: sin %.2g, cos %.2g, sinTaylor %.2g", ws, wc, wt)
	if ws > 5e-14 || wc > 5e-14 || wt > 5e-14 {
		t.Errorf("errors sin %g, cos %g, sinTaylor %g", ws, wc, wt)
	}
	if sinTaylor(math.Pi/2) < 1 {
		t.Error("sinTaylor(π/2) < 1: the LFO's clamp relies on it")
	}
	worst := 0.0
	for i := 0; i <= 100000; i++ {
		x := 0.5 * float64(i) / 100000
		s, c := sinCos2pi(x)
		worst = math.Max(worst, math.Max(math.Abs(s-math.Sin(2*math.Pi*x)), math.Abs(c-math.Cos(2*math.Pi*x))))
	}
	t.Logf("sinCos2pi max error %.2g", worst)
	if worst > 1.1e-12 {
		t.Errorf("sinCos2pi: error %g", worst)
	}
}
