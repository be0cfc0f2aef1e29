package dsp

// MIDI channel-mode controller numbers that MIDIEvent turns into their own kinds.
const (
	ccAllSoundOff       = 120
	ccResetControllers  = 121
	ccAllNotesOff       = 123
	ccOmniOff, ccPolyOn = 124, 127 // 124..127 also end all notes (MIDI 1.0 spec, channel mode messages)
)

// MIDIEvent converts one raw MIDI channel-voice message (status byte with its
// channel, then one or two data bytes, no running status) into an Event at frame.
//
//   - note on: NoteOn, Key = note, Value = velocity/127; velocity 0 is a NoteOff
//   - note off: NoteOff, Value = release velocity/127
//   - control change: Control, Key = controller, Value = value/127, except the
//     channel-mode messages: 120 → AllSoundOff, 121 → ResetControllers,
//     123..127 → AllNotesOff (omni and mono/poly changes end notes by the spec)
//   - program change: Program, Key = program
//   - channel pressure: Pressure, Value = pressure/127
//   - pitch bend: PitchBend, Value in -1..1 from the 14-bit value, centre 8192 = 0;
//     the two halves are scaled separately so that 0 gives exactly -1 and 16383
//     exactly +1
//
// It returns false for anything else: poly aftertouch (not supported by the
// synth), system messages, a message of the wrong length, or a data byte > 127.
// It does not allocate; any thread may call it.
func MIDIEvent(frame uint64, msg []byte) (Event, bool) {
	if len(msg) < 2 || msg[0] < 0x80 || msg[0] >= 0xF0 {
		return Event{}, false
	}
	status, ch := msg[0]&0xF0, msg[0]&0x0F
	n := 3
	if status == 0xC0 || status == 0xD0 {
		n = 2
	}
	if len(msg) != n {
		return Event{}, false
	}
	for _, d := range msg[1:] {
		if d > 0x7F {
			return Event{}, false
		}
	}
	ev := Event{Frame: frame, Channel: ch, Key: msg[1]}
	switch status {
	case 0x90:
		if msg[2] == 0 {
			ev.Kind = NoteOff
			return ev, true
		}
		ev.Kind, ev.Value = NoteOn, float64(msg[2])/127
	case 0x80:
		ev.Kind, ev.Value = NoteOff, float64(msg[2])/127
	case 0xB0:
		switch {
		case msg[1] == ccAllSoundOff:
			ev = Event{Frame: frame, Kind: AllSoundOff, Channel: ch}
		case msg[1] == ccResetControllers:
			ev = Event{Frame: frame, Kind: ResetControllers, Channel: ch}
		case msg[1] == ccAllNotesOff || msg[1] >= ccOmniOff && msg[1] <= ccPolyOn:
			ev = Event{Frame: frame, Kind: AllNotesOff, Channel: ch}
		default:
			ev.Kind, ev.Value = Control, float64(msg[2])/127
		}
	case 0xC0:
		ev.Kind = Program
	case 0xD0:
		ev.Kind, ev.Key, ev.Value = Pressure, 0, float64(msg[1])/127
	case 0xE0:
		v := int(msg[1]) | int(msg[2])<<7
		ev.Key = 0
		ev.Kind = PitchBend
		if v >= 8192 {
			ev.Value = float64(v-8192) / 8191
		} else {
			ev.Value = float64(v-8192) / 8192
		}
	default: // 0xA0 poly aftertouch
		return Event{}, false
	}
	return ev, true
}
