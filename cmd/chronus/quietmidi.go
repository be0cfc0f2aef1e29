package main

import (
	"gitlab.com/gomidi/midi/v2/drivers"
	"gitlab.com/gomidi/midi/v2/drivers/rtmididrv/imported/rtmidi"

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

// Listen listens on the port. With SysEx on, an RtMidi port is read
// without gomidi's reader (see listenRaw); everything else goes through the
// driver's own Listen.
func (p quietIn) Listen(onMsg func([]byte, int32), cfg drivers.ListenConfig) (func(), error) {
	defer quiet.Silence()()
	if cfg.SysEx {
		if rt, ok := p.In.Underlying().(rtmidi.MIDIIn); ok && rt != nil {
			return listenRaw(rt, onMsg, cfg)
		}
	}
	return p.In.Listen(onMsg, cfg)
}

// listenRaw listens on an RtMidi input without gomidi's reader. That reader
// (drivers/reader.go in gomidi v2.3.22) copies each SysEx into a buffer of
// cfg.SysExBufferSize bytes without a bounds check, so a longer SysEx panics
// it on RtMidi's C thread, where nothing can recover and the process dies.
// RtMidi itself already hands over one whole message per callback (it
// joins ALSA's 256-byte SysEx chunks and expands running status), so the
// reader has nothing to add: here each message goes straight to onMsg, of
// any length, and the controller drops a SysEx longer than its bound
// (midi.Config.SysExMax) and counts it (midi.Stats.Oversized).
func listenRaw(rt rtmidi.MIDIIn, onMsg func([]byte, int32), cfg drivers.ListenConfig) (func(), error) {
	if err := rt.IgnoreTypes(!cfg.SysEx, !cfg.TimeCode, !cfg.ActiveSense); err != nil {
		return nil, err
	}
	r := &rawInput{onMsg: onMsg}
	// Unlike gomidi's Listen (go SetCallback), set the callback before
	// returning, so a stop right after Listen cannot run before it.
	if err := rt.SetCallback(r.callback); err != nil {
		return nil, err
	}
	return func() { _ = rt.CancelCallback() }, nil
}

// rawInput passes RtMidi's messages on. Its callback runs on RtMidi's
// thread, one call at a time per port, and must never panic.
type rawInput struct {
	onMsg func([]byte, int32)
	ms    float64 // time since the first message, in ms, as gomidi counts it
}

func (r *rawInput) callback(_ rtmidi.MIDIIn, msg []byte, delta float64) {
	r.ms += delta * 1000
	if len(msg) == 0 {
		return
	}
	r.onMsg(msg, int32(int64(r.ms)))
}

type quietOut struct{ drivers.Out }

func (p quietOut) Open() error {
	defer quiet.Silence()()
	return p.Out.Open()
}
