package dsp

import (
	"math"
	"testing"
)

// stereoBlocks runs process over l and r in blocks of blk.
func stereoBlocks(l, r []float32, blk int, process func(l, r []float32)) {
	for i := 0; i < len(l); i += blk {
		j := min(i+blk, len(l))
		process(l[i:j], r[i:j])
	}
}

func newDelay(sec, fb, mix float64) *Delay {
	d := new(Delay)
	d.Reset()
	d.Set(sec, fb, mix, 48000)
	return d
}

func TestDelayImpulse(t *testing.T) {
	d := newDelay(0.01, 0.5, 1) // 480 samples, wet only
	l := make([]float32, 2000)
	r := make([]float32, 2000)
	l[0], r[0] = 1, -1
	stereoBlocks(l, r, MaxBlock, d.Process)
	for i := range l {
		want := float32(0)
		if i > 0 && i%480 == 0 {
			want = float32(math.Pow(0.5, float64(i/480-1)))
		}
		if l[i] != want || r[i] != -want {
			t.Fatalf("sample %d: %v %v, want %v", i, l[i], r[i], want)
		}
	}
	// Mix 0.25: dry 0.75 now, echo 0.25 later; fractional delay
	// interpolates linearly.
	d = newDelay(100.25/48000, 0, 0.25)
	l = make([]float32, 300)
	r = make([]float32, 300)
	l[0] = 1
	d.Process(l, r)
	if l[0] != 0.75 || math.Abs(float64(l[100])-0.25*0.75) > 1e-6 || math.Abs(float64(l[101])-0.25*0.25) > 1e-6 {
		t.Errorf("fractional echo: %v %v %v", l[0], l[100], l[101])
	}
}

func TestDelaySilenceAndTimeInvariance(t *testing.T) {
	d := newDelay(0.123, 0.7, 0.5)
	l := make([]float32, 50000)
	r := make([]float32, 50000)
	stereoBlocks(l, r, MaxBlock, d.Process)
	for i := range l {
		if l[i] != 0 || r[i] != 0 {
			t.Fatalf("silence in, %v/%v out at %d", l[i], r[i], i)
		}
	}
	in := noiseSignal(20000, 3)
	inR := noiseSignal(20000, 4)
	a, ar := append([]float32(nil), in...), append([]float32(nil), inR...)
	newDelay(0.0456, 0.6, 0.4).Process(a[:0], ar[:0])
	d1 := newDelay(0.0456, 0.6, 0.4)
	stereoBlocks(a, ar, MaxBlock, d1.Process)
	const k = 1001
	b := append(make([]float32, k), in...)
	br := append(make([]float32, k), inR...)
	d2 := newDelay(0.0456, 0.6, 0.4)
	stereoBlocks(b, br, 77, d2.Process)
	for i := range a {
		if a[i] != b[i+k] || ar[i] != br[i+k] {
			t.Fatalf("not time invariant at %d", i)
		}
	}
}

// A delay-time change glides: a sine through the wet path never steps more
// than the sine's own largest step times the largest read speed (1+slew).
func TestDelayGlideNoClick(t *testing.T) {
	const rate = 48000.0
	const hz = 500.0
	x := sine(96000, hz, rate, 1)
	l := append([]float32(nil), x...)
	r := append([]float32(nil), x...)
	d := newDelay(0.01, 0, 1)
	stereoBlocks(l[:24000], r[:24000], MaxBlock, d.Process)
	d.Set(0.3, 0, 1, rate) // long jump
	stereoBlocks(l[24000:48000], r[24000:48000], MaxBlock, d.Process)
	d.Set(0.002, 0, 1, rate)
	stereoBlocks(l[48000:], r[48000:], MaxBlock, d.Process)
	bound := 2 * math.Pi * hz / rate * (1 + delaySlew) * 1.01
	if s := maxAbsDiff(l[1000:]); s > bound {
		t.Errorf("max step %v while gliding, bound %v", s, bound)
	}
	if math.Abs(d.d-0.002*rate) > 0.1 {
		t.Errorf("glide ended at %v samples", d.d)
	}
}

func TestDelayRobust(t *testing.T) {
	d := newDelay(0.05, 5, 3) // feedback and mix clamped
	if d.feedback != 0.98 || d.mix != 1 {
		t.Errorf("feedback %v mix %v", d.feedback, d.mix)
	}
	d.Set(math.NaN(), math.NaN(), math.Inf(1), math.NaN())
	d.Set(100, 0.9, 0.5, 1e9)
	l := noiseSignal(MaxBlock, 1)
	r := noiseSignal(MaxBlock, 2)
	l[5] = float32(math.NaN())
	r[9] = float32(math.Inf(1))
	for i := 0; i < 2000; i++ {
		d.Process(l, r)
		if i == 0 {
			clear(l)
			clear(r)
		}
		for j := range l {
			if i > 0 && (!Finite(l[j]) || !Finite(r[j]) || math.Abs(float64(l[j])) > 10) {
				t.Fatalf("block %d: %v %v", i, l[j], r[j])
			}
		}
	}
}

func TestDelayAllocs(t *testing.T) {
	d := newDelay(0.25, 0.5, 0.3)
	l := noiseSignal(MaxBlock, 1)
	r := noiseSignal(MaxBlock, 2)
	if a := testing.AllocsPerRun(100, func() { d.Process(l, r) }); a != 0 {
		t.Errorf("%v allocs", a)
	}
}

func BenchmarkDelay(b *testing.B) {
	d := newDelay(0.25, 0.5, 0.3)
	l := noiseSignal(MaxBlock, 1)
	r := noiseSignal(MaxBlock, 2)
	b.ReportAllocs()
	for b.Loop() {
		d.Process(l, r)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*MaxBlock), "ns/frame")
}
