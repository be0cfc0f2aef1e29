package dsp

import "errors"

// MaxPresets is the most presets a bank (and so a synth) holds.
const MaxPresets = 64

// bank is the synth's preset table, part of its pointer-free state so that
// every worker and every snapshot plays the same sounds.
type bank struct {
	p     [MaxPresets]Patch
	n     int
	gm    [128]uint8 // General MIDI program -> preset index
	drums uint8      // the percussion channel's kit
}

// build fills the bank from ps, or keeps it when ps is nil and the bank is
// already filled (Reset), or uses the built-in presets.
func (b *bank) build(ps []Patch) error {
	if ps == nil {
		if b.n > 0 {
			return nil
		}
		ps = presets[:]
	}
	if len(ps) == 0 || len(ps) > MaxPresets {
		return errors.New("dsp: a preset bank needs 1.." + itoa(MaxPresets) + " presets")
	}
	var nb bank
	for i := range ps {
		nb.p[i] = ps[i]
		nb.p[i].sanitize()
		if nb.p[i].Name[0] == 0 {
			return errors.New("dsp: preset " + itoa(i) + " has no name")
		}
		for j := 0; j < i; j++ {
			if nb.p[j].Name == nb.p[i].Name {
				return errors.New("dsp: two presets are called " + nb.p[i].NameString())
			}
		}
	}
	nb.n = len(ps)
	// Each General MIDI program gets the bank's preset of the family's
	// name, or else the bank's first melodic preset.
	first := -1
	kit := -1
	for i := 0; i < nb.n; i++ {
		if nb.p[i].Kit {
			if kit < 0 || nb.p[i].NameString() == "drums" {
				kit = i
			}
		} else if first < 0 {
			first = i
		}
	}
	if first < 0 {
		return errors.New("dsp: a preset bank needs at least one melodic (non-kit) preset")
	}
	for f := range gmFamilies {
		for k, name := range gmFamilies[f] {
			idx := first
			for i := 0; i < nb.n; i++ {
				if !nb.p[i].Kit && nb.p[i].NameString() == name {
					idx = i
					break
				}
			}
			nb.gm[f*8+k] = uint8(idx)
		}
	}
	if kit < 0 {
		// No kit in the bank: the percussion channel plays the built-in one.
		if nb.n == MaxPresets {
			return errors.New("dsp: a full preset bank must contain a drum kit (kit = true)")
		}
		nb.p[nb.n] = presets[mustPreset("drums")]
		kit = nb.n
		nb.n++
	}
	nb.drums = uint8(kit)
	*b = nb
	return nil
}

// Presets returns a copy of the synth's preset bank. Not for the audio
// thread (it allocates).
func (s *Synth) Presets() []Patch {
	return append([]Patch(nil), s.bank.p[:s.bank.n]...)
}
