package engine

import (
	"fmt"
	"os"
)

var dbgOn = os.Getenv("CHRONUS_DBG") != ""

func dbg(format string, args ...any) {
	if dbgOn {
		now := monoNow()
		fmt.Fprintf(os.Stderr, "DBG %d.%06d "+format+"\n", append([]any{now / 1e9, now % 1e9 / 1e3}, args...)...)
	}
}
