package main

import (
	"errors"
	"testing"

	"github.com/chronus-audio/chronus/engine/proto"
)

func noteOn(seq int) proto.Command {
	seq %= orderMod
	return proto.Command{Op: proto.OpNoteOn, Key: uint8(seq / 127), Value: float64(seq%127+1) / 127}
}

func noteOff(key uint8) proto.Command { return proto.Command{Op: proto.OpNoteOff, Key: key} }

// TestNoteOrderCheck: the /stats note-order check tells in-order notes,
// gaps (lost notes) and notes that went back (reordered) apart, across the
// wrap of its sequence numbers, and counts refused commands apart.
func TestNoteOrderCheck(t *testing.T) {
	for _, tc := range []struct {
		name                         string
		seqs                         []int // note-ons, each followed by its note-off unless negative
		in, skipped, backward, stray uint64
	}{
		{"in order", []int{5, 6, 7, 8}, 4, 0, 0, 0},
		{"across the wrap", []int{orderMod - 2, orderMod - 1, 0, 1}, 4, 0, 0, 0},
		{"a gap", []int{1, 2, 5, 6}, 3, 1, 0, 0},
		{"two swapped", []int{1, 3, 2, 4}, 1, 2, 1, 0},
		{"a note-off after the next note-on", []int{126, -127, 128}, 3, 0, 0, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := flowStats{orderOn: true, next: -1}
			for i, s := range tc.seqs {
				if s < 0 {
					// note-on -s, then the previous note's note-off late
					c := noteOn(-s)
					f.sentCmd(&c, nil)
					off := noteOff(noteOn(tc.seqs[i-1]).Key)
					if off.Key == c.Key {
						t.Fatal("test case needs notes of different keys")
					}
					f.sentCmd(&off, nil)
					continue
				}
				c := noteOn(s)
				f.sentCmd(&c, nil)
				off := noteOff(c.Key)
				f.sentCmd(&off, nil)
			}
			if f.inOrder != tc.in || f.skipped != tc.skipped || f.backward != tc.backward || f.strayOffs != tc.stray {
				t.Errorf("in order %d, skipped %d, backward %d, stray %d; want %d, %d, %d, %d",
					f.inOrder, f.skipped, f.backward, f.strayOffs, tc.in, tc.skipped, tc.backward, tc.stray)
			}
		})
	}
	var f flowStats
	c := noteOn(1)
	f.sentCmd(&c, errors.New("busy"))
	f.sentCmd(&c, nil)
	if f.refused.Load() != 1 || f.sent.Load() != 1 || f.inOrder != 0 {
		t.Errorf("sent %d, refused %d, checked %d; want 1, 1 and no check (not armed)", f.sent.Load(), f.refused.Load(), f.inOrder)
	}
	f = flowStats{orderOn: true, next: -1}
	off := noteOff(0)
	if n := testing.AllocsPerRun(100, func() { f.sentCmd(&c, nil); f.sentCmd(&off, nil) }); n != 0 {
		t.Errorf("sentCmd allocates %v times per call pair", n)
	}
}
