//! The REPL core, apart from any terminal: input in, text out. `line.rs` puts rustyline in front
//! of it (history, completion, highlighting, hints); tests drive it directly.

mod complete;
mod line;

use std::path::PathBuf;
use std::rc::Rc;

pub use complete::{complete, incomplete};
pub use line::run;

use crate::aws::Aws;
use crate::diag::{self, Style};
use crate::eval::{self, Interp, Mode};
use crate::model::{Scope, Value};

/// A `:command`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Help(Option<String>),
    Type(String),
    Doc(String),
    Load(PathBuf),
    Reload,
    Env,
    Plan,
    Clear,
    Quit,
}

pub const COMMANDS: &[(&str, &str)] = &[
    (":help", ":help [topic]     this help, or a builtin's or command's"),
    (":type", ":type EXPR        the type of an expression's value"),
    (":doc", ":doc NAME         a builtin's documentation, or a stdlib function's doc comment"),
    (":load", ":load FILE        evaluate a file; its names and declarations join the session"),
    (":reload", ":reload           start again from the last loaded file"),
    (":env", ":env              the desired state declared so far"),
    (":plan", ":plan             the loaded file against live AWS (what apply would do)"),
    (":clear", ":clear            forget every name, declaration and the loaded file"),
    (":quit", ":quit             leave (Ctrl-D too)"),
];

impl Command {
    pub fn parse(line: &str) -> Result<Command, String> {
        let line = line.trim();
        let (name, arg) = line.split_once(char::is_whitespace).map_or((line, ""), |(n, a)| (n, a.trim()));
        let need = |what: &str| if arg.is_empty() { Err(format!("{name} needs {what}")) } else { Ok(arg.to_string()) };
        Ok(match name {
            ":help" | ":h" | ":?" => Command::Help((!arg.is_empty()).then(|| arg.to_string())),
            ":type" | ":t" => Command::Type(need("an expression")?),
            ":doc" => Command::Doc(need("a name")?),
            ":load" | ":l" => Command::Load(PathBuf::from(need("a file")?)),
            ":reload" | ":r" => Command::Reload,
            ":env" => Command::Env,
            ":plan" => Command::Plan,
            ":clear" => Command::Clear,
            ":quit" | ":q" | ":exit" => Command::Quit,
            other => {
                let names = COMMANDS.iter().map(|(n, _)| *n);
                let hint = diag::suggest(other, names).map_or(String::new(), |s| format!(" ({s})"));
                return Err(format!("unknown command `{other}`{hint}; :help lists them"));
            }
        })
    }
}

/// What one input did.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Text to show (possibly empty).
    Output(String),
    /// A rendered diagnostic; the session goes on.
    Error(String),
    Quit,
}

pub struct Session {
    pub interp: Interp,
    pub scope: Scope,
    aws: Rc<Aws>,
    file: Option<PathBuf>,
    style: Style,
    inputs: usize,
}

impl Session {
    pub fn new(aws: Rc<Aws>, style: Style) -> Session {
        aws.set_interruptible(true);
        Session {
            interp: Interp::with_aws(Mode::Repl, aws.clone(), false),
            scope: Scope::default(),
            aws,
            file: None,
            style,
            inputs: 0,
        }
    }

    /// Runs one complete input: a `:command`, or kenv statements (the last one's value is shown).
    pub fn input(&mut self, text: &str) -> Outcome {
        let trimmed = text.trim();
        if trimmed.is_empty() {
            return Outcome::Output(String::new());
        }
        if trimmed.starts_with(':') {
            return match Command::parse(trimmed) {
                Ok(c) => self.command(c),
                Err(e) => Outcome::Error(format!("{e}\n")),
            };
        }
        self.inputs += 1;
        let name = format!("<repl:{}>", self.inputs);
        match self.interp.eval_input(&name, text, &mut self.scope) {
            Ok(Some(v)) => Outcome::Output(format!("{}\n", v.to_kenv_pretty(100))),
            Ok(None) => Outcome::Output(String::new()),
            Err(diags) => Outcome::Error(diag::render(&diags, &self.interp.sources, self.style)),
        }
    }

    fn command(&mut self, command: Command) -> Outcome {
        match command {
            Command::Quit => Outcome::Quit,
            Command::Help(None) => {
                let lines: Vec<&str> = COMMANDS.iter().map(|(_, h)| *h).collect();
                Outcome::Output(format!(
                    "Type kenv statements or expressions; an open bracket, string or trailing operator continues on the next line.\n{}\nTab completes; `kenv doc` lists every builtin.\n",
                    lines.join("\n")
                ))
            }
            Command::Help(Some(topic)) => {
                match COMMANDS.iter().find(|(n, _)| n.trim_start_matches(':') == topic.trim_start_matches(':')) {
                    Some((_, help)) => Outcome::Output(format!("{help}\n")),
                    None => self.command(Command::Doc(topic)),
                }
            }
            Command::Doc(name) => match doc(&name) {
                Some(text) => Outcome::Output(text),
                None => Outcome::Error(format!("no builtin or stdlib function named `{name}`\n")),
            },
            Command::Type(expr) => match self.interp.eval_input("<type>", &expr, &mut self.scope) {
                Ok(Some(v)) => Outcome::Output(format!("{}\n", v.type_name())),
                Ok(None) => Outcome::Error(":type needs an expression\n".into()),
                Err(diags) => Outcome::Error(diag::render(&diags, &self.interp.sources, self.style)),
            },
            Command::Env => Outcome::Output(format!("{}\n", self.interp.state.to_value().to_kenv_pretty(100))),
            Command::Clear => {
                self.reset();
                Outcome::Output("cleared\n".into())
            }
            Command::Load(path) => self.load(path),
            Command::Reload => match self.file.clone() {
                Some(path) => self.load(path),
                None => Outcome::Error("nothing loaded yet; :load FILE first\n".into()),
            },
            Command::Plan => self.plan(),
        }
    }

    fn reset(&mut self) {
        self.interp = Interp::with_aws(Mode::Repl, self.aws.clone(), false);
        self.scope = Scope::default();
        self.file = None;
    }

    /// A fresh session from the file: its names and declarations become the session's.
    fn load(&mut self, path: PathBuf) -> Outcome {
        match eval::load_with(&path, Interp::with_aws(Mode::Repl, self.aws.clone(), false)) {
            Ok(program) => {
                let summary = program.state.counts();
                self.interp = program.interp;
                self.interp.state = program.state;
                self.scope = program.scope;
                self.file = Some(path.clone());
                Outcome::Output(format!("loaded {} ({summary})\n", path.display()))
            }
            Err(f) => Outcome::Error(diag::render(&f.diags, &f.sources, self.style)),
        }
    }

    fn plan(&mut self) -> Outcome {
        let Some(path) = self.file.clone() else {
            return Outcome::Error(":plan compares a loaded file with AWS; :load FILE first\n".into());
        };
        let stack = crate::plan::stack_name(&path, None);
        let guard = crate::plan::guard::Guard::of(&self.interp.state);
        match crate::plan::prepare(Some(&self.interp.state), &self.aws, &stack, &guard) {
            Ok(plan) => Outcome::Output(crate::plan::render(&plan)),
            Err(d) => Outcome::Error(diag::render(&[*d], &self.interp.sources, self.style)),
        }
    }

    /// Names in scope, for completion.
    pub fn names(&self) -> Vec<String> {
        self.scope.names().iter().map(|n| n.to_string()).collect()
    }

    /// The value of a name or a dotted path of names (`team.dev_role`), without side effects.
    pub fn value_of(&self, path: &str) -> Option<Value> {
        let mut parts = path.split('.');
        let mut value = self.scope.lookup(parts.next()?)?;
        for field in parts {
            value = match value {
                Value::Record(r) => r.get(field)?.clone(),
                Value::Decl(d) => d.field(field)?,
                _ => return None,
            };
        }
        Some(value)
    }
}

/// A builtin's signature and doc, or a stdlib function's `///` comment.
pub fn doc(name: &str) -> Option<String> {
    if let Some(b) = crate::builtins::get(name) {
        return Some(format!("{}  [{}]\n    {}\n", b.signature(), b.effect.name(), b.doc));
    }
    let (module, func) = name.rsplit_once('.').unwrap_or(("", name));
    for (path, text) in eval::stdlib_sources() {
        if !module.is_empty() && !path.ends_with(module) {
            continue;
        }
        let lines: Vec<&str> = text.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            if line.starts_with(&format!("fn {func}(")) {
                let comment: Vec<&str> = lines[..i]
                    .iter()
                    .rev()
                    .take_while(|l| l.starts_with("///"))
                    .map(|l| l.trim_start_matches("///").trim())
                    .collect();
                // `fn name(params)` ends at the `)` before the body (`) =` or `) {`).
                let end = line.find(") =").or_else(|| line.find(") {")).map_or(line.len(), |i| i + 1);
                let signature = &line[..end];
                let comment: Vec<&str> = comment.into_iter().rev().collect();
                return Some(format!("{path}: {signature}\n    {}\n", comment.join("\n    ")));
            }
        }
    }
    None
}
