package engine

import (
	"math"
	"sync"
	"testing"
)

func TestMeterPeakAndReset(t *testing.T) {
	var m meter
	const n = 480 // 10 ms at 48 kHz: a whole number of 1 kHz periods
	l, r := make([]float32, n), make([]float32, n)
	for i := range l {
		ph := 2 * math.Pi * 1000 * float64(i) / 48000
		l[i] = float32(0.5 * math.Sin(ph))
		r[i] = float32(-0.25 * math.Cos(ph))
	}
	l[7] = float32(math.NaN()) // ignored, not a peak
	m.write(l, r)
	m.write(l[:10], r[:10]) // a smaller buffer does not lower the peak
	e := &Engine{}
	e.meter.peak[0].Store(m.peak[0].Load())
	e.meter.peak[1].Store(m.peak[1].Load())
	pl, pr := e.PeakLevels()
	// The sine peaks at sample 12 (a quarter period): exactly 0.5.
	if math.Abs(float64(pl)-0.5) > 1e-6 || math.Abs(float64(pr)-0.25) > 1e-6 {
		t.Fatalf("peaks %v %v, want 0.5 and 0.25", pl, pr)
	}
	if db := DBFS(pl); math.Abs(db-20*math.Log10(0.5)) > 1e-4 {
		t.Fatalf("%v dBFS for 0.5, want %.4f", db, 20*math.Log10(0.5))
	}
	if pl, pr := e.PeakLevels(); pl != 0 || pr != 0 {
		t.Fatalf("after a read the peaks are %v %v, want 0 until more is played", pl, pr)
	}
	if db := DBFS(0); db != -120 {
		t.Fatalf("silence is %v dBFS, want the floor -120", db)
	}
	if db := DBFS(float32(math.NaN())); db != -120 {
		t.Fatalf("NaN is %v dBFS, want -120", db)
	}
}

func TestMeterDoesNotAllocate(t *testing.T) {
	var m meter
	l, r := make([]float32, 256), make([]float32, 256)
	l[3], r[200] = 0.9, -0.7
	if n := testing.AllocsPerRun(1000, func() { m.write(l, r) }); n != 0 {
		t.Fatalf("meter: %v allocations per buffer", n)
	}
}

// TestMeterInRender: Render measures what it plays, and the one reader
// racing with it (run with -race) never loses a peak: every buffer's peak
// is seen by some read.
func TestMeterInRender(t *testing.T) {
	f := newFakeWorkers(t)
	e := f.e
	f.regs[0].u64(offVoicesOn).Store(3)
	l, r := make([]float32, 128), make([]float32, 128)
	var want float32
	var mu sync.Mutex
	var got float32
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			pl, _ := e.PeakLevels()
			mu.Lock()
			got = max(got, pl)
			mu.Unlock()
			select {
			case <-stop:
				return
			default:
			}
		}
	}()
	for range 200 {
		f.fill(0)
		f.fill(1)
		e.Render(l, r)
		want = max(want, peakOf(l))
	}
	close(stop)
	<-done
	pl, _ := e.PeakLevels()
	got = max(got, pl)
	// fill writes b%13/16 into every sample: the loudest block is 12/16.
	if want != 12.0/16 || got != want {
		t.Fatalf("peak read %v, played %v, want both 0.75", got, want)
	}
	if v := e.ActiveVoices(); v != 3 {
		t.Fatalf("ActiveVoices = %d, want the 3 the active worker published", v)
	}
	if v := (&Engine{}).ActiveVoices(); v != 0 {
		t.Fatalf("an engine without workers has %d voices", v)
	}
}

func BenchmarkMeter(b *testing.B) {
	var m meter
	l, r := make([]float32, 128), make([]float32, 128)
	b.ReportAllocs()
	for b.Loop() {
		m.write(l, r)
	}
}
