// Package proto defines Chronus's protocol-v2 command: one fixed 64-byte,
// little-endian record that the mapping layer produces, the supervisor
// frame-stamps and the workers (or handlers registered by cmd) apply.
//
// # Wire format
//
//	bytes  field      type / meaning
//	0      version    uint8, always 2 (Version)
//	1      op         uint8, an Op; 0 is never valid, so a zeroed record fails
//	2-3    flags      uint16: bit 0 FlagAbsolute, bit 1 FlagPerNote,
//	                  bits 2-15 reserved and must be zero (ErrFlags)
//	4-7    sequence   uint32, incremented per command by the sender; wraps.
//	                  SeqDiff shows gaps (> 1), repeats (0) and reordering (< 0)
//	8-15   frame      uint64 absolute sample frame to apply at;
//	                  0 = as soon as possible
//	16-31  module     module id: printable ASCII 0x21..0x7e, NUL padded;
//	                  once a NUL appears the rest is NUL (ErrField)
//	32-47  parameter  same rules as module
//	48-55  value      float64 (IEEE 754 bits, little-endian)
//	56     channel    MIDI channel 0..15 (ErrRefine)
//	57     key        note / CC / program number 0..127 (ErrRefine)
//	58-59  voice      uint16 voice id; 0 = no particular voice
//	60-63  crc        CRC-32 (IEEE, as hash/crc32.ChecksumIEEE) of bytes 0-59
//
// The module, parameter and value offsets are those of the seeds' protocol.
// Reserved flag bits must be zero so that a future meaning can never be
// silently ignored by an older reader; a new meaning bumps Version or takes
// a bit that older readers reject.
//
// # Ops
//
// Op numbers are wire values and never change. Worker ops (0x01-0x0b), the
// patch-editing ops (0x50-0x58) and the kit ops (0x60-0x63) go to both
// synth workers; host ops
// (0x40-0x45) go to handlers that cmd registers with the supervisor
// (Op.ForWorkers). Per op, the decoder also checks what the op needs:
//
//	op                  value             text fields
//	set                 finite            module and parameter non-empty
//	note-on, note-off   velocity 0..1     -
//	control             0..1 (key = CC)   -
//	pitch-bend          -1..1             -
//	pressure            0..1              -
//	patch-set           finite            module and parameter non-empty
//	patch-connect       finite (amount)   module (from) and parameter (to)
//	patch-disconnect    ignored           module (from) and parameter (to)
//	patch-commit        ignored           module (the output module)
//	patch-select        0..1              -
//	patch-program       0..16             -
//	patch-amount        finite (amount)   module (from) and parameter (to)
//	kit-sound           -1..1 (pan)       module (the output module)
//	kit-select          0..1              -
//	patch-save/-load    ignored           module (the patch name) non-empty
//	patch-create        ignored           module (new id) and parameter (kind)
//	all others          ignored           -
//
// An ignored value is not checked and round-trips bit for bit. FlagPerNote
// makes pressure and pitch-bend address the note in the key field (MIDI
// polyphonic aftertouch, MPE-style bends) rather than the whole channel.
//
// # Errors and allocation
//
// Encode, Check and a successful Decode never allocate, lock or block: they
// may run on the audio thread. Check returns only the sentinel errors
// (ErrVersion, ErrCRC, ErrOp, ErrFlags, ErrField, ErrRefine, ErrValue), which
// is all a real-time reader needs to count and drop a bad record. Decode
// returns a detailed error wrapping the same sentinel (errors.Is works); it
// allocates, but only on failure. ModuleString, ParamString, Op.String for
// unknown ops and Command.String allocate; SetModule, SetParam, Name.Set,
// Name.Equal, ParseOp and Op.String for known ops do not.
package proto
