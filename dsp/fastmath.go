package dsp

import "math"

// Fast elementary functions for the control paths (one call per voice per
// control period): math.Exp2 costs about 25 ns, math.Sincos 15 ns, and a
// voice calls them several times per period. These are pure Go, so the
// output stays identical across machines.

// exp2Tab[i] = 2^(i/64).
var exp2Tab = func() (t [64]float64) {
	for i := range t {
		t[i] = math.Exp2(float64(i) / 64)
	}
	return t
}()

// exp2Fast returns 2^x with a relative error below 1e-15 for |x| <= 1000
// (x is clamped to that range; NaN gives 1).
func exp2Fast(x float64) float64 {
	if !(x > -1000) { // also NaN
		if x != x {
			return 1
		}
		x = -1000
	}
	if x > 1000 {
		x = 1000
	}
	// k = round(64x) by the 1.5·2^52 trick (|64x| < 2^51), f = x - k/64
	// exactly, |f| <= 1/128.
	const shift = 0x1.8p52
	t := x * 64
	kf := (t + shift) - shift
	k := int64(kf)
	f := (t - kf) * (1.0 / 64)
	// 2^f = e^(f·ln2), Taylor to degree 5: error < (ln2/128)^6/720 < 4e-17.
	const (
		c1 = math.Ln2
		c2 = math.Ln2 * math.Ln2 / 2
		c3 = math.Ln2 * math.Ln2 * math.Ln2 / 6
		c4 = math.Ln2 * math.Ln2 * math.Ln2 * math.Ln2 / 24
		c5 = math.Ln2 * math.Ln2 * math.Ln2 * math.Ln2 * math.Ln2 / 120
	)
	p := 1 + f*(c1+f*(c2+f*(c3+f*(c4+f*c5))))
	scale := math.Float64frombits(uint64(k>>6+1023) << 52) // 2^floor(k/64), k>>6 in [-1000, 1000]
	return p * exp2Tab[k&63] * scale
}

// sinCos returns sin z and cos z for z in [0, π/2] (Taylor series to
// degree 17 and 18: absolute error below 5e-14, relative error of the sine
// below 1e-15 for small z).
func sinCos(z float64) (s, c float64) {
	z2 := z * z
	s = z * (1 + z2*(-1.0/6+z2*(1.0/120+z2*(-1.0/5040+z2*(1.0/362880+z2*(-1.0/39916800+
		z2*(1.0/6227020800+z2*(-1.0/1307674368000+z2*(1.0/355687428096000)))))))))
	c = 1 + z2*(-1.0/2+z2*(1.0/24+z2*(-1.0/720+z2*(1.0/40320+z2*(-1.0/3628800+
		z2*(1.0/479001600+z2*(-1.0/87178291200+z2*(1.0/20922789888000+z2*(-1.0/6402373705728000)))))))))
	return s, c
}

// sinTaylor returns sin z for z in [0, π/2] (sinCos's series without the
// cosine; it overestimates by less than 5e-14, never underestimates, so
// sinTaylor(π/2) >= 1).
func sinTaylor(z float64) float64 {
	z2 := z * z
	return z * (1 + z2*(-1.0/6+z2*(1.0/120+z2*(-1.0/5040+z2*(1.0/362880+z2*(-1.0/39916800+
		z2*(1.0/6227020800+z2*(-1.0/1307674368000+z2*(1.0/355687428096000)))))))))
}

// sinCos2pi returns sin and cos of 2πx for x in [0, 0.5] with an error
// below 1.1e-12 (sinCos on the angle folded into [0, π/2], a shorter series
// for small angles).
func sinCos2pi(x float64) (s, c float64) {
	if z := twoPi * x; z <= 0.4 {
		// Most notes (below 3 kHz at 48 kHz): five and six terms suffice
		// (errors below 1.1e-12 and 4e-14).
		z2 := z * z
		s = z * (1 + z2*(-1.0/6+z2*(1.0/120+z2*(-1.0/5040+z2*(1.0/362880)))))
		c = 1 + z2*(-1.0/2+z2*(1.0/24+z2*(-1.0/720+z2*(1.0/40320+z2*(-1.0/3628800)))))
		return s, c
	}
	if x <= 0.25 {
		return sinCos(twoPi * x)
	}
	s, c = sinCos(twoPi * (0.5 - x))
	return s, -c
}
