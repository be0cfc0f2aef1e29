// Package sched puts real-time threads (the device clock, worker render
// loops) in the SCHED_FIFO class.
package sched

import (
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// Priorities: the device thread above the workers (it must never wait for
// them), both far above normal threads.
const (
	WorkerPriority = 70
	DevicePriority = 80
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
