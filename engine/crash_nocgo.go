//go:build !cgo

package engine

import (
	"os"
	"syscall"
)

// crashSegfault kills the process with SIGSEGV (no cgo to fault in).
func crashSegfault() { _ = syscall.Kill(os.Getpid(), syscall.SIGSEGV) }
