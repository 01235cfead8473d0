//! Include resolution as nginx does it, on real files in a temp dir.

use std::fs;
use std::path::Path;

use badgateway_conf::{LoadError, LoadIssue, LoadOptions, load, load_any};

fn write(dir: &Path, rel: &str, text: &str) {
    let p = dir.join(rel);
    fs::create_dir_all(p.parent().unwrap()).unwrap();
    fs::write(p, text).unwrap();
}

fn names(cfg: &badgateway_conf::Config) -> Vec<String> {
    cfg.walk()
        .into_iter()
        .map(|(id, depth)| format!("{}{}", "  ".repeat(depth), cfg.node(id).name.text()))
        .collect()
}

#[test]
fn includes_are_relative_to_the_main_files_directory_sorted_and_spliced() {
    let d = tempfile::tempdir().unwrap();
    write(
        d.path(),
        "nginx.conf",
        "events {}\nhttp {\n include conf.d/*.conf;\n include empty/*.conf;\n}\n",
    );
    // relative to the main file's dir, not to conf.d/
    write(
        d.path(),
        "conf.d/b.conf",
        "server { include snippets/x.conf; }\n",
    );
    write(
        d.path(),
        "conf.d/a.conf",
        "upstream u { server 127.0.0.1:1; }\n",
    );
    write(d.path(), "conf.d/.hidden.conf", "bogus;\n");
    write(d.path(), "snippets/x.conf", "listen 80;\n");
    fs::create_dir_all(d.path().join("empty")).unwrap();
    let cfg = load(&d.path().join("nginx.conf"), &LoadOptions::default()).unwrap();
    assert_eq!(
        names(&cfg),
        [
            "events",
            "http",
            "  include",
            "  upstream",
            "    server",
            "  server",
            "    include",
            "    listen",
            "  include"
        ]
    );
    assert!(cfg.issues.is_empty(), "{:?}", cfg.issues);
    let listen = cfg.nodes.iter().find(|n| n.is("listen")).unwrap();
    assert_eq!(cfg.location(listen.span()), "snippets/x.conf:1");
}

#[test]
fn missing_include_is_an_issue_not_a_failure() {
    let d = tempfile::tempdir().unwrap();
    write(
        d.path(),
        "nginx.conf",
        "http {\n include mime.types;\n server {}\n}\n",
    );
    let cfg = load(&d.path().join("nginx.conf"), &LoadOptions::default()).unwrap();
    assert!(matches!(&cfg.issues[..], [LoadIssue::IncludeMissing { at, .. }] if at.line == 2));
    assert!(cfg.nodes.iter().any(|n| n.is("server")));
}

#[test]
fn include_cycles_print_the_chain() {
    let d = tempfile::tempdir().unwrap();
    write(d.path(), "nginx.conf", "http { include a.conf; }\n");
    write(d.path(), "a.conf", "include b.conf;\n");
    write(d.path(), "b.conf", "\ninclude a.conf;\n");
    let err = load(&d.path().join("nginx.conf"), &LoadOptions::default()).unwrap_err();
    let msg = err.to_string();
    assert!(
        matches!(err, LoadError::IncludeCycle { line: 2, .. }),
        "{msg}"
    );
    assert!(
        msg.contains("a.conf -> ") && msg.contains("b.conf -> ") && msg.ends_with("a.conf"),
        "{msg}"
    );
}

#[test]
fn syntax_errors_in_included_files_name_that_file() {
    let d = tempfile::tempdir().unwrap();
    write(d.path(), "nginx.conf", "http { include sites/*.conf; }\n");
    write(d.path(), "sites/app.conf", "server {\n  listen 80\n}\n");
    let err = load(&d.path().join("nginx.conf"), &LoadOptions::default()).unwrap_err();
    assert!(
        err.to_string()
            .ends_with("sites/app.conf:3:1: unexpected \"}\""),
        "{err}"
    );
}

#[test]
fn the_same_file_included_twice_is_spliced_twice() {
    let d = tempfile::tempdir().unwrap();
    write(
        d.path(),
        "nginx.conf",
        "http { server { location /a { include p; } location /b { include p; } } }\n",
    );
    write(d.path(), "p", "fastcgi_param A b;\n");
    let cfg = load(&d.path().join("nginx.conf"), &LoadOptions::default()).unwrap();
    assert_eq!(
        cfg.nodes.iter().filter(|n| n.is("fastcgi_param")).count(),
        2
    );
    assert_eq!(cfg.files.len(), 2);
}

#[test]
fn nginx_t_dumps_load_like_the_files() {
    let d = tempfile::tempdir().unwrap();
    let dump = "nginx: the configuration file /etc/nginx/nginx.conf syntax is ok\n\
        # configuration file /etc/nginx/nginx.conf:\nhttp {\n include /etc/nginx/sites/*.conf;\n}\n\n\
        # configuration file /etc/nginx/sites/app.conf:\nserver {\n  listen 8080;\n}\n\n";
    write(d.path(), "dump.txt", dump);
    let cfg = load_any(&d.path().join("dump.txt"), &LoadOptions::default()).unwrap();
    assert_eq!(cfg.main_file, Path::new("/etc/nginx/nginx.conf"));
    let listen = cfg.nodes.iter().find(|n| n.is("listen")).unwrap();
    assert_eq!(cfg.location(listen.span()), "sites/app.conf:2");
    assert_eq!(cfg.files.len(), 2);
}

#[test]
fn include_cycles_through_symlinks_are_caught() {
    let d = tempfile::tempdir().unwrap();
    write(d.path(), "nginx.conf", "http { include sub/a.conf; }\n");
    write(d.path(), "real/a.conf", "include sub/a.conf;\n");
    std::os::unix::fs::symlink(d.path().join("real"), d.path().join("sub")).unwrap();
    // sub/a.conf includes sub/a.conf: the same path, caught at once
    let err = load(&d.path().join("nginx.conf"), &LoadOptions::default()).unwrap_err();
    assert!(matches!(err, LoadError::IncludeCycle { .. }), "{err}");
    // a loop through a differently spelled path: include paths are fixed
    // text resolved against one directory, so the spelling repeats on the
    // next round and the chain is printed
    write(d.path(), "nginx.conf", "http { include loop/x.conf; }\n");
    write(d.path(), "loop/x.conf", "include loop/self/x.conf;\n");
    std::os::unix::fs::symlink(d.path().join("loop"), d.path().join("loop/self")).unwrap();
    let err = load(&d.path().join("nginx.conf"), &LoadOptions::default()).unwrap_err();
    assert!(matches!(err, LoadError::IncludeCycle { .. }), "{err}");
}

#[test]
fn large_globs_parsed_in_parallel_keep_order_and_errors() {
    let d = tempfile::tempdir().unwrap();
    write(d.path(), "nginx.conf", "http { include sites/*.conf; }\n");
    for i in 0..40 {
        write(
            d.path(),
            &format!("sites/{i:03}.conf"),
            &format!("server {{ listen {}; }}\n", 8000 + i),
        );
    }
    let cfg = load(&d.path().join("nginx.conf"), &LoadOptions::default()).unwrap();
    let ports: Vec<String> = cfg
        .nodes
        .iter()
        .filter(|n| n.is("listen"))
        .map(|n| n.arg(0).unwrap().into_owned())
        .collect();
    assert_eq!(
        ports,
        (8000..8040).map(|p| p.to_string()).collect::<Vec<_>>()
    );
    for (i, f) in cfg.files.iter().enumerate().skip(1) {
        assert!(
            f.path.ends_with(format!("sites/{:03}.conf", i - 1)),
            "{}",
            f.path.display()
        );
    }
    // the first broken file in glob order is the one reported
    write(d.path(), "sites/017.conf", "server { listen 1\n}\n");
    write(d.path(), "sites/031.conf", "server {\n");
    let err = load(&d.path().join("nginx.conf"), &LoadOptions::default()).unwrap_err();
    assert!(
        err.to_string()
            .contains("sites/017.conf:2:1: unexpected \"}\""),
        "{err}"
    );
}
