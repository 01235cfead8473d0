//! Ephemeral loopback ports for servers we start.

use std::net::TcpListener;

/// A TCP port on 127.0.0.1 that was free a moment ago. There is a small race
/// between releasing it and the server binding it; callers that start a
/// server retry on `EADDRINUSE`.
pub fn free_port() -> u16 {
    // Free on both loopbacks: nginx and the lab backends often listen on
    // 127.0.0.1 and [::1] with the same port.
    let mut port = 0;
    for _ in 0..64 {
        let l = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        port = l.local_addr().expect("local_addr").port();
        match TcpListener::bind(("::1", port)) {
            Ok(_) => return port,
            // No IPv6 on this host: the IPv4 port is all that matters.
            Err(e) if e.kind() == std::io::ErrorKind::AddrNotAvailable => return port,
            Err(_) => continue,
        }
    }
    port
}
