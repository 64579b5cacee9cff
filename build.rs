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
}
