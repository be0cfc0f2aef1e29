// Package sched puts real-time threads (the device clock, worker render
// loops) in the SCHED_FIFO class.
package sched

import (
	"os"
	"runtime"
	"strconv"
	"sync/atomic"

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
//
// The process that runs the device runs its other threads in the normal
// class at HostNice (SetProcessNice). The device thread needs them for the
// same reason a render thread needs its helpers: when Go's scheduler
// preempts the device goroutine (it does so to any goroutine that has not
// rescheduled for 10 ms), the device thread sleeps until another thread of
// the process hands its goroutine back. A kernel trace of an 8.6 ms device
// stall showed exactly that: the device thread woken by a normal thread of
// its process that had waited 8.5 ms for a CPU behind compiler processes.
// Not SCHED_FIFO, as the workers do: with the garbage collector on, Go's
// runtime spins (sweeping, Gosched loops) waiting for work that another of
// its threads holds; at one FIFO priority on two cores that is a livelock
// (seen: a whole engine process stuck for minutes). Nice -20 gets a woken
// thread onto a CPU ahead of nice-0 work without that risk.
const (
	DevicePriority        = 80
	WorkerPriority        = 70
	HelperPriority        = WorkerPriority - 1
	CatchUpHelperPriority = WorkerPriority - 4
	CatchUpPriority       = WorkerPriority - 5
	StartPriority         = 60
	// HostNice is the nice value of the device process's normal threads.
	HostNice = -20
)

// base is the class SetProcessFIFO or SetProcessNice gave the process,
// which Release restores: a FIFO priority (> 0), or a nice value encoded as
// nice-100 (< 0), or 0 for plain SCHED_OTHER.
var base atomic.Int32

// SetFIFO asks for SCHED_FIFO at prio for the calling OS thread; lock the
// goroutine to its thread first. Under two busy cores this cuts a render
// thread's p99 wake-up lateness from ~5 ms to under 0.1 ms (ENGINE-FACTS §5).
// Without the privilege it returns EPERM and the thread keeps its policy.
func SetFIFO(prio int) error {
	return unix.SchedSetAttr(0, &unix.SchedAttr{Size: unix.SizeofSchedAttr, Policy: unix.SCHED_FIFO, Priority: uint32(prio)}, 0)
}

// SetProcessNice puts every thread of the calling process in SCHED_OTHER at
// nice (-20..19), and with it every thread they create later. It returns
// the first error (EPERM without CAP_SYS_NICE or RLIMIT_NICE); on success,
// Release puts threads back at nice.
func SetProcessNice(nice int) error {
	first := forEachThread(func(tid int) error {
		return unix.SchedSetAttr(tid, &unix.SchedAttr{Size: unix.SizeofSchedAttr, Policy: unix.SCHED_NORMAL, Nice: int32(nice)}, 0)
	})
	if first == nil {
		base.Store(int32(nice - 100))
	}
	return first
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
// runs all its threads real-time instead. It returns the first error; on
// success, Release puts threads back at prio rather than in SCHED_OTHER.
func SetProcessFIFO(prio int) error {
	first := forEachThread(func(tid int) error {
		return unix.SchedSetAttr(tid, &unix.SchedAttr{Size: unix.SizeofSchedAttr, Policy: unix.SCHED_FIFO, Priority: uint32(prio)}, 0)
	})
	if first == nil {
		base.Store(int32(prio))
	}
	return first
}

// forEachThread calls set for every thread of the process, twice: a thread
// created during the first pass by a thread not yet changed may have
// inherited the old class. It returns the first error other than ESRCH (a
// thread that ended meanwhile).
func forEachThread(set func(tid int) error) error {
	var first error
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
			if err := set(tid); err != nil && err != unix.ESRCH && first == nil {
				first = err
			}
		}
	}
	return first
}

// Release puts the calling OS thread back in the process's class
// (SCHED_OTHER, or what SetProcessFIFO set) and unlocks it from the calling
// goroutine. A goroutine that locked its thread (to change its
// class, or to fork a child) defers Release instead of exiting locked: Go
// destroys a thread whose goroutine exits locked, and the kernel then
// SIGKILLs every child that any code forked from that thread with
// PR_SET_PDEATHSIG (a JACK server a test started, say), since that signal
// follows the forking thread, not the process.
func Release() {
	switch p := base.Load(); {
	case p > 0:
		_ = SetFIFO(int(p))
	case p < 0:
		_ = unix.SchedSetAttr(0, &unix.SchedAttr{Size: unix.SizeofSchedAttr, Policy: unix.SCHED_NORMAL, Nice: p + 100}, 0)
	default:
		_ = SetOther()
	}
	runtime.UnlockOSThread()
}
