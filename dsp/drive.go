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
	shape(buf, buf, g) // the graph's shaper module uses the same curve
}
