//! Location selection, as `ngx_http_core_find_location` does it, level by
//! level: an exact `=` match wins; a prefix location named `uri + "/"` with
//! a `*_pass` answers with the automatic 301; otherwise the longest prefix
//! is remembered and its nested locations are searched first; unless that
//! prefix is `^~`, the regex locations of the level are then tried in
//! config order and the first match wins (and its own nested locations are
//! searched); else the longest prefix stands.

use badgateway_conf::model::{Location, Modifier};

use crate::regex::{Captures, Regex};

/// How the location was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum How {
    /// `location = /x` equal to the URI.
    Exact,
    /// Longest matching prefix.
    Prefix,
    /// First matching regex.
    Regex,
    /// Automatic redirect: the URI is a `/`-terminated proxied location's
    /// name without the slash.
    AutoRedirect,
}

/// The result of a search.
#[derive(Debug, Clone)]
pub struct Found<'m> {
    /// The location in charge.
    pub loc: &'m Location,
    /// How it was found.
    pub how: How,
    /// Regex locations tested that did not match, in order.
    pub regexes_checked: Vec<String>,
    /// Regex locations skipped because the longest prefix was `^~`.
    pub skipped_by_noregex: bool,
    /// The longest prefix at the top level, when a regex won over it.
    pub prefix_before_regex: Option<&'m Location>,
    /// Captures of the matching regex location.
    pub captures: Option<Captures>,
    /// Regexes that could not be evaluated (assumed not to match).
    pub unevaluated: Vec<String>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Rc {
    /// Exact match (or regex match): stop.
    Ok,
    /// Auto-redirect: stop.
    Done,
    /// A prefix matched (`NGX_AGAIN`).
    Again,
    /// Nothing at this level.
    Declined,
}

struct Search<'m> {
    cur: Option<&'m Location>,
    how: How,
    checked: Vec<String>,
    skipped: bool,
    captures: Option<Captures>,
    unevaluated: Vec<String>,
    first_prefix: Option<&'m Location>,
}

/// Find the location for `uri` among a server's top-level locations.
pub fn find<'m>(locations: &'m [Location], uri: &[u8]) -> Option<Found<'m>> {
    let mut s = Search {
        cur: None,
        how: How::Prefix,
        checked: Vec::new(),
        skipped: false,
        captures: None,
        unevaluated: Vec::new(),
        first_prefix: None,
    };
    let rc = level(locations, uri, &mut s, true);
    let loc = s.cur?;
    let how = match rc {
        Rc::Done => How::AutoRedirect,
        _ => s.how,
    };
    Some(Found {
        loc,
        how,
        prefix_before_regex: if how == How::Regex {
            s.first_prefix
        } else {
            None
        },
        regexes_checked: s.checked,
        skipped_by_noregex: s.skipped,
        captures: s.captures,
        unevaluated: s.unevaluated,
    })
}

/// Whether nginx sets `auto_redirect` on this location: its name ends with
/// `/` and it has a `*_pass` of its own.
pub fn auto_redirect(l: &Location) -> bool {
    l.path.ends_with('/')
        && l.pass.is_some()
        && matches!(
            l.modifier,
            Modifier::Prefix | Modifier::PrefixNoRegex | Modifier::Exact
        )
}

fn level<'m>(locs: &'m [Location], uri: &[u8], s: &mut Search<'m>, top: bool) -> Rc {
    let mut rc = Rc::Declined;
    let mut noregex = false;
    if let Some(l) = locs
        .iter()
        .find(|l| l.modifier == Modifier::Exact && l.path.as_bytes() == uri)
    {
        s.cur = Some(l);
        s.how = How::Exact;
        return Rc::Ok;
    }
    let redirect = locs.iter().find(|l| {
        auto_redirect(l) && l.path.len() == uri.len() + 1 && l.path.as_bytes().starts_with(uri)
    });
    if let Some(l) = redirect {
        s.cur = Some(l);
        return Rc::Done;
    }
    let longest = locs
        .iter()
        .filter(|l| matches!(l.modifier, Modifier::Prefix | Modifier::PrefixNoRegex))
        .filter(|l| uri.starts_with(l.path.as_bytes()))
        .max_by_key(|l| l.path.len());
    if let Some(p) = longest {
        s.cur = Some(p);
        s.how = How::Prefix;
        if top {
            s.first_prefix = Some(p);
        }
        noregex = p.modifier == Modifier::PrefixNoRegex;
        rc = level(&p.nested, uri, s, false);
        if matches!(rc, Rc::Ok | Rc::Done) {
            return rc;
        }
        if rc == Rc::Declined {
            rc = Rc::Again;
        }
    }
    let regexes = locs.iter().filter(|l| l.modifier.is_regex());
    if noregex {
        if locs.iter().any(|l| l.modifier.is_regex()) {
            s.skipped = true;
        }
        return rc;
    }
    for r in regexes {
        let caseless = r.modifier == Modifier::RegexCaseless;
        let label = format!("{} {}", r.modifier.as_str(), r.path);
        let re = match Regex::new(r.path.as_bytes(), caseless) {
            Ok(re) => re,
            Err(e) => {
                s.unevaluated.push(format!("{label}: {}", e.reason));
                s.checked.push(label);
                continue;
            }
        };
        match re.captures(uri) {
            Some(c) => {
                s.cur = Some(r);
                s.how = How::Regex;
                s.captures = Some(c);
                // Nested locations of a regex location are searched too;
                // whatever they find, the answer is "found".
                let _ = level(&r.nested, uri, s, false);
                return Rc::Ok;
            }
            None => s.checked.push(label),
        }
    }
    rc
}

#[cfg(test)]
mod tests {
    use super::*;
    use badgateway_conf::{LoadOptions, Model, load};

    fn model(body: &str) -> Model {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("nginx.conf");
        std::fs::write(&p, format!("http {{ server {{ {body} }} }}")).unwrap();
        Model::build(load(&p, &LoadOptions::default()).unwrap(), None)
    }

    fn pick(m: &Model, uri: &str) -> (String, How) {
        let locs = &m.http.as_ref().unwrap().servers[0].locations;
        let f = find(locs, uri.as_bytes()).unwrap();
        (format!("{}{}", f.loc.modifier.as_str(), f.loc.path), f.how)
    }

    #[test]
    fn nginx_order() {
        let m = model(
            r#"
            location / {}
            location = /exact {}
            location /api/ { proxy_pass http://b; }
            location ^~ /static/ {}
            location /app/ { location ~ \.js$ {} location /app/deep/ {} }
            location ~ \.(css|js)$ {}
            location ~* \.PNG$ {}
            "#,
        );
        assert_eq!(pick(&m, "/exact"), ("=/exact".into(), How::Exact));
        assert_eq!(pick(&m, "/exact/x"), ("/".into(), How::Prefix));
        assert_eq!(pick(&m, "/api"), ("/api/".into(), How::AutoRedirect));
        assert_eq!(pick(&m, "/api/x.css"), ("~\\.(css|js)$".into(), How::Regex));
        assert_eq!(
            pick(&m, "/static/x.css"),
            ("^~/static/".into(), How::Prefix)
        );
        assert_eq!(pick(&m, "/app/x.js"), ("~\\.js$".into(), How::Regex));
        assert_eq!(pick(&m, "/app/x.css"), ("~\\.(css|js)$".into(), How::Regex));
        assert_eq!(pick(&m, "/app/deep/x"), ("/app/deep/".into(), How::Prefix));
        assert_eq!(pick(&m, "/x.png"), ("~*\\.PNG$".into(), How::Regex));
    }
}
