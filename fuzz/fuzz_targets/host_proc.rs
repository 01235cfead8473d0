//! The /proc and kernel-interface parsers of badgateway-host: the first
//! byte picks the parser, the rest is its input. None may panic; errors
//! must point at a line that exists.
#![no_main]

use badgateway_host::kernlog::{parse_journal_short_unix, parse_kmsg};
use badgateway_host::net::diag::{DiagFamily, parse_diag_replies};
use badgateway_host::net::{parse_netstat, parse_sockstat, parse_tcp_all, parse_unix_all};
use badgateway_host::oom::find_oom_kills;
use badgateway_host::proc::{parse_cmdline, parse_limits, parse_stat, parse_status};
use badgateway_host::resources::{parse_file_nr, parse_meminfo, parse_port_range, parse_psi};
use badgateway_host::time::{Clock, parse_auxv_clock_ticks, parse_btime};
use libfuzzer_sys::fuzz_target;

fn check<T>(text: &str, r: Result<T, badgateway_host::error::ParseError>) {
    if let Err(e) = r {
        assert!(e.line <= text.lines().count() + 1, "{e} in {} lines", text.lines().count());
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let text = String::from_utf8_lossy(rest);
    let t = text.as_ref();
    let clock = Clock {
        boot_time: 1_700_000_000,
        ticks_per_sec: 100,
    };
    match pick % 16 {
        0 => check(t, parse_stat(t)),
        1 => check(t, parse_status(t)),
        2 => drop(parse_cmdline(rest)),
        3 => check(t, parse_limits(t)),
        4 => {
            check(t, parse_tcp_all(t));
            for l in t.lines().take(64) {
                let _ = badgateway_host::net::tcp::state_field(l);
            }
        }
        5 => check(t, parse_unix_all(t)),
        6 => check(t, parse_netstat(t)),
        7 => check(t, parse_sockstat(t)),
        8 => check(t, parse_meminfo(t)),
        9 => check(t, parse_psi(t)),
        10 => {
            check(t, parse_file_nr(t));
            check(t, parse_port_range(t));
        }
        11 => {
            check(t, parse_btime(t));
            let _ = parse_auxv_clock_ticks(rest);
        }
        12 => {
            let _ = parse_diag_replies(rest, DiagFamily::Inet);
            let _ = parse_diag_replies(rest, DiagFamily::Unix);
        }
        13 => drop(find_oom_kills(&parse_kmsg(t), Some(&clock))),
        14 => drop(find_oom_kills(&parse_journal_short_unix(t), None)),
        _ => {
            // Everything at once on the same text.
            let _ = (parse_stat(t), parse_status(t), parse_limits(t), parse_tcp_all(t));
            let _ = (parse_unix_all(t), parse_netstat(t), parse_psi(t), parse_meminfo(t));
        }
    }
});
