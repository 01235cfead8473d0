//! Differential test against the real nginx: for each input, `nginx -t`
//! and our parser must agree on acceptance, and on the line and wording of
//! the error. Inputs use only directives Debian's nginx knows, in valid
//! contexts, so any nginx error is a syntax error.

use std::process::Command;

use badgateway_conf::{FileId, parse};

fn cases() -> Vec<(&'static str, String)> {
    let long = |n: usize| "x".repeat(n);
    vec![
        ("long parameter 4095", format!("events{{}} http {{ add_header X-A {};\n}}\n", long(4095))),
        ("long parameter 4096", format!("events{{}} http {{ add_header X-A {};\n}}\n", long(4096))),
        ("long quoted", format!("events{{}} http {{ add_header X-A \"{}\";\n}}\n", long(5000))),
        ("long comment", format!("events{{}}\n# {}\nhttp {{}}\n", long(5000))),
        ("long token after refills", format!("events{{}}\n{}\nhttp {{ add_header X {}; }}\n", "# pad\n".repeat(700), long(4100))),
        ("close at top", "events{}\nhttp {\n}\n}\n".into()),
        ("eof in block", "events{}\nhttp {\n  server {}\n".into()),
        ("eof in statement", "events{}\nhttp {}\nworker_processes 1".into()),
        ("text after quote", "events{}\nhttp { add_header X-A \"a\"b; }\n".into()),
        ("brace after quote", "events{}\nhttp { server { return 200 \"a\"} }\n".into()),
        ("hash after quote", "events{}\nhttp { add_header X \"a\"#c\n; }\n".into()),
        ("block in map", "events{}\nhttp { map $a $b {\n default { }\n}\n}\n".into()),
        ("brace inside word", "events{}\nhttp { server { listen 127.0.0.1:1; location / { return 200 ok}; } } }\n".into()),
        ("lone semicolon", "events{}\n;\n".into()),
        ("quoted directive name", "events{}\n\"http\" { }\n".into()),
        ("if with quotes and paren", "events{}\nhttp { server { listen 127.0.0.1:1; if ($request_uri = \"/a\") { return 404; } } }\n".into()),
        ("eof in quote", "events{}\nhttp { add_header X \"abc\n".into()),
        ("escapes and hashes in words", "events{}\nhttp { add_header X-B a#b\\;c;\n add_header X-C '\\'q\\'';\n}\n".into()),
        ("regex quantifier unquoted", "events{}\nhttp { server { listen 127.0.0.1:1;\n location ~ ^/id/[0-9]{6}$ { return 200; }\n } }\n".into()),
        ("regex quantifier quoted", "events{}\nhttp { server { listen 127.0.0.1:1;\n location ~ \"^/id/[0-9]{6}$\" { return 200; }\n } }\n".into()),
        ("crlf", "events{}\r\nhttp {\r\n add_header X y;\r\n}\r\n}\r\n".into()),
        ("var braces", "events{}\nhttp { server { listen 127.0.0.1:1; set $a ${host}_x; return 200 $a; } }\n".into()),
    ]
}

#[test]
fn our_parser_agrees_with_nginx_t() {
    let Some(nginx) = badgateway_lab::require_nginx() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut disagreements = Vec::new();
    for (name, text) in cases() {
        let path = dir.path().join("t.conf");
        std::fs::write(&path, &text).unwrap();
        let out = Command::new(&nginx)
            .arg("-t")
            .arg("-q")
            .arg("-p")
            .arg(dir.path())
            .arg("-c")
            .arg(&path)
            .arg("-e")
            .arg("/dev/null")
            .arg("-g")
            .arg(format!("pid {}/nginx.pid;", dir.path().display()))
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        // "nginx: [emerg] MESSAGE in PATH:LINE"
        let theirs = stderr.lines().find_map(|l| {
            let rest = l.strip_prefix("nginx: [emerg] ")?;
            let (msg, loc) = rest.rsplit_once(" in ")?;
            Some((loc.rsplit_once(':')?.1.parse::<u32>().ok()?, msg.to_owned()))
        });
        let ours = parse(text.as_bytes(), FileId(0))
            .err()
            .map(|e| (e.line, e.kind.to_string()));
        let agree = match (&ours, &theirs) {
            (None, None) => true,
            (Some((l1, m1)), Some((l2, m2))) => {
                // our message may add advice after nginx's wording, and for a
                // cut regex nginx reports the PCRE failure on the same line
                l1 == l2 && (m1.starts_with(m2.as_str()) || m2.starts_with("pcre"))
            }
            _ => false,
        };
        if !agree {
            disagreements.push(format!(
                "{name}: ours {ours:?}, nginx {theirs:?} ({})",
                stderr.trim()
            ));
        }
    }
    assert!(disagreements.is_empty(), "{}", disagreements.join("\n"));
}
