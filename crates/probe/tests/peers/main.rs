//! Probes against real peers on loopback: in-test servers on real sockets,
//! Debian's php-fpm, and `openssl s_server`. No kernel behaviour is mocked:
//! a full TCP backlog really drops SYNs, a full unix backlog really gives
//! EAGAIN, and a root-owned 0660 socket really refuses `nobody`.

mod fpm;
mod identify;
mod protocols;
mod sockets;
mod support;
mod tls;
mod uwsgi;
