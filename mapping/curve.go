package mapping

import "math"

// curveKind says how a normalised input 0..1 becomes an output value.
type curveKind uint8

const (
	curveLinear curveKind = iota
	curveExp
	curveLog
	curveNone // the raw source value passes through, clamped to the range
)

// taperRatio is the exponential/logarithmic ratio used when the range
// touches or crosses zero and so has no natural ratio: the midpoint of an
// exponential curve then sits at about 9% of the span, like an audio-taper
// potentiometer.
const taperRatio = 100

// curveNames maps the names a map file may use.
var curveNames = map[string]curveKind{
	"linear": curveLinear, "lin": curveLinear,
	"exponential": curveExp, "exp": curveExp,
	"logarithmic": curveLog, "log": curveLog,
	"inverted": curveLinear, "invert": curveLinear,
	"stepped": curveLinear, "steps": curveLinear,
	"none": curveNone, "raw": curveNone,
}

// curve maps u in 0..1 onto lo..hi. A reversed range (lo > hi) inverts the
// control. It is a plain value; eval never allocates.
type curve struct {
	kind   curveKind
	lo, hi float64
	ratio  float64 // exp/log: value ratio across the travel, > 0 and != 1
	lnr    float64 // log(ratio)
	steps  int     // > 1: u is quantised to this many evenly spaced levels
}

// newCurve fills in the ratio between the values at both ends of the
// travel: hi/lo when the range keeps one sign, so that equal moves give
// equal ratios (octaves of cutoff, doublings of time); otherwise the fixed
// taper. Either way a reversed range gives exactly the mirror image of the
// forward one: value(u) on [hi, lo] equals value(1-u) on [lo, hi].
func newCurve(kind curveKind, lo, hi float64, steps int) curve {
	c := curve{kind: kind, lo: lo, hi: hi, steps: steps}
	if kind == curveExp || kind == curveLog {
		r := float64(taperRatio)
		switch {
		case lo != 0 && hi != 0 && (lo > 0) == (hi > 0):
			r = hi / lo
		case lo > hi:
			r = 1 / r
		}
		if math.Abs(r-1) < 1e-9 || math.IsInf(r, 0) || r == 0 {
			c.kind = curveLinear // nothing to shape
		}
		c.ratio, c.lnr = r, math.Log(r)
	}
	return c
}

// eval maps u (clamped to 0..1) to the output value.
func (c *curve) eval(u float64) float64 {
	u = clamp01(u)
	if c.steps > 1 {
		n := float64(c.steps - 1)
		u = math.Round(u*n) / n
	}
	var w float64 // the fraction of the way from lo to hi
	switch c.kind {
	case curveExp:
		w = math.Expm1(u*c.lnr) / (c.ratio - 1)
	case curveLog:
		w = math.Log1p((c.ratio-1)*u) / c.lnr
	default:
		w = u
	}
	return clampRange(c.lo+(c.hi-c.lo)*w, c.lo, c.hi)
}

func clamp01(u float64) float64 {
	if u > 0 {
		if u > 1 {
			return 1
		}
		return u
	}
	return 0 // also NaN
}

// clampRange clamps v into the range spanned by a and b in either order.
func clampRange(v, a, b float64) float64 {
	if a > b {
		a, b = b, a
	}
	if v < a {
		return a
	}
	if v > b {
		return b
	}
	return v
}
