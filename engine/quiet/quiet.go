// Package quiet silences file descriptor 2 while C libraries that print
// noise there (ALSA, JACK, RtMidi probing for devices) run, and gives the
// program a stderr of its own that the silencing never touches.
package quiet

import (
	"os"
	"sync"

	"golang.org/x/sys/unix"
)

var (
	mu      sync.Mutex
	depth   int
	saved   = -1
	ownOnce sync.Once
	own     *os.File
)

// Stderr returns a duplicate of the process's original standard error:
// write logs there, and they reach the user even while Stderr is silenced.
func Stderr() *os.File {
	ownOnce.Do(func() {
		fd, err := unix.Dup(2)
		if err != nil {
			own = os.Stderr
			return
		}
		unix.CloseOnExec(fd)
		own = os.NewFile(uintptr(fd), "/dev/stderr")
	})
	return own
}

// Silence points fd 2 at /dev/null until restore is called. Calls nest and
// may overlap from several goroutines: fd 2 comes back when the last one
// restores. Anything else that writes to fd 2 meanwhile (a panic of another
// goroutine) is lost too, so keep the windows short.
func Silence() (restore func()) {
	Stderr() // the program's own copy exists before fd 2 is ever redirected
	mu.Lock()
	defer mu.Unlock()
	if depth == 0 {
		null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
		if err != nil {
			return func() {}
		}
		s, err := unix.Dup(2)
		if err != nil {
			null.Close()
			return func() {}
		}
		if err := unix.Dup2(int(null.Fd()), 2); err != nil {
			unix.Close(s)
			null.Close()
			return func() {}
		}
		null.Close()
		saved = s
	}
	depth++
	var once sync.Once
	return func() {
		once.Do(func() {
			mu.Lock()
			defer mu.Unlock()
			depth--
			if depth == 0 && saved >= 0 {
				_ = unix.Dup2(saved, 2)
				unix.Close(saved)
				saved = -1
			}
		})
	}
}
