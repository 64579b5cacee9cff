//! The REPL: its core (no terminal) and the real binary in a pseudo-terminal (a terminal emulator reads its screen).

mod support;

use support::term::Term;

use std::rc::Rc;
use std::time::{Duration, Instant};

use kenv::aws::{Aws, AwsOptions};
use kenv::diag::Style;
use kenv::repl::{complete, incomplete, Outcome, Session};

fn session() -> Session {
    Session::new(Rc::new(Aws::new(AwsOptions::default())), Style { color: false, width: 100 })
}

fn output(s: &mut Session, text: &str) -> String {
    match s.input(text) {
        Outcome::Output(out) => out,
        other => panic!("{text:?} gave {other:?}"),
    }
}

#[test]
fn unfinished_input_is_detected_by_the_real_parser() {
    for open in
        ["fn f(x) =", "let x = [1,", "{ a: 1,", "1 +", "\"abc", "\"\"\"\nline", "f(", "/* comment", "\"${x", "if x {"]
    {
        assert!(incomplete(open), "{open:?} should continue");
    }
    for done in [
        "1 + 2",
        "let x = [1, 2]",
        "fn f(x) = x",
        "\"a(b\"",
        "r\"[\"",
        "// (",
        "let s = \"${1 + 2}\"",
        ":help",
        "1 +* 2",
    ] {
        assert!(!incomplete(done), "{done:?} is complete (or wrong, which the parser then says)");
    }
}

#[test]
fn completion_offers_what_fits_where_the_cursor_is() {
    let mut s = session();
    output(&mut s, "let team = { members: [\"al\"], region: \"jp\" }\nlet teammate = 1");
    let (at, got) = complete(&s, "tea");
    assert_eq!((at, got), (0, vec!["team".to_string(), "teammate".to_string()]));
    let (at, got) = complete(&s, "len(team.r");
    assert_eq!((at, got), (9, vec!["region".to_string()]));
    let (_, got) = complete(&s, "jo");
    assert_eq!(got, ["join"]);
    let (_, got) = complete(&s, "ingr");
    assert_eq!(got, ["ingress"]);
    // Every keyword of the language (`with`, `grant`, `test`, …), and inside a declaration's
    // body its attributes and the words they take, from its attribute table.
    let has = |before: &str, word: &str| complete(&s, before).1.iter().any(|c| c == word);
    assert!(has("wit", "with") && has("gra", "grant") && has("tes", "test"));
    assert!(has("environment \"x\" {\n  instance_t", "instance_type"));
    assert!(has("environment \"x\" {\n  kind = ec", "ec2"));
    assert!(!has("instance_t", "instance_type"), "attributes only inside a declaration");
    let (at, got) = complete(&s, ":re");
    assert_eq!((at, got), (0, vec![":reload".to_string()]));
    let (at, got) = complete(&s, "import \"std/c");
    assert_eq!((at, got), (8, vec!["std/c1ws".to_string()]));
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("team.kenv"), "let x = 1\n").unwrap();
    let prefix = format!(":load {}/te", dir.path().display());
    let (at, got) = complete(&s, &prefix);
    assert_eq!((at, got), (6, vec![format!("{}/team.kenv", dir.path().display())]));
}

#[test]
fn every_command_works_and_errors_leave_the_session_going() {
    let mut s = session();
    assert!(output(&mut s, ":help").contains(":plan"));
    assert!(output(&mut s, ":help doc").starts_with(":doc NAME"));
    assert_eq!(output(&mut s, ":type [1, 2]"), "list\n");
    assert!(output(&mut s, ":doc cidr_subnet").starts_with("cidr_subnet(cidr, newbits, netnum)  [pure]"));
    assert!(output(&mut s, ":doc list.find").starts_with("std/list: fn find(items, f)\n"));
    let Outcome::Error(unknown) = s.input(":reloda") else { panic!() };
    assert_eq!(unknown, "unknown command `:reloda` (did you mean `:reload`?); :help lists them\n");

    // An error shows the diagnostic pointing into what was typed; what came before is kept.
    output(&mut s, "let keep = 41");
    let Outcome::Error(err) = s.input("keep + nope") else { panic!() };
    assert!(err.contains("unknown name `nope`") && err.contains("1 │ keep + nope"), "{err}");
    assert_eq!(output(&mut s, "keep + 1"), "42\n");

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("dev.kenv");
    std::fs::write(&file, "let size = \"t3.small\"\nrole \"r\" { trust = [\"ec2.amazonaws.com\"] }\n").unwrap();
    assert!(output(&mut s, &format!(":load {}", file.display())).starts_with("loaded "));
    assert_eq!(output(&mut s, "size"), "\"t3.small\"\n");
    assert!(output(&mut s, ":env").contains("name: \"r\""));
    std::fs::write(&file, "let size = \"t3.large\"\n").unwrap();
    output(&mut s, ":reload");
    assert_eq!(output(&mut s, "size"), "\"t3.large\"\n");
    assert_eq!(output(&mut s, ":clear"), "cleared\n");
    assert!(matches!(s.input("size"), Outcome::Error(_)));
    assert!(matches!(s.input(":plan"), Outcome::Error(e) if e.contains(":load FILE first")));
    assert!(matches!(s.input("let t = secret(\"team/token\")\nt"), Outcome::Output(o) if o == "(secret)\n"));
    assert_eq!(s.input(":quit"), Outcome::Quit);
}

#[test]
fn the_repl_in_a_terminal_takes_multi_line_input_completes_recovers_and_keeps_history() {
    let home = tempfile::tempdir().unwrap();
    let mut t = Term::start(home.path());
    // A function over two lines: the trailing `=` keeps the input open.
    t.keys(&["fn double(x) =", "Enter"]);
    t.keys(&["  x * 2", "Enter"]);
    // Completion: `doub` + Tab becomes `double`.
    t.keys(&["doub", "Tab"]);
    t.wait_for("kenv> double");
    t.keys(&["(21)", "Enter"]);
    t.wait_for("42");
    t.keys(&["double(nope)", "Enter"]);
    t.wait_for("unknown name `nope`");
    t.keys(&["double(4) + 1", "Enter"]);
    t.wait_for("\n9\n");
    t.keys(&[":quit", "Enter"]);
    let started = Instant::now();
    while !t.gone() {
        assert!(started.elapsed() < Duration::from_secs(10), "the REPL did not quit");
        std::thread::sleep(Duration::from_millis(50));
    }
    let history = std::fs::read_to_string(home.path().join("data/kenv/history")).unwrap();
    assert!(history.contains("double(21)") && history.contains("double(4) + 1"), "{history}");

    // The next start has it: Up recalls the last input.
    drop(t);
    let mut t = Term::start(home.path());
    t.keys(&["Up"]);
    t.wait_for("kenv> :quit");
    t.keys(&["Up"]);
    t.wait_for("kenv> double(4) + 1");
}

/// Typeahead: lines typed (or pasted) at once, or while a result is printing, are each read and
/// answered in order, none lost.
#[test]
fn lines_typed_ahead_are_each_answered_in_order() {
    let home = tempfile::tempdir().unwrap();
    let mut t = Term::start(home.path());
    t.wait_for("kenv> ");
    t.keys(&["undefined_x + 1\r3 * 3\r4 * 4\r"]);
    let screen = t.wait_for("\n16\n");
    let at = |text: &str| screen.find(text).unwrap_or_else(|| panic!("no `{text}` in:\n{screen}"));
    assert!(at("unknown name `undefined_x`") < at("\n9\n") && at("\n9\n") < at("\n16\n"), "{screen}");
}

#[test]
fn ctrl_c_cancels_a_running_aws_call_and_the_session_goes_on() {
    // An endpoint that accepts connections and never answers: the call waits until cancelled.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let held: Vec<_> = listener.incoming().take(16).collect();
        std::thread::sleep(Duration::from_secs(60));
        drop(held);
    });
    let home = tempfile::tempdir().unwrap();
    let endpoint = format!("http://127.0.0.1:{port}");
    let vars = [
        ("AWS_ENDPOINT_URL", endpoint.as_str()),
        ("AWS_REGION", "ap-northeast-1"),
        ("AWS_ACCESS_KEY_ID", "x"),
        ("AWS_SECRET_ACCESS_KEY", "y"),
    ];
    let mut t = Term::start_with(home.path(), &vars);
    t.keys(&["aws_whoami()", "Enter"]);
    std::thread::sleep(Duration::from_millis(1500));
    t.keys(&["C-c"]);
    t.wait_for("AWS: cancelled (Ctrl-C)");
    t.keys(&["6 * 7", "Enter"]);
    t.wait_for("\n42\n");
}

#[test]
fn aws_builtins_work_in_the_repl_through_the_default_credential_chain() {
    let tb = support::testbed::testbed();
    let dir = tempfile::tempdir().unwrap();
    let input = "let me = aws_whoami()\nme.account\nlen(ec2_subnets({ \"subnet-id\": \"".to_string()
        + &tb.subnet_id
        + "\" }))\n:quit\n";
    let out = support::kenv_env(dir.path(), &["repl".into()], &input, &tb.env(dir.path()));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stdout, "\"123456789012\"\n1\n");
}

#[test]
fn repl_plan_is_the_plan_of_kenv_plan_install_steps_included() {
    let tb = support::testbed::testbed();
    let dir = tempfile::tempdir().unwrap();
    let mut vars = tb.env(dir.path());
    vars.extend(support::stack::example_vars(tb).into_iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let example = support::repo_dir().join("examples/kobanzaki/main.kenv");
    let input = format!(":load {}\n:plan\n:quit\n", example.display());
    let repl = support::kenv_env(dir.path(), &["repl".into()], &input, &vars);
    assert_eq!(repl.code, 0, "{}", repl.stderr);
    let plan = support::kenv_env(dir.path(), &["plan".into(), example.display().to_string()], "", &vars);
    assert_eq!(plan.code, 0, "{}", plan.stderr);
    assert!(plan.stdout.contains("install.kobanzaki-alice.c1ws"), "{}", plan.stdout);
    let shown = repl.stdout.split_once('\n').map_or("", |(_, rest)| rest);
    assert_eq!(shown, plan.stdout);
}

#[test]
fn apply_on_a_terminal_keeps_a_live_line_per_environment_and_leaves_each_ones_last_state() {
    let tb = support::testbed::fresh();
    let home = tempfile::tempdir().unwrap();
    let envs: String = ["term-a", "term-b"]
        .iter()
        .map(|name| {
            format!(
                "environment \"{name}\" {{\n  kind = cloud9\n  instance_type = \"t3.small\"\n  \
                 image = \"amazonlinux-2023-x86_64\"\n  subnet = \"{}\"\n  connection = ssm\n  \
                 install \"hello\" = \"echo hello\"\n}}\n",
                tb.subnet_id
            )
        })
        .collect();
    std::fs::write(home.path().join("stack.kenv"), envs).unwrap();
    let vars = tb.env(home.path());
    let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let mut t = Term::spawn(home.path(), &["apply", "--yes", "stack.kenv"], &vars);
    let screen = t.wait_for("Apply complete");
    for env in ["term-a", "term-b"] {
        let line = screen.lines().find(|l| l.trim_start().contains(&format!("{env} "))).unwrap_or_default();
        assert!(line.contains("install step `hello` done"), "no live line for {env} in:\n{screen}");
    }
    // The log's lines are there too, above the live ones.
    assert!(screen.contains("created environment.term-a"), "{screen}");
    let started = Instant::now();
    while !t.gone() {
        assert!(started.elapsed() < Duration::from_secs(10), "apply did not exit:\n{}", t.screen());
        std::thread::sleep(Duration::from_millis(50));
    }
}
