//! The INI dialect of `php-fpm.conf` and pool files: `[section]`,
//! `key = value`, `;` comments, quoted values, array keys
//! (`php_admin_value[error_log]`). Pure over text; includes are left to
//! the caller (see [`super::read_fpm_config`]).

use serde::Serialize;

use crate::error::ParseError;

/// One `key = value` line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IniEntry {
    /// The key as written (`pm.max_children`, `env[PATH]`).
    pub key: String,
    /// The value, unquoted, comments removed (`${VAR}` left as written).
    pub value: String,
    /// 1-based line.
    pub line: usize,
}

/// One item of a file, in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum IniItem {
    /// `[name]` opens a section (`global` or a pool name).
    Section {
        /// The name between the brackets.
        name: String,
        /// 1-based line.
        line: usize,
    },
    /// A setting.
    Entry(IniEntry),
}

/// Parse one php-fpm configuration file into its items, in order.
pub fn parse_fpm_conf(text: &str) -> Result<Vec<IniItem>, ParseError> {
    let mut items = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let n = i + 1;
        let line = raw.trim();
        if line.is_empty() || line.starts_with(';') || line.starts_with('#') {
            continue;
        }
        if let Some(rest) = line.strip_prefix('[') {
            let (name, after) = rest
                .split_once(']')
                .ok_or_else(|| ParseError::new(n, "`]` closing the section name", raw))?;
            let after = after.trim();
            if !(after.is_empty() || after.starts_with(';')) {
                return Err(ParseError::new(n, "nothing after `[section]`", raw));
            }
            let name = name.trim();
            if name.is_empty() {
                return Err(ParseError::new(n, "a section name", raw));
            }
            items.push(IniItem::Section {
                name: name.to_string(),
                line: n,
            });
            continue;
        }
        let (key, value) = match split_key(line) {
            Some((k, v)) => (k, Some(v)),
            None => (line, None),
        };
        let key = key.trim();
        if key.is_empty() {
            return Err(ParseError::new(n, "a key before `=`", raw));
        }
        if key.contains(char::is_whitespace) && !key.contains('[') {
            return Err(ParseError::new(n, "`key = value`", raw));
        }
        let value = match value {
            Some(v) => parse_value(v).ok_or_else(|| ParseError::new(n, "a closing quote", raw))?,
            None => String::new(),
        };
        items.push(IniItem::Entry(IniEntry {
            key: key.to_string(),
            value,
            line: n,
        }));
    }
    Ok(items)
}

/// Split at the first `=` outside an array key's brackets.
fn split_key(line: &str) -> Option<(&str, &str)> {
    let mut depth = 0i32;
    for (i, c) in line.char_indices() {
        match c {
            '[' => depth += 1,
            ']' => depth -= 1,
            '=' if depth <= 0 => return Some((&line[..i], &line[i + 1..])),
            _ => {}
        }
    }
    None
}

/// A value: double quotes (with `\"` and `\\`), single quotes (literal), or
/// bare text up to a `;` comment. Quoted pieces and bare text may be
/// concatenated, as PHP's INI scanner allows.
fn parse_value(v: &str) -> Option<String> {
    let mut out = String::new();
    let mut chars = v.trim().chars().peekable();
    let mut bare = String::new();
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                out.push_str(&std::mem::take(&mut bare));
                loop {
                    match chars.next()? {
                        '"' => break,
                        '\\' if matches!(chars.peek(), Some('"' | '\\')) => {
                            out.push(chars.next()?);
                        }
                        c => out.push(c),
                    }
                }
            }
            '\'' => {
                out.push_str(&std::mem::take(&mut bare));
                loop {
                    match chars.next()? {
                        '\'' => break,
                        c => out.push(c),
                    }
                }
            }
            ';' => break,
            c => bare.push(c),
        }
    }
    out.push_str(bare.trim_end());
    Some(out.trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(t: &str) -> Vec<(String, String)> {
        parse_fpm_conf(t)
            .unwrap()
            .into_iter()
            .filter_map(|i| match i {
                IniItem::Entry(e) => Some((e.key, e.value)),
                IniItem::Section { .. } => None,
            })
            .collect()
    }

    #[test]
    fn values_quotes_comments() {
        let t = "; comment\n[www]\nlisten = /run/php/php8.2-fpm.sock ; trailing\n\
                 listen.mode = 0660\nphp_admin_value[error_log] = /var/log/fpm-php.www.log\n\
                 env[PATH] = \"/usr/bin;/bin\"\nslowlog = 'a;b'\nempty =\nflag\n";
        let e = entries(t);
        assert_eq!(e[0], ("listen".into(), "/run/php/php8.2-fpm.sock".into()));
        assert_eq!(e[1].1, "0660");
        assert_eq!(e[2].0, "php_admin_value[error_log]");
        assert_eq!(e[3].1, "/usr/bin;/bin");
        assert_eq!(e[4].1, "a;b");
        assert_eq!(e[5], ("empty".into(), String::new()));
        assert_eq!(e[6], ("flag".into(), String::new()));
        let items = parse_fpm_conf(t).unwrap();
        assert_eq!(
            items[0],
            IniItem::Section {
                name: "www".into(),
                line: 2
            }
        );
    }

    #[test]
    fn errors_carry_lines() {
        assert_eq!(parse_fpm_conf("[www\n").unwrap_err().line, 1);
        assert_eq!(parse_fpm_conf("\n\nx = \"open\n").unwrap_err().line, 3);
        assert_eq!(parse_fpm_conf("= 3\n").unwrap_err().line, 1);
        assert_eq!(parse_fpm_conf("a b = 3\n").unwrap_err().line, 1);
        assert_eq!(parse_fpm_conf("[]\n").unwrap_err().line, 1);
        assert_eq!(parse_fpm_conf("[a] x\n").unwrap_err().line, 1);
    }
}
