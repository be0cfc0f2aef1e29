package main

import (
	"gitlab.com/gomidi/midi/v2/drivers"

	"github.com/chronus-audio/chronus/engine/quiet"
)

// quietDriver wraps a MIDI driver so that ALSA's and RtMidi's own messages
// while listing and opening ports ("open /dev/snd/seq failed", garbage
// error text) never reach the user's terminal: the controller logs one clear
// sentence instead. Our logs go to quiet.Stderr and are not affected.
type quietDriver struct{ drivers.Driver }

func (d quietDriver) Ins() ([]drivers.In, error) {
	defer quiet.Silence()()
	ins, err := d.Driver.Ins()
	for i := range ins {
		ins[i] = quietIn{ins[i]}
	}
	return ins, err
}

func (d quietDriver) Outs() ([]drivers.Out, error) {
	defer quiet.Silence()()
	outs, err := d.Driver.Outs()
	for i := range outs {
		outs[i] = quietOut{outs[i]}
	}
	return outs, err
}

type quietIn struct{ drivers.In }

func (p quietIn) Open() error {
	defer quiet.Silence()()
	return p.In.Open()
}

func (p quietIn) Listen(onMsg func([]byte, int32), cfg drivers.ListenConfig) (func(), error) {
	defer quiet.Silence()()
	return p.In.Listen(onMsg, cfg)
}

type quietOut struct{ drivers.Out }

func (p quietOut) Open() error {
	defer quiet.Silence()()
	return p.Out.Open()
}
