package osc

import (
	"net"
	"syscall"
)

// setReadBuffer asks for a UDP receive buffer of size bytes and returns what
// the kernel reports (Linux reports twice the usable size). Above
// net.core.rmem_max it retries with SO_RCVBUFFORCE, which works with
// CAP_NET_ADMIN.
func setReadBuffer(c *net.UDPConn, size int) int {
	c.SetReadBuffer(size)
	got := rcvbuf(c)
	if got >= size {
		return got
	}
	if rc, err := c.SyscallConn(); err == nil {
		rc.Control(func(fd uintptr) {
			syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUFFORCE, size)
		})
	}
	return rcvbuf(c)
}

func rcvbuf(c *net.UDPConn) int {
	rc, err := c.SyscallConn()
	if err != nil {
		return 0
	}
	n := 0
	rc.Control(func(fd uintptr) {
		n, _ = syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF)
	})
	return n
}
