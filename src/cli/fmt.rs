//! `kenv fmt [--check] [PATHS]`: rewrites .kenv files in the canonical layout
//! (`syntax::format`). A file that does not parse is reported and left as it is; `-` formats
//! stdin to stdout.

use std::io::Read;
use std::path::{Path, PathBuf};

use super::{err, out, report, FAILED, OK};
use crate::diag::{Diag, ErrorKind, Style};
use crate::source::SourceMap;
use crate::syntax::{format::format_checked, parse};

pub fn run(paths: &[PathBuf], check: bool, style: Style) -> i32 {
    if paths.len() == 1 && paths[0] == Path::new("-") {
        let mut text = String::new();
        if let Err(e) = std::io::stdin().read_to_string(&mut text) {
            err(&format!("kenv: cannot read stdin: {e}\n"));
            return FAILED;
        }
        return match formatted("<stdin>", None, &text, style) {
            Some(new) if check && new != text => {
                err("<stdin> is not formatted\n");
                FAILED
            }
            Some(new) => {
                if !check {
                    out(&new);
                }
                OK
            }
            None => FAILED,
        };
    }
    let mut files = Vec::new();
    let defaults = [PathBuf::from(".")];
    for path in if paths.is_empty() { &defaults[..] } else { paths } {
        collect(path, &mut files);
    }
    let mut code = OK;
    let mut changed = 0;
    for file in &files {
        let text = match crate::eval::read_source(file) {
            Ok(t) => t,
            Err(d) => {
                code = report(&[*d], &SourceMap::default(), style).max(FAILED);
                continue;
            }
        };
        let Some(new) = formatted(&file.display().to_string(), Some(file), &text, style) else {
            code = FAILED;
            continue;
        };
        if new == text {
            continue;
        }
        changed += 1;
        if check {
            err(&format!("not formatted: {}\n", file.display()));
            code = FAILED;
        } else if let Err(e) = std::fs::write(file, &new) {
            let diag = Diag::bare(ErrorKind::Io { path: file.display().to_string(), reason: e.to_string() });
            code = report(&[diag], &SourceMap::default(), style).max(FAILED);
        } else {
            err(&format!("formatted: {}\n", file.display()));
        }
    }
    if check && changed > 0 {
        err(&format!("{changed} of {} file(s) would be reformatted by `kenv fmt`\n", files.len()));
    }
    code
}

/// The text formatted, or None (with its syntax errors reported) when it does not parse.
fn formatted(name: &str, path: Option<&Path>, text: &str, style: Style) -> Option<String> {
    let sources = SourceMap::default();
    let src = sources.add(name, path, text);
    if let Err(diags) = parse(src, text) {
        report(&diags, &sources, style);
        err(&format!("{name}: not formatted, it does not parse\n"));
        return None;
    }
    let out = format_checked(text);
    if out.is_none() {
        err(&format!("{name}: not formatted: laying it out would change what it means (a bug in kenv fmt; the file is left as it is)\n"));
    }
    out
}

/// The .kenv files at a path: the file itself, or those under a directory (hidden ones and
/// `target` skipped), in order.
pub(super) fn collect(path: &Path, out: &mut Vec<PathBuf>) {
    if !path.is_dir() {
        out.push(path.to_path_buf());
        return;
    }
    let Ok(entries) = std::fs::read_dir(path) else { return };
    let mut entries: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    entries.sort();
    for entry in entries {
        let name = entry.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        if name.starts_with('.') || name == "target" {
            continue;
        }
        if entry.is_dir() {
            collect(&entry, out);
        } else if name.ends_with(".kenv") {
            out.push(entry);
        }
    }
}
