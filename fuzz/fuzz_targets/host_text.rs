//! The remaining text parsers of badgateway-host: `nginx -V`, an nginx
//! master's title, `nginx -t`, passwd/group, SELinux AVC and AppArmor
//! records, nft and iptables dumps, uWSGI ini and backend bind strings.
#![no_main]

use badgateway_host::backends::{parse_bind, uwsgi_ini_binds};
use badgateway_host::nginx::{parse_master_cmdline, parse_nginx_v, shell_words};
use badgateway_host::policy::apparmor::{parse_apparmor_denial, parse_label, parse_profiles};
use badgateway_host::policy::firewall::{FirewallSource, parse_iptables_s, parse_nft};
use badgateway_host::policy::selinux::parse_avc;
use badgateway_host::staleness::parse_nginx_t;
use badgateway_host::time::LocalDateTime;
use badgateway_host::users::{parse_group, parse_passwd};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let text = String::from_utf8_lossy(rest);
    let t = text.as_ref();
    match pick % 8 {
        0 => {
            if let Ok(b) = parse_nginx_v(t) {
                let _ = b.has_module("http_v2_module");
            }
            let _ = shell_words(t);
        }
        1 => {
            let args: Vec<String> = t.split('\0').map(str::to_string).collect();
            let _ = parse_master_cmdline(&args);
            let _ = parse_master_cmdline(&[format!("nginx: master process {t}")]);
        }
        2 => {
            if let Ok(r) = parse_nginx_t(t, Some(1)) {
                let _ = r.first_error();
            }
        }
        3 => {
            let _ = (parse_passwd(t), parse_group(t));
        }
        4 => {
            for l in t.lines() {
                let _ = (parse_avc(l), parse_apparmor_denial(l), parse_label(l));
            }
            let _ = parse_profiles(t);
        }
        5 => {
            let f = parse_nft(t);
            let _ = (f.rules_for_port(8000), f.restrictive_policies());
        }
        6 => {
            let f = parse_iptables_s(t, FirewallSource::Iptables);
            let _ = f.rules_for_port(443);
        }
        _ => {
            let _ = uwsgi_ini_binds(t, "x.ini");
            for l in t.lines().take(16) {
                let _ = (parse_bind(l), LocalDateTime::parse_fpm(l));
            }
        }
    }
});
