package device

import (
	"os"

	"golang.org/x/sys/unix"
)

// quietStderr points file descriptor 2 at /dev/null until the returned
// function restores it. PortAudio's ALSA and JACK probes print ~65 lines of
// noise there that the user must never see.
func quietStderr() (restore func()) {
	null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		return func() {}
	}
	saved, err := unix.Dup(2)
	if err != nil {
		null.Close()
		return func() {}
	}
	if err := unix.Dup2(int(null.Fd()), 2); err != nil {
		unix.Close(saved)
		null.Close()
		return func() {}
	}
	null.Close()
	return func() {
		_ = unix.Dup2(saved, 2)
		unix.Close(saved)
	}
}
