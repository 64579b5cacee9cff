//! kenv: a language and tool for secure, identical AWS developer environments.
//!
//! The pipeline: `grammar/kenv.pest` → [`syntax`] (the typed AST) → [`eval`] (the interpreter,
//! which builds [`model`]'s values and typed declarations, validated: the desired state) →
//! [`plan`] (live state read through [`aws`], the diff, apply) → the commands in [`cli`]. The
//! layers run the other way: each module imports only those below it (ARCHITECTURE.md has the
//! order, and `tests/layers.rs` holds it).
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
