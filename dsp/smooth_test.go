package dsp

import (
	"math"
	"testing"
)

func TestSmoother(t *testing.T) {
	const rate = 48000.0
	var s Smoother
	s.Init(1, 0.01, rate)
	if s.Value() != 1 || s.Next(64) != 1 {
		t.Fatal("Init value")
	}
	s.Set(2)
	// After one time constant (480 frames) 1/e of the distance remains.
	v := s.Next(480)
	if want := 2 - math.Exp(-1); math.Abs(v-want) > 1e-12 {
		t.Errorf("after one time constant %v, want %v", v, want)
	}
	// Block-size invariance (up to rounding).
	var a, b Smoother
	a.Init(0, 0.02, rate)
	b.Init(0, 0.02, rate)
	a.Set(5)
	b.Set(5)
	for i := 0; i < 8; i++ {
		a.Next(256)
	}
	for i := 0; i < 32; i++ {
		b.Next(64)
	}
	if math.Abs(a.Value()-b.Value()) > 1e-12 {
		t.Errorf("block split changes the value: %v vs %v", a.Value(), b.Value())
	}
	// Monotonic approach and exact arrival.
	prev := a.Value()
	for i := 0; i < 2000; i++ {
		v := a.Next(256)
		if v < prev || v > 5 {
			t.Fatalf("not monotonic: %v after %v", v, prev)
		}
		prev = v
	}
	if a.Value() != 5 || a.Target() != 5 {
		t.Errorf("did not arrive: %v", a.Value())
	}
	// No smoothing, NaN ignored, Jump.
	var c Smoother
	c.Init(3, 0, rate)
	c.Set(4)
	if c.Next(1) != 4 {
		t.Error("seconds=0 should jump")
	}
	c.Set(math.NaN())
	if c.Next(10) != 4 {
		t.Error("NaN target accepted")
	}
	c.Jump(7)
	if c.Value() != 7 {
		t.Error("Jump")
	}
	if n := testing.AllocsPerRun(100, func() { a.Set(1); a.Next(MaxBlock) }); n != 0 {
		t.Errorf("%v allocs", n)
	}
}
