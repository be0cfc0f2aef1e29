//go:build !linux

package osc

import "net"

// setReadBuffer asks for a UDP receive buffer of size bytes; this platform
// does not report the result, so it returns 0.
func setReadBuffer(c *net.UDPConn, size int) int {
	c.SetReadBuffer(size)
	return 0
}
