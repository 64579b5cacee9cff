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
pub mod host;
pub mod install;
pub mod lsp;
pub mod model;
pub mod plan;
pub mod remote;
pub mod repl;
pub mod source;
pub mod syntax;
