//! Lexer and parser tests: each pins one rule of nginx's tokenizer.

use crate::ast::{FileId, Quote, Stmt};
use crate::error::SyntaxError;
use crate::parser::parse;

fn p(src: &str) -> Vec<Stmt> {
    parse(src.as_bytes(), FileId(0)).unwrap_or_else(|e| panic!("{src:?}: {e}"))
}

fn words(s: &Stmt) -> Vec<String> {
    std::iter::once(&s.name)
        .chain(&s.args)
        .map(|w| w.text().into_owned())
        .collect()
}

fn err(src: &str) -> (u32, SyntaxError) {
    let e = parse(src.as_bytes(), FileId(0)).expect_err(src);
    (e.line, e.kind)
}

#[test]
fn bare_words_quotes_and_escapes() {
    let s = p(r#"add_header X-A "a b;{}#" 'c\'d' e\ f g\$h "\t\n\x";"#);
    assert_eq!(
        words(&s[0]),
        [
            "add_header",
            "X-A",
            "a b;{}#",
            "c'd",
            "e\\ f",
            "g\\$h",
            "\t\n\\x"
        ]
    );
    assert_eq!(s[0].args[1].quote, Quote::Double);
    let src = br#"add_header X-A "a b;{}#" 'c\'d' e\ f g\$h "\t\n\x";"#;
    assert_eq!(s[0].args[1].raw(src), br#""a b;{}#""#);
}

#[test]
fn close_brace_does_not_end_a_word() {
    let s = p("return 200 ok};");
    assert_eq!(words(&s[0]), ["return", "200", "ok}"]);
    // so a missing ';' swallows the closing brace and fails at EOF
    assert_eq!(
        err("server { return 200 ok}\n").1,
        SyntaxError::EofInStatement
    );
}

#[test]
fn dollar_brace_stays_in_word() {
    let s = p("set $a ${host}_x;");
    assert_eq!(words(&s[0]), ["set", "$a", "${host}_x"]);
    let s = p("proxy_pass http://$upstream_host:8080$request_uri;");
    assert_eq!(s[0].args.len(), 1);
}

#[test]
fn unquoted_regex_quantifier_opens_a_block_like_nginx() {
    // nginx reads `^/id/[0-9]` then `{`, then the directive `6}$`, which it
    // rejects as unknown on that line
    let (line, kind) = err("server {\n location ~ ^/id/[0-9]{6}$ { }\n}\n}");
    assert_eq!(line, 2);
    assert_eq!(kind, SyntaxError::BraceInName("6}$".into()));
    // quoted, it is one word
    let s = p("location ~ \"^/id/[0-9]{6}$\" { }");
    assert_eq!(words(&s[0]), ["location", "~", "^/id/[0-9]{6}$"]);
    // inside map, keys are data
    let s = p("map $a $b { ~a}b 1; }");
    assert_eq!(s.len(), 1);
}

#[test]
fn text_after_closing_quote_is_an_error() {
    assert_eq!(
        err("add_header X-A \"a\"b;"),
        (1, SyntaxError::Unexpected('b'))
    );
    assert_eq!(err("return 200 \"a\"}"), (1, SyntaxError::Unexpected('}')));
    // ')' is allowed, for if conditions
    let s = p("if ($a = \"b\") { }");
    assert_eq!(words(&s[0]), ["if", "($a", "=", "b", ")"]);
}

#[test]
fn comments_only_at_token_start() {
    let s = p("location ~* (?:#.*#|\\.bak)$ { } # trailing\n# whole line\nx a#b;");
    assert_eq!(words(&s[0]), ["location", "~*", "(?:#.*#|\\.bak)$"]);
    assert_eq!(words(&s[1]), ["x", "a#b"]);
    // comments between arguments
    let s = p("gzip_types # comment ;\n text/css;");
    assert_eq!(words(&s[0]), ["gzip_types", "text/css"]);
}

#[test]
fn structural_errors_with_nginx_lines() {
    assert_eq!(err("a;\n}\n"), (2, SyntaxError::UnexpectedClose));
    assert_eq!(err("http {\n  a;\n"), (3, SyntaxError::EofInBlock));
    assert_eq!(err("a b"), (1, SyntaxError::EofInStatement));
    assert_eq!(err(";"), (1, SyntaxError::Unexpected(';')));
    assert_eq!(err("\n\n{"), (3, SyntaxError::Unexpected('{')));
    assert_eq!(err("a b }"), (1, SyntaxError::Unexpected('}')));
    assert_eq!(
        err("map $a $b {\n x { }\n}"),
        (2, SyntaxError::Unexpected('{'))
    );
}

#[test]
fn crlf_and_non_utf8() {
    let src = b"user www-data;\r\nserver_name \xff\xfe.example;\r\n";
    let s = parse(src, FileId(0)).unwrap();
    assert_eq!(s.len(), 2);
    assert_eq!(&*s[1].args[0].value, b"\xff\xfe.example");
    assert_eq!(s[1].name.span.line, 2);
}

#[test]
fn too_long_parameter_at_4096_bytes() {
    let ok = format!("a {};\n", "x".repeat(4095));
    assert_eq!(p(&ok)[0].args[0].value.len(), 4095);
    let long = format!("a {};\n", "x".repeat(4096));
    assert!(matches!(err(&long).1, SyntaxError::TooLongParameter(_)));
    let q = format!("a \"{};\n", "x".repeat(5000));
    assert_eq!(err(&q).1, SyntaxError::TooLongQuoted('"'));
    // a long comment line hits the same limit in nginx
    let c = format!("# {}\na;", "x".repeat(5000));
    assert!(matches!(err(&c).1, SyntaxError::TooLongParameter(_)));
    // at the very end of the file the parameter is an EOF error instead
    let eof = "x".repeat(4096);
    assert_eq!(err(&eof).1, SyntaxError::EofInStatement);
}

#[test]
fn lua_blocks_are_raw() {
    let s = p("content_by_lua_block {\n  ngx.say(\"}\") -- }\n  local t = {a = [[}]]}\n}\nx;");
    assert_eq!(s[0].args.len(), 1);
    assert_eq!(s[0].args[0].quote, Quote::LuaBlock);
    assert!(s[0].args[0].text().contains("[[}]]"));
    assert_eq!(words(&s[1]), ["x"]);
    let s = p("set_by_lua_block $res { return 1 }");
    assert_eq!(words(&s[0]), ["set_by_lua_block", "$res", " return 1 "]);
    // a lua_block name as an argument is just a word
    let s = p("server_name content_by_lua_block;");
    assert_eq!(words(&s[0]), ["server_name", "content_by_lua_block"]);
    assert_eq!(
        err("content_by_lua_block {\n --[[ unclosed\n}\n").1,
        SyntaxError::LuaLongBracket("]]".into())
    );
    assert_eq!(err("content_by_lua_block {\n f()\n").1, SyntaxError::LuaEof);
}

#[test]
fn deep_nesting_is_an_error_not_a_crash() {
    let src = "a {".repeat(100_000);
    assert_eq!(err(&src).1, SyntaxError::TooDeep(crate::parser::MAX_DEPTH));
}

#[test]
fn spans_are_line_and_column() {
    let s = p("http {\n    server { listen 80; }\n}");
    let server = &s[0].block.as_ref().unwrap()[0];
    assert_eq!((server.name.span.line, server.name.span.col), (2, 5));
    let listen = &server.block.as_ref().unwrap()[0];
    assert_eq!((listen.args[0].span.line, listen.args[0].span.col), (2, 21));
}

/// The lexer's fast path and its full state machine give the same
/// statements, spans and errors.
fn same_as_reference(src: &[u8]) {
    let fast = parse(src, FileId(0));
    let slow = crate::parser::parse_reference(src, FileId(0));
    assert_eq!(fast, slow, "{:?}", String::from_utf8_lossy(src));
}

#[test]
fn fast_path_agrees_on_tricky_shapes() {
    let cases: &[&[u8]] = &[
        b"a ${{x}} ${y}z $ ${ $$ $;",
        b"a \"b\")c;",
        b"if ($a = \"b\") { return 1; }",
        b"a 'b'c;",
        b"a \"b\"#c\n;",
        b"a b#c;\n# comment\nd;",
        b"a\\\nb c\\ d \"e\\\nf\" '\\'';",
        b"a } b;",
        b"a;}",
        b"}",
        b";",
        b"{",
        b"a {",
        b"a { b; } }",
        b"a \"unterminated",
        b"a",
        b"a # comment to eof",
        b"x_by_lua_block { ngx.say(\"}\") } y;",
        b"map $a $b { default 1; x { } }",
        b"location ~ ^/[0-9]{6}$ { }",
        b"a\r\n\tb;\r\n",
    ];
    for c in cases {
        same_as_reference(c);
    }
    // Tokens, comments and quotes across nginx's 4096-byte buffer edge.
    for pad in 4080..4100 {
        for tail in [
            &b"abc def;\n"[..],
            b"\"q u o t e d\";",
            b"# comment\na b;",
            b"${v} x;",
        ] {
            let mut src = b"x ".to_vec();
            src.extend(std::iter::repeat_n(b'y', pad - 2));
            src.extend_from_slice(b";\n");
            src.extend_from_slice(tail);
            same_as_reference(&src);
            let mut long = vec![b'a'; pad];
            long.extend_from_slice(tail);
            same_as_reference(&long);
        }
    }
}

#[test]
fn fast_path_agrees_on_generated_inputs() {
    const PIECES: &[&[u8]] = &[
        b" ",
        b"\n",
        b"\t",
        b"\r",
        b";",
        b"{",
        b"}",
        b"\"",
        b"'",
        b"\\",
        b"$",
        b"#",
        b"a",
        b"bc",
        b"(",
        b")",
        b"x_by_lua_block",
        b"map",
        b"types",
        b"$v",
        b"${",
        b"\"s\"",
        b"include",
        b"        ",
        b"long_word_over_eight",
        b"\x0b",
        b"\x00",
        b"\xc3\xa9",
        b"!",
    ];
    // A fixed linear congruential generator: the same inputs every run.
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = move || {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (state >> 33) as usize
    };
    for _ in 0..40_000 {
        let n = next() % 32;
        let mut src = Vec::new();
        for _ in 0..n {
            src.extend_from_slice(PIECES[next() % PIECES.len()]);
        }
        same_as_reference(&src);
    }
}
