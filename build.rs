// pest_derive reads grammar/kenv.pest at compile time but does not tell cargo: without this, an
// edited grammar leaves an incremental build with the old parser.
fn main() {
    println!("cargo:rerun-if-changed=grammar/kenv.pest");
    // The binary carries the AWS SDK's tens of thousands of relative relocations; packed (RELR),
    // the loader applies them in a fraction of the time, which is most of a short run's start.
    if std::env::var("PROFILE").as_deref() == Ok("release")
        && std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux")
    {
        println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    }
    println!("cargo:rustc-env=KENV_COMMIT={}", commit());
}

/// The commit `kenv --version` names: KENV_COMMIT when set (a build from a source tarball), else
/// git's HEAD (rebuilt when HEAD moves), else "unknown".
fn commit() -> String {
    println!("cargo:rerun-if-env-changed=KENV_COMMIT");
    if let Ok(commit) = std::env::var("KENV_COMMIT") {
        return commit;
    }
    let git = |args: &[&str]| {
        let out = std::process::Command::new("git").args(args).output().ok()?;
        out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
    };
    let Some(commit) = git(&["rev-parse", "--short=12", "HEAD"]) else { return "unknown".into() };
    // Watch HEAD and the branch it names (a file only while not packed); a path that does not
    // exist would rerun this script on every build.
    for path in ["HEAD", "packed-refs"].into_iter().map(String::from).chain(git(&["symbolic-ref", "-q", "HEAD"])) {
        if let Some(file) = git(&["rev-parse", "--git-path", &path]) {
            if std::path::Path::new(&file).exists() {
                println!("cargo:rerun-if-changed={file}");
            }
        }
    }
    commit
}
