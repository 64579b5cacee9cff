#![forbid(unsafe_code)]

fn main() {
    std::process::exit(kenv::cli::main());
}
