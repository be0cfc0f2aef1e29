// Package recorder writes what Chronus plays to WAV files.
//
// Writer streams interleaved float32 frames into an io.WriteSeeker and
// keeps the file valid at every Flush (crash safety); WriteWAV writes a
// whole buffer to a plain io.Writer such as stdout. Neither runs on the
// audio thread: they do I/O. The audio callback hands blocks over through
// a lock-free ring that a writer goroutine drains into a Writer.
//
// # File layout
//
// The layouts are the ones sox itself writes; the tests read every one
// with sox and go-audio/wav:
//
//	format                   fmt chunk                                 header
//	S16, 1 or 2 channels     tag 1 (PCM), 16 bytes                     44 bytes
//	S24; S16 > 2 channels    tag 0xfffe (extensible), 40 bytes,        68 bytes
//	                         sub-format KSDATAFORMAT_SUBTYPE_PCM
//	F32, any channels        tag 3 (IEEE float), 18 bytes (cbSize 0),  58 bytes
//	                         then a fact chunk with the frame count
//
// Extensible is what Microsoft requires for more than 16 bits or more than
// two channels. Float does not use it: sox 14.4.2 warns ("wave header
// missing extended part of fmt chunk") on every extensible float file, and
// writes tag 3 with a fact chunk itself, for any channel count. The
// extensible channel mask is front-centre for mono, front-left|front-right
// for stereo and 0 (no speaker assignment) otherwise. An odd-sized data
// chunk (24-bit, odd sample count) is followed by a zero pad byte that the
// chunk size does not count.
//
// # Sample conversion
//
// Conversion is deterministic so that two renders of the same audio are
// byte-identical: no dither, no state. Integer formats clamp to [-1, 1],
// scale by 2^(bits-1)-1 (32767 for S16, 8388607 for S24) and round to
// nearest, halves away from zero; the scale is symmetric, so -1 maps to
// -32767 and the most negative code is never used, and x and -x map to
// codes of equal magnitude. NaN becomes 0. F32 keeps every finite sample
// bit for bit, including values beyond ±1 (float's headroom is why one
// records in float); NaN becomes 0 and ±Inf becomes ±1, because non-finite
// samples break most readers.
//
// # Limits
//
// RIFF sizes are 32-bit, so a file is at most 4 GiB: Write returns
// ErrTooLarge, and writes nothing, for a block that would pass that limit
// (3.1 hours of 48 kHz stereo F32, 6.2 of S16). The file written so far stays
// valid; RF64 or splitting is left to a later change.
package recorder
