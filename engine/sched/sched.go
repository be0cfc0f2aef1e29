// Package sched puts real-time threads (the device clock, worker render
// loops) in the SCHED_FIFO class.
package sched

import (
	"os"
	"runtime"
	"strconv"

	"golang.org/x/sys/unix"
)

// Priorities: the device thread above the workers (it must never wait for
// them), both far above normal threads. A playing worker's render thread runs
// at WorkerPriority and the Go runtime's other threads in that worker at
// HelperPriority, just below (they hand the render thread its P back after a
// wait, so they must not queue behind anything else). A worker that does not
// play yet (a spare, a standby catching up) runs all its threads lower still
// (CatchUp*), so it never takes a CPU from one that plays, even while it
// crashes. A worker process starts at StartPriority, so that its start-up
// does not queue behind a busy machine's normal processes.
const (
	DevicePriority        = 80
	WorkerPriority        = 70
	HelperPriority        = WorkerPriority - 1
	CatchUpHelperPriority = WorkerPriority - 4
	CatchUpPriority       = WorkerPriority - 5
	StartPriority         = 60
)

// SetFIFO asks for SCHED_FIFO at prio for the calling OS thread; lock the
// goroutine to its thread first. Under two busy cores this cuts a render
// thread's p99 wake-up lateness from ~5 ms to under 0.1 ms (ENGINE-FACTS §5).
// Without the privilege it returns EPERM and the thread keeps its policy.
func SetFIFO(prio int) error {
	return unix.SchedSetAttr(0, &unix.SchedAttr{Size: unix.SizeofSchedAttr, Policy: unix.SCHED_FIFO, Priority: uint32(prio)}, 0)
}

// SetOther puts the calling OS thread back in the normal SCHED_OTHER class;
// lock the goroutine to its thread first. A thread about to fork a child
// calls it so the child never inherits a real-time class by accident.
func SetOther() error {
	return unix.SchedSetAttr(0, &unix.SchedAttr{Size: unix.SizeofSchedAttr, Policy: unix.SCHED_NORMAL}, 0)
}

// SetProcessFIFO puts every thread of the calling process in SCHED_FIFO at
// prio, and with it every thread they create later (a new thread inherits
// its creator's class). A Go goroutine locked to a real-time thread gets its
// P back, after a syscall or a preemption, through whichever other thread of
// the process runs the scheduler; if those threads are normal ones, a busy
// machine makes the real-time thread wait for them, for tens of
// milliseconds. A process that does nothing but real-time work (a worker)
// runs all its threads real-time instead. It returns the first error.
func SetProcessFIFO(prio int) error {
	var first error
	// Twice: a thread created during the first pass by a thread not yet
	// switched may have inherited the normal class.
	for range 2 {
		tasks, err := os.ReadDir("/proc/self/task")
		if err != nil {
			return err
		}
		for _, t := range tasks {
			tid, err := strconv.Atoi(t.Name())
			if err != nil {
				continue
			}
			err = unix.SchedSetAttr(tid, &unix.SchedAttr{Size: unix.SizeofSchedAttr, Policy: unix.SCHED_FIFO, Priority: uint32(prio)}, 0)
			if err != nil && err != unix.ESRCH && first == nil {
				first = err
			}
		}
	}
	return first
}

// Release puts the calling OS thread back in SCHED_OTHER and unlocks it from
// the calling goroutine. A goroutine that locked its thread (to change its
// class, or to fork a child) defers Release instead of exiting locked: Go
// destroys a thread whose goroutine exits locked, and the kernel then
// SIGKILLs every child that any code forked from that thread with
// PR_SET_PDEATHSIG (a JACK server a test started, say), since that signal
// follows the forking thread, not the process.
func Release() {
	_ = SetOther()
	runtime.UnlockOSThread()
}
