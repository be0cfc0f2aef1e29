package engine

import (
	"syscall"
	"time"
)

func kill0(pid int) bool { return syscall.Kill(pid, syscall.SIGKILL) == nil }

func init() {
	go func() {
		var lm, lu uint64
		for {
			time.Sleep(time.Millisecond)
			if n := dbgMiss.n.Load(); n != lm {
				lm = n
				dbg("MISS pid %d at %d.%06d block %d next %d allowed %d beatage %v", dbgMiss.pid.Load(), dbgMiss.at.Load()/1e9, dbgMiss.at.Load()%1e9/1e3, dbgMiss.block.Load(), dbgMiss.next.Load(), dbgMiss.allowed.Load(), time.Duration(dbgMiss.age.Load()))
			}
			if n := dbgUnder.n.Load(); n != lu {
				lu = n
				dbg("UNDER x%d block %d next %d allowed %d beatage %v", n, dbgUnder.block.Load(), dbgUnder.next.Load(), dbgUnder.allowed.Load(), time.Duration(dbgUnder.age.Load()))
			}
		}
	}()
}
