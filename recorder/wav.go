package recorder

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// Format is a WAV sample format. The zero value is F32.
type Format uint8

const (
	// F32 is 32-bit IEEE float, the default.
	F32 Format = iota
	// S16 is 16-bit signed integer PCM.
	S16
	// S24 is 24-bit signed integer PCM, packed in 3 bytes.
	S24
)

// String returns "f32", "s16" or "s24" (the names ParseFormat accepts).
func (f Format) String() string {
	switch f {
	case F32:
		return "f32"
	case S16:
		return "s16"
	case S24:
		return "s24"
	}
	return "format(" + strconv.Itoa(int(f)) + ")"
}

// ParseFormat parses "s16", "s24" or "f32" (any case).
func ParseFormat(s string) (Format, error) {
	for _, f := range [...]Format{F32, S16, S24} {
		if strings.EqualFold(s, f.String()) {
			return f, nil
		}
	}
	return 0, fmt.Errorf("recorder: unknown sample format %q (want s16, s24 or f32)", s)
}

// bytes returns the size of one sample, or 0 for an unknown format.
func (f Format) bytes() int {
	switch f {
	case F32:
		return 4
	case S16:
		return 2
	case S24:
		return 3
	}
	return 0
}

var (
	// ErrTooLarge is returned by Write and WriteWAV when the data would make
	// the file larger than the 4 GiB that 32-bit RIFF sizes can describe.
	ErrTooLarge = errors.New("recorder: wav data would exceed the 4 GiB riff size limit")
	// ErrClosed is returned by Write and Flush after Close.
	ErrClosed = errors.New("recorder: writer is closed")

	errPartialFrame = errors.New("recorder: sample count is not a multiple of the channel count")
)

// WAVE constants.
const (
	tagPCM        = 0x0001
	tagFloat      = 0x0003
	tagExtensible = 0xfffe

	maxHeader = 68      // extensible PCM: RIFF 12 + fmt 8+40 + data 8
	bufSize   = 3 << 15 // 96 KiB: a whole number of 2-, 3- and 4-byte samples
)

// guidPCM is KSDATAFORMAT_SUBTYPE_PCM as stored (GUID fields
// little-endian): 00000001-0000-0010-8000-00aa00389b71.
var guidPCM = [16]byte{0x01, 0, 0, 0, 0, 0, 0x10, 0, 0x80, 0, 0, 0xaa, 0, 0x38, 0x9b, 0x71}

// spec is a validated stream description and its header layout.
type spec struct {
	rate, channels int
	format         Format
	sample         int // bytes per sample
	block          int // bytes per frame
	fmtLen         int // fmt chunk body: 16 (PCM), 18 (float), 40 (extensible)
	hdrLen         int
}

func newSpec(rate, channels int, f Format) (spec, error) {
	s := spec{rate: rate, channels: channels, format: f, sample: f.bytes()}
	if s.sample == 0 {
		return s, fmt.Errorf("recorder: unknown sample format %d", f)
	}
	s.block = channels * s.sample
	if channels < 1 || s.block > math.MaxUint16 {
		return s, fmt.Errorf("recorder: %d channels of %v do not fit a wav frame", channels, f)
	}
	if rate < 1 || int64(rate)*int64(s.block) > math.MaxUint32 {
		return s, fmt.Errorf("recorder: sample rate %d out of range for %d channels of %v", rate, channels, f)
	}
	switch {
	case f == F32:
		s.fmtLen = 18
		s.hdrLen = 12 + 8 + 18 + 12 + 8
	case f == S24 || channels > 2:
		s.fmtLen = 40
		s.hdrLen = 12 + 8 + 40 + 8
	default:
		s.fmtLen = 16
		s.hdrLen = 12 + 8 + 16 + 8
	}
	return s, nil
}

// fits reports whether a data chunk of n bytes (plus pad) keeps the RIFF
// size within 32 bits.
func (s *spec) fits(n int64) bool {
	return int64(s.hdrLen)-8+n+n&1 <= math.MaxUint32
}

// header writes the header for a data chunk of n bytes into dst and
// returns its length. n must satisfy fits.
func (s *spec) header(dst *[maxHeader]byte, n int64) int {
	le := binary.LittleEndian
	h := dst[:s.hdrLen]
	copy(h[0:], "RIFF")
	le.PutUint32(h[4:], uint32(int64(s.hdrLen)-8+n+n&1))
	copy(h[8:], "WAVEfmt ")
	le.PutUint32(h[16:], uint32(s.fmtLen))
	switch s.fmtLen {
	case 16:
		le.PutUint16(h[20:], tagPCM)
	case 18:
		le.PutUint16(h[20:], tagFloat)
	default:
		le.PutUint16(h[20:], tagExtensible)
	}
	le.PutUint16(h[22:], uint16(s.channels))
	le.PutUint32(h[24:], uint32(s.rate))
	le.PutUint32(h[28:], uint32(s.rate*s.block))
	le.PutUint16(h[32:], uint16(s.block))
	le.PutUint16(h[34:], uint16(8*s.sample))
	i := 36
	switch s.fmtLen {
	case 18:
		le.PutUint16(h[36:], 0) // cbSize: no extension
		i = 38
		copy(h[i:], "fact")
		le.PutUint32(h[i+4:], 4)
		le.PutUint32(h[i+8:], uint32(n/int64(s.block)))
		i += 12
	case 40:
		le.PutUint16(h[36:], 22)                 // cbSize
		le.PutUint16(h[38:], uint16(8*s.sample)) // valid bits
		var mask uint32
		switch s.channels {
		case 1:
			mask = 0x4 // SPEAKER_FRONT_CENTER
		case 2:
			mask = 0x3 // SPEAKER_FRONT_LEFT | SPEAKER_FRONT_RIGHT
		}
		le.PutUint32(h[40:], mask)
		copy(h[44:], guidPCM[:])
		i = 60
	}
	copy(h[i:], "data")
	le.PutUint32(h[i+4:], uint32(n))
	return s.hdrLen
}

// convert encodes src into dst, which holds exactly len(src) samples.
func (s *spec) convert(dst []byte, src []float32) {
	le := binary.LittleEndian
	switch s.format {
	case S16:
		dst = dst[:2*len(src)]
		for i, x := range src {
			le.PutUint16(dst[2*i:], uint16(quantize(x, 32767)))
		}
	case S24:
		dst = dst[:3*len(src)]
		for i, x := range src {
			v := quantize(x, 8388607)
			dst[3*i] = byte(v)
			dst[3*i+1] = byte(v >> 8)
			dst[3*i+2] = byte(v >> 16)
		}
	default:
		dst = dst[:4*len(src)]
		for i, x := range src {
			le.PutUint32(dst[4*i:], math.Float32bits(finite(x)))
		}
	}
}

// quantize clamps x to [-1, 1] and rounds x*scale to nearest, halves away
// from zero; NaN gives 0. x*scale is exact in float64 (24-bit mantissa
// times a 23-bit integer), so the only rounding is the final one.
func quantize(x float32, scale float64) int32 {
	v := float64(x)
	switch {
	case v >= 1:
		return int32(scale)
	case v <= -1:
		return -int32(scale)
	case v != v:
		return 0
	}
	// Adding ±0.5 and truncating equals math.Round for every float32 and
	// is faster (S16 Write 1.6x in BenchmarkWrite): the sum is exact when |x| >= 2^-30, and smaller
	// inputs stay far below the 0.5 boundary. The tests compare both.
	return int32(v*scale + math.Copysign(0.5, v))
}

// finite maps NaN to 0 and ±Inf to ±1, leaving finite values unchanged.
func finite(x float32) float32 {
	switch {
	case x != x:
		return 0
	case x > math.MaxFloat32:
		return 1
	case x < -math.MaxFloat32:
		return -1
	}
	return x
}

// Writer streams interleaved float32 frames into a WAV file. It is not safe
// for concurrent use and does I/O, so it belongs to one ordinary goroutine
// (the recorder's writer), never to the audio thread.
type Writer struct {
	ws    io.WriteSeeker
	start int64 // offset of "RIFF"
	spec
	hdr     [maxHeader]byte
	zero    [1]byte // pad byte, kept here so Flush does not allocate
	buf     []byte  // converted samples not yet written; fixed capacity
	n       int     // bytes used in buf
	frames  int64   // frames accepted (written + buffered)
	data    int64   // data bytes accepted (written + buffered)
	written int64   // data bytes written to ws
	padded  bool    // ws holds a pad byte right after the written data
	err     error   // sticky I/O error
	closed  bool
}

// NewWriter writes the header of an empty WAV stream (data size 0, a valid
// file) at ws's current position and returns a Writer that appends rate Hz,
// channels-channel audio in format f. Flush and Close rewrite that header in
// place, so ws must honour Seek (an *os.File opened without O_APPEND, not a
// pipe); use WriteWAV for pipes. Give it a new or truncated file: bytes
// already beyond the WAV's end are left there. The 96 KiB buffer is
// allocated here, once.
func NewWriter(ws io.WriteSeeker, rate, channels int, f Format) (*Writer, error) {
	s, err := newSpec(rate, channels, f)
	if err != nil {
		return nil, err
	}
	start, err := ws.Seek(0, io.SeekCurrent)
	if err != nil {
		return nil, fmt.Errorf("recorder: wav start position: %w", err)
	}
	w := &Writer{ws: ws, start: start, spec: s, buf: make([]byte, bufSize)}
	n := w.header(&w.hdr, 0)
	if err := writeFull(ws, w.hdr[:n]); err != nil {
		return nil, fmt.Errorf("recorder: write wav header: %w", err)
	}
	return w, nil
}

// Write converts interleaved samples (len a multiple of the channel count)
// and buffers them, writing to the file whenever the buffer fills. It does
// not allocate. A block that would pass the 4 GiB limit is refused whole
// with ErrTooLarge and the writer stays usable; an I/O error is sticky and
// returned by every later call.
func (w *Writer) Write(interleaved []float32) error {
	if w.err != nil {
		return w.err
	}
	if w.closed {
		return ErrClosed
	}
	if len(interleaved)%w.channels != 0 {
		return errPartialFrame
	}
	add := int64(len(interleaved)) * int64(w.sample)
	if !w.fits(w.data + add) {
		return ErrTooLarge
	}
	for in := interleaved; len(in) > 0; {
		k := min(len(in), (len(w.buf)-w.n)/w.sample)
		w.convert(w.buf[w.n:], in[:k])
		w.n += k * w.sample
		in = in[k:]
		if w.n == len(w.buf) {
			if err := w.drain(); err != nil {
				return err
			}
		}
	}
	w.data += add
	w.frames += int64(len(interleaved) / w.channels)
	return nil
}

// Frames returns the number of frames accepted so far, buffered or not.
func (w *Writer) Frames() int64 { return w.frames }

// Flush writes the buffered samples (and a pad byte if the data size is
// odd), then rewrites the header sizes and seeks back to the end. Data goes
// out before the header that counts it, so a file cut off at any point
// after Flush returns is a valid WAV holding everything written so far.
// Flush does not fsync: for power-loss safety call (*os.File).Sync after
// it. It does not allocate unless it fails.
func (w *Writer) Flush() error {
	if w.err != nil {
		return w.err
	}
	if w.closed {
		return ErrClosed
	}
	if err := w.drain(); err != nil {
		return err
	}
	end := w.start + int64(w.hdrLen) + w.written
	if w.written&1 == 1 {
		if !w.padded {
			if err := writeFull(w.ws, w.zero[:]); err != nil {
				return w.fail(err)
			}
			w.padded = true
		}
		end++
	}
	n := w.header(&w.hdr, w.written)
	if _, err := w.ws.Seek(w.start, io.SeekStart); err != nil {
		return w.fail(err)
	}
	if err := writeFull(w.ws, w.hdr[:n]); err != nil {
		return w.fail(err)
	}
	if _, err := w.ws.Seek(end, io.SeekStart); err != nil {
		return w.fail(err)
	}
	return nil
}

// FlushData writes the buffered samples to ws without touching the header,
// so a caller can make the data durable (fsync) before it rewrites the
// header that covers it (Flush): a crash between the two leaves a header
// that covers less data than the file holds, never more.
func (w *Writer) FlushData() error {
	if w.err != nil {
		return w.err
	}
	if w.closed {
		return ErrClosed
	}
	return w.drain()
}

// Salvage rewrites the header to cover exactly the whole frames written to
// ws before an I/O error, and returns the byte offset where the valid file
// ends (the caller truncates the file there). It works after Write, Flush or
// FlushData failed, when the header rewrite itself can still succeed (it
// only overwrites existing bytes, so a full disk does not stop it).
func (w *Writer) Salvage() (end int64, err error) {
	frame := int64(w.sample * w.channels)
	good := w.written - w.written%frame
	n := w.header(&w.hdr, good)
	if _, err := w.ws.Seek(w.start, io.SeekStart); err != nil {
		return 0, fmt.Errorf("recorder: salvage wav: %w", err)
	}
	if err := writeFull(w.ws, w.hdr[:n]); err != nil {
		return 0, fmt.Errorf("recorder: salvage wav: %w", err)
	}
	end = w.start + int64(w.hdrLen) + good
	if good&1 == 1 {
		end++ // the pad byte position; its content is whatever was written
	}
	w.closed = true
	return end, nil
}

// Close flushes and marks the writer closed. It does not close ws. A second
// Close returns the first one's result.
func (w *Writer) Close() error {
	if w.closed {
		return w.err
	}
	err := w.Flush()
	w.closed = true
	return err
}

// drain writes buf to ws, first stepping back over a pad byte written by an
// earlier Flush so the data stays contiguous.
func (w *Writer) drain() error {
	if w.n == 0 {
		return nil
	}
	if w.padded {
		if _, err := w.ws.Seek(w.start+int64(w.hdrLen)+w.written, io.SeekStart); err != nil {
			return w.fail(err)
		}
		w.padded = false
	}
	if err := writeFull(w.ws, w.buf[:w.n]); err != nil {
		return w.fail(err)
	}
	w.written += int64(w.n)
	w.n = 0
	return nil
}

// fail records the first I/O error; the file's state is unknown after it.
func (w *Writer) fail(err error) error {
	w.err = fmt.Errorf("recorder: write wav: %w", err)
	return w.err
}

// writeFull writes p, turning a short write without error into one.
func writeFull(w io.Writer, p []byte) error {
	n, err := w.Write(p)
	if err == nil && n < len(p) {
		err = io.ErrShortWrite
	}
	return err
}

// WriteWAV writes interleaved samples as one complete WAV file to w, which
// need not seek (stdout, a pipe, a network stream); the layout and
// conversion are those of Writer, byte for byte. It allocates a conversion
// buffer of at most 96 KiB per call.
func WriteWAV(w io.Writer, rate, channels int, f Format, interleaved []float32) error {
	s, err := newSpec(rate, channels, f)
	if err != nil {
		return err
	}
	if len(interleaved)%channels != 0 {
		return errPartialFrame
	}
	data := int64(len(interleaved)) * int64(s.sample)
	if !s.fits(data) {
		return ErrTooLarge
	}
	var hdr [maxHeader]byte
	if err := writeFull(w, hdr[:s.header(&hdr, data)]); err != nil {
		return fmt.Errorf("recorder: write wav: %w", err)
	}
	buf := make([]byte, min(int64(bufSize), data+1))
	for in := interleaved; len(in) > 0; {
		k := min(len(in), len(buf)/s.sample)
		s.convert(buf, in[:k])
		if err := writeFull(w, buf[:k*s.sample]); err != nil {
			return fmt.Errorf("recorder: write wav: %w", err)
		}
		in = in[k:]
	}
	if data&1 == 1 {
		buf[0] = 0
		if err := writeFull(w, buf[:1]); err != nil {
			return fmt.Errorf("recorder: write wav: %w", err)
		}
	}
	return nil
}
