//! The shared corpus of real-world configs: every file either parses, or is
//! rejected with the error nginx (or lua-nginx-module) gives; and on every
//! file both accept, the tree equals `crossplane parse`'s, except where
//! crossplane is known to disagree with nginx (listed with the reason).

use std::collections::BTreeMap;
use std::io::Read;
use std::path::PathBuf;

use badgateway_conf::{FileId, Quote, Stmt, Word, parse};
use serde_json::Value;

/// The shared corpus sits beside the repository (CI), or beside the
/// directory of worktrees.
fn corpus_dir() -> Option<PathBuf> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let dir = root.join("../shared/corpus/nginx-configs");
    let beside_worktrees = root.join("../../shared/corpus/nginx-configs");
    if let Some(found) = [dir.clone(), beside_worktrees]
        .into_iter()
        .find(|d| d.join("MANIFEST.tsv").is_file())
    {
        return Some(found);
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("the shared corpus is missing at {}", dir.display());
    }
    eprintln!("skipping: shared corpus not found at {}", dir.display());
    None
}

fn corpus_files(dir: &std::path::Path) -> Vec<String> {
    let manifest = std::fs::read_to_string(dir.join("MANIFEST.tsv")).unwrap();
    manifest
        .lines()
        .skip(1)
        .map(|l| l.split('\t').next().unwrap().to_owned())
        .collect()
}

/// Files nginx rejects for their syntax, with the line and message nginx
/// (or lua-nginx-module, for `*_by_lua_block` bodies) reports; checked with
/// nginx 1.22.1 where it can be, and against lua-nginx-module's
/// `must_die` tests for the Lua cases.
const REJECTED: &[(&str, u32, &str)] = &[
    (
        "0xJacky__nginx-ui/template/block/drupal-security.conf",
        4,
        "unexpected \",\"",
    ),
    (
        "0xJacky__nginx-ui/template/block/joomla-security.conf",
        4,
        "unexpected \",\"",
    ),
    (
        "0xJacky__nginx-ui/template/block/security-headers.conf",
        4,
        "unexpected \",\"",
    ),
    (
        "kubernetes__ingress-nginx/test/data/cleanConf.expected.conf",
        136,
        "unexpected end of file, expecting \"}\"",
    ),
    (
        "kubernetes__ingress-nginx/test/data/cleanConf.src.conf",
        183,
        "unexpected end of file, expecting \"}\"",
    ),
    (
        "nginxinc__crossplane/tests/configs/includes-globbed/servers/locations/not-included.conf",
        3,
        "unexpected end of file, expecting \";\" or \"}\"",
    ),
    (
        "nginxinc__crossplane/tests/configs/includes-regular/conf.d/bar.conf",
        3,
        "unexpected end of file, expecting \";\" or \"}\"",
    ),
    (
        "nginxinc__crossplane/tests/configs/includes-regular/conf.d/foo.conf",
        3,
        "unexpected end of file, expecting \";\" or \"}\"",
    ),
    (
        "nginxinc__crossplane/tests/configs/missing-semicolon/broken-above.conf",
        5,
        "unexpected \"}\"",
    ),
    (
        "nginxinc__crossplane/tests/configs/missing-semicolon/broken-below.conf",
        8,
        "unexpected \"}\"",
    ),
    (
        "nginxinc__crossplane/tests/configs/quote-behavior/nginx.conf",
        1,
        "unexpected \"-\"",
    ),
    (
        "nginxinc__nginx-go-crossplane/testdata/configs/braces/extra-brace.conf",
        11,
        "unexpected \"}\"",
    ),
    (
        "nginxinc__nginx-go-crossplane/testdata/configs/braces/missing-brace.conf",
        23,
        "unexpected end of file, expecting \"}\"",
    ),
    (
        "nginxinc__nginx-go-crossplane/testdata/configs/includes-regular/conf.d/bar.conf",
        3,
        "unexpected end of file, expecting \";\" or \"}\"",
    ),
    (
        "nginxinc__nginx-go-crossplane/testdata/configs/includes-regular/conf.d/foo.conf",
        3,
        "unexpected end of file, expecting \";\" or \"}\"",
    ),
    (
        "nginxinc__nginx-go-crossplane/testdata/configs/invalid-map/nginx.conf",
        7,
        "unexpected \"{\"",
    ),
    (
        "nginxinc__nginx-go-crossplane/testdata/configs/premature-eof/nginx.conf",
        3,
        "unexpected end of file, expecting \";\" or \"}\"",
    ),
    (
        "openresty__lua-nginx-module/t/014-bugs.t.d/test-046.http_config.conf",
        2,
        "unexpected \"A\"",
    ),
    (
        "openresty__lua-nginx-module/t/132-lua-blocks.t.d/test-010.config.conf",
        3,
        "Lua code block missing the closing long bracket \"]]\"",
    ),
    (
        "openresty__lua-nginx-module/t/132-lua-blocks.t.d/test-011.config.conf",
        3,
        "Lua code block missing the closing long bracket \"]==]\"",
    ),
    (
        "openresty__lua-nginx-module/t/132-lua-blocks.t.d/test-012.config.conf",
        3,
        "Lua code block missing the closing long bracket \"]]\"",
    ),
    (
        "openresty__lua-nginx-module/t/132-lua-blocks.t.d/test-013.config.conf",
        3,
        "Lua code block missing the closing long bracket \"]=]\"",
    ),
    (
        "openresty__lua-nginx-module/t/132-lua-blocks.t.d/test-014.config.conf",
        2,
        "unexpected end of file, expecting terminating characters for lua code block",
    ),
    (
        "openresty__lua-nginx-module/t/132-lua-blocks.t.d/test-024.config.conf",
        3,
        "Lua code block missing the closing long bracket \"]]\"",
    ),
    // Unquoted `{n}` regex quantifiers: nginx ends the regex at `{`, opens a
    // block, and fails on that line — with "unknown directive" for the word
    // after it, or with a PCRE error when the cut regex no longer compiles
    // (0028, 0050); either way the file is rejected at that line.
    (
        "walf443__nginx-lint/crates/nginx-lint-parser/tests/fixtures/test_generated/0021_regex_quantifiers.conf",
        14,
        "unknown directive \"6}$\"",
    ),
    (
        "walf443__nginx-lint/crates/nginx-lint-parser/tests/fixtures/test_generated/0028_regex_complex.conf",
        19,
        "unknown directive \"4})/([0-9]\"",
    ),
    (
        "walf443__nginx-lint/crates/nginx-lint-parser/tests/fixtures/test_generated/0030_regex_edge_cases.conf",
        14,
        "unknown directive \"0,}$\"",
    ),
    (
        "walf443__nginx-lint/crates/nginx-lint-parser/tests/fixtures/test_generated/0050_regex_microservices.conf",
        63,
        "unknown directive \"8}-[0-9a-f]\"",
    ),
];

/// Files both accept where crossplane's tree differs from nginx's, and why.
const CROSSPLANE_DIVERGES: &[(&str, &str)] = &[
    (
        "frappe__frappe_docker/resources/core/nginx/nginx-template.conf",
        "crossplane's ${...} rule swallows the following space and word; nginx ends the word at whitespace",
    ),
    (
        "nginx__nginx-tests/access_log.t.d/nginx.conf",
        "crossplane's ${...} rule swallows the following space and word",
    ),
    (
        "nginxinc__crossplane/tests/configs/messy/nginx.conf",
        "crossplane's ${...} rule swallows the following space and word",
    ),
    (
        "nginxinc__nginx-go-crossplane/testdata/configs/broken1/nginx.conf",
        "crossplane keeps the space after an unclosed ${ in the word",
    ),
    (
        "nginxinc__nginx-go-crossplane/testdata/configs/broken1/nginx2.conf",
        "crossplane keeps the space after an unclosed ${ in the word",
    ),
    (
        "openresty__lua-nginx-module/t/132-lua-blocks.t.d/test-005.config.conf",
        "crossplane does not know Lua long comments --[==[ ]==]; lua-nginx-module does",
    ),
    (
        "openresty__lua-nginx-module/t/132-lua-blocks.t.d/test-009.config.conf",
        "crossplane does not know Lua long strings [[ ]]",
    ),
    (
        "openresty__lua-nginx-module/t/132-lua-blocks.t.d/test-020.config.conf",
        "crossplane does not know Lua long strings [[ ]] holding a quote",
    ),
    (
        "openresty__lua-nginx-module/t/132-lua-blocks.t.d/test-021.config.conf",
        "crossplane does not know Lua long strings [[ ]] holding a quote",
    ),
    (
        "searxng__searxng/utils/templates/etc/nginx/default.apps-available/searxng.conf",
        "crossplane's ${...} rule keeps the following space",
    ),
    (
        "searxng__searxng/utils/templates/etc/nginx/default.apps-available/searxng.conf:socket",
        "crossplane's ${...} rule keeps the following space",
    ),
];

#[test]
fn every_corpus_file_parses_or_is_rejected_like_nginx() {
    let Some(dir) = corpus_dir() else { return };
    let expected: BTreeMap<&str, (u32, &str)> =
        REJECTED.iter().map(|&(p, l, m)| (p, (l, m))).collect();
    let mut accepted = 0;
    let mut problems = Vec::new();
    for path in corpus_files(&dir) {
        let text = std::fs::read(dir.join(&path)).unwrap();
        let result = parse(&text, FileId(0));
        match (result, expected.get(path.as_str())) {
            (Ok(_), None) => accepted += 1,
            (Ok(_), Some(_)) => problems.push(format!("{path}: accepted, nginx rejects it")),
            (Err(e), Some(&(line, msg))) => {
                let got = e.kind.to_string();
                if e.line != line || !got.starts_with(msg) {
                    problems.push(format!("{path}: got {}: {got}, want {line}: {msg}", e.line));
                }
            }
            (Err(e), None) => problems.push(format!(
                "{path}:{}: unexpected rejection: {}",
                e.line, e.kind
            )),
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    eprintln!(
        "corpus: {accepted} accepted, {} rejected like nginx",
        REJECTED.len()
    );
    assert!(accepted >= 680);
}

/// The lexer's fast path gives what its full state machine gives, on every
/// corpus file and on cut-off copies of it (which end in every kind of
/// unfinished token).
#[test]
fn fast_path_matches_the_state_machine_on_the_corpus() {
    let Some(dir) = corpus_dir() else { return };
    for path in corpus_files(&dir) {
        let text = std::fs::read(dir.join(&path)).unwrap();
        let cuts = (0..=16).map(|k| text.len() * k / 16);
        for cut in cuts.chain([text.len().saturating_sub(1)]) {
            let src = &text[..cut];
            assert_eq!(
                parse(src, FileId(0)),
                badgateway_conf::parser::parse_reference(src, FileId(0)),
                "{path} cut at {cut}"
            );
        }
    }
}

fn golden() -> serde_json::Map<String, Value> {
    let gz = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/crossplane-golden.json.gz"
    ))
    .unwrap();
    let mut text = String::new();
    flate2::read::GzDecoder::new(&gz[..])
        .read_to_string(&mut text)
        .unwrap();
    match serde_json::from_str(&text).unwrap() {
        Value::Object(m) => m,
        _ => panic!("golden is not an object"),
    }
}

/// A word as crossplane reports it: bare words raw (escapes kept), quoted
/// words without their quotes and with only `\<same quote>` unescaped.
fn crossplane_value(w: &Word, text: &[u8]) -> String {
    let raw = w.raw(text);
    let bytes: Vec<u8> = match w.quote {
        Quote::None | Quote::LuaBlock => raw.to_vec(),
        Quote::Single | Quote::Double => {
            let q = raw[0];
            let inner = &raw[1..raw.len() - 1];
            let mut out = Vec::with_capacity(inner.len());
            let mut i = 0;
            while i < inner.len() {
                if inner[i] == b'\\' && i + 1 < inner.len() {
                    if inner[i + 1] != q {
                        out.push(b'\\');
                    }
                    out.push(inner[i + 1]);
                    i += 2;
                } else {
                    out.push(inner[i]);
                    i += 1;
                }
            }
            out
        }
    };
    String::from_utf8_lossy(&bytes).into_owned()
}

fn to_crossplane(stmts: &[Stmt], text: &[u8]) -> Value {
    Value::Array(
        stmts
            .iter()
            .map(|s| {
                let name = crossplane_value(&s.name, text);
                let mut args: Vec<String> =
                    s.args.iter().map(|w| crossplane_value(w, text)).collect();
                if name == "if"
                    && !args.is_empty()
                    && args[0].starts_with('(')
                    && args.last().unwrap().ends_with(')')
                {
                    args[0] = args[0][1..].trim_start().to_owned();
                    let last = args.len() - 1;
                    args[last] = args[last][..args[last].len() - 1].trim_end().to_owned();
                    let start = usize::from(args[0].is_empty());
                    let end = args.len() - usize::from(args[last].is_empty());
                    args = args[start..end.max(start)].to_vec();
                }
                let mut item = vec![
                    Value::String(name),
                    Value::Array(args.into_iter().map(Value::String).collect()),
                ];
                if let Some(b) = &s.block {
                    item.push(to_crossplane(b, text));
                }
                Value::Array(item)
            })
            .collect(),
    )
}

/// crossplane emits `["#", []]` entries for comments that sit between a
/// directive's arguments even when comments are off; they are not directives.
fn without_comment_entries(v: &Value) -> Value {
    match v {
        Value::Array(items) if items.len() >= 2 && items[0].is_string() && items[1].is_array() => {
            let mut out = items.clone();
            if let Some(Value::Array(block)) = items.get(2) {
                out[2] = without_comment_entries(&Value::Array(block.clone()));
            }
            Value::Array(out)
        }
        Value::Array(items) => Value::Array(
            items
                .iter()
                .filter(|d| d.get(0).and_then(Value::as_str) != Some("#"))
                .map(without_comment_entries)
                .collect(),
        ),
        other => other.clone(),
    }
}

fn first_difference(ours: &Value, theirs: &Value) -> String {
    match (ours, theirs) {
        (Value::Array(a), Value::Array(b)) => {
            for (x, y) in a.iter().zip(b) {
                if x != y {
                    return first_difference(x, y);
                }
            }
            format!("lengths {} vs {}", a.len(), b.len())
        }
        _ => format!("ours {ours} vs crossplane {theirs}"),
    }
}

#[test]
fn trees_equal_crossplane_where_both_accept() {
    let Some(dir) = corpus_dir() else { return };
    let golden = golden();
    let diverges: BTreeMap<&str, &str> = CROSSPLANE_DIVERGES.iter().copied().collect();
    let (mut equal, mut mismatches) = (0, Vec::new());
    for path in corpus_files(&dir) {
        let Some(tree) = golden.get(&path).and_then(|g| g.get("tree")) else {
            continue;
        };
        let text = std::fs::read(dir.join(&path)).unwrap();
        let Ok(stmts) = parse(&text, FileId(0)) else {
            continue;
        };
        let ours = to_crossplane(&stmts, &text);
        let tree = &without_comment_entries(tree);
        if &ours == tree {
            equal += 1;
            assert!(
                !diverges.contains_key(path.as_str()),
                "{path} is listed as divergent but now agrees"
            );
        } else if !diverges.contains_key(path.as_str()) {
            mismatches.push(format!("{path}: {}", first_difference(&ours, tree)));
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} mismatches:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
    eprintln!(
        "crossplane: {equal} trees equal, {} known divergences",
        CROSSPLANE_DIVERGES.len()
    );
}
