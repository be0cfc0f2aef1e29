package dsp

import (
	"math"
	"testing"
)

func TestLFOShapesAndRanges(t *testing.T) {
	const rate = 48000.0
	const hz = 3.0
	for s := LFOSine; s <= LFOSampleHold; s++ {
		var l LFO
		l.Reset(1)
		lo, hi := 2.0, -2.0
		for i := 0; i < int(rate); i++ {
			v := l.Next(1, s, hz, rate)
			if !(v >= -1 && v <= 1) {
				t.Fatalf("%v: value %v out of range", s, v)
			}
			lo, hi = math.Min(lo, v), math.Max(hi, v)
		}
		if s != LFOSampleHold && (lo > -0.999 || hi < 0.999) {
			t.Errorf("%v: range [%v, %v], want [-1, 1]", s, lo, hi)
		}
	}
	// Values at known phases.
	check := func(s LFOShape, p, want float64) {
		t.Helper()
		var l LFO
		l.Reset(0)
		l.SetPhase(p)
		if v := l.Next(0, s, 1, 48000); math.Abs(v-want) > 1e-12 {
			t.Errorf("%v at phase %v = %v, want %v", s, p, v, want)
		}
	}
	check(LFOSine, 0.25, 1)
	check(LFOSine, 0.75, -1)
	check(LFOTriangle, 0, 0)
	check(LFOTriangle, 0.25, 1)
	check(LFOTriangle, 0.5, 0)
	check(LFOTriangle, 0.75, -1)
	check(LFOTriangle, 0.125, 0.5)
	check(LFOSquare, 0.1, 1)
	check(LFOSquare, 0.6, -1)
	check(LFOSaw, 0, -1)
	check(LFOSaw, 0.5, 0)
	check(LFOSaw, 0.75, 0.5)
}

// The period is 1/hz within one sample for every shape: measured between
// successive cycle starts (rising zero crossings, square edges, saw wraps,
// sample-and-hold changes).
func TestLFOPeriod(t *testing.T) {
	const rate = 48000.0
	for _, hz := range []float64{0.37, 2.5, 7, 19.3} {
		want := rate / hz
		for s := LFOSine; s <= LFOSampleHold; s++ {
			var l LFO
			l.Reset(11)
			l.SetPhase(0.4) // start mid-cycle
			prev := l.Next(1, s, hz, rate)
			var starts []int
			for i := 1; i < int(4*want)+2; i++ {
				v := l.Next(1, s, hz, rate)
				var start bool
				switch s {
				case LFOSine, LFOTriangle:
					start = prev < 0 && v >= 0
				case LFOSquare:
					start = prev < 0 && v > 0
				case LFOSaw:
					start = v < prev
				case LFOSampleHold:
					start = v != prev
				}
				if start {
					starts = append(starts, i)
				}
				prev = v
			}
			if len(starts) < 3 {
				t.Fatalf("%v %g Hz: only %d cycle starts", s, hz, len(starts))
			}
			for k := 1; k < len(starts); k++ {
				if d := float64(starts[k] - starts[k-1]); math.Abs(d-want) > 1 {
					t.Errorf("%v %g Hz: period %v samples, want %.2f", s, hz, d, want)
				}
			}
		}
	}
}

// Next(n) advances exactly n frames: block-rate stepping lands on the same
// phase as per-sample stepping.
func TestLFOBlockStep(t *testing.T) {
	var a, b LFO
	a.Reset(3)
	b.Reset(3)
	for i := 0; i < 1000; i++ {
		a.Next(MaxBlock, LFOSine, 1.7, 48000)
		for j := 0; j < MaxBlock; j++ {
			b.Next(1, LFOSine, 1.7, 48000)
		}
	}
	if d := math.Abs(a.Phase() - b.Phase()); d > 1e-9 {
		t.Errorf("phase after blocks %v, per sample %v", a.Phase(), b.Phase())
	}
}

func TestLFOSampleHold(t *testing.T) {
	const rate = 1000.0
	render := func(seed uint64) []float64 {
		var l LFO
		l.Reset(seed)
		v := make([]float64, 5000)
		for i := range v {
			v[i] = l.Next(1, LFOSampleHold, 10, rate)
		}
		return v
	}
	a, b, c := render(4), render(4), render(5)
	var distinct []float64
	for i := range a {
		if a[i] != b[i] {
			t.Fatal("sample-and-hold is not deterministic")
		}
		if i%100 != 0 && a[i] != a[i-1] {
			t.Fatalf("value changed inside a cycle at %d", i)
		}
		if i%100 == 0 {
			distinct = append(distinct, a[i])
		}
	}
	same := 0
	for i := range a {
		if a[i] == c[i] {
			same++
		}
	}
	if same > 100 {
		t.Error("different seeds give the same sequence")
	}
	// 50 held values spread over [-1, 1]: mean ~0, both signs.
	mean, neg := 0.0, 0
	for _, v := range distinct {
		mean += v
		if v < 0 {
			neg++
		}
	}
	mean /= float64(len(distinct))
	if math.Abs(mean) > 0.35 || neg < 10 || neg > 40 {
		t.Errorf("held values look wrong: mean %v, %d/%d negative", mean, neg, len(distinct))
	}
	// The zero LFO works.
	var z LFO
	if v := z.Next(1, LFOSampleHold, 1, 48000); !(v >= -1 && v <= 1) {
		t.Error(v)
	}
	if LFOSaw.String() != "saw" || LFOShape(9).String() != "lfo(9)" {
		t.Error("LFOShape.String")
	}
}

func TestLFOAllocs(t *testing.T) {
	var l LFO
	l.Reset(1)
	if a := testing.AllocsPerRun(100, func() {
		for s := LFOSine; s <= LFOSampleHold; s++ {
			l.Next(MaxBlock, s, 5, 48000)
		}
	}); a != 0 {
		t.Errorf("%v allocs", a)
	}
}

// The voices' LFO path (value without the precise sine, advance) follows
// Next: the same phases, values within sin2pi's error.
func TestLFOVoicePath(t *testing.T) {
	for s := LFOSine; s <= LFOSampleHold; s++ {
		var a, b LFO
		a.Reset(9)
		b.Reset(9)
		for i := 0; i < 20000; i++ {
			want := a.Next(32, s, 5.5, 48000)
			got := b.value(s, false)
			b.advance(32 * 5.5 / 48000)
			if math.Abs(got-want) > 2e-8 {
				t.Fatalf("%v step %d: %v, Next %v", s, i, got, want)
			}
		}
	}
}
