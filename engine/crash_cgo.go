//go:build cgo

package engine

/*
static void chronus_segfault(void) { volatile int *p = 0; *p = 1; }
*/
import "C"

// crashSegfault dies of a real SIGSEGV inside C code, as a broken cgo plugin
// would: Go cannot recover it, the process ends.
func crashSegfault() { C.chronus_segfault() }
