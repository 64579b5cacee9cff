//! The `kenv` command: flags (args.rs) are parsed here and handed to the command modules.

mod args;
mod check;
mod daily;
mod deploy;
mod doc;
mod doc_file;
mod enforce;
mod eval;
mod fmt;
mod iam_policy;
mod lock;
mod progress;
mod report;
mod sarif;
mod script;
mod ssh;
mod summary;
mod test;

use std::io::IsTerminal;

use clap::{CommandFactory, FromArgMatches};

pub use args::{AwsArgs, CheckArgs, Cli, Color, Command, DeployArgs, ForCommand, Format, Named, PolicyArgs, StackArgs};

use crate::diag::{self, Diag, Style};
use crate::host::{Host, Terminal};
use crate::source::SourceMap;

/// Exit codes: 0 ok, 1 a problem with the input (or a failed policy), 2 bad usage.
pub const OK: i32 = 0;
pub const FAILED: i32 = 1;
pub const USAGE: i32 = 2;

/// The stack evaluation runs on: deep but bounded recursion must never overflow it. It is a
/// stack of the main thread's (reserved, not committed, until used), not another thread's: a
/// second thread would get a second malloc arena, which glibc grows a page or two at a time
/// (1,700 `mprotect` calls for the 1,000-environment benchmark, a sixth of its time).
const STACK_BYTES: usize = 512 << 20;

pub fn main() -> i32 {
    let mut command = Cli::command();
    let parsed =
        command.try_get_matches_from_mut(std::env::args_os()).and_then(|mut m| Cli::from_arg_matches_mut(&mut m));
    let cli = match parsed {
        Ok(cli) => cli,
        Err(e) => {
            let e = e.format(&mut command);
            let code = if e.use_stderr() { USAGE } else { OK };
            let _ = e.print();
            return code;
        }
    };
    // The command tree is not needed again: freeing it, node by node, was a tenth of `kenv eval -e 1`.
    std::mem::forget(command);
    let style = style(cli.color);
    crate::remote::set_offline(cli.offline);
    if cli.verbose {
        verbose();
    }
    let worked = std::panic::catch_unwind(move || stacker::grow(STACK_BYTES, move || run(cli.command, style)));
    match worked {
        Ok(code) => code,
        Err(_) => {
            err("kenv: internal error (this is a bug; please report it with the input that caused it)\n");
            FAILED
        }
    }
}

/// `-v`: kenv's own debug events (the AWS calls) to stderr, with the time since start.
fn verbose() {
    use tracing_subscriber::layer::SubscriberExt;
    let only_kenv = tracing_subscriber::filter::Targets::new().with_target("kenv", tracing::Level::DEBUG);
    let log = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_level(false)
        .with_timer(tracing_subscriber::fmt::time::Uptime::default())
        .with_max_level(tracing::Level::DEBUG)
        .finish();
    let _ = tracing::subscriber::set_global_default(log.with(only_kenv));
}

fn run(command: Command, style: Style) -> i32 {
    match command {
        Command::Check(args) => check::run(&args, style),
        Command::Eval { file, expr, json, compact, timings } => {
            let output = if json { eval::Output::Json { compact } } else { eval::Output::Kenv };
            eval::run(file.as_deref(), expr.as_deref(), output, timings, style)
        }
        Command::Plan { stack, json, detailed_exitcode, named } => {
            deploy::plan(&stack, json, detailed_exitcode, &named, style)
        }
        Command::Apply { stack, yes, named, break_lock } => {
            deploy::apply(&stack, &deploy::How { yes, destroy: false, break_lock, named }, style)
        }
        Command::Destroy { stack, yes, break_lock } => {
            deploy::apply(&stack, &deploy::How { yes, destroy: true, break_lock, named: Named::default() }, style)
        }
        Command::Import { stack, address, id } => deploy::import(&stack, &address, &id, style),
        Command::Start { stack, envs } => daily::power(&stack, &envs, true, style),
        Command::Stop { stack, envs } => daily::power(&stack, &envs, false, style),
        Command::Connect { stack, env } => daily::connect(&stack, &env, style),
        Command::SshConfig { stack, to, key, all } => ssh::ssh_config(&stack, to, key, all, style),
        Command::SshProxy { instance, port, user, key, aws } => {
            ssh::ssh_proxy(&instance, port, &user, &key, &aws, style)
        }
        Command::IamPolicy { stack, command } => iam_policy::run(&stack, command, style),
        Command::Run { file, aws, yes } => script::run(&file, &aws, yes, style),
        Command::Lock { file } => lock::run(&file, style),
        Command::Fmt { paths, check } => fmt::run(&paths, check, style),
        Command::Test { paths, filter } => test::run(&paths, filter.as_deref(), style),
        Command::Doc { name: Some(file) } if file.ends_with(".kenv") || std::path::Path::new(&file).is_file() => {
            doc_file::run(std::path::Path::new(&file), style)
        }
        Command::Doc { name } => doc::run(name.as_deref()),
        Command::Repl { file, aws } => {
            let aws = std::rc::Rc::new(crate::aws::Aws::new(aws.options()));
            match crate::repl::run(crate::repl::Session::new(aws, style), file, style) {
                Ok(()) => OK,
                Err(e) => {
                    err(&format!("kenv: cannot start the line editor: {e}\n"));
                    FAILED
                }
            }
        }
        Command::Completions { shell } => {
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "kenv", &mut script);
            out(&String::from_utf8_lossy(&script));
            OK
        }
        Command::Lsp => match lsp() {
            Ok(()) => OK,
            Err(e) => {
                err(&format!("kenv lsp: {e}\n"));
                FAILED
            }
        },
        Command::Man { dir } => match man_pages(&dir) {
            Ok(n) => {
                err(&format!("wrote {n} man pages to {}\n", dir.display()));
                OK
            }
            Err(e) => {
                err(&format!("kenv: cannot write man pages to {}: {e}\n", dir.display()));
                FAILED
            }
        },
    }
}

/// kenv.1 and a page per visible command (kenv-check.1, …); how many were written.
/// `kenv lsp`: the language server on the process's stdio.
fn lsp() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let (connection, io) = lsp_server::Connection::stdio();
    crate::lsp::serve(&connection)?;
    // The writer thread ends when the connection's sender is gone.
    drop(connection);
    io.join()?;
    Ok(())
}

fn man_pages(dir: &std::path::Path) -> std::io::Result<usize> {
    std::fs::create_dir_all(dir)?;
    let mut cli = Cli::command();
    cli.build();
    // Built, each command's display name is its page's: `kenv-check`.
    let pages =
        std::iter::once(&cli).chain(cli.get_subcommands().filter(|s| !s.is_hide_set() && s.get_name() != "help"));
    let mut written = 0;
    for command in pages {
        let mut page = Vec::new();
        clap_mangen::Man::new(command.clone()).render(&mut page)?;
        let name = command.get_display_name().unwrap_or(command.get_name());
        std::fs::write(dir.join(format!("{name}.1")), page)?;
        written += 1;
    }
    Ok(written)
}

fn style(color: Color) -> Style {
    let color = match color {
        Color::Always => true,
        Color::Never => false,
        Color::Auto => std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
    };
    let width = std::env::var("COLUMNS").ok().and_then(|c| c.parse().ok()).unwrap_or(100);
    Style { color, width }
}

/// Writes to stdout (the terminal host's output).
pub fn out(text: &str) {
    Terminal.out(text);
}

/// Writes to stderr.
pub fn err(text: &str) {
    Terminal.err(text);
}

/// Asks a yes/no question on the terminal; false when there is no terminal to ask on.
pub fn ask(question: &str) -> bool {
    Terminal.ask(question)
}

/// Prints diagnostics to stderr; returns the exit code they call for.
pub fn report(diags: &[Diag], sources: &SourceMap, style: Style) -> i32 {
    err(&diag::render(diags, sources, style));
    if diags.iter().any(|d| d.severity == diag::Severity::Error) {
        FAILED
    } else {
        OK
    }
}
