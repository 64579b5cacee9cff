//! kenv's JSON output (`kenv eval --json [--compact]`) against serde_json writing the same data held
//! as its own `serde_json::Value`: the `records` a kenv file defines, written into memory 11 times
//! each way. Prints the medians in milliseconds of kenv compact, serde_json compact, kenv
//! indented and serde_json pretty, then the compact and the indented sizes in bytes. Run by
//! bench/perf.sh: `cargo bench --bench json_output -- FILE.kenv`.

use std::time::Instant;

fn main() {
    let path = std::env::args().skip(1).find(|a| a.ends_with(".kenv")).expect("a .kenv file that defines `records`");
    let program = match kenv::eval::load(std::path::Path::new(&path), kenv::eval::Mode::Eval) {
        Ok(program) => program,
        Err(_) => panic!("{path} does not evaluate"),
    };
    let value = program.scope.lookup("records").expect("the file defines `records`");
    let json = value.to_json();
    let median = |write: &dyn Fn(&mut Vec<u8>)| {
        let mut times = Vec::new();
        let mut out = Vec::new();
        for _ in 0..11 {
            out = Vec::with_capacity(4 << 20);
            let started = Instant::now();
            write(&mut out);
            times.push(started.elapsed().as_secs_f64() * 1e3);
        }
        times.sort_by(f64::total_cmp);
        (times[5], out)
    };
    let (kenv_compact, compact) = median(&|out| kenv::cli::write_json(&value, true, out).unwrap());
    let (serde_compact, theirs) = median(&|out| serde_json::to_writer(out, &json).unwrap());
    assert_eq!(compact, theirs, "kenv's compact JSON differs from serde_json's");
    let (kenv_indented, indented) = median(&|out| kenv::cli::write_json(&value, false, out).unwrap());
    let (serde_pretty, theirs) = median(&|out| serde_json::to_writer_pretty(out, &json).unwrap());
    assert_eq!(indented, theirs, "kenv's indented JSON differs from serde_json's pretty JSON");
    println!(
        "{kenv_compact:.3} {serde_compact:.3} {kenv_indented:.3} {serde_pretty:.3} {} {}",
        compact.len(),
        indented.len()
    );
}
