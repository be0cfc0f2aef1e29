// Package mapping turns controller events (controllers.Event, from MIDI
// ports and OSC clients) into protocol-v2 commands (proto.Command) as the
// map files say. The map schema is documented with examples in
// maps/README.md.
//
// # Pieces
//
//   - Compile parses and validates one TOML map file into an immutable *Map.
//     Every problem is reported as "file:line:col: what is wrong" (*Error).
//   - Map.Apply is a pure function, event in, commands out: no I/O, clock,
//     goroutines or shared state, and no allocation when the destination
//     slice has room. OSC address patterns are checked when compiling.
//   - A Set layers several maps: the shipped ones (package maps) and the
//     user's (UserDir), a user file replacing the shipped file of the same
//     name. The maps run in file-name order and every matching rule fires,
//     until a rule marked final stops the event.
//   - Load reads and compiles the layers once; Watch also follows the user
//     directories with fsnotify and hands each new Set to a callback,
//     keeping the previous version of a file that fails to compile.
//   - Live holds the Set in effect; a Session (one per input goroutine)
//     applies it, swaps in a new Set between two events, and remembers what
//     a pure function cannot: the notes each map started and the sustain
//     pedals it holds, so that a reload releases those of the maps that
//     changed and never leaves a note stuck, and the positions of latching
//     toggles.
//
// # Outputs
//
// The midi-out and osc-out targets make no command: Map.ApplyOut and
// Session.ApplyOut append them as Output values (a MIDI message and the
// port name it is for, or an OSC message and its destination) for the
// caller to send, so this package stays free of I/O and of the MIDI and
// OSC transports. Apply and ApplyFrom leave them out.
//
// Apply leaves Frame and Seq at 0: the caller stamps them (for a
// timetagged OSC bundle, from Event.Due).
//
// # Threads
//
// Compile, Load and Watch are for a loading goroutine. Map and Set methods
// may be called from any goroutine. A Session belongs to one goroutine.
// Nothing here runs on the audio thread.
package mapping
