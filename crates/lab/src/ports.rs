//! Ephemeral loopback ports for servers we start.

use std::net::TcpListener;

/// A TCP port on 127.0.0.1 that was free a moment ago. There is a small race
/// between releasing it and the server binding it; callers that start a
/// server retry on `EADDRINUSE`.
pub fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    l.local_addr().expect("local_addr").port()
}
