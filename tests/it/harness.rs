//! The lab harness itself: a private nginx starts, proxies, logs real
//! upstream errors, and is stopped by pid.

use badgateway_lab::{NginxBuilder, free_port, http, require_nginx};

use crate::util::{badgateway, stderr};

#[test]
fn private_nginx_logs_a_real_connection_refused() {
    let Some(bin) = require_nginx() else { return };
    let dead = free_port(); // nothing listens here
    let nginx = NginxBuilder::new(
        bin,
        format!(
            "server {{ listen 127.0.0.1:@LISTEN@; server_name lab.example.com;
               location / {{ proxy_pass http://127.0.0.1:{dead}; }} }}"
        ),
    )
    .start()
    .expect("nginx starts");
    let r = http::get(nginx.addr(), "/refused").unwrap();
    assert_eq!(r.status, 502);
    assert!(nginx.wait_access_lines(1, std::time::Duration::from_secs(5)));
    let log = nginx.error_log_text();
    assert!(
        log.contains("connect() failed (111: Connection refused) while connecting to upstream"),
        "{log}"
    );
    assert!(
        nginx
            .access_log_text()
            .contains(&format!("ua=\"127.0.0.1:{dead}\" us=\"502\""))
    );
    let pid = nginx.pid();
    nginx.stop();
    assert!(!std::path::Path::new(&format!("/proc/{pid}")).exists());
}

#[test]
fn unbuilt_commands_say_so_and_exit_2() {
    let o = badgateway(&["watch"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("not built yet"), "{}", stderr(&o));
}

#[test]
fn help_lists_every_spec_command() {
    let o = badgateway(&["--help"]);
    assert_eq!(o.status.code(), Some(0));
    let out = crate::util::stdout(&o);
    for cmd in [
        "diagnose", "logs", "explain", "config", "route", "probe", "watch", "lab",
    ] {
        assert!(
            out.contains(&format!("  {cmd} ")),
            "missing {cmd} in --help"
        );
    }
}
