//! Local firewall rules that can break nginx's upstream connections:
//! rules naming a port, and chain policies that drop by default. Parsed
//! from `nft list ruleset` and `iptables -S` / `ip6tables -S` text. This is
//! a reading aid, not a packet-filter emulator: it says which rules
//! mention an upstream's port and which chains drop what no rule accepts.

use serde::Serialize;

/// Where a rule came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FirewallSource {
    /// `nft list ruleset`.
    Nft,
    /// `iptables -S`.
    Iptables,
    /// `ip6tables -S`.
    Ip6tables,
}

/// What a rule does with matching packets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// Let through.
    Accept,
    /// Silently drop (a connect times out: 110).
    Drop,
    /// Refuse with an error (a connect fails at once: 111 or 113).
    Reject,
    /// Jump to another chain, log, or anything else.
    Other,
}

fn verdict_of(word: &str) -> Option<Verdict> {
    Some(match word.to_ascii_lowercase().as_str() {
        "accept" => Verdict::Accept,
        "drop" => Verdict::Drop,
        "reject" => Verdict::Reject,
        _ => return None,
    })
}

/// A port or range a rule matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct PortMatch {
    /// Whether it matches the destination port (else the source port).
    pub destination: bool,
    /// First port.
    pub low: u16,
    /// Last port (equal to `low` for one port).
    pub high: u16,
}

/// A rule that names ports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FirewallRule {
    /// Which tool printed it.
    pub source: FirewallSource,
    /// `inet filter`, `filter`.
    pub table: String,
    /// `output`, `INPUT`.
    pub chain: String,
    /// The rule as printed.
    pub text: String,
    /// Ports it matches.
    pub ports: Vec<PortMatch>,
    /// What it does.
    pub verdict: Verdict,
}

/// A chain's default policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChainPolicy {
    /// Which tool printed it.
    pub source: FirewallSource,
    /// Table.
    pub table: String,
    /// Chain.
    pub chain: String,
    /// The netfilter hook (`output`, `input`) for nft base chains.
    pub hook: Option<String>,
    /// The policy.
    pub policy: Verdict,
}

/// Rules and policies found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct FirewallFacts {
    /// Rules that name ports.
    pub rules: Vec<FirewallRule>,
    /// Every chain's default policy.
    pub policies: Vec<ChainPolicy>,
}

impl FirewallFacts {
    /// Rules whose destination or source ports include `port`.
    pub fn rules_for_port(&self, port: u16) -> Vec<&FirewallRule> {
        self.rules
            .iter()
            .filter(|r| r.ports.iter().any(|p| (p.low..=p.high).contains(&port)))
            .collect()
    }

    /// Chains whose default is to drop or reject (an `OUTPUT` one blocks
    /// every upstream connection no rule accepts).
    pub fn restrictive_policies(&self) -> Vec<&ChainPolicy> {
        self.policies
            .iter()
            .filter(|p| matches!(p.policy, Verdict::Drop | Verdict::Reject))
            .collect()
    }

    /// Add another tool's facts.
    pub fn extend(&mut self, other: FirewallFacts) {
        self.rules.extend(other.rules);
        self.policies.extend(other.policies);
    }
}

fn port_range(s: &str, sep: char) -> Option<(u16, u16)> {
    let s = s
        .trim()
        .trim_matches(|c| c == '{' || c == '}' || c == ',')
        .trim();
    match s.split_once(sep) {
        Some((a, b)) => Some((a.parse().ok()?, b.parse().ok()?)),
        None => s.parse().ok().map(|p| (p, p)),
    }
}

/// Parse `nft list ruleset`.
pub fn parse_nft(text: &str) -> FirewallFacts {
    let mut f = FirewallFacts::default();
    let (mut table, mut chain) = (String::new(), String::new());
    for line in text.lines() {
        let l = line.trim();
        let words: Vec<&str> = l.split_whitespace().collect();
        match words.as_slice() {
            ["table", fam, name, ..] => {
                table = format!("{fam} {name}");
                continue;
            }
            ["chain", name, ..] => {
                chain = (*name).to_string();
                continue;
            }
            ["type", ..] if l.contains(" hook ") => {
                let hook = words
                    .iter()
                    .position(|w| *w == "hook")
                    .and_then(|i| words.get(i + 1))
                    .map(|h| h.to_string());
                if let Some(i) = words.iter().position(|w| *w == "policy")
                    && let Some(v) = words
                        .get(i + 1)
                        .and_then(|p| verdict_of(p.trim_end_matches(';')))
                {
                    f.policies.push(ChainPolicy {
                        source: FirewallSource::Nft,
                        table: table.clone(),
                        chain: chain.clone(),
                        hook,
                        policy: v,
                    });
                }
                continue;
            }
            _ => {}
        }
        let mut ports = Vec::new();
        let mut i = 0;
        while i < words.len() {
            let w = words[i];
            if w == "dport" || w == "sport" {
                let destination = w == "dport";
                let mut j = i + 1;
                if words.get(j) == Some(&"{") || words.get(j).is_some_and(|x| x.starts_with('{')) {
                    // A set: `{ 80, 443, 8000-8080 }`.
                    while j < words.len() {
                        let tok = words[j];
                        if let Some((lo, hi)) = port_range(tok, '-') {
                            ports.push(PortMatch {
                                destination,
                                low: lo,
                                high: hi,
                            });
                        }
                        if tok.ends_with('}') {
                            break;
                        }
                        j += 1;
                    }
                } else if let Some((lo, hi)) = words.get(j).and_then(|t| port_range(t, '-')) {
                    ports.push(PortMatch {
                        destination,
                        low: lo,
                        high: hi,
                    });
                }
                i = j;
            }
            i += 1;
        }
        if ports.is_empty() {
            continue;
        }
        let verdict = words
            .iter()
            .rev()
            .find_map(|w| verdict_of(w))
            .unwrap_or(Verdict::Other);
        f.rules.push(FirewallRule {
            source: FirewallSource::Nft,
            table: table.clone(),
            chain: chain.clone(),
            text: l.to_string(),
            ports,
            verdict,
        });
    }
    f
}

/// Parse `iptables -S` (or `ip6tables -S`) for the `filter` table.
pub fn parse_iptables_s(text: &str, source: FirewallSource) -> FirewallFacts {
    let mut f = FirewallFacts::default();
    for line in text.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["-P", chain, policy, ..] => {
                if let Some(v) = verdict_of(policy) {
                    f.policies.push(ChainPolicy {
                        source,
                        table: "filter".into(),
                        chain: (*chain).to_string(),
                        hook: None,
                        policy: v,
                    });
                }
            }
            ["-A", chain, rest @ ..] => {
                let mut ports = Vec::new();
                let mut verdict = Verdict::Other;
                for (i, w) in rest.iter().enumerate() {
                    let next = rest.get(i + 1).copied().unwrap_or("");
                    let destination = matches!(
                        *w,
                        "--dport" | "--dports" | "--destination-port" | "--destination-ports"
                    );
                    let any = destination
                        || matches!(
                            *w,
                            "--sport" | "--sports" | "--source-port" | "--source-ports"
                        );
                    if any {
                        for part in next.split(',') {
                            if let Some((lo, hi)) = port_range(part, ':') {
                                ports.push(PortMatch {
                                    destination,
                                    low: lo,
                                    high: hi,
                                });
                            }
                        }
                    }
                    if *w == "-j" {
                        verdict = verdict_of(next).unwrap_or(Verdict::Other);
                    }
                }
                if !ports.is_empty() {
                    f.rules.push(FirewallRule {
                        source,
                        table: "filter".into(),
                        chain: (*chain).to_string(),
                        text: line.trim().to_string(),
                        ports,
                        verdict,
                    });
                }
            }
            _ => {}
        }
    }
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nft_rules_and_policies() {
        let t = "table inet filter {\n\tchain input {\n\t\ttype filter hook input priority filter; policy drop;\n\
                 \t\ttcp dport { 22, 80, 443 } accept\n\t}\n\tchain output {\n\
                 \t\ttype filter hook output priority filter; policy accept;\n\
                 \t\tip daddr 127.0.0.1 tcp dport 8000-8010 counter packets 3 bytes 180 reject with tcp reset\n\
                 \t\ttcp sport 9000 drop\n\t}\n}\n";
        let f = parse_nft(t);
        assert_eq!(f.policies.len(), 2);
        assert_eq!(f.restrictive_policies().len(), 1);
        assert_eq!(f.restrictive_policies()[0].hook.as_deref(), Some("input"));
        assert_eq!(f.rules.len(), 3);
        assert_eq!(f.rules[0].ports.len(), 3);
        let r = f.rules_for_port(8005);
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].verdict, Verdict::Reject);
        assert_eq!(r[0].chain, "output");
        assert_eq!(r[0].table, "inet filter");
        assert!(!f.rules[2].ports[0].destination);
    }

    #[test]
    fn iptables_rules_and_policies() {
        let t = "-P INPUT ACCEPT\n-P FORWARD DROP\n-P OUTPUT ACCEPT\n\
                 -A OUTPUT -d 127.0.0.1/32 -p tcp -m tcp --dport 8000 -j DROP\n\
                 -A INPUT -p tcp -m multiport --dports 80,443,9000:9100 -j ACCEPT\n-A INPUT -j LOG\n";
        let f = parse_iptables_s(t, FirewallSource::Iptables);
        assert_eq!(f.policies.len(), 3);
        assert_eq!(f.rules.len(), 2);
        assert_eq!(f.rules_for_port(8000)[0].verdict, Verdict::Drop);
        assert_eq!(f.rules_for_port(9050)[0].chain, "INPUT");
        assert!(f.rules_for_port(22).is_empty());
    }
}
