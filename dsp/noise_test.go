package dsp

import (
	"math"
	"testing"
)

// octaveDensityDB returns the mean spectral power per bin (dB) in the octave
// bands [f, 2f) for f = lo, 2lo, ... < hi, averaged over 2^14-sample
// segments of x.
func octaveDensityDB(x []float32, rate, lo, hi float64) (centres, levels []float64) {
	const seg = 1 << 14
	var acc []float64
	var bin float64
	for s := 0; s+seg <= len(x); s += seg {
		p, b := powerSpectrum(x[s:s+seg], rate)
		bin = b
		if acc == nil {
			acc = make([]float64, len(p))
		}
		for i, v := range p {
			acc[i] += v
		}
	}
	for f := lo; 2*f <= hi; f *= 2 {
		sum, n := 0.0, 0
		for k := int(math.Ceil(f / bin)); float64(k)*bin < 2*f; k++ {
			sum += acc[k]
			n++
		}
		centres = append(centres, f*math.Sqrt2)
		levels = append(levels, db(sum/float64(n)))
	}
	return centres, levels
}

// slopePerOctave fits a line to levels over log2(centres).
func slopePerOctave(centres, levels []float64) float64 {
	var sx, sy, sxx, sxy float64
	n := float64(len(centres))
	for i := range centres {
		x := math.Log2(centres[i])
		sx += x
		sy += levels[i]
		sxx += x * x
		sxy += x * levels[i]
	}
	return (n*sxy - sx*sy) / (n*sxx - sx*sx)
}

func TestNoiseWhite(t *testing.T) {
	const rate = 48000.0
	x := noiseSignal(1<<20, 42)
	var mean, sq float64
	for _, v := range x {
		if v < -1 || v >= 1 {
			t.Fatalf("white sample %v out of [-1,1)", v)
		}
		mean += float64(v)
		sq += float64(v) * float64(v)
	}
	mean /= float64(len(x))
	variance := sq/float64(len(x)) - mean*mean
	if math.Abs(mean) > 0.003 { // 5 sigma
		t.Errorf("mean %v", mean)
	}
	if math.Abs(variance-1.0/3) > 0.003 {
		t.Errorf("variance %v, want 1/3", variance)
	}
	c, l := octaveDensityDB(x, rate, 50, 24000)
	s := slopePerOctave(c, l)
	lo, hi := l[0], l[0]
	for _, v := range l {
		lo, hi = math.Min(lo, v), math.Max(hi, v)
	}
	t.Logf("white: slope %.3f dB/octave, octave levels within %.2f dB", s, hi-lo)
	if math.Abs(s) > 0.2 || hi-lo > 1 {
		t.Errorf("white spectrum not flat: slope %.3f dB/octave, spread %.2f dB", s, hi-lo)
	}
	// Lag-1 correlation ~0.
	var r float64
	for i := 1; i < len(x); i++ {
		r += float64(x[i]) * float64(x[i-1])
	}
	if r /= sq; math.Abs(r) > 0.005 {
		t.Errorf("lag-1 autocorrelation %v", r)
	}
}

func TestNoisePink(t *testing.T) {
	const rate = 48000.0
	var o Osc
	o.Reset(9)
	x := make([]float32, 1<<20)
	inBlocks(x, func(b []float32) { o.Process(b, PinkNoise, 0, 0, 0) })
	peak := 0.0
	for _, v := range x {
		peak = math.Max(peak, math.Abs(float64(v)))
	}
	c, l := octaveDensityDB(x, rate, 40, 20480)
	s := slopePerOctave(c, l)
	// Largest deviation from the fitted -3 dB/octave line.
	dev := 0.0
	for i := range c {
		d := l[i] - l[0] - s*math.Log2(c[i]/c[0])
		dev = math.Max(dev, math.Abs(d))
	}
	t.Logf("pink: slope %.3f dB/octave, max deviation %.2f dB, peak %.3f", s, dev, peak)
	if math.Abs(s+3.01) > 0.25 {
		t.Errorf("pink slope %.3f dB/octave, want -3.01 ± 0.25", s)
	}
	if dev > 1 {
		t.Errorf("pink spectrum deviates %.2f dB from a straight line", dev)
	}
	if peak > 1.6 || peak < 0.3 {
		t.Errorf("pink peak %v", peak)
	}
}

func TestNoiseDeterministic(t *testing.T) {
	for _, w := range []Wave{WhiteNoise, PinkNoise} {
		a := renderOsc(w, 0, 48000, 1000, 5)
		b := renderOsc(w, 0, 48000, 1000, 5)
		c := renderOsc(w, 0, 48000, 1000, 6)
		z := renderOsc(w, 0, 48000, 1000, 0)
		same, diff := true, 0
		for i := range a {
			same = same && a[i] == b[i]
			if a[i] != c[i] {
				diff++
			}
			if !Finite(z[i]) {
				t.Fatal("seed 0 gives non-finite noise")
			}
		}
		if !same || diff < 990 {
			t.Errorf("%v: same seed equal %v, different seed differs in %d/1000", w, same, diff)
		}
	}
	// The zero Osc (never Reset) produces noise too.
	var o Osc
	buf := make([]float32, 64)
	o.Process(buf, WhiteNoise, 0, 0, 0)
	if buf[0] == 0 && buf[1] == 0 {
		t.Error("zero Osc gives silent noise")
	}
	var r Rand
	r.Seed(0)
	for i := 0; i < 1000; i++ {
		if f := r.Float(); f < 0 || f >= 1 {
			t.Fatalf("Float %v", f)
		}
		if f := r.Bipolar(); f < -1 || f >= 1 {
			t.Fatalf("Bipolar %v", f)
		}
	}
}
