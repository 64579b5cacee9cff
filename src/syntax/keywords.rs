//! The language's words, in one list that a test holds to the grammar: the hard keywords, which
//! are never names, and the soft ones (declaration, statement and clause words), which are names
//! wherever their construct does not parse. The REPL, the language server, `kenv doc` and the fuzz
//! target take them from here.

use super::ast::DeclKind;

/// Never names (the grammar's `keyword` rule).
pub const HARD: &[&str] =
    &["let", "fn", "import", "as", "if", "else", "for", "in", "and", "or", "not", "true", "false", "null", "assert"];

/// Words of a construct, names elsewhere.
pub const SOFT: &[&str] = &[
    "environment",
    "role",
    "policy",
    "sessions",
    "test",
    "with",
    "install",
    "allow",
    "on",
    "ingress",
    "egress",
    "reach",
    "from",
    "to",
    "suppress",
    "because",
    "owner",
    "expires",
    "sha256",
    "grant",
];

/// Every word of the language.
pub fn all() -> impl Iterator<Item = &'static str> {
    HARD.iter().chain(SOFT).copied()
}

/// The words that start a top-level statement.
pub const STATEMENTS: &[&str] =
    &["environment", "role", "policy", "sessions", "let", "fn", "import", "for", "if", "assert", "test"];

impl DeclKind {
    pub const ALL: [DeclKind; 4] = [DeclKind::Environment, DeclKind::Role, DeclKind::Policy, DeclKind::Sessions];

    pub fn keyword(self) -> &'static str {
        match self {
            DeclKind::Environment => "environment",
            DeclKind::Role => "role",
            DeclKind::Policy => "policy",
            DeclKind::Sessions => "sessions",
        }
    }

    pub fn from_keyword(word: &str) -> Option<DeclKind> {
        DeclKind::ALL.into_iter().find(|k| k.keyword() == word)
    }
}

/// The kind of the declaration whose body an offset is in, from the text before it: the
/// innermost unclosed `{` preceded on its line by `environment`, `role` or `policy` (a heuristic
/// for editors and the REPL, on text that may not parse: braces inside strings and comments count
/// too).
pub fn enclosing_declaration(before: &str) -> Option<DeclKind> {
    let mut depth = 0i32;
    for (i, c) in before.char_indices().rev() {
        match c {
            '}' => depth += 1,
            '{' if depth > 0 => depth -= 1,
            '{' => {
                let head = &before[before[..i].rfind('\n').map_or(0, |n| n + 1)..i];
                let words = head.split(|c: char| !c.is_ascii_alphanumeric() && c != '_');
                return words.rev().find_map(DeclKind::from_keyword);
            }
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    /// The words the grammar spells: its `kw_WORD` rules, the hard keywords' alternatives and the
    /// rule directions.
    fn grammar_words() -> (BTreeSet<String>, BTreeSet<String>) {
        let grammar = include_str!("../../grammar/kenv.pest");
        let rules = grammar.lines().filter_map(|l| l.strip_prefix("kw_")?.split_once(' ').map(|(w, _)| w.to_string()));
        let hard_block = grammar.split("keyword_word = _{").nth(1).and_then(|b| b.split('}').next()).unwrap_or("");
        let hard: BTreeSet<String> = hard_block
            .split('"')
            .skip(1)
            .step_by(2)
            .filter(|w| w.chars().all(|c| c.is_ascii_alphabetic()))
            .map(String::from)
            .collect();
        let direction = grammar.lines().find(|l| l.starts_with("direction")).unwrap_or("");
        let directions = direction.split('"').skip(1).step_by(2).map(String::from);
        let every = rules.chain(directions).chain(hard.iter().cloned()).collect();
        (hard, every)
    }

    #[test]
    fn the_list_is_the_grammars() {
        let (hard, every) = grammar_words();
        assert_eq!(HARD.iter().map(|w| w.to_string()).collect::<BTreeSet<_>>(), hard);
        assert_eq!(all().map(String::from).collect::<BTreeSet<_>>(), every);
        assert!(every.len() > 30, "{every:?}");
    }

    #[test]
    fn declaration_keywords_round_trip() {
        for kind in DeclKind::ALL {
            assert_eq!(DeclKind::from_keyword(kind.keyword()), Some(kind));
            assert!(STATEMENTS.contains(&kind.keyword()) && SOFT.contains(&kind.keyword()));
        }
        assert_eq!(enclosing_declaration("role \"r\" {\n  tags = {\n"), None, "inside a record");
        assert_eq!(enclosing_declaration("x = {}\nrole \"r\" {\n  tr"), Some(DeclKind::Role));
    }
}
