package dsp

import (
	"math"
	"testing"
)

func newReverb(size, damp, mix float64) *Reverb {
	r := new(Reverb)
	r.Set(size, damp, mix, 48000)
	r.Reset()
	return r
}

func TestReverbSilence(t *testing.T) {
	r := newReverb(0.8, 0.3, 0.5)
	l := make([]float32, 48000)
	rr := make([]float32, 48000)
	stereoBlocks(l, rr, MaxBlock, r.Process)
	for i := range l {
		if l[i] != 0 || rr[i] != 0 {
			t.Fatalf("silence in, %v/%v out at %d", l[i], rr[i], i)
		}
	}
}

// impulseEnergy returns the reverb's wet impulse response energy in 100 ms
// windows.
func impulseEnergy(size, damp float64, seconds int) (win []float64, l, r []float32) {
	rv := newReverb(size, damp, 1)
	n := 48000 * seconds
	l = make([]float32, n)
	r = make([]float32, n)
	l[0], r[0] = 1, 1
	stereoBlocks(l, r, MaxBlock, rv.Process)
	for i := 0; i+4800 <= n; i += 4800 {
		e := 0.0
		for _, v := range l[i : i+4800] {
			e += float64(v) * float64(v)
		}
		win = append(win, e)
	}
	return win, l, r
}

// decayTime returns the -60 dB time (s) extrapolated from the energy decay
// between 0.2 s and the end (Schroeder-like, from windowed energies).
func decayTime(win []float64) float64 {
	a := db(win[2])
	b := db(win[len(win)-1])
	dt := float64(len(win)-1-2) * 0.1
	return 60 / ((a - b) / dt)
}

func TestReverbImpulse(t *testing.T) {
	win, l, r := impulseEnergy(0.7, 0.3, 3)
	for i := range l {
		if !Finite(l[i]) || !Finite(r[i]) || math.Abs(float64(l[i])) > 1 {
			t.Fatalf("bad sample %v at %d", l[i], i)
		}
	}
	// Decays monotonically (per 100 ms window, after the build-up).
	for i := 3; i < len(win); i++ {
		if win[i] >= win[i-1] {
			t.Errorf("energy rises at %d00 ms: %v -> %v", i, win[i-1], win[i])
		}
	}
	// Stereo: the channels are decorrelated.
	var sl, sr, slr float64
	for i := range l {
		sl += float64(l[i]) * float64(l[i])
		sr += float64(r[i]) * float64(r[i])
		slr += float64(l[i]) * float64(r[i])
	}
	if c := slr / math.Sqrt(sl*sr); math.Abs(c) > 0.5 {
		t.Errorf("L/R correlation %v", c)
	}
	// The first wet sample comes after the shortest comb delay (1116 samples
	// at 44.1 kHz).
	first := -1
	for i, v := range l {
		if v != 0 {
			first = i
			break
		}
	}
	if want := int(math.Round(1116 * 48000.0 / 44100)); first != want {
		t.Errorf("first wet sample at %d, want %d (shortest comb)", first, want)
	}
	// A larger room decays more slowly; more damping loses highs faster.
	small, _, _ := impulseEnergy(0.3, 0.3, 3)
	big, _, _ := impulseEnergy(0.95, 0.3, 3)
	ts, tb := decayTime(small), decayTime(big)
	t.Logf("RT60: size 0.3 %.2f s, size 0.7 %.2f s, size 0.95 %.2f s", ts, decayTime(win), tb)
	if !(ts < decayTime(win) && decayTime(win) < tb) {
		t.Errorf("decay times not increasing with size: %v %v %v", ts, decayTime(win), tb)
	}
	_, dl, _ := impulseEnergy(0.7, 0.9, 2)
	_, bl, _ := impulseEnergy(0.7, 0.0, 2)
	hd := bandEnergy(dl[48000:48000+1<<15], 48000, 6000, 24000) / bandEnergy(dl[48000:48000+1<<15], 48000, 0, 24000)
	hb := bandEnergy(bl[48000:48000+1<<15], 48000, 6000, 24000) / bandEnergy(bl[48000:48000+1<<15], 48000, 0, 24000)
	if db(hd) > db(hb)-10 {
		t.Errorf("damping: high-frequency share %.1f dB (damped) vs %.1f dB (bright)", db(hd), db(hb))
	}
}

func TestReverbTimeInvariance(t *testing.T) {
	in := noiseSignal(20000, 7)
	inR := noiseSignal(20000, 8)
	a, ar := append([]float32(nil), in...), append([]float32(nil), inR...)
	stereoBlocks(a, ar, MaxBlock, newReverb(0.6, 0.5, 0.4).Process)
	const k = 333
	b := append(make([]float32, k), in...)
	br := append(make([]float32, k), inR...)
	stereoBlocks(b, br, 100, newReverb(0.6, 0.5, 0.4).Process)
	for i := range a {
		if a[i] != b[i+k] || ar[i] != br[i+k] {
			t.Fatalf("not time invariant at %d: %v vs %v", i, a[i], b[i+k])
		}
	}
}

func TestReverbMixAndRates(t *testing.T) {
	// Mix 0 passes the input through unchanged.
	in := noiseSignal(4096, 1)
	l, r := append([]float32(nil), in...), append([]float32(nil), in...)
	stereoBlocks(l, r, MaxBlock, newReverb(0.5, 0.5, 0).Process)
	for i := range in {
		if l[i] != in[i] || r[i] != in[i] {
			t.Fatalf("mix 0 changed sample %d", i)
		}
	}
	// Every sample rate up to MaxSampleRate works, and the tail has the
	// same length in seconds.
	for _, rate := range []float64{22050, 44100, 96000, 192000} {
		var rv Reverb
		rv.Set(0.8, 0.2, 1, rate)
		rv.Reset()
		buf := make([]float32, 4096)
		buf2 := make([]float32, 4096)
		buf[0] = 1
		stereoBlocks(buf, buf2, MaxBlock, rv.Process)
		for _, v := range buf {
			if !Finite(v) {
				t.Fatalf("rate %v: non-finite", rate)
			}
		}
	}
	// Non-finite input does not poison the state.
	rv := newReverb(0.9, 0.1, 0.5)
	l = noiseSignal(MaxBlock, 1)
	r = noiseSignal(MaxBlock, 2)
	l[3] = float32(math.NaN())
	r[7] = float32(math.Inf(-1))
	rv.Process(l, r)
	for i := 0; i < 100; i++ {
		clear(l)
		clear(r)
		rv.Process(l, r)
	}
	for i := range l {
		if !Finite(l[i]) || !Finite(r[i]) {
			t.Fatal("NaN stuck in the reverb")
		}
	}
}

func TestReverbAllocs(t *testing.T) {
	rv := newReverb(0.7, 0.3, 0.3)
	l := noiseSignal(MaxBlock, 1)
	r := noiseSignal(MaxBlock, 2)
	if a := testing.AllocsPerRun(100, func() { rv.Process(l, r) }); a != 0 {
		t.Errorf("%v allocs", a)
	}
}

func BenchmarkReverb(b *testing.B) {
	rv := newReverb(0.7, 0.3, 0.3)
	l := noiseSignal(MaxBlock, 1)
	r := noiseSignal(MaxBlock, 2)
	b.ReportAllocs()
	for b.Loop() {
		rv.Process(l, r)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*MaxBlock), "ns/frame")
}

// reverbFrameByFrame is the textbook Freeverb loop, one frame at a time
// through every comb and all-pass: the reference for Reverb.Process.
func reverbFrameByFrame(r *Reverb, l, rr []float32) {
	n := min(len(l), len(rr))
	l, rr = l[:n], rr[:n]
	fb, d1, d2 := r.feedback, r.damp1, r.damp2
	mix := r.mix
	dry := 1 - mix
	wet := mix * wetScale
	for i := range l {
		in := (l[i] + rr[i]) * fixedGain
		if in-in != 0 {
			in = 0
		}
		var out [2]float32
		for c := 0; c < 2; c++ {
			var acc float32
			cs := &r.combs[c]
			for k := range cs {
				cb := &cs[k]
				y := cb.buf[cb.i]
				f := y*d2 + cb.filter*d1
				if f < 1e-15 && f > -1e-15 {
					f = 0
				}
				cb.filter = f
				cb.buf[cb.i] = in + f*fb
				cb.i++
				if cb.i >= cb.n {
					cb.i = 0
				}
				acc += y
			}
			as := &r.aps[c]
			for k := range as {
				ap := &as[k]
				b := ap.buf[ap.i]
				if b < 1e-15 && b > -1e-15 {
					b = 0
				}
				ap.buf[ap.i] = acc + b*allpassFeedb
				ap.i++
				if ap.i >= ap.n {
					ap.i = 0
				}
				acc = b - acc
			}
			out[c] = acc
		}
		l[i] = l[i]*dry + out[0]*wet
		rr[i] = rr[i]*dry + out[1]*wet
	}
}

// Process runs comb by comb over the block; it must give exactly the
// frame-by-frame result, whatever the block sizes on either side.
func TestReverbBlockMatchesFrameByFrame(t *testing.T) {
	a, b := newReverb(0.7, 0.3, 0.4), newReverb(0.7, 0.3, 0.4)
	l1, r1 := noiseSignal(100000, 1), noiseSignal(100000, 2)
	l2, r2 := append([]float32(nil), l1...), append([]float32(nil), r1...)
	stereoBlocks(l1, r1, 300, a.Process)
	stereoBlocks(l2, r2, 77, func(x, y []float32) { reverbFrameByFrame(b, x, y) })
	for i := range l1 {
		if l1[i] != l2[i] || r1[i] != r2[i] {
			t.Fatalf("frame %d: %v,%v, frame by frame %v,%v", i, l1[i], r1[i], l2[i], r2[i])
		}
	}
}
