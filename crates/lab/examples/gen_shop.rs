//! Regenerates `examples/shop/logs/` by running the real nginx with the
//! shop's configuration against the lab's backends: the PHP-FPM socket the
//! config names does not exist (PHP was upgraded to 8.2), one of the two app
//! servers is down, and the reports service answers after 3 s with a 2 s
//! `proxy_read_timeout`. Client addresses come from `X-Forwarded-For`
//! through nginx's realip module, so every line is nginx's own output; only
//! the lab's temporary paths and ports are rewritten to the config's.
//!
//!     cargo run -p badgateway-lab --example gen_shop -- examples/shop [SECONDS]

use std::path::PathBuf;
use std::time::{Duration, Instant};

use badgateway_lab::{Backend, Fault, Listen, NginxBuilder, free_port, http, require_nginx};

fn main() {
    let mut args = std::env::args().skip(1);
    let out = PathBuf::from(args.next().expect("usage: gen_shop OUT_DIR [SECONDS]"));
    let seconds: u64 = args.next().map_or(150, |s| s.parse().expect("seconds"));
    let bin = require_nginx().expect("nginx is needed");

    let app = Backend::start(&Listen::Tcp("127.0.0.1:0".parse().unwrap()), Fault::Ok).unwrap();
    let app_port = app.addr().unwrap().port();
    let dead_port = free_port();
    let reports = Backend::start(
        &Listen::Tcp("127.0.0.1:0".parse().unwrap()),
        Fault::Slow(Duration::from_millis(3000)),
    )
    .unwrap();
    let reports_port = reports.addr().unwrap().port();

    let format = r#"'$remote_addr - $remote_user [$time_local] "$request" '
                    '$status $body_bytes_sent "$http_referer" "$http_user_agent" '
                    'ua="$upstream_addr" us="$upstream_status" urt="$upstream_response_time"'"#;
    let http_body = format!(
        r#"
    set_real_ip_from 127.0.0.1;
    real_ip_header X-Forwarded-For;
    upstream app {{
        server 127.0.0.1:{app_port};
        server 127.0.0.1:{dead_port};
        keepalive 16;
    }}
    server {{
        listen 127.0.0.1:@LISTEN@ default_server;
        server_name shop.example.com;
        root @PREFIX@/public;
        index index.php;
        location / {{
            try_files $uri $uri/ /index.php?$query_string;
        }}
        location ~ \.php$ {{
            fastcgi_param SCRIPT_FILENAME $document_root$fastcgi_script_name;
            fastcgi_pass unix:@PREFIX@/php8.1-fpm.sock;
        }}
        location /api/ {{
            proxy_pass http://app;
        }}
        location /reports/ {{
            proxy_read_timeout 2s;
            proxy_pass http://127.0.0.1:{reports_port};
        }}
    }}"#
    );
    let nginx = NginxBuilder::new(&bin, http_body)
        .access_format(format)
        .error_level("warn")
        .start()
        .expect("nginx starts");

    let paths = [
        "/",
        "/index.php",
        "/product.php?id=12",
        "/cart",
        "/api/cart",
        "/api/products?page=2",
        "/api/session",
        "/reports/daily",
        "/checkout",
        "/api/cart",
        "/search?q=shoes",
    ];
    let agents = [
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
        "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
        "curl/8.5.0",
    ];
    let start = Instant::now();
    let mut i: u64 = 0;
    while start.elapsed() < Duration::from_secs(seconds) {
        let path = paths[(i as usize * 7) % paths.len()];
        if path.starts_with("/reports/") && !i.is_multiple_of(3) {
            i += 1;
            continue;
        }
        let client = format!("203.0.113.{}", 10 + (i * 37) % 200);
        let agent = agents[(i as usize) % agents.len()];
        let referer = if i.is_multiple_of(2) {
            "https://shop.example.com/"
        } else {
            "-"
        };
        let mut headers = vec![
            ("Host", "shop.example.com"),
            ("X-Forwarded-For", client.as_str()),
            ("User-Agent", agent),
        ];
        if referer != "-" {
            headers.push(("Referer", referer));
        }
        let _ = http::request(nginx.addr(), "GET", path, &headers, Duration::from_secs(10));
        i += 1;
        std::thread::sleep(Duration::from_millis(250));
    }
    assert!(nginx.wait_access_lines(1, Duration::from_secs(5)));
    std::thread::sleep(Duration::from_millis(500));

    let prefix = nginx.prefix().display().to_string();
    let rewrite = |text: String| {
        text.replace(
            &format!("{prefix}/php8.1-fpm.sock"),
            "/run/php/php8.1-fpm.sock",
        )
        .replace(&format!("{prefix}/public"), "/srv/shop/public")
        .replace(&format!("127.0.0.1:{app_port}"), "127.0.0.1:8000")
        .replace(&format!("127.0.0.1:{dead_port}"), "127.0.0.1:8001")
        .replace(&format!("127.0.0.1:{reports_port}"), "127.0.0.1:9100")
        .replace(&format!("127.0.0.1:{}", nginx.port), "0.0.0.0:80")
    };
    std::fs::create_dir_all(out.join("logs")).unwrap();
    std::fs::write(out.join("logs/error.log"), rewrite(nginx.error_log_text())).unwrap();
    std::fs::write(
        out.join("logs/access.log"),
        rewrite(nginx.access_log_text()),
    )
    .unwrap();
    eprintln!("{i} requests written to {}", out.join("logs").display());
}
