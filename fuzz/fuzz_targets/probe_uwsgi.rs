//! Fuzz the uwsgi packet decoder and the CGI-style head reader shared by
//! uwsgi, SCGI and FastCGI STDOUT, plus encode/decode round trips.
#![no_main]

use badgateway_probe::cgi;
use badgateway_probe::exchange::Exchange;
use badgateway_probe::sniff::Sent;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = cgi::uwsgi_decode(data);
    let head = cgi::parse_head(data);
    if let Some(n) = head.header_bytes {
        assert!(n <= data.len());
    }
    let _ = cgi::is_memcached_reply(data);
    // Round trip: split the input into key/value strings and encode them.
    let text = String::from_utf8_lossy(data);
    let parts: Vec<&str> = text.split('\n').collect();
    let vars: Vec<(&str, &str)> = parts.chunks(2).map(|c| (c[0], *c.get(1).unwrap_or(&""))).collect();
    if let Some(pkt) = cgi::uwsgi_request(&vars) {
        let back = cgi::uwsgi_decode(&pkt).expect("own packets decode");
        assert_eq!(back.len(), vars.len());
    }
    let _ = cgi::scgi_request(&vars);
    for sent in [Sent::UwsgiRequest, Sent::ScgiRequest, Sent::MemcachedVersion] {
        let mut ex = Exchange::new(sent);
        ex.interpret(data);
    }
});
