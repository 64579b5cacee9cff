//! What an attribute means, for hover and completion: its row in the declaration kind's
//! attribute table (`model::attribute`), which the manual's tables are made from too, so the
//! manual and the editor say the same.

use crate::model::schema;
use crate::syntax::keywords::enclosing_declaration;

/// The hover of `word` at `start` when it is an attribute being set (`word = …` at the start of
/// a line in a declaration's body).
pub fn hover(text: &str, start: usize, word: &str) -> Option<String> {
    let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
    let after = text[start + word.len()..].trim_start_matches([' ', '\t']);
    if !text[line_start..start].trim().is_empty() || !after.starts_with('=') || after.starts_with("==") {
        return None;
    }
    let kind = enclosing_declaration(&text[..start])?;
    let d = schema(kind).attr(word)?;
    let mut md = format!("```kenv\n{word} = …\n```\n\n*{} attribute*: {}", schema(kind).keyword, d.summary());
    if !d.about.rule.is_empty() {
        md.push_str(&format!("\n\nAWS rule checked: {}", d.about.rule));
    }
    Some(md)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syntax::ast::DeclKind;

    #[test]
    fn every_attribute_has_its_doc() {
        let doc = |attr| schema(DeclKind::Environment).attr(attr).map(|d| (d.about.ty, d.about.rule));
        assert_eq!(doc("auto_stop"), Some(("duration", "0–20160 minutes (`automaticStopTimeMinutes`)")));
        assert!(doc("auto_stopp").is_none());
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
