package mapping

import (
	"math"
	"testing"
)

func near(a, b float64) bool {
	return math.Abs(a-b) <= 1e-9*math.Max(1, math.Max(math.Abs(a), math.Abs(b)))
}

func TestCurveEndpoints(t *testing.T) {
	for _, kind := range []curveKind{curveLinear, curveExp, curveLog} {
		for _, r := range [][2]float64{{20, 20000}, {20000, 20}, {0, 1}, {1, 0}, {-1, 1}, {0.001, 4}} {
			c := newCurve(kind, r[0], r[1], 0)
			if got := c.eval(0); !near(got, r[0]) {
				t.Errorf("kind %d range %v: eval(0) = %g, want %g", kind, r, got, r[0])
			}
			if got := c.eval(1); !near(got, r[1]) {
				t.Errorf("kind %d range %v: eval(1) = %g, want %g", kind, r, got, r[1])
			}
			if got := c.eval(-3); !near(got, r[0]) {
				t.Errorf("kind %d range %v: eval(-3) = %g, want the clamp %g", kind, r, got, r[0])
			}
			if got := c.eval(math.NaN()); !near(got, r[0]) {
				t.Errorf("kind %d range %v: eval(NaN) = %g, want %g", kind, r, got, r[0])
			}
		}
	}
}

// Exponential over a one-signed range is geometric: equal moves give equal
// ratios, so the midpoint is the geometric mean and each tenth of 20..20480
// Hz is one octave.
func TestCurveExponentialIsGeometric(t *testing.T) {
	c := newCurve(curveExp, 20, 20000, 0)
	if got, want := c.eval(0.5), math.Sqrt(20*20000); !near(got, want) {
		t.Errorf("midpoint = %g, want the geometric mean %g", got, want)
	}
	oct := newCurve(curveExp, 20, 20480, 0)
	for i := 0; i <= 10; i++ {
		if got, want := oct.eval(float64(i)/10), 20*math.Exp2(float64(i)); !near(got, want) {
			t.Errorf("u=%g: %g Hz, want %g Hz", float64(i)/10, got, want)
		}
	}
}

// A range touching zero has no natural ratio: the 1:100 taper puts the
// midpoint at (sqrt(100)-1)/99 of the span.
func TestCurveExponentialTaper(t *testing.T) {
	c := newCurve(curveExp, 0, 1, 0)
	if got, want := c.eval(0.5), (math.Sqrt(taperRatio)-1)/(taperRatio-1); !near(got, want) {
		t.Errorf("midpoint = %g, want %g", got, want)
	}
}

// The logarithmic curve is the inverse shape of the exponential one: its
// fraction of the way is the exponential's inverse function.
func TestCurveLogIsInverseOfExp(t *testing.T) {
	for _, r := range [][2]float64{{20, 20000}, {0, 1}, {0.5, 12}} {
		e := newCurve(curveExp, r[0], r[1], 0)
		l := newCurve(curveLog, r[0], r[1], 0)
		span := r[1] - r[0]
		for i := 0; i <= 20; i++ {
			u := float64(i) / 20
			wl := (l.eval(u) - r[0]) / span
			if got := (e.eval(wl) - r[0]) / span; !near(got, u) {
				t.Errorf("range %v: exp(log(%g)) = %g", r, u, got)
			}
		}
	}
}

// A reversed range is the mirror image: value(u) on [hi, lo] equals
// value(1-u) on [lo, hi].
func TestCurveReversedMirrors(t *testing.T) {
	for _, kind := range []curveKind{curveLinear, curveExp, curveLog} {
		for _, r := range [][2]float64{{20, 20000}, {0, 1}, {-1, 1}} {
			fwd := newCurve(kind, r[0], r[1], 0)
			rev := newCurve(kind, r[1], r[0], 0)
			for i := 0; i <= 10; i++ {
				u := float64(i) / 10
				if a, b := rev.eval(u), fwd.eval(1-u); !near(a, b) {
					t.Errorf("kind %d range %v u=%g: reversed %g, mirrored forward %g", kind, r, u, a, b)
				}
			}
		}
	}
}

func TestCurveStepped(t *testing.T) {
	c := newCurve(curveLinear, 0, 5, 6) // waveforms 0..5
	seen := map[float64]bool{}
	for i := 0; i <= 1000; i++ {
		v := c.eval(float64(i) / 1000)
		if v != math.Trunc(v) {
			t.Fatalf("eval(%g) = %g, not one of the 6 steps", float64(i)/1000, v)
		}
		seen[v] = true
	}
	if len(seen) != 6 {
		t.Fatalf("%d distinct values, want 6: %v", len(seen), seen)
	}
	if c.eval(0.09) != 0 || c.eval(0.11) != 1 || c.eval(1) != 5 {
		t.Errorf("steps not evenly spaced: %g %g %g", c.eval(0.09), c.eval(0.11), c.eval(1))
	}
}
