package sched

import (
	"runtime"
	"testing"

	"golang.org/x/sys/unix"
)

// threadNice is the calling thread's nice value.
func threadNice(t *testing.T) int {
	t.Helper()
	a, err := unix.SchedGetAttr(0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if a.Policy != unix.SCHED_NORMAL {
		t.Fatalf("policy %d, want SCHED_NORMAL", a.Policy)
	}
	return int(a.Nice)
}

// TestProcessNiceReachesNewThreadsAndRelease: SetProcessNice covers threads
// created afterwards (they inherit it), and Release returns a thread that
// went real-time to the process's nice value, not to nice 0.
func TestProcessNiceReachesNewThreadsAndRelease(t *testing.T) {
	if err := SetProcessNice(-7); err != nil {
		t.Fatalf("SetProcessNice: %v (the tests run as root)", err)
	}
	t.Cleanup(func() { _ = SetProcessNice(0); base.Store(0) })
	done := make(chan int)
	// A goroutine on a fresh locked thread: Go may create one for it.
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		a, _ := unix.SchedGetAttr(0, 0)
		done <- int(a.Nice)
	}()
	if got := <-done; got != -7 {
		t.Fatalf("a thread has nice %d, want -7", got)
	}
	runtime.LockOSThread()
	if err := SetFIFO(10); err != nil {
		t.Fatal(err)
	}
	Release()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if got := threadNice(t); got != -7 {
		t.Fatalf("after Release the thread has nice %d, want -7", got)
	}
}
