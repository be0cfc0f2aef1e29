package recorder

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// Source is where a recording's audio comes from: the engine's output tap,
// a lock-free ring that the audio callback fills.
type Source interface {
	// Read copies up to len(dst)/2 interleaved stereo frames into dst and
	// returns how many. Gap is the number of frames the producer had to
	// drop right after those (the consumer fell behind); the recorder
	// writes that much silence so later audio stays in time. Never blocks.
	Read(dst []float32) (n int, gap uint64)
}

// Options configure a Recording.
type Options struct {
	Path   string // file to create; it must not exist (never overwritten)
	Rate   int
	Format Format
	// SyncEvery is how often the data is fsynced and the header rewritten
	// to cover it (default 1 s): after a crash or power cut the file is
	// valid and misses at most this much.
	SyncEvery time.Duration
	// SplitBytes starts a new numbered file (NAME_002.wav, ...) before the
	// data chunk passes this size (default and maximum: the WAV limit,
	// just under 4 GiB).
	SplitBytes int64
	// MaxFrames > 0 ends the recording by itself after that many frames
	// (gaps included); Done is closed then.
	MaxFrames int64
	// Poll is how often the writer drains the source (default 10 ms).
	Poll time.Duration
	// OnEvent, if set, is told about gaps and errors (for logging), from
	// the writer goroutine.
	OnEvent func(Event)
	// Create opens a new file exclusively; nil means os.OpenFile with
	// O_CREATE|O_EXCL. Tests inject failing files here.
	Create func(path string) (File, error)
}

// File is what a recording writes to: an *os.File in practice.
type File interface {
	io.WriteSeeker
	Sync() error
	Truncate(size int64) error
	Close() error
}

func createFile(path string) (File, error) {
	return os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
}

// Event is something a recording's writer wants the user to know.
type Event struct {
	Kind  EventKind
	Path  string
	Frame int64  // where in the take (frames from its start)
	Gap   uint64 // frames of silence written for dropped audio
	Err   error
}

// EventKind says what an Event reports.
type EventKind uint8

// Event kinds.
const (
	EventGap   EventKind = iota + 1 // the source dropped audio; silence fills the gap
	EventSplit                      // a new file was started before the size limit
	EventError                      // writing failed; the recording stopped, the file is valid up to Frame
)

// Status is a snapshot of a recording.
type Status struct {
	Recording bool
	Path      string // the file being written (the latest split)
	Frames    int64  // frames in the take so far (gaps included)
	Dropped   uint64 // frames lost to gaps
	Elapsed   time.Duration
	Err       error // why it stopped early, if it did
}

// Recording drains a Source into WAV files on its own goroutine. Its
// methods may be called from any goroutine.
type Recording struct {
	opts  Options
	src   Source
	stop  chan struct{}
	done  chan struct{}
	mu    sync.Mutex
	st    Status
	start time.Time
	// writer goroutine state
	f      File
	w      *Writer
	part   int
	silent []float32
}

// ErrExists means the recording's file already exists.
var ErrExists = errors.New("recorder: file exists; recordings never overwrite")

// Start creates opts.Path (exclusively) and starts draining src into it.
func Start(src Source, opts Options) (*Recording, error) {
	if opts.SyncEvery <= 0 {
		opts.SyncEvery = time.Second
	}
	if opts.Create == nil {
		opts.Create = createFile
	}
	if opts.Poll <= 0 {
		opts.Poll = 10 * time.Millisecond
	}
	if opts.SplitBytes <= 0 || opts.SplitBytes > maxData {
		opts.SplitBytes = maxData
	}
	r := &Recording{opts: opts, src: src, stop: make(chan struct{}), done: make(chan struct{}),
		part: 1, silent: make([]float32, 2*4096), start: time.Now()}
	if err := r.open(opts.Path); err != nil {
		return nil, err
	}
	r.st = Status{Recording: true, Path: opts.Path}
	go r.loop()
	return r, nil
}

func (r *Recording) open(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("recorder: %w", err)
	}
	f, err := r.opts.Create(path)
	if err != nil {
		if errors.Is(err, os.ErrExist) {
			return fmt.Errorf("%w: %s", ErrExists, path)
		}
		return fmt.Errorf("recorder: %w", err)
	}
	w, err := NewWriter(f, r.opts.Rate, 2, r.opts.Format)
	if err != nil {
		f.Close()
		os.Remove(path)
		return err
	}
	if err := f.Sync(); err != nil { // the empty, valid header is on disk first
		f.Close()
		os.Remove(path)
		return fmt.Errorf("recorder: %w", err)
	}
	r.f, r.w = f, w
	return nil
}

// splitName is NAME_002.wav for part 2 of NAME.wav.
func splitName(path string, part int) string {
	ext := filepath.Ext(path)
	return fmt.Sprintf("%s_%03d%s", strings.TrimSuffix(path, ext), part, ext)
}

func (r *Recording) loop() {
	defer close(r.done)
	buf := make([]float32, 2*8192)
	poll := time.NewTicker(r.opts.Poll)
	defer poll.Stop()
	lastSync := time.Now()
	for {
		stopping := false
		select {
		case <-r.stop:
			stopping = true
		case <-poll.C:
		}
		for {
			want := len(buf) / 2
			if r.opts.MaxFrames > 0 {
				want = int(min(int64(want), r.opts.MaxFrames-r.Status().Frames))
				if want == 0 {
					r.finish(nil)
					return
				}
			}
			n, gap := r.src.Read(buf[:2*want])
			if n > 0 && !r.write(buf[:2*n]) {
				return
			}
			if gap > 0 && !r.fill(gap) {
				return
			}
			if n < want && gap == 0 {
				break
			}
		}
		if stopping {
			r.finish(nil)
			return
		}
		if time.Since(lastSync) >= r.opts.SyncEvery {
			lastSync = time.Now()
			if err := r.sync(); err != nil {
				r.finish(err)
				return
			}
		}
	}
}

// write appends audio, splitting files before the size limit.
func (r *Recording) write(s []float32) bool {
	for len(s) > 0 {
		frameBytes := int64(2 * r.w.sample)
		room := (r.opts.SplitBytes - r.w.data) / frameBytes
		if room <= 0 {
			if err := r.split(); err != nil {
				r.finish(err)
				return false
			}
			continue
		}
		k := min(int64(len(s)/2), room)
		if err := r.w.Write(s[:2*k]); err != nil {
			r.finish(err)
			return false
		}
		r.mu.Lock()
		r.st.Frames += k
		r.mu.Unlock()
		s = s[2*k:]
	}
	return true
}

// fill writes gap frames of silence and reports the gap.
func (r *Recording) fill(gap uint64) bool {
	if r.opts.MaxFrames > 0 {
		gap = min(gap, uint64(max(r.opts.MaxFrames-r.Status().Frames, 0)))
	}
	r.mu.Lock()
	at := r.st.Frames
	r.st.Dropped += gap
	r.mu.Unlock()
	r.event(Event{Kind: EventGap, Path: r.st.Path, Frame: at, Gap: gap})
	for left := gap; left > 0; {
		k := min(left, uint64(len(r.silent)/2))
		if !r.write(r.silent[:2*k]) {
			return false
		}
		left -= k
	}
	return true
}

// sync makes the data durable, then the header that covers it.
func (r *Recording) sync() error {
	if err := r.w.FlushData(); err != nil {
		return err
	}
	if err := r.f.Sync(); err != nil {
		return fmt.Errorf("recorder: sync: %w", err)
	}
	if err := r.w.Flush(); err != nil {
		return err
	}
	if err := r.f.Sync(); err != nil {
		return fmt.Errorf("recorder: sync: %w", err)
	}
	return nil
}

func (r *Recording) split() error {
	if err := r.sync(); err != nil {
		return err
	}
	r.w.Close()
	r.f.Close()
	r.part++
	next := splitName(r.opts.Path, r.part)
	if err := r.open(next); err != nil {
		return err
	}
	r.mu.Lock()
	r.st.Path = next
	r.mu.Unlock()
	r.event(Event{Kind: EventSplit, Path: next, Frame: r.st.Frames})
	return nil
}

// finish closes the file. After an error it salvages: the header is
// rewritten to cover the last good frames and the file cut there, so it
// stays valid however the disk failed.
func (r *Recording) finish(err error) {
	if err == nil {
		err = r.sync()
	}
	if err != nil {
		if end, serr := r.w.Salvage(); serr == nil {
			_ = r.f.Truncate(end)
			_ = r.f.Sync()
		}
		r.event(Event{Kind: EventError, Path: r.st.Path, Frame: r.st.Frames, Err: err})
	} else {
		r.w.Close()
	}
	r.f.Close()
	r.mu.Lock()
	r.st.Recording = false
	r.st.Err = err
	r.st.Elapsed = time.Since(r.start)
	r.mu.Unlock()
}

func (r *Recording) event(e Event) {
	if r.opts.OnEvent != nil {
		r.opts.OnEvent(e)
	}
}

// Stop drains what the source still holds, finalises the file and returns
// the final status. Safe to call more than once.
func (r *Recording) Stop() Status {
	select {
	case <-r.stop:
	default:
		close(r.stop)
	}
	<-r.done
	return r.Status()
}

// Done is closed when the recording has ended (stopped or failed).
func (r *Recording) Done() <-chan struct{} { return r.done }

// Status reports the recording's progress.
func (r *Recording) Status() Status {
	r.mu.Lock()
	defer r.mu.Unlock()
	st := r.st
	if st.Recording {
		st.Elapsed = time.Since(r.start)
	}
	return st
}

// maxData is the largest data chunk a RIFF WAV can describe, rounded down
// to whole frames of any format, with room for the header.
const maxData = (1<<32 - 1 - 4096) / 48 * 48

var _ File = (*os.File)(nil)
