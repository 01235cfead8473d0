//! Renderers shared by every command: output formats, colour decisions, and
//! the neutralisation of attacker-controlled text before it reaches a
//! terminal. Command-specific renderers live in their own modules.

pub mod config;
pub mod diagnose;
pub mod escape;
pub mod explain;
pub mod format;
pub mod host;
pub mod logs;
pub mod probe;
pub mod route;
pub mod style;

pub use escape::{neutralize, neutralize_str};
pub use format::Format;
pub use style::Style;
