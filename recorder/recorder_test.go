package recorder

import (
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// tone is a Source that produces a known signal: sample i of the take is
// value(i), so any lost, repeated or misplaced frame is visible.
type tone struct {
	mu      sync.Mutex
	next    int64 // next frame to hand out
	limit   int64 // frames available so far
	gapAt   int64 // after handing out this frame, report a gap
	gapLen  uint64
	gapDone bool
}

func value(i int64) float32 { return float32(math.Sin(float64(i)*0.01)) * 0.5 }

func (s *tone) Read(dst []float32) (int, uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := min(int64(len(dst)/2), s.limit-s.next)
	if s.gapLen > 0 && !s.gapDone && s.next <= s.gapAt && s.next+n > s.gapAt {
		n = s.gapAt - s.next
	}
	for i := int64(0); i < n; i++ {
		dst[2*i] = value(s.next + i)
		dst[2*i+1] = -value(s.next + i)
	}
	s.next += n
	if s.gapLen > 0 && !s.gapDone && s.next == s.gapAt {
		s.gapDone = true
		s.next += int64(s.gapLen) // those frames were "dropped"
		return int(n), s.gapLen
	}
	return int(n), 0
}

func (s *tone) produce(n int64) {
	s.mu.Lock()
	s.limit += n
	s.mu.Unlock()
}

func readBack(t *testing.T, path string) []int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	_, data := decodeGoAudio(t, b)
	return data
}

func TestRecordingWritesEveryFrame(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "take.wav")
	src := &tone{}
	rec, err := Start(src, Options{Path: path, Rate: 48000, Format: F32, Poll: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 50; i++ {
		src.produce(997)
		time.Sleep(time.Millisecond)
	}
	st := rec.Stop()
	if st.Recording || st.Err != nil || st.Frames != 50*997 {
		t.Fatalf("status %+v", st)
	}
	got := readBack(t, path)
	if len(got) != 2*50*997 {
		t.Fatalf("%d samples in the file, want %d", len(got), 2*50*997)
	}
	for i := int64(0); i < 50*997; i++ {
		if math.Float32frombits(uint32(got[2*i])) != value(i) {
			t.Fatalf("frame %d differs", i)
		}
	}
	soxInfo(t, path) // sox reads it too
	// Never overwrite: a second recording to the same path is refused.
	if _, err := Start(&tone{}, Options{Path: path, Rate: 48000}); !errors.Is(err, ErrExists) {
		t.Fatalf("second Start = %v, want ErrExists", err)
	}
}

func TestGapIsFilledWithSilenceAndReported(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gap.wav")
	src := &tone{gapAt: 3000, gapLen: 500}
	var mu sync.Mutex
	var events []Event
	rec, err := Start(src, Options{Path: path, Rate: 48000, Format: F32, Poll: time.Millisecond,
		OnEvent: func(e Event) { mu.Lock(); events = append(events, e); mu.Unlock() }})
	if err != nil {
		t.Fatal(err)
	}
	src.produce(10000)
	time.Sleep(20 * time.Millisecond)
	st := rec.Stop()
	if st.Dropped != 500 || st.Frames != 10000 {
		t.Fatalf("status %+v", st)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(events) != 1 || events[0].Kind != EventGap || events[0].Frame != 3000 || events[0].Gap != 500 {
		t.Fatalf("events %+v", events)
	}
	got := readBack(t, path)
	for i := int64(0); i < 10000; i++ {
		want := value(i)
		if i >= 3000 && i < 3500 {
			want = 0
		}
		if g := math.Float32frombits(uint32(got[2*i])); g != want {
			t.Fatalf("frame %d = %v, want %v: the gap must keep later audio in time", i, g, want)
		}
	}
}

// orderFile records the order of data writes, syncs and header rewrites, and
// can fail like a full disk after a byte budget.
type orderFile struct {
	*os.File
	mu       sync.Mutex
	pos      int64
	log      []string
	budget   int64 // bytes of data allowed; <0 = unlimited
	dataSeen int64
}

func (f *orderFile) Write(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.pos == 0 {
		f.log = append(f.log, "header")
	} else {
		f.log = append(f.log, "data")
		if f.budget >= 0 && f.dataSeen+int64(len(p)) > f.budget {
			k := f.budget - f.dataSeen
			n, _ := f.File.Write(p[:k])
			f.pos += int64(n)
			f.dataSeen += int64(n)
			return n, syscall.ENOSPC
		}
		f.dataSeen += int64(len(p))
	}
	n, err := f.File.Write(p)
	f.pos += int64(n)
	return n, err
}

func (f *orderFile) Seek(off int64, whence int) (int64, error) {
	p, err := f.File.Seek(off, whence)
	f.mu.Lock()
	f.pos = p
	f.mu.Unlock()
	return p, err
}

func (f *orderFile) Sync() error {
	f.mu.Lock()
	f.log = append(f.log, "sync")
	f.mu.Unlock()
	return f.File.Sync()
}

func TestDataIsSyncedBeforeTheHeaderCoveringIt(t *testing.T) {
	path := filepath.Join(t.TempDir(), "order.wav")
	var of *orderFile
	src := &tone{}
	rec, err := Start(src, Options{Path: path, Rate: 48000, Poll: time.Millisecond, SyncEvery: 5 * time.Millisecond,
		Create: func(p string) (File, error) {
			f, err := createFile(p)
			if err != nil {
				return nil, err
			}
			of = &orderFile{File: f.(*os.File), budget: -1}
			return of, nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 40; i++ {
		src.produce(4800)
		time.Sleep(2 * time.Millisecond)
	}
	rec.Stop()
	of.mu.Lock()
	defer of.mu.Unlock()
	headers := 0
	dirty := false // data written and not yet synced
	for i, op := range of.log {
		switch op {
		case "data":
			dirty = true
		case "sync":
			dirty = false
		case "header":
			if i > 0 {
				headers++
				if dirty {
					t.Fatalf("header rewrite at op %d while data was not synced: %v", i, of.log[max(0, i-5):i+1])
				}
			}
		}
	}
	if headers < 3 {
		t.Fatalf("only %d header rewrites in %v", headers, of.log)
	}
}

func TestDiskFullStopsWithOneErrorAndAValidFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "full.wav")
	src := &tone{}
	var mu sync.Mutex
	var events []Event
	rec, err := Start(src, Options{Path: path, Rate: 48000, Format: S16, Poll: time.Millisecond,
		OnEvent: func(e Event) { mu.Lock(); events = append(events, e); mu.Unlock() },
		Create: func(p string) (File, error) {
			f, err := createFile(p)
			if err != nil {
				return nil, err
			}
			return &orderFile{File: f.(*os.File), budget: 300001}, nil // odd: the failure lands mid-frame
		}})
	if err != nil {
		t.Fatal(err)
	}
	src.produce(48000 * 5)
	select {
	case <-rec.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the recording did not stop on a full disk")
	}
	st := rec.Stop()
	if !errors.Is(st.Err, syscall.ENOSPC) {
		t.Fatalf("status error %v, want ENOSPC", st.Err)
	}
	mu.Lock()
	n := len(events)
	mu.Unlock()
	if n != 1 || events[0].Kind != EventError {
		t.Fatalf("events %+v, want exactly one error", events)
	}
	got := readBack(t, path)
	if len(got) == 0 || len(got)%2 != 0 || len(got) > 300000/2 {
		t.Fatalf("salvaged file has %d samples", len(got))
	}
	for i := 0; i < len(got)/2; i++ {
		if want := quantize(value(int64(i)), 32767); int32(got[2*i]) != want {
			t.Fatalf("salvaged frame %d = %d, want %d", i, got[2*i], want)
		}
	}
	soxInfo(t, path)
}

func TestSplitBeforeTheLimit(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "long.wav")
	src := &tone{}
	rec, err := Start(src, Options{Path: path, Rate: 48000, Format: S16, Poll: time.Millisecond, SplitBytes: 40000})
	if err != nil {
		t.Fatal(err)
	}
	src.produce(25000) // 100000 data bytes: files of 10000, 10000, 5000 frames
	time.Sleep(30 * time.Millisecond)
	rec.Stop()
	var total int64
	for i, name := range []string{"long.wav", "long_002.wav", "long_003.wav"} {
		got := readBack(t, filepath.Join(dir, name))
		want := []int{20000, 20000, 10000}[i]
		if len(got) != want {
			t.Fatalf("%s has %d samples, want %d", name, len(got), want)
		}
		for j := 0; j < len(got)/2; j++ {
			if w := quantize(value(total+int64(j)), 32767); int32(got[2*j]) != w {
				t.Fatalf("%s frame %d: the split lost or repeated audio", name, j)
			}
		}
		total += int64(len(got) / 2)
	}
}

// The child modes below run in a separate process so that a real file size
// limit (RLIMIT_FSIZE) or a SIGKILL hits only it.
func TestMain(m *testing.M) {
	switch os.Getenv("CHRONUS_RECORDER_CHILD") {
	case "fsize":
		limit, _ := strconv.ParseInt(os.Getenv("CHRONUS_FSIZE"), 10, 64)
		if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &syscall.Rlimit{Cur: uint64(limit), Max: uint64(limit)}); err != nil {
			fmt.Println("setrlimit:", err)
			os.Exit(3)
		}
		childRecord(os.Getenv("CHRONUS_PATH"), 48000*10, 0)
		os.Exit(0)
	case "kill":
		childRecord(os.Getenv("CHRONUS_PATH"), 1<<40, 48000)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// childRecord records frames of tone (paced at rate frames/s if rate > 0)
// and prints every recorder event, one line each.
func childRecord(path string, frames int64, rate int64) {
	src := &tone{}
	rec, err := Start(src, Options{Path: path, Rate: 48000, Format: S16, Poll: time.Millisecond,
		OnEvent: func(e Event) { fmt.Printf("event %d frame %d err %v\n", e.Kind, e.Frame, e.Err) }})
	if err != nil {
		fmt.Println("start:", err)
		os.Exit(2)
	}
	fmt.Println("started")
	start := time.Now()
	for done := int64(0); done < frames; {
		k := int64(4800)
		if rate > 0 {
			due := int64(time.Since(start).Seconds() * float64(rate))
			k = min(k, max(due-done, 0))
			time.Sleep(time.Millisecond)
		}
		src.produce(k)
		done += k
		if rec.Status().Err != nil {
			break
		}
	}
	st := rec.Stop()
	fmt.Printf("stopped frames %d err %v\n", st.Frames, st.Err)
}

func child(t *testing.T, mode, path string, env ...string) *exec.Cmd {
	c := exec.Command(os.Args[0], "-test.run=^$")
	c.Env = append(os.Environ(), "CHRONUS_RECORDER_CHILD="+mode, "CHRONUS_PATH="+path)
	c.Env = append(c.Env, env...)
	return c
}

func TestRealFileSizeLimit(t *testing.T) {
	path := filepath.Join(t.TempDir(), "limited.wav")
	out, err := child(t, "fsize", path, "CHRONUS_FSIZE=200001").CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	text := string(out)
	if strings.Count(text, "event 3 ") != 1 || !strings.Contains(text, "file too large") {
		t.Fatalf("want exactly one error event naming the limit, got:\n%s", text)
	}
	got := readBack(t, path)
	if len(got) == 0 || len(got)*2+44 > 200001 {
		t.Fatalf("salvaged file has %d samples", len(got))
	}
	soxInfo(t, path)
}

func TestSIGKILLLeavesAReadableFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "killed.wav")
	c := child(t, "kill", path)
	stdout, _ := c.StdoutPipe()
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	var line [8]byte
	if _, err := io.ReadFull(stdout, line[:]); err != nil || string(line[:7]) != "started" {
		t.Fatalf("child did not start: %q %v", line, err)
	}
	started := time.Now()
	time.Sleep(2500 * time.Millisecond)
	c.Process.Kill()
	recorded := time.Since(started).Seconds()
	c.Wait()
	got := readBack(t, path)
	frames := len(got) / 2
	// Synced every second: the file misses at most the last second (plus a
	// poll period), and holds no more than was produced.
	if float64(frames) < (recorded-1.1)*48000 || float64(frames) > recorded*48000 {
		t.Fatalf("file after SIGKILL holds %d frames (%.2f s) of %.2f s recorded", frames, float64(frames)/48000, recorded)
	}
	for i := 0; i < frames; i++ {
		if w := quantize(value(int64(i)), 32767); int32(got[2*i]) != w {
			t.Fatalf("frame %d differs after SIGKILL", i)
		}
	}
	_, soxi := soxInfo(t, path)
	if soxi["s"] != strconv.Itoa(frames) {
		t.Fatalf("soxi says %s samples, Go reader %d", soxi["s"], frames)
	}
}
