package dsp

import "math/bits"

// Read-only views of the graph state, for a caller that must say why a
// commit was refused (the engine's workers publish it to their engine).

// GraphParked reports whether a commit waits for a program instance: it
// was read while every instance was in use, and takes effect once the
// oldest retired program has faded out. A further commit is refused while
// one is parked and no instance is free. Same thread as Render; no
// allocation.
func (s *Synth) GraphParked() bool { return s.g.parked }

// FreeGraphInstances returns how many compiled-program instances no slot,
// no sounding graph voice and no pending commit names: how many commits
// the synth can take before one has to park. Same thread as Render; no
// allocation.
func (s *Synth) FreeGraphInstances() int {
	return bits.OnesCount64(^s.usedInstances() & (1<<graphInstances - 1))
}
