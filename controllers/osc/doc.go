// Package osc is Chronus's Open Sound Control controller: it receives OSC
// 1.0 messages and bundles from tablets (TouchOSC, Open Stage Control) over
// UDP and TCP, turns each message into a controllers.Event, hands the events
// to one Handler in arrival order, and sends feedback and replies back.
//
// # Why not go-osc's server
//
// hypebeast/go-osc stops serving after one bad datagram, panics the process
// on the address "/a[", reorders messages by dispatching each packet on its
// own goroutine and allocates about 4.4 KB per message (see
// /work/shared/LIBRARIES.md §1). This package therefore owns the whole input
// path:
//
//   - one UDP read loop with one reused 64 KiB buffer, and one goroutine per
//     TCP connection with fixed-size buffers;
//   - Decoder, an allocation-free decoder of OSC 1.0 packets into
//     preallocated controllers.Event values, checked against go-osc's parser
//     by a differential fuzz test;
//   - one dispatcher goroutine that calls the Handler for every message, in
//     the order the messages arrived;
//   - Match and Router, OSC 1.0 address-pattern matching that is anchored and
//     works per "/" segment, returning ErrBadPattern instead of panicking.
//
// go-osc is used only to encode what Sender sends.
//
// # Threads
//
// Nothing here runs on the audio thread. Decoder.Decode, Decoder.Next,
// Match and Router.Dispatch never allocate, lock, block or log, so the
// process that runs the audio callback sees no garbage from OSC input even
// under a flood. Logging happens on a separate goroutine that reads
// fixed-size records from a bounded queue, so a stalled log writer cannot
// stall input.
//
// # Limits
//
// Packets and TCP frames are limited to MaxPacket (64 KiB), addresses to
// controllers.MaxAddr bytes, messages to controllers.MaxArgs arguments and
// bundle nesting to MaxDepth. The client table holds MaxClients entries.
// A TCP client holds at most 16 KiB of read buffer, one 64 KiB frame, and
// 256 KiB of queued feedback (plus one framed packet being written), and
// at most Config.MaxTCPConns clients are connected, so no client can make
// memory grow without bound. A client that starts a frame must finish it
// within Config.FrameTimeout; one that does not read its feedback is
// disconnected after Config.WriteTimeout. Sends never wait for a TCP client.
//
// # Bad input
//
// Empty, truncated, oversized or otherwise malformed packets, packets with
// an invalid address pattern and packets from addresses outside the
// allow-list are dropped, counted per Reason (see Controller.Stats) and
// logged at most once a second per client. The loops never stop on bad
// input.
package osc
