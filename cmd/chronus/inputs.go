package main

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"

	"github.com/rs/zerolog"
	"github.com/spf13/pflag"
	"gitlab.com/gomidi/midi/v2/drivers"
	"gitlab.com/gomidi/midi/v2/drivers/rtmididrv"

	"github.com/chronus-audio/chronus/controllers"
	"github.com/chronus-audio/chronus/controllers/midi"
	"github.com/chronus-audio/chronus/controllers/osc"
)

// inputFlags are the controller settings shared by run, monitor and learn.
type inputFlags struct {
	midiIn    []string
	midiOut   []string
	noMIDI    bool
	sysex     bool
	noOSC     bool
	oscHost   string
	oscPort   int
	oscReply  int
	oscAllow  []string
	oscTarget []string
}

func (f *inputFlags) register(fs *pflag.FlagSet) {
	fs.StringSliceVar(&f.midiIn, "midi", nil, "MIDI inputs to open, by name substring (default: every input)")
	fs.StringSliceVar(&f.midiOut, "midi-out", nil, "MIDI outputs to open for feedback, by name substring")
	fs.BoolVar(&f.noMIDI, "no-midi", false, "do not open MIDI ports")
	fs.BoolVar(&f.sysex, "sysex", false, "receive SysEx (up to 64 KiB; longer messages are dropped and counted)")
	fs.BoolVar(&f.noOSC, "no-osc", false, "do not listen for OSC")
	fs.StringVar(&f.oscHost, "osc-host", "", "address to listen on for OSC (default: all interfaces)")
	fs.IntVar(&f.oscPort, "osc-port", osc.DefaultPort, "OSC port, UDP and TCP (0: any free port, logged)")
	fs.IntVar(&f.oscReply, "osc-reply-port", osc.DefaultReplyPort, "port on a client's host that replies and feedback go to")
	fs.StringSliceVar(&f.oscAllow, "osc-allow", nil, "CIDRs allowed to send OSC (default: everyone)")
	fs.StringSliceVar(&f.oscTarget, "osc-feedback", nil, "extra host:port destinations for OSC feedback")
}

// inputs are the opened controllers.
type inputs struct {
	midi *midi.Controller
	osc  *osc.Controller
}

func (in *inputs) Close() {
	if in.osc != nil {
		in.osc.Close()
	}
	if in.midi != nil {
		in.midi.Close()
	}
}

// openInputs opens MIDI and OSC; handle is called for every event, from one
// goroutine per controller (the caller serialises if it must).
func openInputs(f inputFlags, log zerolog.Logger, handle func(ev *controllers.Event)) (*inputs, error) {
	in := &inputs{}
	if !f.noOSC {
		allow, err := osc.ParseAllow(strings.Join(f.oscAllow, ","))
		if err != nil {
			return nil, usageError{err}
		}
		var targets []netip.AddrPort
		for _, t := range f.oscTarget {
			ap, err := netip.ParseAddrPort(t)
			if err != nil {
				return nil, usageError{fmt.Errorf("--osc-feedback %q: %w", t, err)}
			}
			targets = append(targets, ap)
		}
		c, err := osc.New(osc.Config{
			Addr: net.JoinHostPort(f.oscHost, strconv.Itoa(f.oscPort)), ReplyPort: f.oscReply,
			Allow: allow, Feedback: targets, Logger: log.With().Str("role", "osc").Logger(),
		}, osc.HandlerFunc(handle))
		if err != nil {
			return nil, err
		}
		if err := c.Start(); err != nil {
			return nil, fmt.Errorf("listen for OSC on port %d: %w", f.oscPort, err)
		}
		in.osc = c
	}
	if !f.noMIDI {
		var drv drivers.Driver
		if d, err := rtmididrv.New(); err == nil {
			drv = quietDriver{d}
		}
		c, err := midi.New(drv, midi.Config{Inputs: f.midiIn, Outputs: f.midiOut, SysEx: f.sysex},
			midi.HandlerFunc(handle), log.With().Str("role", "midi").Logger())
		if err != nil {
			in.Close()
			return nil, err
		}
		in.midi = c
	}
	return in, nil
}
