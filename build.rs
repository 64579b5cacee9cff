// pest_derive reads grammar/kenv.pest at compile time but does not tell cargo: without this, an
// edited grammar leaves an incremental build with the old parser.
fn main() {
    println!("cargo:rerun-if-changed=grammar/kenv.pest");
}
