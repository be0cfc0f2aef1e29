// Package dsp holds Chronus's real-time audio code: the signal-processing
// primitives (this file and osc.go, noise.go, env.go, lfo.go, filter.go,
// smooth.go, delay.go, reverb.go, drive.go, limiter.go) and the polyphonic
// synthesizer built from them.
//
// The primitives are:
//
//   - Osc: sine (minimax polynomial, error < 2e-8; at a constant frequency a
//     rotation re-anchored to the polynomial every 32 samples, < 1e-7),
//     saw, pulse/square and triangle band-limited by 4-point polyBLEP /
//     polyBLAMP (integrated cubic B-spline: about 9 dB less aliasing than
//     the common 2-point polyBLEP), white noise (xorshift64*) and pink noise
//     (Paul Kellet's filter). The phase is a float64 in cycles; the
//     frequency can glide linearly across a block. At a constant frequency
//     the stretches between band-limiting corrections run as tight loops.
//   - ADSR: sample-accurate envelope (the caller splits blocks at gate
//     frames), linear or exponential segments that end exactly at their set
//     times, retrigger from the current level.
//   - LFO: sine, triangle, square, saw and seeded sample-and-hold, evaluated at
//     block rate.
//   - Biquad: RBJ-cookbook low-pass, high-pass, band-pass and notch in
//     transposed direct form II with float64 state; cutoff (log domain) and Q
//     glide, and the coefficients are recomputed every 16 samples and
//     interpolated in between, so sweeps have no zipper noise. A coefficient
//     jump (Init, type change) re-derives the state from the signal history,
//     so the filter continues without a transient. The synth's voices run
//     the same coefficients in direct form I (its state is the signal
//     history; a shorter dependency chain per sample), recomputed every 32
//     samples while gliding.
//   - Delay (stereo, feedback, gliding time), Reverb (Freeverb: 8 combs and 4
//     all-passes per channel), SoftClip (stateless saturation), Limiter
//     (stereo look-ahead peak limiter with a hard final guarantee) and
//     Smoother (one-pole parameter smoothing).
//
// Conventions: samples are float32, phases, filter state and coefficients
// float64. Every stateful type is pointer-free (only numbers, bools and
// fixed-size arrays), so state is copied with a plain assignment. No
// Process method allocates, reads the clock, uses math/rand or starts a
// goroutine; noise comes from our own seeded generator, so output is a
// pure function of the configuration, the seed and the input. Process
// methods accept at most MaxBlock samples per call (longer buffers work for
// most primitives but callers should split them).
package dsp

// MaxBlock is the longest buffer any Process method is handed; callers split
// longer ones.
const MaxBlock = 256

// MaxSampleRate is the highest supported sample rate; fixed-size delay lines
// are sized for it.
const MaxSampleRate = 96000

// denormThreshold: state whose magnitude falls below it is flushed to zero so
// decaying tails never reach (slow) subnormal numbers. -300 dB.
const denormThreshold = 1e-15

// Finite reports whether x is neither NaN nor ±Inf.
func Finite(x float32) bool { return x-x == 0 }

func finite64(x float64) bool { return x-x == 0 }

func clamp(x, lo, hi float64) float64 {
	if x < lo {
		return lo
	}
	if x > hi {
		return hi
	}
	return x
}
