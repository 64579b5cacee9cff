//! Command-line flags, parsed by clap. What they mean lives in the command modules.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

/// `kenv --version`: the package's version and the commit it was built from (build.rs).
pub const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), " (commit ", env!("KENV_COMMIT"), ")");

#[derive(Parser, Debug)]
#[command(name = "kenv", version = VERSION, about = "Secure, identical AWS developer environments, declared in one language.")]
#[command(propagate_version = true)]
pub struct Cli {
    /// When to colour diagnostics.
    #[arg(long, global = true, value_enum, default_value_t = Color::Auto)]
    pub color: Color,
    /// Fetch nothing: remote imports come from the cache (pinned content is cached by its hash).
    #[arg(long, global = true)]
    pub offline: bool,
    /// Log every AWS call to stderr: operation, endpoint, duration, attempts, request id (never
    /// a parameter or a value).
    #[arg(short, long, global = true)]
    pub verbose: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Parse, evaluate and validate files and run their policies, without calling AWS (with
    /// --live, also over each stack as it is on AWS). Exit 0 clean, 1 a violation or a
    /// diagnostic, 2 bad usage.
    Check(CheckArgs),
    /// Evaluate a file (printing its desired state) or an expression (printing its value).
    Eval {
        /// A .kenv file; with --expr, the expression sees the file's names.
        file: Option<PathBuf>,
        /// An expression (or statements) to evaluate; it may start with `-` (`-e '-1 + 2'`).
        #[arg(short, long, allow_hyphen_values = true)]
        expr: Option<String>,
        /// Print JSON instead of kenv syntax.
        #[arg(long)]
        json: bool,
        /// With --json: on one line, without spaces (as `jq -c` prints it).
        #[arg(long, requires = "json")]
        compact: bool,
        /// Print how long parsing, evaluation and output took, to stderr.
        #[arg(long, hide = true)]
        timings: bool,
    },
    /// Show what apply would change: the file's desired state against the stack on AWS.
    Plan {
        #[command(flatten)]
        stack: DeployArgs,
        /// Print the plan as JSON.
        #[arg(long)]
        json: bool,
        /// Exit 0 when there is nothing to change, 2 when there is, 1 on an error (for drift
        /// checks in a scheduled job).
        #[arg(long)]
        detailed_exitcode: bool,
        #[command(flatten)]
        named: Named,
    },
    /// Make the stack on AWS what the file declares: show the plan, confirm, apply.
    Apply {
        #[command(flatten)]
        stack: DeployArgs,
        /// Apply without asking.
        #[arg(long, short)]
        yes: bool,
        #[command(flatten)]
        named: Named,
        /// Take over the stack's lock when it has expired (its apply was killed where it could
        /// not release it).
        #[arg(long)]
        break_lock: bool,
    },
    /// Remove everything the stack owns on AWS (what carries its tags).
    Destroy {
        #[command(flatten)]
        stack: DeployArgs,
        /// Destroy without asking.
        #[arg(long, short)]
        yes: bool,
        /// Take over the stack's lock when it has expired.
        #[arg(long)]
        break_lock: bool,
    },
    /// Print the least-privilege IAM policy (JSON) for whoever runs plan, apply or destroy of the
    /// file's stack: reads for plan; writes only on what the stack owns (its tags, its IAM path,
    /// its parameters, the secrets its roles lock); its roles passed to EC2 only.
    IamPolicy {
        #[command(flatten)]
        stack: StackArgs,
        /// The command the policy is for.
        #[arg(long = "for", value_enum, default_value_t = ForCommand::Apply)]
        command: ForCommand,
    },
    /// Run a file as a script: statements in order, AWS reads and writes and commands included
    /// (each write shown and confirmed first).
    Run {
        /// The .kenv script to run.
        file: PathBuf,
        #[command(flatten)]
        aws: AwsArgs,
        /// Go ahead with writes and commands without asking.
        #[arg(long, short)]
        yes: bool,
    },
    /// Try the language and poke at AWS interactively: multi-line input, history, completion,
    /// :commands (:help lists them).
    Repl {
        /// A .kenv file to load first.
        file: Option<PathBuf>,
        #[command(flatten)]
        aws: AwsArgs,
    },
    /// Fetch the file's remote imports (git, https) and pin each by its content's sha256 in
    /// kenv.lock beside the file.
    Lock {
        /// The .kenv file whose imports to pin.
        file: PathBuf,
    },
    /// Rewrite .kenv files in the canonical layout (whitespace only: comments, strings and
    /// meaning are kept).
    Fmt {
        /// Files or directories (default: the current directory); `-` formats stdin to stdout.
        paths: Vec<PathBuf>,
        /// Change nothing; exit 1 naming each file that is not formatted.
        #[arg(long)]
        check: bool,
    },
    /// Run the `test "name" { … }` blocks of .kenv files: each with fixtures of its own (the
    /// declarations it makes), asserting what `violations(policies, fixtures)` finds. Exit 0 when
    /// all pass, 1 when one fails.
    Test {
        /// Files or directories (default: the current directory).
        paths: Vec<PathBuf>,
        /// Run only the tests whose name contains this.
        #[arg(long, value_name = "TEXT")]
        filter: Option<String>,
    },
    /// Show the builtins' documentation (all of them, or one by name), or a template's as
    /// Markdown: `kenv doc team.kenv`.
    Doc {
        /// A builtin's name, a declaration kind (environment, role, policy), or a .kenv file.
        name: Option<String>,
    },
    /// Take an environment or role made before kenv into the stack as the file's declaration of
    /// it: checked against it as far as AWS can say, then tagged; the next plan shows only what
    /// differs.
    Import {
        #[command(flatten)]
        stack: StackArgs,
        /// The declaration it becomes: `environment.NAME` or `role.NAME`.
        address: String,
        /// The Cloud9 environment id (for `kind = ec2`, the instance id; for a role, its name).
        id: String,
    },
    /// Start the stack's stopped environments (all, or those named) and wait until they run.
    Start {
        #[command(flatten)]
        stack: StackArgs,
        /// Environments by name (default: all of the stack's).
        envs: Vec<String>,
    },
    /// Stop the stack's running environments (all, or those named) and wait until they stop.
    Stop {
        #[command(flatten)]
        stack: StackArgs,
        /// Environments by name (default: all of the stack's).
        envs: Vec<String>,
    },
    /// Open a shell on an environment through SSM Session Manager (`aws ssm start-session`);
    /// without the Session Manager plugin, print the command and how to install the plugin.
    Connect {
        #[command(flatten)]
        stack: StackArgs,
        /// The environment's name.
        env: String,
    },
    /// Write SSH host entries for your boxes of the stack (owner or member), tunnelled through
    /// SSM with a key pushed for 60 s at each connection (what VS Code Remote-SSH needs), into
    /// ~/.ssh/config between marker lines: run again, it replaces them.
    SshConfig {
        #[command(flatten)]
        stack: StackArgs,
        /// The SSH config file to write (default: ~/.ssh/config).
        #[arg(long, value_name = "PATH")]
        to: Option<PathBuf>,
        /// The private key ssh uses; its `.pub` is pushed (default: ~/.ssh/kenv_ed25519, made
        /// with ssh-keygen when missing).
        #[arg(long, value_name = "PATH")]
        key: Option<PathBuf>,
        /// Every box of the stack, not only yours (for an administrator).
        #[arg(long)]
        all: bool,
    },
    /// What the entries of `kenv ssh-config` run as ssh's ProxyCommand: push the public key to
    /// the instance with EC2 Instance Connect (valid 60 s), then open an `AWS-StartSSHSession`
    /// session through the Session Manager plugin, carrying ssh's bytes on stdin and stdout.
    SshProxy {
        /// The instance (ssh's `%h`).
        instance: String,
        /// The port on the box (ssh's `%p`).
        #[arg(long, default_value_t = 22)]
        port: u16,
        /// The OS user the key is for (ssh's `%r`).
        #[arg(long, default_value = "ec2-user")]
        user: String,
        /// The public key to push.
        #[arg(long, value_name = "PATH")]
        key: PathBuf,
        #[command(flatten)]
        aws: AwsArgs,
    },
    /// Serve editors as a language server on stdin/stdout (diagnostics as you type, hover,
    /// formatting): what the VS Code extension, Neovim or Helix start.
    Lsp,
    /// Print a completion script for a shell.
    Completions {
        /// The shell to complete for.
        shell: clap_complete::Shell,
    },
    /// Write man pages (kenv.1 and one per command) into a directory, for packaging.
    #[command(hide = true)]
    Man {
        /// The directory to write them to (made when missing).
        dir: PathBuf,
    },
}

/// The file of a stack, its name, and where its AWS is.
#[derive(clap::Args, Debug, Clone)]
pub struct StackArgs {
    /// The .kenv file declaring the stack.
    pub file: PathBuf,
    /// The stack's name, which tags everything it owns (default: the file's name, or its
    /// directory's for a main.kenv).
    #[arg(long)]
    pub stack: Option<String>,
    #[command(flatten)]
    pub aws: AwsArgs,
}

#[derive(clap::Args, Debug, Clone)]
pub struct CheckArgs {
    /// .kenv files and directories; in a directory, the files no other file there imports (its
    /// programs, not their modules).
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// The stack's name, for --live with one file (default: the file's name, or its directory's
    /// for a main.kenv).
    #[arg(long)]
    pub stack: Option<String>,
    #[command(flatten)]
    pub aws: AwsArgs,
    /// How to print the result.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// Read each stack's environments from AWS and give them to the policies as `state.live`
    /// (the baseline then checks what is deployed too: public IPs, routes, endpoints, open
    /// ports added outside kenv).
    #[arg(long)]
    pub live: bool,
    #[command(flatten)]
    pub policies: PolicyArgs,
}

/// The policies a run is held to whatever the file turns on (kenv.lock's `enforce` adds its own).
#[derive(clap::Args, Debug, Clone, Default)]
pub struct PolicyArgs {
    /// Enforce the policies of this module (`std/baseline`, or a .kenv file of policies) whatever
    /// the files turn on; a suppression of one counts only with an owner and an expiry.
    /// Repeatable; KENV_POLICY holds a comma-separated list of them too.
    #[arg(long, value_name = "MODULE", env = "KENV_POLICY", value_delimiter = ',')]
    pub policy: Vec<String>,
    /// Count no suppression: every violation fails.
    #[arg(long)]
    pub no_suppress: bool,
}

/// What plan, apply and destroy share: the stack, the policies enforced, and whether to take
/// over a stack applied from another file.
#[derive(clap::Args, Debug, Clone)]
pub struct DeployArgs {
    #[command(flatten)]
    pub stack: StackArgs,
    #[command(flatten)]
    pub policies: PolicyArgs,
    /// Take over a stack of this name that was applied from another file (another repository,
    /// or another path in it): apply records this file as its origin.
    #[arg(long)]
    pub adopt: bool,
}

/// Protected environments the person names for replacement or deletion.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct Named {
    /// Replace this protected environment (e.g. `environment.kobanzaki-alice`) although its disk
    /// is lost; repeatable.
    #[arg(long, value_name = "ADDRESS")]
    pub replace: Vec<String>,
    /// Delete this protected environment, no longer in the file; repeatable.
    #[arg(long, value_name = "ADDRESS")]
    pub delete: Vec<String>,
}

/// Where to reach AWS; unset, aws-config's chain decides (AWS_PROFILE, AWS_REGION, …).
#[derive(clap::Args, Debug, Clone)]
pub struct AwsArgs {
    /// The AWS profile to use (default: AWS_PROFILE, else `default`).
    #[arg(long)]
    pub profile: Option<String>,
    /// The AWS region to use (default: AWS_REGION, else the profile's).
    #[arg(long)]
    pub region: Option<String>,
    /// Print how many AWS API calls were made, by operation, to stderr.
    #[arg(long)]
    pub stats: bool,
}

impl AwsArgs {
    pub fn options(&self) -> crate::aws::AwsOptions {
        crate::aws::AwsOptions { profile: self.profile.clone(), region: self.region.clone() }
    }
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Human,
    Json,
    /// SARIF 2.1.0, for code scanning (GitHub Actions).
    Sarif,
}

/// What `kenv iam-policy` writes a policy for.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ForCommand {
    /// Plan, and `check --live` (reads only).
    Plan,
    /// Apply (which also deletes what the file no longer declares).
    Apply,
    /// Destroy.
    Destroy,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Color {
    Auto,
    Always,
    Never,
}
