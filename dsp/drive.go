package dsp

// SoftClip saturates buf in place: y = sat(g*x) with g = max(drive, 1) and
// sat a smooth tanh-like curve (Padé approximant x(27+x²)/(27+9x²), exactly
// ±1 with zero slope beyond |x| = 3). With drive <= 1 it is nearly
// transparent at low level (gain 1; 0.3% compression at |x| = 0.1, 2.6% at
// 0.3) and never
// exceeds ±1. NaN input gives 0.
func SoftClip(buf []float32, drive float32) {
	g := drive
	if !(g > 1) {
		g = 1
	}
	if g > 1000 {
		g = 1000
	}
	for i, v := range buf {
		// The curve is exactly ±1 at |x| = 3, so clamping x first gives
		// the same result as branching on the plateau.
		x := v * g
		if x > 3 {
			x = 3
		} else if x < -3 {
			x = -3
		}
		x2 := x * x
		y := x * (27 + x2) / (27 + 9*x2)
		if y > 1 { // float32 rounding near |x| = 3
			y = 1
		} else if y < -1 {
			y = -1
		} else if y != y { // NaN input
			y = 0
		}
		buf[i] = y
	}
}
