//! kenv: a language and tool for secure, identical AWS developer environments.
//!
//! The pipeline: `grammar/kenv.pest` → [`syntax`] (typed AST) → [`eval`] (values, desired state)
//! → [`model`] (typed declarations, validated) → the commands in [`cli`].
#![forbid(unsafe_code)]

pub mod aws;
pub mod builtins;
pub mod cli;
pub mod diag;
pub mod eval;
pub mod install;
pub mod model;
pub mod plan;
pub mod remote;
pub mod repl;
pub mod source;
pub mod syntax;

/// An I/O error as a short lowercase phrase ("no such file or directory").
pub fn cli_error_text(e: &std::io::Error) -> String {
    let text = e.to_string();
    let text = text.split(" (os error").next().unwrap_or(&text);
    let mut chars = text.chars();
    match chars.next() {
        Some(c) => c.to_lowercase().chain(chars).collect(),
        None => text.to_string(),
    }
}
