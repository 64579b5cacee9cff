//! Property tests over the parser and evaluator: arbitrary bytes and token soups must end in a
//! value or diagnostics, never a panic or a stack overflow. `KENV_FUZZ_CASES` sets how many cases
//! each property runs (default 256); run it long with e.g. `KENV_FUZZ_CASES=200000`.

use kenv::eval::{load_text, Mode};
use proptest::prelude::*;

/// What the token soup is made of besides the language's words (`syntax::keywords`).
const OTHER_TOKENS: &[&str] = &[
    "tcp",
    "all",
    "x",
    "y",
    "f",
    "len",
    "range",
    "map",
    "secret",
    "fail",
    "\"std/net\"",
    "\"./a.kenv\"",
    "\"s ${x} t\"",
    "\"\"\"\n a\n \"\"\"",
    "r\"raw\"",
    "0",
    "1",
    "443",
    "99999999999999999999",
    "30m",
    "1h30m",
    "(",
    ")",
    "[",
    "]",
    "{",
    "}",
    ",",
    ":",
    ";",
    ".",
    "=",
    "==",
    "!=",
    "<",
    "<=",
    ">",
    ">=",
    "+",
    "-",
    "*",
    "/",
    "%",
    "++",
    "??",
    "=>",
    "..",
    "\n",
    " ",
    "//c\n",
    "/*c*/",
    "\"10.0.0.0/8\"",
    "\"subnet-0123456789abcdef0\"",
    "\"t3.medium\"",
    "instance_type",
    "image",
    "subnet",
    "with",
    "suppress",
    "because",
    "grant",
    "exec",
    "string",
    "?",
    "environment \"e\"",
];

/// Every keyword of the language, then the other tokens.
fn tokens() -> Vec<&'static str> {
    kenv::syntax::keywords::all().chain(OTHER_TOKENS.iter().copied()).collect()
}

fn cases() -> u32 {
    std::env::var("KENV_FUZZ_CASES").ok().and_then(|s| s.parse().ok()).unwrap_or(256)
}

/// Parses and evaluates on a thread with the stack the CLI gives evaluation (and runs the language
/// server's entry points); what `kenv fmt` writes for text that parses, formatting again must
/// leave as it is.
fn parse_and_eval(text: String) {
    let worker = std::thread::Builder::new().stack_size(512 << 20).spawn(move || {
        for mode in [Mode::Check, Mode::Eval] {
            let _ = load_text("<fuzz>", &text, mode);
        }
        // The language server's entry points: a buffer checked, hovered anywhere, formatted.
        let _ = kenv::lsp::diagnostics(std::path::Path::new("/nonexistent/fuzz.kenv"), &text);
        for line in 0..3 {
            for character in [0, 3, 7, 1000] {
                let _ = kenv::lsp::navigate(
                    std::path::Path::new("/nonexistent/fuzz.kenv"),
                    &text,
                    lsp_types::Position::new(line, character),
                );
            }
        }
        let _ = kenv::lsp::formatting(&text);
        let _ = kenv::lsp::outline(&text, text.len() / 2);
        let sources = kenv::source::SourceMap::default();
        let src = sources.add("<fuzz>", None, text.as_str());
        if kenv::syntax::parse(src, &text).is_ok() {
            // fmt either keeps the syntax tree (it checks) or leaves the file alone; what it
            // writes, it leaves as it is the next time.
            if let Some(formatted) = kenv::syntax::format::format_checked(&text) {
                let again = kenv::syntax::format::format_checked(&formatted);
                assert_eq!(again.as_deref(), Some(formatted.as_str()), "fmt is not idempotent on {text:?}");
            }
        }
    });
    worker.unwrap().join().expect("parse+eval panicked");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        parse_and_eval(String::from_utf8_lossy(&bytes).into_owned());
    }

    #[test]
    fn token_soup_never_panics(tokens in proptest::collection::vec(proptest::sample::select(tokens()), 0..80)) {
        parse_and_eval(tokens.join(" "));
    }

    #[test]
    fn mutated_example_never_panics(cut in 0usize..2000, insert in proptest::sample::select(tokens())) {
        let text = include_str!("../examples/kobanzaki/team.kenv");
        let at = text.char_indices().map(|(i, _)| i).nth(cut % text.chars().count()).unwrap_or(0);
        parse_and_eval(format!("{}{}{}", &text[..at], insert, &text[at..]));
    }
}
