package dsp

import (
	"fmt"
	"math"
	"testing"
)

// runEnv processes n samples in blocks of size blk and returns them.
func runEnv(e *ADSR, n, blk int) []float32 {
	out := make([]float32, n)
	for i := 0; i < n; i += blk {
		e.Process(out[i:min(i+blk, n)])
	}
	return out
}

// Each stage lands within one sample of its set time, for both curves and
// several times: count samples from the gate until the stage's end level
// is reached.
func TestADSRTiming(t *testing.T) {
	const rate = 48000.0
	times := []struct{ a, d, r float64 }{
		{0.01, 0.1, 0.2},
		{0.1234, 0.0567, 1.0},
		{1.5, 0.75, 0.003},
		{0.00002, 0.00004, 0.00006},
	}
	for _, curve := range []Curve{Linear, Exponential} {
		for _, tm := range times {
			for _, blk := range []int{1, 37, MaxBlock} {
				name := fmt.Sprintf("curve%d_a%g_d%g_r%g_blk%d", curve, tm.a, tm.d, tm.r, blk)
				t.Run(name, func(t *testing.T) {
					var e ADSR
					e.Configure(ADSRConfig{Attack: tm.a, Decay: tm.d, Sustain: 0.4, Release: tm.r, Curve: curve}, rate)
					e.Reset()
					e.GateOn()
					total := int((tm.a+tm.d)*rate) + 1000
					x := runEnv(&e, total, blk)
					attackEnd := -1
					for i, v := range x {
						if v == 1 {
							attackEnd = i + 1 // samples since the gate
							break
						}
						if v > 1 || v < 0 {
							t.Fatalf("attack level %v", v)
						}
						if i > 0 && v < x[i-1] {
							t.Fatalf("attack not monotonic at %d", i)
						}
					}
					decayEnd := -1
					for i := attackEnd; i < len(x); i++ {
						if i > attackEnd && x[i] > x[i-1] {
							t.Fatalf("decay not monotonic at %d", i)
						}
						if x[i] == 0.4 {
							decayEnd = i + 1 - attackEnd
							break
						}
					}
					checkWithin(t, "attack", attackEnd, tm.a*rate)
					checkWithin(t, "decay", decayEnd, tm.d*rate)
					if e.Releasing() || !e.Active() || e.Level() != 0.4 {
						t.Fatalf("after decay: level %v active %v releasing %v", e.Level(), e.Active(), e.Releasing())
					}
					e.GateOff()
					if !e.Releasing() {
						t.Fatal("not releasing after GateOff")
					}
					y := runEnv(&e, int(tm.r*rate)+1000, blk)
					relEnd := -1
					for i, v := range y {
						if i > 0 && v > y[i-1] {
							t.Fatalf("release not monotonic at %d", i)
						}
						if v == 0 {
							relEnd = i + 1
							break
						}
					}
					checkWithin(t, "release", relEnd, tm.r*rate)
					if e.Active() || e.Releasing() {
						t.Error("still active after the release")
					}
				})
			}
		}
	}
}

func checkWithin(t *testing.T, stage string, got int, want float64) {
	t.Helper()
	if want < 1 { // a stage shorter than a sample may end at once
		want = 1
	}
	if got < 0 || math.Abs(float64(got)-want) > 1 {
		t.Errorf("%s ended after %d samples, want %.2f ± 1", stage, got, want)
	}
}

// Exponential segments curve the right way: the attack is above the linear
// ramp (fast start), decay and release below (fast start, long tail).
func TestADSRExponentialShape(t *testing.T) {
	const rate = 1000.0
	var e ADSR
	e.Configure(ADSRConfig{Attack: 1, Decay: 1, Sustain: 0, Release: 1, Curve: Exponential}, rate)
	e.GateOn()
	x := runEnv(&e, 2000, 64)
	for _, i := range []int{100, 250, 500, 750, 900} {
		lin := float64(i+1) / 1000
		if float64(x[i]) <= lin {
			t.Errorf("attack at %d: %v not above linear %v", i, x[i], lin)
		}
		dlin := 1 - float64(i+1)/1000
		if float64(x[1000+i]) >= dlin {
			t.Errorf("decay at %d: %v not below linear %v", i, x[1000+i], dlin)
		}
	}
	// Halfway through the decay the level of the overshooting one-pole is
	// analytic: (end - target)·(ratio/(1+ratio))^0.5 + target.
	want := -0.001 + 1.001*math.Sqrt(0.001/1.001)
	if d := math.Abs(float64(x[1499]) - want); d > 1e-6 {
		t.Errorf("decay midpoint %v, want %v", x[1499], want)
	}
	// Linear: the exact ramp.
	e.Configure(ADSRConfig{Attack: 1, Decay: 1, Sustain: 0.5, Release: 1, Curve: Linear}, rate)
	e.Reset()
	e.GateOn()
	x = runEnv(&e, 2000, 64)
	for _, i := range []int{0, 99, 499, 998} {
		if d := math.Abs(float64(x[i]) - float64(i+1)/1000); d > 1e-6 {
			t.Errorf("linear attack at %d: %v", i, x[i])
		}
		if d := math.Abs(float64(x[1000+i]) - (1 - 0.5*float64(i+1)/1000)); d > 1e-6 {
			t.Errorf("linear decay at %d: %v", i, x[1000+i])
		}
	}
}

// Retrigger during the release continues from the current level (no
// jump) and the attack from level L lasts Attack·(1-L).
func TestADSRRetrigger(t *testing.T) {
	const rate = 48000.0
	for _, curve := range []Curve{Linear, Exponential} {
		var e ADSR
		e.Configure(ADSRConfig{Attack: 0.01, Decay: 0.05, Sustain: 0.6, Release: 0.5, Curve: curve}, rate)
		e.GateOn()
		runEnv(&e, 10000, 128)
		e.GateOff()
		runEnv(&e, 4800, 128)
		lvl := float64(e.Level())
		if lvl <= 0 || lvl >= 0.6 {
			t.Fatalf("level during release %v", lvl)
		}
		e.GateOn()
		x := runEnv(&e, 2000, 128)
		maxStep := 1 / (0.01 * rate) * 2 // twice the linear full-scale slope
		if curve == Exponential {
			maxStep *= 2
		}
		if d := math.Abs(float64(x[0]) - lvl); d > maxStep {
			t.Errorf("curve %d: retrigger jumped from %v to %v", curve, lvl, x[0])
		}
		end := -1
		for i, v := range x {
			if v == 1 {
				end = i + 1
				break
			}
		}
		checkWithin(t, "retriggered attack", end, 0.01*rate*(1-lvl))
		// Retrigger during the attack and the decay: continuity as well.
		for _, at := range []int{100, 700} {
			e.Reset()
			e.GateOn()
			x := runEnv(&e, at, 64)
			e.GateOn()
			y := runEnv(&e, 1, 1)
			if d := math.Abs(float64(y[0] - x[at-1])); d > float32tol(maxStep) {
				t.Errorf("curve %d: retrigger at %d jumped %v -> %v", curve, at, x[at-1], y[0])
			}
		}
	}
}

func float32tol(v float64) float64 { return v + 1e-6 }

// Configure mid-stage keeps the level (no jump) and the stage.
func TestADSRConfigureKeepsLevel(t *testing.T) {
	const rate = 48000.0
	for _, curve := range []Curve{Linear, Exponential} {
		var e ADSR
		c := ADSRConfig{Attack: 0.1, Decay: 0.1, Sustain: 0.5, Release: 0.1, Curve: curve}
		e.Configure(c, rate)
		e.GateOn()
		x := runEnv(&e, 2400, 64) // halfway through the attack
		c.Attack = 0.2
		e.Configure(c, rate)
		y := runEnv(&e, 1, 1)
		if d := math.Abs(float64(y[0] - x[len(x)-1])); d > 1e-3 {
			t.Errorf("curve %d: Configure jumped %v -> %v", curve, x[len(x)-1], y[0])
		}
		// Half the attack was left; with the doubled time that is 4800 samples.
		z := runEnv(&e, 9600, 64)
		end := -1
		for i, v := range z {
			if v == 1 {
				end = i + 2
				break
			}
		}
		checkWithin(t, "rescaled attack", end, 4800)
		// Repeated identical Configure calls (every block) do not stall the
		// decay.
		e.Reset()
		e.GateOn()
		n := 0
		for (e.Level() != 0.5 || n < 9600) && n < 100000 {
			e.Configure(c, rate)
			runEnv(&e, 64, 64)
			n += 64
		}
		if math.Abs(float64(n)-0.3*rate) > 64 {
			t.Errorf("curve %d: attack+decay with per-block Configure took %d samples, want %v", curve, n, 0.3*rate)
		}
		// A sustain change during sustain glides there.
		c.Sustain = 0.8
		e.Configure(c, rate)
		w := runEnv(&e, 2000, 64)
		if math.Abs(float64(w[0])-0.5) > 0.01 || w[len(w)-1] != 0.8 {
			t.Errorf("curve %d: sustain change: %v ... %v", curve, w[0], w[len(w)-1])
		}
	}
}

// The output does not depend on how the caller splits the blocks.
func TestADSRBlockInvariance(t *testing.T) {
	for _, curve := range []Curve{Linear, Exponential} {
		c := ADSRConfig{Attack: 0.013, Decay: 0.021, Sustain: 0.3, Release: 0.017, Curve: curve}
		render := func(blk int) []float32 {
			var e ADSR
			e.Configure(c, 48000)
			e.GateOn()
			a := runEnv(&e, 3000, blk)
			e.GateOff()
			b := runEnv(&e, 1000, blk)
			return append(a, b...)
		}
		ref := render(MaxBlock)
		for _, blk := range []int{1, 3, 64, 100} {
			got := render(blk)
			for i := range ref {
				if got[i] != ref[i] {
					t.Fatalf("curve %d block %d: sample %d = %v, want %v", curve, blk, i, got[i], ref[i])
				}
			}
		}
	}
}

func TestADSRStates(t *testing.T) {
	var e ADSR
	if e.Active() || e.Releasing() || e.Level() != 0 {
		t.Fatal("zero ADSR not idle")
	}
	buf := make([]float32, 16)
	e.Process(buf)
	for _, v := range buf {
		if v != 0 {
			t.Fatal("idle envelope not silent")
		}
	}
	e.GateOff() // no-op when idle
	if e.Active() {
		t.Fatal("GateOff activated the envelope")
	}
	// Zero times: instant.
	e.Configure(ADSRConfig{Sustain: 0.7}, 48000)
	e.GateOn()
	e.Process(buf)
	if buf[0] != 0.7 || e.Level() != 0.7 {
		t.Errorf("zero-time envelope: %v", buf[0])
	}
	e.GateOff()
	e.Process(buf)
	if buf[0] != 0 || e.Active() {
		t.Errorf("zero release: %v active %v", buf[0], e.Active())
	}
	// Garbage configuration is sanitised.
	e.Configure(ADSRConfig{Attack: math.NaN(), Decay: -1, Sustain: math.Inf(1), Release: math.Inf(1), Curve: 9}, math.NaN())
	e.GateOn()
	e.Process(buf)
	for _, v := range buf {
		if !Finite(v) || v < 0 || v > 1 {
			t.Fatalf("bad level %v", v)
		}
	}
}

func TestADSRAllocs(t *testing.T) {
	var e ADSR
	e.Configure(ADSRConfig{Attack: 0.01, Decay: 0.1, Sustain: 0.5, Release: 0.1, Curve: Exponential}, 48000)
	buf := make([]float32, MaxBlock)
	if a := testing.AllocsPerRun(100, func() {
		e.GateOn()
		e.Process(buf)
		e.GateOff()
		e.Process(buf)
	}); a != 0 {
		t.Errorf("%v allocs", a)
	}
}

func BenchmarkADSR(b *testing.B) {
	for _, curve := range []Curve{Linear, Exponential} {
		b.Run([]string{"linear", "exp"}[curve], func(b *testing.B) {
			var e ADSR
			e.Configure(ADSRConfig{Attack: 0.5, Decay: 0.5, Sustain: 0.5, Release: 0.5, Curve: curve}, 48000)
			buf := make([]float32, MaxBlock)
			b.ReportAllocs()
			n := 0
			for b.Loop() {
				if n%200 == 0 {
					e.GateOn()
				} else if n%200 == 150 {
					e.GateOff()
				}
				n++
				e.Process(buf)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*MaxBlock), "ns/sample")
		})
	}
}

// skip and peek (the synth reads envelopes only at control points) follow
// Process: after any run of skips the level equals Process's output at that
// sample (to rounding), whole strides included, and peek(n) is exactly what
// skip(n) then reaches.
func TestADSRSkipPeekFollowProcess(t *testing.T) {
	for _, curve := range []Curve{Linear, Exponential} {
		cfg := ADSRConfig{Attack: 0.004, Decay: 0.03, Sustain: 0.4, Release: 0.02, Curve: curve}
		var ref, e ADSR
		ref.Configure(cfg, 48000)
		e.Configure(cfg, 48000)
		ref.GateOn()
		e.GateOn()
		buf := make([]float32, 1)
		var rng Rand
		rng.Seed(3)
		for pos := 0; pos < 4000; {
			n := []int{envStride, envStride / 2, 1 + int(rng.Uint64()%40)}[rng.Uint64()%3]
			if pos < 2000 && pos+n > 2000 {
				n = 2000 - pos // gate off at 2000
			}
			var want float64
			for range n {
				ref.Process(buf)
				want = float64(buf[0])
			}
			if n <= e.left || e.left == 0 {
				peek := e.peek(n)
				e.skip(n)
				if e.level != peek {
					t.Fatalf("%v at %d: peek(%d) %v, skip reached %v", curve, pos, n, peek, e.level)
				}
			} else {
				e.skip(n)
			}
			pos += n
			if math.Abs(e.level-want) > 1e-6 {
				t.Fatalf("%v at %d: skip level %v, Process %v", curve, pos, e.level, want)
			}
			if pos == 2000 {
				ref.GateOff()
				e.GateOff()
			}
		}
		if e.Active() || e.level != 0 {
			t.Errorf("%v: not idle after the release: %v", curve, e.level)
		}
	}
}

// fadeOut falls linearly from the current level to exactly 0 over its
// length, and a fade is shortened but never lengthened.
func TestADSRFadeOut(t *testing.T) {
	var e ADSR
	e.Configure(ADSRConfig{Attack: 0.001, Decay: 0.01, Sustain: 0.5, Release: 2, Curve: Exponential}, 48000)
	e.GateOn()
	e.Process(make([]float32, 2000)) // sustain
	e.fadeOut(100)
	buf := make([]float32, 100)
	e.Process(buf[:50])
	for i, v := range buf[:50] {
		if want := 0.5 * (1 - float64(i+1)/100); math.Abs(float64(v)-want) > 1e-6 {
			t.Fatalf("fade sample %d = %v, want %v", i, v, want)
		}
	}
	e.fadeOut(200) // longer: ignored
	e.GateOff()    // a fade is a release already
	e.Configure(ADSRConfig{Attack: 1, Decay: 1, Sustain: 1, Release: 5}, 48000)
	e.Process(buf[:50])
	if buf[49] != 0 || e.Active() {
		t.Fatalf("fade did not end at its length: %v, active %v", buf[49], e.Active())
	}
	e.GateOn()
	e.Process(buf)
	e.fadeOut(40)
	e.fadeOut(20) // shorter: shortens
	e.Process(buf[:20])
	if buf[19] != 0 || e.Active() {
		t.Errorf("shortened fade did not end after 20 samples: %v", buf[19])
	}
}
