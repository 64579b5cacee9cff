//! kenv's JSON output (`kenv eval --json [--compact]`) against serde_json writing the same data held
//! as its own `serde_json::Value`: the `records` a kenv file defines, written into memory 21 times
//! each way, in turn. Prints medians: kenv compact ms, serde_json compact ms, their ratio (taken
//! round by round), kenv indented ms, serde_json pretty ms, their ratio, kenv indented against
//! serde_json compact; then the compact and the indented sizes in bytes. Run by bench/perf.sh:
//! `cargo bench --bench json_output -- FILE.kenv`.

use std::time::Instant;

fn main() {
    let path = std::env::args().skip(1).find(|a| a.ends_with(".kenv")).expect("a .kenv file that defines `records`");
    let program = match kenv::eval::load(std::path::Path::new(&path), kenv::eval::Mode::Eval) {
        Ok(program) => program,
        Err(_) => panic!("{path} does not evaluate"),
    };
    let value = program.scope.lookup("records").expect("the file defines `records`");
    let json = value.to_json();
    let write = |how: usize, out: &mut Vec<u8>| match how {
        0 => kenv::model::json::write(&value, true, out).unwrap(),
        1 => serde_json::to_writer(out, &json).unwrap(),
        2 => kenv::model::json::write(&value, false, out).unwrap(),
        _ => serde_json::to_writer_pretty(out, &json).unwrap(),
    };
    // One buffer each, written over in every round (its pages faulted in once); each round writes
    // all four in turn, so that the ratios are taken round by round while the machine's speed drifts.
    let mut outputs: Vec<Vec<u8>> = (0..4).map(|_| Vec::with_capacity(4 << 20)).collect();
    let mut times: Vec<[f64; 4]> = Vec::new();
    for _ in 0..22 {
        let mut round = [0.0; 4];
        for (how, time) in round.iter_mut().enumerate() {
            let out = &mut outputs[how];
            out.clear();
            let started = Instant::now();
            write(how, out);
            *time = started.elapsed().as_secs_f64() * 1e3;
        }
        times.push(round);
    }
    times.remove(0); // the first round faults the buffers' pages in
    assert_eq!(outputs[0], outputs[1], "kenv's compact JSON differs from serde_json's");
    assert_eq!(outputs[2], outputs[3], "kenv's indented JSON differs from serde_json's pretty JSON");
    let median = |f: &dyn Fn(&[f64; 4]) -> f64| {
        let mut xs: Vec<f64> = times.iter().map(f).collect();
        xs.sort_by(f64::total_cmp);
        xs[xs.len() / 2]
    };
    println!(
        "{:.3} {:.3} {:.3} {:.3} {:.3} {:.3} {:.3} {} {}",
        median(&|t| t[0]),
        median(&|t| t[1]),
        median(&|t| t[0] / t[1]),
        median(&|t| t[2]),
        median(&|t| t[3]),
        median(&|t| t[2] / t[3]),
        median(&|t| t[2] / t[1]),
        outputs[0].len(),
        outputs[2].len()
    );
}
