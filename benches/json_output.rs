//! kenv's JSON output (`kenv eval --json`) against serde_json's compact writer, on the same value:
//! the `records` a kenv file defines, written into memory 11 times each. Prints the two medians
//! in milliseconds and the two sizes in bytes. Run by bench/perf.sh:
//! `cargo bench --bench json_output -- FILE.kenv`.

use std::time::Instant;

fn main() {
    let path = std::env::args().skip(1).find(|a| a.ends_with(".kenv")).expect("a .kenv file that defines `records`");
    let program = match kenv::eval::load(std::path::Path::new(&path), kenv::eval::Mode::Eval) {
        Ok(program) => program,
        Err(_) => panic!("{path} does not evaluate"),
    };
    let value = program.scope.lookup("records").expect("the file defines `records`");
    let median = |write: &dyn Fn(&mut Vec<u8>)| {
        let mut times = Vec::new();
        let mut size = 0;
        for _ in 0..11 {
            let mut out = Vec::with_capacity(4 << 20);
            let started = Instant::now();
            write(&mut out);
            times.push(started.elapsed().as_secs_f64() * 1e3);
            size = out.len();
        }
        times.sort_by(f64::total_cmp);
        (times[5], size)
    };
    let (kenv_ms, kenv_size) = median(&|out| kenv::cli::write_json(&value, out).unwrap());
    let (serde_ms, serde_size) = median(&|out| serde_json::to_writer(out, &value).unwrap());
    println!("{kenv_ms:.3} {serde_ms:.3} {kenv_size} {serde_size}");
}
