// Package protocol holds the wire types of the Interval protocol: the ISocket
// frame, the DuplexRPC envelope, the inputs and returns of every host↔server
// and server↔browser method, the IO render instruction and IO response, page
// layouts, action results and the superjson meta used inside them.
//
// The protocol has three JSON layers: a websocket text frame whose data is a
// string holding the RPC envelope, whose payload fields (ioCall, value, result,
// page) are again strings of JSON. Types here model each layer separately; the
// string layers are plain Go strings so that they are never emitted as objects.
//
// Field names, optional fields and key order follow what the official Node SDK
// 2.0.0 sends (see ../shared/PROTOCOL.md and the traces in testdata).
package protocol
