package engine

import (
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// futex ops without FUTEX_PRIVATE_FLAG: the word is shared between processes.
const (
	futexWait = 0
	futexWake = 1
)

// futexWaitFor sleeps while *w == val, at most timeout ns. Spurious wake-ups
// are fine: callers re-check their condition.
func futexWaitFor(w *atomic.Uint32, val uint32, timeoutNs int64) {
	ts := unix.NsecToTimespec(timeoutNs)
	_, _, _ = unix.Syscall6(unix.SYS_FUTEX, uintptr(unsafe.Pointer(w)), futexWait, uintptr(val),
		uintptr(unsafe.Pointer(&ts)), 0, 0)
}

// futexWakeAll wakes every waiter on w. It never blocks, so the audio
// callback may call it.
func futexWakeAll(w *atomic.Uint32) {
	_, _, _ = unix.Syscall6(unix.SYS_FUTEX, uintptr(unsafe.Pointer(w)), futexWake, uintptr(1<<30), 0, 0, 0)
}

// monoNow is CLOCK_MONOTONIC in ns, comparable across processes (unlike
// time.Now's monotonic reading, which counts from process start). It reads
// Go's vDSO clock through time.Since, so it never allocates or enters the
// kernel; the one clock_gettime at start-up anchors it.
func monoNow() int64 { return monoBase + int64(time.Since(monoStart)) }

var monoStart, monoBase = func() (time.Time, int64) {
	var ts unix.Timespec
	start := time.Now()
	_ = unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
	return start, ts.Nano()
}()
