//! Renderers shared by every command: output formats, colour decisions, and
//! the neutralisation of attacker-controlled text before it reaches a
//! terminal. Command-specific renderers live in their own modules.

pub mod escape;
pub mod explain;
pub mod format;
pub mod logs;

pub use escape::{neutralize, neutralize_str};
pub use format::Format;
