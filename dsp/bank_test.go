package dsp

import (
	"strings"
	"testing"
)

func TestCustomBank(t *testing.T) {
	var pad, lead Patch
	pad = Preset(mustPreset("pad"))
	pad.Gain = 0.123
	lead = Preset(mustPreset("lead"))
	s, err := New(Config{Presets: []Patch{lead, pad}})
	if err != nil {
		t.Fatal(err)
	}
	got := s.Presets()
	// The two given plus the built-in kit, added because the bank had none.
	if len(got) != 3 || got[1].Gain != 0.123 || !got[2].Kit {
		t.Fatalf("bank = %d presets %v", len(got), names(got))
	}
	// GM program 88 (new age pad) finds "pad" by name; a program whose
	// family preset is missing (0, piano -> keys) takes the first melodic one.
	s.Schedule(Event{Kind: Program, Channel: 1, Key: 88})
	s.Schedule(Event{Kind: Program, Channel: 2, Key: 0})
	l, r := make([]float32, 64), make([]float32, 64)
	s.Render(l, r)
	if g := s.ChannelPatch(1).Gain; g != 0.123 {
		t.Fatalf("program 88 gave gain %v, want the bank's pad (0.123)", g)
	}
	if p := s.ChannelPatch(2); p.NameString() != "lead" {
		n := p.NameString()
		t.Fatalf("program 0 gave %q, want the first melodic preset", n)
	}
	if !s.ChannelPatch(DrumChannel).Kit {
		t.Fatal("the percussion channel has no kit")
	}
	// The bank is state: a snapshot and a Reset keep it.
	var c Synth
	c.CopyFrom(s)
	c.Reset()
	if len(c.Presets()) != 3 || c.Presets()[1].Gain != 0.123 {
		t.Fatal("Reset or CopyFrom lost the bank")
	}
}

func TestBankErrors(t *testing.T) {
	p := Preset(0)
	var unnamed Patch
	kit := Preset(mustPreset("drums"))
	many := make([]Patch, MaxPresets+1)
	for i := range many {
		many[i] = p
		many[i].SetName("p" + itoa(i))
	}
	for _, tc := range []struct {
		name string
		ps   []Patch
		want string
	}{
		{"empty", []Patch{}, "needs 1.."},
		{"duplicate", []Patch{p, p}, "two presets are called"},
		{"unnamed", []Patch{unnamed}, "has no name"},
		{"only kits", []Patch{kit}, "melodic"},
		{"too many", many, "needs 1.."},
	} {
		_, err := New(Config{Presets: tc.ps})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", tc.name, err, tc.want)
		}
	}
}

func names(ps []Patch) []string {
	var out []string
	for i := range ps {
		out = append(out, ps[i].NameString())
	}
	return out
}
