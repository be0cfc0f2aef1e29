package engine

import (
	"errors"
	"fmt"
	"math"
	"os"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/chronus-audio/chronus/dsp"
	"github.com/chronus-audio/chronus/engine/proto"
)

// Shared memory between the engine and one worker process: a sealed memfd,
// mapped in both. Layout (every field 64-byte aligned, so each atomic sits on
// its own cache line and the parent's and the worker's writes never share one):
//
//	header   4096 B   magic, geometry, control words (below)
//	commands cmdSlots × 64 B protocol-v2 slots (SPSC: engine → worker)
//	audio    audioSlots × (64 B slot header + blockFrames×2 float32)
//	snapshot 64 B header + sizeof(dsp.Synth)
//
// The region is fixed-size and sealed against shrinking, so neither side can
// ever SIGBUS the other. A new worker always gets a fresh region.

const (
	shmMagic   = 0x43_48_52_4f_4e_55_53_32 // "CHRONUS2"
	headerSize = 4096
	line       = 64
	cmdSlots   = 8192 // power of two
	audioSlots = 32   // power of two; how far back checksums can be compared
)

// layoutVersion changes whenever the meaning of the region changes; the
// snapshot holds a raw dsp.Synth, valid only within one build.
var layoutVersion = uint64(unsafe.Sizeof(dsp.Synth{}))<<8 | 2

// Header control words, each on its own cache line. "E" = written by the
// engine (parent), "W" = written by the worker.
const (
	offMagic      = 0 * line // E: magic
	offLayout     = 0*line + 8
	offBlock      = 0*line + 16 // E: frames per block
	offSize       = 0*line + 24
	offRate       = 0*line + 32 // E: sample rate bits (float64)
	offVoices     = 0*line + 40
	offBend       = 0*line + 48
	offAllowed    = 1 * line  // E: the worker may render block b when b < allowed
	offWake       = 2 * line  // E: futex word, bumped after allowed or mode changes
	offWaiting    = 3 * line  // W: 1 while the worker sleeps on offWake
	offCmdHead    = 4 * line  // E: commands written
	offCmdTail    = 5 * line  // W: commands consumed
	offNext       = 6 * line  // W: next block to render (= blocks rendered)
	offBeat       = 7 * line  // W: CLOCK_MONOTONIC ns of the last beat
	offPID        = 8 * line  // W: worker pid
	offMode       = 9 * line  // E: modeWait, modeRun, modeRestore, modeStop
	offSnapReq    = 10 * line // E: snapshot request number
	offSnapDone   = 11 * line // W: last snapshot request served
	offSnapBlock  = 12 * line // W/E: the snapshot is the state before this block
	offSnapSeq    = 13 * line // W/E: the last command sequence in the snapshot
	offLastSeq    = 14 * line // W: sequence of the last command applied
	offBadCmd     = 15 * line // W: commands that failed to decode
	offNonFinite  = 16 * line // W: synth voices silenced for NaN/Inf
	offDropped    = 17 * line // W: events the synth queue could not hold
	offStartBlock = 18 * line // E: first block for modeRun
	offCrash      = 19 * line // E: test hook: 1 = panic, 2 = segfault, 3 = hang
	offRendered   = 20 * line // W: CPU ns spent rendering (for load figures)
	offVoicesOn   = 21 * line // W: active voices after the last block
	offTID        = 22 * line // W: thread id of the render thread (for the hang probe)
	offSnapBase   = 23 * line // W/E: the snapshot's frame base (see worker.base)
	// offAlive (uint32): the render thread's id while it lives. The worker
	// registers it with set_tid_address, so the kernel zeroes it and
	// FUTEX_WAKEs it the moment the thread ends, which is ~1 ms before the
	// whole process is torn down and waitable (see deathWatch).
	offAlive = 24 * line
	// offCPU is the CPU (plus one) the engine wants the render thread of a
	// playing worker on; 0 means any (see Engine.place).
	offCPU = 25 * line
	// Lines 32 onward hold the commit outcomes (patchcmds.go).
)

// Worker modes.
const (
	modeWait    = 0 // a spare: wait for modeRun or modeRestore
	modeRun     = 1 // start fresh at offStartBlock
	modeRestore = 2 // load the snapshot area, continue at offSnapBlock
	modeStop    = 3 // exit cleanly
)

// Audio slot header: seq (block number + 1, written last) and checksum.
const (
	slotSeq   = 0
	slotSum   = 8
	slotBegin = 16 // block number + 1, written first (seqlock open)
)

type region struct {
	mem         []byte
	file        *os.File // owns the memfd
	blockFrames int
	cmdOff      int
	audioOff    int
	slotSize    int
	snapOff     int
}

func geometry(blockFrames int) (r region, size int) {
	r.blockFrames = blockFrames
	r.cmdOff = headerSize
	r.audioOff = r.cmdOff + cmdSlots*proto.Size
	r.slotSize = line + roundUp(blockFrames*2*4, line)
	r.snapOff = r.audioOff + audioSlots*r.slotSize
	size = r.snapOff + line + roundUp(int(unsafe.Sizeof(dsp.Synth{})), 4096)
	return r, roundUp(size, 4096)
}

func roundUp(n, to int) int { return (n + to - 1) / to * to }

// newRegion creates and maps a fresh sealed memfd for one worker.
func newRegion(name string, blockFrames int, cfg dsp.Config) (*region, error) {
	r, size := geometry(blockFrames)
	fd, err := unix.MemfdCreate(name, unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	if err != nil {
		return nil, fmt.Errorf("engine: memfd_create: %w", err)
	}
	if err := unix.Ftruncate(fd, int64(size)); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("engine: size shared memory to %d bytes: %w", size, err)
	}
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_ADD_SEALS, unix.F_SEAL_SHRINK|unix.F_SEAL_GROW|unix.F_SEAL_SEAL); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("engine: seal shared memory: %w", err)
	}
	mem, err := unix.Mmap(fd, 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE)
	if err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("engine: map shared memory: %w", err)
	}
	_ = unix.Mlock(mem) // best effort: keeps the audio path out of page faults
	r.mem, r.file = mem, os.NewFile(uintptr(fd), name)
	r.u64(offMagic).Store(shmMagic)
	r.u64(offLayout).Store(layoutVersion)
	r.u64(offBlock).Store(uint64(blockFrames))
	r.u64(offSize).Store(uint64(size))
	r.u64(offRate).Store(f64bits(cfg.SampleRate))
	r.u64(offVoices).Store(uint64(cfg.Voices))
	r.u64(offBend).Store(f64bits(cfg.BendRange))
	return &r, nil
}

// openRegion maps the region passed to a worker as a file descriptor.
func openRegion(fd int) (*region, error) {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return nil, fmt.Errorf("engine: stat shared memory: %w", err)
	}
	mem, err := unix.Mmap(fd, 0, int(st.Size), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE)
	if err != nil {
		return nil, fmt.Errorf("engine: map shared memory: %w", err)
	}
	// No mlock here: the engine's mapping already locks these shared pages
	// in memory, and a worker with locked memory takes longer to die, which
	// delays noticing its death.
	tmp := region{mem: mem}
	if tmp.u64(offMagic).Load() != shmMagic {
		unix.Munmap(mem)
		return nil, errors.New("engine: shared memory has the wrong magic number")
	}
	if tmp.u64(offLayout).Load() != layoutVersion {
		unix.Munmap(mem)
		return nil, errors.New("engine: shared memory layout differs from this binary's")
	}
	r, size := geometry(int(tmp.u64(offBlock).Load()))
	if size != len(mem) {
		unix.Munmap(mem)
		return nil, fmt.Errorf("engine: shared memory is %d bytes, want %d", len(mem), size)
	}
	r.mem, r.file = mem, os.NewFile(uintptr(fd), "chronus-shm")
	return &r, nil
}

func (r *region) close() {
	if r.mem != nil {
		_ = unix.Munmap(r.mem)
		r.mem = nil
	}
	if r.file != nil {
		r.file.Close()
		r.file = nil
	}
}

func (r *region) u64(off int) *atomic.Uint64 {
	return (*atomic.Uint64)(unsafe.Pointer(&r.mem[off]))
}

func (r *region) i64(off int) *atomic.Int64 {
	return (*atomic.Int64)(unsafe.Pointer(&r.mem[off]))
}

func (r *region) u32(off int) *atomic.Uint32 {
	return (*atomic.Uint32)(unsafe.Pointer(&r.mem[off]))
}

// cmdSlot returns slot i (mod cmdSlots) of the command ring.
func (r *region) cmdSlot(i uint64) *[proto.Size]byte {
	return (*[proto.Size]byte)(unsafe.Pointer(&r.mem[r.cmdOff+int(i&(cmdSlots-1))*proto.Size]))
}

// slot returns the header words and samples of the audio slot for block b.
func (r *region) slot(b uint64) (hdr []byte, samples []float32) {
	off := r.audioOff + int(b&(audioSlots-1))*r.slotSize
	hdr = r.mem[off : off+line]
	samples = unsafe.Slice((*float32)(unsafe.Pointer(&r.mem[off+line])), r.blockFrames*2)
	return hdr, samples
}

func (r *region) slotU64(b uint64, field int) *atomic.Uint64 {
	off := r.audioOff + int(b&(audioSlots-1))*r.slotSize + field
	return (*atomic.Uint64)(unsafe.Pointer(&r.mem[off]))
}

// snapshot returns the snapshot area as a synth.
func (r *region) snapshot() *dsp.Synth {
	return (*dsp.Synth)(unsafe.Pointer(&r.mem[r.snapOff+line]))
}

func f64bits(f float64) uint64 { return math.Float64bits(f) }

func f64frombits(u uint64) float64 { return math.Float64frombits(u) }
