package proto

import "encoding/binary"

// The CRC is computed here rather than with hash/crc32 because crc32 calls
// its implementation through a function variable, which makes the buffer
// escape: a caller's stack [Size]byte would then be heap-allocated on every
// Encode or Decode. This is the same slicing-by-8 algorithm crc32 uses for
// inputs under 64 bytes; the tests compare it with hash/crc32.

// crcTable[k][b] is the CRC-32 (IEEE, reflected polynomial 0xedb88320) of
// byte b followed by k zero bytes.
var crcTable = func() (t [8][256]uint32) {
	for i := range 256 {
		c := uint32(i)
		for range 8 {
			if c&1 == 1 {
				c = c>>1 ^ 0xedb88320
			} else {
				c >>= 1
			}
		}
		t[0][i] = c
	}
	for i := range 256 {
		c := t[0][i]
		for k := 1; k < 8; k++ {
			c = t[0][c&0xff] ^ c>>8
			t[k][i] = c
		}
	}
	return t
}()

// checksum returns the CRC-32 (IEEE) of bytes 0-59 of p.
func checksum(p *[Size]byte) uint32 {
	t := &crcTable
	crc := ^uint32(0)
	b := p[:Size-4]
	for len(b) >= 8 {
		crc ^= binary.LittleEndian.Uint32(b)
		crc = t[0][b[7]] ^ t[1][b[6]] ^ t[2][b[5]] ^ t[3][b[4]] ^
			t[4][crc>>24] ^ t[5][crc>>16&0xff] ^ t[6][crc>>8&0xff] ^ t[7][crc&0xff]
		b = b[8:]
	}
	for _, x := range b {
		crc = t[0][byte(crc)^x] ^ crc>>8
	}
	return ^crc
}
