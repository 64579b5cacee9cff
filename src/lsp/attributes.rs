//! What an attribute means, for hover: its row in the attribute table of `docs/language.md`
//! (its type and the AWS rule it is checked against), so the manual and the editor say the same.

use crate::model::schema;
use crate::syntax::ast::DeclKind;

const LANGUAGE: &str = include_str!("../../docs/language.md");

/// An attribute's type and rule, from the table in the section `### KEYWORD`.
pub fn doc(kind: DeclKind, attr: &str) -> Option<(&'static str, &'static str)> {
    let keyword = schema(kind).keyword;
    let section = LANGUAGE.split("\n### ").find(|s| s.strip_prefix(keyword).is_some_and(|r| r.starts_with('\n')))?;
    let section = section.split("\n#").next()?;
    let row = format!("| `{attr}` |");
    section.lines().find_map(|line| {
        let (ty, rule) = line.strip_prefix(row.as_str())?.trim_end().trim_end_matches('|').split_once('|')?;
        Some((ty.trim(), rule.trim()))
    })
}

/// The hover of `word` at `start` when it is an attribute being set (`word = …` at the start of
/// a line in a declaration's body).
pub fn hover(text: &str, start: usize, word: &str) -> Option<String> {
    let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
    let after = text[start + word.len()..].trim_start_matches([' ', '\t']);
    if !text[line_start..start].trim().is_empty() || !after.starts_with('=') || after.starts_with("==") {
        return None;
    }
    let kind = super::outline::enclosing_declaration(&text[..start])?;
    let (ty, rule) = doc(kind, word)?;
    let rule = if rule.is_empty() { String::new() } else { format!("\n\nAWS rule checked: {rule}") };
    Some(format!("```kenv\n{word} = …\n```\n\n*{} attribute*: {ty}{rule}", schema(kind).keyword))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_manual_documents_every_attribute() {
        let kinds = [DeclKind::Environment, DeclKind::Role, DeclKind::Policy];
        let all = kinds.into_iter().flat_map(|k| schema(k).attrs.iter().map(move |a| (k, *a)));
        let missing: Vec<String> =
            all.filter(|(k, a)| doc(*k, a).is_none()).map(|(k, a)| format!("{} {a}", k.keyword())).collect();
        assert!(missing.is_empty(), "docs/language.md has no table row for: {missing:?}");
        let (ty, rule) = doc(DeclKind::Environment, "auto_stop").unwrap();
        assert_eq!((ty, rule), ("duration", "0–20160 minutes (`automaticStopTimeMinutes`)"));
    }

    #[test]
    fn hover_on_an_attribute_being_set() {
        let text = "environment \"dev\" {\n  auto_stop = 30m\n  x = auto_stop\n}\n";
        let at = text.find("auto_stop").unwrap();
        let md = hover(text, at, "auto_stop").unwrap();
        assert!(md.contains("*environment attribute*: duration") && md.contains("automaticStopTimeMinutes"), "{md}");
        assert_eq!(hover(text, text.rfind("auto_stop").unwrap(), "auto_stop"), None, "a use is no attribute");
    }
}
