//! Team templates shared through git and https: pinned imports, `kenv lock`, the cache and
//! `--offline`, a tampered template refused, and what imported code may do.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use support::{kenv_env, Output};

fn git(dir: &Path, args: &[&str]) {
    support::require("git", "the template tests, which import templates from a git repository");
    let out = Command::new("git")
        .args(["-c", "user.name=kenv", "-c", "user.email=kenv@example.com", "-c", "init.defaultBranch=main"])
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

const TEMPLATE: &str = r#"/// The team's environment. Members pass their name, and may pick a bigger instance.
import "./net.kenv" as net

/// One developer's environment.
fn dev_env(user: string, instance_type: string = "t3.medium") = environment "team-${user}" {
  instance_type       = instance_type
  image               = "amazonlinux-2023-x86_64"
  subnet              = "subnet-0123456789abcdef0"
  connection          = ssm
  auto_stop           = 30m
  managed_credentials = false
  tags                = { owner: user }
  ingress tcp 443 from net.internal "internal GitHub Enterprise"
}
"#;

/// A repository serving the template (and a module it imports) at tag v1.
struct Repo {
    dir: tempfile::TempDir,
}

impl Repo {
    fn new() -> Repo {
        let dir = tempfile::tempdir().unwrap();
        git(dir.path(), &["init", "--quiet"]);
        std::fs::write(dir.path().join("team.kenv"), TEMPLATE).unwrap();
        std::fs::write(dir.path().join("net.kenv"), "let internal = [\"10.0.0.0/8\"]\n").unwrap();
        git(dir.path(), &["add", "."]);
        git(dir.path(), &["commit", "--quiet", "-m", "v1"]);
        git(dir.path(), &["tag", "v1"]);
        Repo { dir }
    }

    fn spec(&self) -> String {
        format!("git+file://{}//team.kenv?ref=v1", self.dir.path().display())
    }

    /// Someone moves the tag to different content.
    fn tamper(&self) {
        let evil = TEMPLATE.replace("connection          = ssm", "connection          = ssh");
        std::fs::write(self.dir.path().join("team.kenv"), evil).unwrap();
        git(self.dir.path(), &["commit", "--quiet", "-am", "not v1"]);
        git(self.dir.path(), &["tag", "--force", "v1"]);
    }
}

/// A member's directory with `main.kenv`, and a cache of its own.
struct Member {
    dir: tempfile::TempDir,
    cache: PathBuf,
}

impl Member {
    fn new(spec: &str, call: &str) -> Member {
        let dir = tempfile::tempdir().unwrap();
        let cache = dir.path().join("cache");
        std::fs::write(dir.path().join("main.kenv"), format!("import \"{spec}\" as team\n{call}\n")).unwrap();
        Member { dir, cache }
    }

    fn kenv(&self, args: &[&str]) -> Output {
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        let vars = [("KENV_CACHE_DIR".to_string(), self.cache.display().to_string())];
        kenv_env(self.dir.path(), &args, "", &vars)
    }

    fn state(&self, extra: &[&str]) -> Value {
        let mut args = extra.to_vec();
        args.extend(["eval", "--json", "main.kenv"]);
        let out = self.kenv(&args);
        assert_eq!(out.code, 0, "{}", out.stderr);
        serde_json::from_str(&out.stdout).unwrap()
    }
}

fn ok(out: Output) -> Output {
    assert_eq!(out.code, 0, "stdout:\n{}\nstderr:\n{}", out.stdout, out.stderr);
    out
}

#[test]
fn members_importing_a_pinned_git_template_get_identical_environments_and_a_tampered_one_fails_its_pin() {
    let repo = Repo::new();
    let alice = Member::new(&repo.spec(), "team.dev_env(\"alice\")");
    let bob = Member::new(&repo.spec(), "team.dev_env(\"bob\", instance_type: \"t3.large\")");

    // Unpinned: refused, with the hash to pin and how.
    let out = alice.kenv(&["check", "main.kenv"]);
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("it is not pinned") && out.stderr.contains("kenv lock"), "{}", out.stderr);

    for m in [&alice, &bob] {
        let out = ok(m.kenv(&["lock", "main.kenv"]));
        assert!(out.stderr.contains("2 remote import(s) pinned"), "{}", out.stderr);
        let lock: Value =
            serde_json::from_str(&std::fs::read_to_string(m.dir.path().join("kenv.lock")).unwrap()).unwrap();
        let pin = &lock["imports"][repo.spec()];
        assert_eq!(pin["sha256"].as_str().unwrap().len(), 64);
        assert_eq!(pin["commit"].as_str().unwrap().len(), 40);
        assert!(lock["imports"][repo.spec().replace("team.kenv", "net.kenv")].is_object(), "{lock}");
    }

    // The same environment, except for what each member passed.
    let env_of = |m: &Member| m.state(&[])["environments"][0].clone();
    let (mut a, mut b) = (env_of(&alice), env_of(&bob));
    assert_eq!((a["name"].as_str(), b["name"].as_str()), (Some("team-alice"), Some("team-bob")));
    assert_eq!((a["instance_type"].as_str(), b["instance_type"].as_str()), (Some("t3.medium"), Some("t3.large")));
    for env in [&mut a, &mut b] {
        let fields = env.as_object_mut().unwrap();
        for param in ["name", "instance_type", "tags"] {
            fields.remove(param);
        }
    }
    assert_eq!(a, b);
    assert_eq!(a["rules"][0]["peers"], serde_json::json!(["10.0.0.0/8"]));

    // Offline after the first fetch: from the cache, same result.
    assert_eq!(alice.state(&["--offline"])["environments"][0]["name"], "team-alice");

    // The tag is moved to other content. Alice's cache holds what she pinned, so she is
    // unaffected; a fresh machine (an empty cache) fetches the new content and refuses it.
    repo.tamper();
    assert_eq!(alice.state(&[])["environments"][0]["connection"], "ssm");
    std::fs::remove_dir_all(&bob.cache).unwrap();
    let out = bob.kenv(&["check", "main.kenv"]);
    assert_eq!(out.code, 1, "{}", out.stdout);
    let pinned = repo_pin(&bob, &repo.spec());
    let flat: String = out.stderr.replace('│', " ").split_whitespace().collect();
    assert!(flat.contains(&format!("doesnotmatchkenv.lock'spin:expectedsha256{pinned},got")), "{}", out.stderr);
    assert!(!out.stdout.contains("team-bob"), "nothing from it was evaluated");
    // … and offline, with nothing cached, it says so.
    let out = bob.kenv(&["--offline", "check", "main.kenv"]);
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("not in the cache"), "{}", out.stderr);
}

fn repo_pin(m: &Member, spec: &str) -> String {
    let lock: Value = serde_json::from_str(&std::fs::read_to_string(m.dir.path().join("kenv.lock")).unwrap()).unwrap();
    lock["imports"][spec]["sha256"].as_str().unwrap().to_string()
}

/// A site over real TLS on 127.0.0.1: a certificate authority made for the test (given to kenv
/// as `SSL_CERT_FILE`, as a company's own CA would be), its files served, and
/// `/moved/PATH` redirecting to `/PATH`.
struct Site {
    dir: tempfile::TempDir,
    server: support::Server,
}

const SITE_SERVER: &str = r#"
import http.server, ssl, sys
class Handler(http.server.SimpleHTTPRequestHandler):
    def do_GET(self):
        if self.path.startswith("/moved/"):
            self.send_response(302)
            self.send_header("Location", self.path[len("/moved"):])
            self.end_headers()
        else:
            super().do_GET()
    def log_message(self, *args):
        pass
server = http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler)
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain("site.pem", "site.key")
server.socket = context.wrap_socket(server.socket, server_side=True)
server.serve_forever()
"#;

impl Site {
    fn new(files: &[(&str, &str)]) -> Site {
        support::require("openssl", "making the certificates of the https import test's site");
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in files {
            std::fs::write(dir.path().join(name), text).unwrap();
        }
        let openssl = |args: &str| {
            let out = Command::new("openssl").args(args.split_whitespace()).current_dir(dir.path()).output().unwrap();
            assert!(out.status.success(), "openssl {args}: {}", String::from_utf8_lossy(&out.stderr));
        };
        openssl("req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=kenv-test-ca -keyout ca.key -out ca.pem");
        openssl("req -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 -keyout site.key -out site.csr");
        std::fs::write(dir.path().join("site.ext"), "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n")
            .unwrap();
        openssl(
            "x509 -req -in site.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -extfile site.ext -out site.pem",
        );
        let server = support::Server::start(dir.path(), Path::new("python3"), &["-c", SITE_SERVER]);
        Site { dir, server }
    }

    fn url(&self, path: &str) -> String {
        format!("https://127.0.0.1:{}/{path}", self.server.port)
    }

    /// kenv run with the site's CA trusted, and no program at all on its PATH (no curl).
    fn kenv(&self, member: &Member, args: &[&str]) -> Output {
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        let vars = [
            ("KENV_CACHE_DIR".to_string(), member.cache.display().to_string()),
            ("SSL_CERT_FILE".to_string(), self.dir.path().join("ca.pem").display().to_string()),
            ("PATH".to_string(), self.dir.path().join("no-programs").display().to_string()),
        ];
        kenv_env(member.dir.path(), &args, "", &vars)
    }
}

/// https imports are fetched by kenv itself (no curl): over TLS checked against the trusted
/// roots, through a redirect, pinned in the import; an untrusted site and a missing file are
/// clear errors.
#[test]
fn an_https_import_pinned_in_the_import_itself() {
    let site = Site::new(&[("team.kenv", TEMPLATE), ("net.kenv", "let internal = [\"10.0.0.0/8\"]\n")]);
    let sha = kenv::remote::sha256(TEMPLATE);
    let member = Member::new(&format!("{}\" sha256 \"{sha}", site.url("moved/team.kenv")), "team.dev_env(\"carol\")");
    // The relative import inside it (net.kenv) comes from the same site and is pinned by lock.
    let out = site.kenv(&member, &["check", "main.kenv"]);
    assert!(out.stderr.contains("/net.kenv") && out.stderr.contains("not pinned"), "{}", out.stderr);
    ok(site.kenv(&member, &["lock", "main.kenv"]));
    assert_eq!(member.state(&[])["environments"][0]["name"], "team-carol");
    // A wrong inline pin is refused even by `kenv lock`: the file's own pin is not overridden.
    let wrong =
        Member::new(&format!("{}\" sha256 \"{}", site.url("team.kenv"), "0".repeat(64)), "team.dev_env(\"dan\")");
    let out = site.kenv(&wrong, &["lock", "main.kenv"]);
    assert_eq!(out.code, 1);
    let flat: String = out.stderr.replace('│', " ").split_whitespace().collect();
    assert!(flat.contains("doesnotmatchtheimport'spin"), "{}", out.stderr);
    // Without the site's CA among the trusted roots, TLS fails, and nothing is imported.
    let untrusted = Member::new(&format!("{}\" sha256 \"{sha}", site.url("team.kenv")), "team.dev_env(\"erin\")");
    let out = untrusted.kenv(&["lock", "main.kenv"]);
    assert_eq!(out.code, 1);
    assert!(out.stderr.to_lowercase().contains("certificate"), "{}", out.stderr);
    let missing = Member::new(&format!("{}\" sha256 \"{sha}", site.url("gone.kenv")), "team.dev_env(\"fay\")");
    let out = site.kenv(&missing, &["lock", "main.kenv"]);
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("HTTP 404 Not Found"), "{}", out.stderr);
}

#[test]
fn imported_code_runs_commands_only_when_granted() {
    let dir = tempfile::tempdir().unwrap();
    let module = "fn hello() = run_step(install \"hello\" = \"echo hello from the template\")\n";
    std::fs::write(dir.path().join("tpl.kenv"), module).unwrap();
    let run = |import: &str| {
        std::fs::write(dir.path().join("main.kenv"), format!("{import}\ntpl.hello()\n")).unwrap();
        let args: Vec<String> = ["run", "--yes", "main.kenv"].map(String::from).to_vec();
        kenv_env(dir.path(), &args, "", &[])
    };
    let refused = run("import \"./tpl.kenv\" as tpl");
    assert_eq!(refused.code, 1);
    assert!(refused.stderr.contains("kenv::not-granted"), "{}", refused.stderr);
    assert!(!refused.stdout.contains("hello from the template"));
    let granted = ok(run("import \"./tpl.kenv\" as tpl grant exec"));
    assert_eq!(granted.stdout, "hello from the template\n");
    // A function the program itself defines may run commands; passing it to imported code that
    // calls it back does not lend the import the effect.
    std::fs::write(dir.path().join("tpl.kenv"), "fn call(f) = f()\n").unwrap();
    std::fs::write(
        dir.path().join("main.kenv"),
        "import \"./tpl.kenv\" as tpl\nfn mine() = run_step(install \"mine\" = \"echo mine\")\ntpl.call(mine)\n",
    )
    .unwrap();
    let args: Vec<String> = ["run", "--yes", "main.kenv"].map(String::from).to_vec();
    let out = kenv_env(dir.path(), &args, "", &[]);
    assert_eq!(out.code, 1, "{}", out.stdout);
    assert!(out.stderr.contains("kenv::not-granted"), "{}", out.stderr);
}

#[test]
fn doc_renders_a_templates_parameters_and_declarations_as_markdown() {
    let dir = support::cases_dir();
    let out = kenv_env(&dir, &["doc".to_string(), "fixtures/typed-template.kenv".to_string()], "", &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let md = out.stdout;
    assert!(md.starts_with("# typed-template.kenv\n\n## Functions\n\n"), "{md}");
    assert!(md.contains("### `make(user: string, size: string = \"t3.medium\", extra_ports: list = [])`\n\nThe team's environment: `user` names it; `size` is the only thing a member may choose.\n"), "{md}");
    assert!(md.contains("| `user` | string | (required) |\n| `size` | string | `\"t3.medium\"` |"), "{md}");
    assert!(md.contains("Declares environment `tpl-${user}`:"), "{md}");
    assert!(md.contains("| `instance_type` | `size` |"), "{md}");
    let out = kenv_env(&dir, &["doc".to_string(), "fixtures/nope.kenv".to_string()], "", &[]);
    assert_eq!(out.code, 1);
}
