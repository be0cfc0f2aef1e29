// Package jackd starts a private JACK server on the dummy backend: a real-time
// audio device with no sound card, for tests and benchmarks of the PortAudio
// backend. It is never used by the instrument itself.
package jackd

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// Server is a running jackd. Its name must be in JACK_DEFAULT_SERVER before
// PortAudio initialises for PortAudio to use it (Start sets it).
type Server struct {
	Name   string
	Rate   int
	Period int
	cmd    *exec.Cmd
	out    *syncBuffer
}

// Start runs `jackd -n NAME -d dummy -r RATE -p PERIOD`, waits until it
// accepts clients, and points JACK_DEFAULT_SERVER at it. A missing jackd is an
// error, never a skip: `make deps` installs jackd2.
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
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("jackd: start: %w", err)
	}
	s := &Server{Name: name, Rate: rate, Period: period, cmd: cmd, out: out}
	// jackd prints nothing reliable on readiness; its socket appears in
	// /dev/shm (jack_sem) and /tmp or $XDG_RUNTIME_DIR. Poll with jack_lsp
	// if present, else wait for the log line.
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if s.cmd.ProcessState != nil {
			break
		}
		if bytes.Contains(out.Bytes(), []byte("new client")) || s.ready() {
			os.Setenv("JACK_DEFAULT_SERVER", name)
			return s, nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	s.Stop()
	return nil, fmt.Errorf("jackd: server %q did not come up: %s", name, out.String())
}

func (s *Server) ready() bool {
	lsp, err := exec.LookPath("jack_lsp")
	if err != nil {
		return bytes.Contains(s.out.Bytes(), []byte("dummy"))
	}
	c := exec.Command(lsp)
	c.Env = append(os.Environ(), "JACK_DEFAULT_SERVER="+s.Name, "JACK_NO_START_SERVER=1")
	o, err := c.CombinedOutput()
	return err == nil && bytes.Contains(o, []byte("system:playback"))
}

// Log returns what jackd printed so far.
func (s *Server) Log() string { return s.out.String() }

// PID is the server's process id.
func (s *Server) PID() int { return s.cmd.Process.Pid }

// Stop kills the server by its PID and waits for it.
func (s *Server) Stop() {
	if s.cmd.Process != nil {
		_ = s.cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = s.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(3 * time.Second):
			_ = s.cmd.Process.Kill()
			<-done
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
