package dsp

// Shared spectral test helpers (both engineers' tests may use them). They
// use gonum's FFT; test code only.

import (
	"math"
	"testing"

	"gonum.org/v1/gonum/dsp/fourier"
)

// blackmanHarris returns the 4-term Blackman-Harris window (-92 dB side
// lobes, main lobe ±4 bins) of length n.
func blackmanHarris(n int) []float64 {
	w := make([]float64, n)
	for i := range w {
		x := 2 * math.Pi * float64(i) / float64(n)
		w[i] = 0.35875 - 0.48829*math.Cos(x) + 0.14128*math.Cos(2*x) - 0.01168*math.Cos(3*x)
	}
	return w
}

// powerSpectrum returns |X[k]|² of the Blackman-Harris-windowed x for
// k = 0..len(x)/2 and the bin width in Hz. len(x) should be even (a power of
// two is fastest).
func powerSpectrum(x []float32, rate float64) (p []float64, binHz float64) {
	n := len(x)
	w := blackmanHarris(n)
	in := make([]float64, n)
	for i, v := range x {
		in[i] = float64(v) * w[i]
	}
	c := fourier.NewFFT(n).Coefficients(nil, in)
	p = make([]float64, len(c))
	for k, v := range c {
		p[k] = real(v)*real(v) + imag(v)*imag(v)
	}
	return p, rate / float64(n)
}

// peakHz returns the frequency of the strongest spectral peak (DC excluded),
// refined by parabolic interpolation of the log magnitude around the peak
// bin.
func peakHz(x []float32, rate float64) float64 {
	p, bin := powerSpectrum(x, rate)
	k := 1
	for i := 2; i < len(p)-1; i++ {
		if p[i] > p[k] {
			k = i
		}
	}
	if k <= 0 || k >= len(p)-1 {
		return float64(k) * bin
	}
	a, b, c := math.Log(p[k-1]+1e-300), math.Log(p[k]+1e-300), math.Log(p[k+1]+1e-300)
	d := 0.5 * (a - c) / (a - 2*b + c)
	return (float64(k) + d) * bin
}

// bandEnergy returns the windowed spectral power in [lo, hi] Hz.
func bandEnergy(x []float32, rate, lo, hi float64) float64 {
	p, bin := powerSpectrum(x, rate)
	return sumBins(p, bin, lo, hi)
}

func sumBins(p []float64, bin, lo, hi float64) float64 {
	s := 0.0
	for k := int(math.Ceil(lo / bin)); k <= int(math.Floor(hi/bin)) && k < len(p); k++ {
		if k >= 0 {
			s += p[k]
		}
	}
	return s
}

// harmonicSplit returns the windowed power near multiples of f0 (within
// ±guard bins, DC excluded) and the power everywhere else above guard bins
// (the inharmonic — for an oscillator: aliasing — energy).
func harmonicSplit(x []float32, rate, f0 float64, guard int) (harm, other float64) {
	p, bin := powerSpectrum(x, rate)
	near := make([]bool, len(p))
	for h := f0; h < rate/2+float64(guard)*bin; h += f0 {
		c := int(math.Round(h / bin))
		for k := c - guard; k <= c+guard; k++ {
			if k >= 0 && k < len(p) {
				near[k] = true
			}
		}
	}
	for k := guard + 1; k < len(p); k++ {
		if near[k] {
			harm += p[k]
		} else {
			other += p[k]
		}
	}
	return harm, other
}

// thdDB returns the total harmonic distortion of a tone at f0 in dB: power
// of harmonics 2..nHarm (below Nyquist, ±6 bins) over the power of the
// fundamental (±6 bins).
func thdDB(x []float32, rate, f0 float64, nHarm int) float64 {
	p, bin := powerSpectrum(x, rate)
	g := 6 * bin
	fund := sumBins(p, bin, f0-g, f0+g)
	h := 0.0
	for k := 2; k <= nHarm && float64(k)*f0 < rate/2-g; k++ {
		h += sumBins(p, bin, float64(k)*f0-g, float64(k)*f0+g)
	}
	return 10 * math.Log10(h/fund+1e-300)
}

// db converts a power ratio to dB.
func db(powerRatio float64) float64 { return 10 * math.Log10(powerRatio+1e-300) }

// sineFit returns the amplitude of the hz component of x by least squares
// (fits a·sin + b·cos; exact for a pure sinusoid at any window length).
func sineFit(x []float32, hz, rate float64, start int) float64 {
	var ss, cc, sc, xs, xc float64
	for i := start; i < len(x); i++ {
		s, c := math.Sincos(2 * math.Pi * hz * float64(i) / rate)
		v := float64(x[i])
		ss += s * s
		cc += c * c
		sc += s * c
		xs += v * s
		xc += v * c
	}
	det := ss*cc - sc*sc
	a := (xs*cc - xc*sc) / det
	b := (xc*ss - xs*sc) / det
	return math.Hypot(a, b)
}

// sine returns n samples of amp·sin(2π hz t).
func sine(n int, hz, rate, amp float64) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(amp * math.Sin(2*math.Pi*hz*float64(i)/rate))
	}
	return x
}

// inBlocks calls process on consecutive MaxBlock-sized pieces of x.
func inBlocks(x []float32, process func([]float32)) {
	for i := 0; i < len(x); i += MaxBlock {
		process(x[i:min(i+MaxBlock, len(x))])
	}
}

// toneGainDB feeds one second of settling plus one second of a 0.5-amplitude
// sine at hz through process (in MaxBlock blocks) and returns the gain of
// the steady state in dB, measured by a least-squares sine fit.
func toneGainDB(process func([]float32), hz, rate float64) float64 {
	n := int(2 * rate)
	x := sine(n, hz, rate, 0.5)
	inBlocks(x, process)
	return 20 * math.Log10(sineFit(x, hz, rate, n/2)/0.5)
}

// maxAbsDiff returns the largest |x[i]-x[i-1]|.
func maxAbsDiff(x []float32) float64 {
	m := 0.0
	for i := 1; i < len(x); i++ {
		m = math.Max(m, math.Abs(float64(x[i])-float64(x[i-1])))
	}
	return m
}

func TestFFTHelpers(t *testing.T) {
	const rate = 48000.0
	x := sine(1<<16, 1234.5, rate, 1)
	if f := peakHz(x, rate); math.Abs(f-1234.5) > 0.05 {
		t.Errorf("peakHz = %v, want 1234.5", f)
	}
	if g := sineFit(x, 1234.5, rate, 100); math.Abs(g-1) > 1e-6 {
		t.Errorf("sineFit = %v, want 1", g)
	}
	if d := thdDB(x, rate, 1234.5, 10); d > -100 {
		t.Errorf("thd of float32 sine = %v dB", d)
	}
	// A sine plus a -40 dB second harmonic: THD -40 dB.
	y := sine(1<<16, 1000, rate, 1)
	h := sine(1<<16, 2000, rate, 0.01)
	for i := range y {
		y[i] += h[i]
	}
	if d := thdDB(y, rate, 1000, 10); math.Abs(d+40) > 0.1 {
		t.Errorf("thd = %v dB, want -40", d)
	}
	harm, other := harmonicSplit(y, rate, 1000, 6)
	if db(other/harm) > -85 {
		t.Errorf("inharmonic energy of a harmonic signal: %v dB", db(other/harm))
	}
}
