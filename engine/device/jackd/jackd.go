// Package jackd starts a private JACK server on the dummy backend: a real-time
// audio device with no sound card, for tests and benchmarks of the PortAudio
// backend. It is never used by the instrument itself.
//
// JACK keeps a machine-wide registry of at most 8 servers. A server that exits
// cleanly (SIGTERM) frees its entry; a killed one leaves it behind, and jackd
// reclaims a dead server's entry only when a server of the same name starts.
// So servers here take their names from a small reusable set (StartFree), and
// Kill and Stop free the entry of a server they had to kill: tests that crash
// JACK on purpose must not fill the registry for everyone else.
package jackd

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/chronus-audio/chronus/engine/sched"
)

// Server is a running jackd. Its name must be in JACK_DEFAULT_SERVER before
// PortAudio initialises for PortAudio to use it (Start sets it).
type Server struct {
	Name   string
	Rate   int
	Period int
	cmd    *exec.Cmd
	out    *syncBuffer
	exited chan struct{}
	once   sync.Once
}

// Names is how many names StartFree tries per prefix.
const Names = 4

// StartFree starts a server named prefix-0, prefix-1, ... (up to Names),
// skipping names a live server uses. Reusing names means a registry entry
// left by a killed server (a test process that was killed, say) is reclaimed
// by the next run instead of staying forever.
func StartFree(prefix string, rate, period int) (*Server, error) {
	var errs []error
	for i := range Names {
		name := prefix + "-" + strconv.Itoa(i)
		if running(name) {
			continue
		}
		s, err := Start(name, rate, period)
		if err == nil {
			return s, nil
		}
		errs = append(errs, err)
	}
	if len(errs) == 0 {
		return nil, fmt.Errorf("jackd: all %d names %s-N are in use by running servers", Names, prefix)
	}
	return nil, errors.Join(errs...)
}

// Start runs `jackd -n NAME -d dummy -r RATE -p PERIOD` (at jackd's default
// real-time priority, 10), waits until it accepts clients, and points
// JACK_DEFAULT_SERVER at it. A missing jackd is an error, never a skip:
// `make deps` installs jackd2.
func Start(name string, rate, period int) (*Server, error) {
	path, err := exec.LookPath("jackd")
	if err != nil {
		return nil, fmt.Errorf("jackd: not installed (make deps installs jackd2): %w", err)
	}
	out := &syncBuffer{}
	cmd := exec.Command(path, "-n", name, "-d", "dummy", "-r", strconv.Itoa(rate), "-p", strconv.Itoa(period))
	cmd.Env = append(os.Environ(), "JACK_NO_AUDIO_RESERVATION=1")
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	s := &Server{Name: name, Rate: rate, Period: period, cmd: cmd, out: out, exited: make(chan struct{})}
	// PR_SET_PDEATHSIG follows the forking thread, not the process: fork
	// from a thread locked until jackd is reaped, so that jackd dies with
	// this process and not whenever Go retires some thread.
	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		defer sched.Release()
		// jackd sets its own real-time thread; the rest of it must not
		// inherit this process's class (sched.HostNice).
		_ = sched.SetOther()
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		_ = cmd.Wait()
		close(s.exited)
	}()
	if err := <-started; err != nil {
		return nil, fmt.Errorf("jackd: start: %w", err)
	}
	// jackd prints nothing reliable on readiness: ask it with jack_lsp.
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-s.exited:
			return nil, fmt.Errorf("jackd: server %q exited while starting: %s", name, out.String())
		default:
		}
		if s.ready() {
			os.Setenv("JACK_DEFAULT_SERVER", name)
			return s, nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	s.Stop()
	return nil, fmt.Errorf("jackd: server %q did not come up: %s", name, out.String())
}

// running reports whether a server called name accepts clients.
func running(name string) bool {
	lsp, err := exec.LookPath("jack_lsp")
	if err != nil {
		return false
	}
	c := exec.Command(lsp)
	c.Env = append(os.Environ(), "JACK_DEFAULT_SERVER="+name, "JACK_NO_START_SERVER=1")
	o, err := c.CombinedOutput()
	return err == nil && bytes.Contains(o, []byte("system:playback"))
}

func (s *Server) ready() bool {
	if _, err := exec.LookPath("jack_lsp"); err != nil {
		return bytes.Contains(s.out.Bytes(), []byte("dummy"))
	}
	return running(s.Name)
}

// Log returns what jackd printed so far.
func (s *Server) Log() string { return s.out.String() }

// PID is the server's process id.
func (s *Server) PID() int { return s.cmd.Process.Pid }

// Kill SIGKILLs the server, as a crash would, waits for it, and frees the
// registry entry it leaves behind.
func (s *Server) Kill() {
	s.once.Do(func() {
		_ = s.cmd.Process.Kill()
		<-s.exited
		reclaim(s.Name, s.Rate, s.Period)
	})
}

// terminate asks jackd to shut down cleanly. The signal goes to its main
// thread, the one that waits for it: sent to the process, it may land on a
// thread that does not block it (one serving a client that just left), whose
// default action kills jackd without unregistering it.
//
// jackd installs its SIGTERM handler a little after it accepts clients, and a
// SIGTERM before that kills it just the same, so wait (up to 2 s) until its
// main thread shows the signal as caught.
func (s *Server) terminate() {
	pid := s.cmd.Process.Pid
	status := "/proc/" + strconv.Itoa(pid) + "/task/" + strconv.Itoa(pid) + "/status"
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); {
		if catches(status, syscall.SIGTERM) {
			break
		}
		select {
		case <-s.exited:
			return
		case <-time.After(5 * time.Millisecond):
		}
	}
	if err := syscall.Tgkill(pid, pid, syscall.SIGTERM); err != nil {
		_ = s.cmd.Process.Signal(syscall.SIGTERM)
	}
}

// catches reports whether the thread whose /proc status file is given has a
// handler for sig.
func catches(status string, sig syscall.Signal) bool {
	b, err := os.ReadFile(status)
	if err != nil {
		return false
	}
	for _, l := range bytes.Split(b, []byte("\n")) {
		if v, ok := bytes.CutPrefix(l, []byte("SigCgt:")); ok {
			mask, err := strconv.ParseUint(string(bytes.TrimSpace(v)), 16, 64)
			return err == nil && mask&(1<<(sig-1)) != 0
		}
	}
	return false
}

// Stop stops the server by its PID with SIGTERM, or SIGKILL after 3 s (then
// freeing its registry entry), and waits for it. Safe to call more than once
// and after Kill.
func (s *Server) Stop() {
	s.once.Do(func() {
		s.terminate()
		select {
		case <-s.exited:
		case <-time.After(3 * time.Second):
			_ = s.cmd.Process.Kill()
			<-s.exited
			reclaim(s.Name, s.Rate, s.Period)
		}
	})
}

// reclaim frees the registry entry of a dead server called name: a server
// of that name registers (jackd reclaims the dead entry), then stops cleanly.
func reclaim(name string, rate, period int) {
	if s, err := Start(name, rate, period); err == nil {
		s.terminate()
		select {
		case <-s.exited:
		case <-time.After(3 * time.Second):
			_ = s.cmd.Process.Kill()
			<-s.exited
		}
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) Bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]byte(nil), b.b.Bytes()...)
}

func (b *syncBuffer) String() string { return string(b.Bytes()) }
