//! `role NAME { trust = […]  managed = […]  allow […] on "…" }`: the IAM role bound to the
//! environments instead of AWS managed temporary credentials.

use std::rc::Rc;
use std::sync::LazyLock;

use super::attribute::{field_count, fields_by_name, fields_of, list_text, opt_quoted};
use super::attribute::{About, Attribute, Change, Compare, Declared, Getter};
use super::validate;
use super::{Allow, Attrs, Children, Decl, Field, FieldList, Suppression};
use crate::aws::LiveRole;
use crate::source::Span;

#[derive(Debug, Clone)]
pub struct Role {
    pub name: Rc<str>,
    /// Principals allowed to assume the role (`ec2.amazonaws.com`, …).
    pub trust: Vec<Rc<str>>,
    /// Managed policy ARNs to attach.
    pub managed: Vec<Rc<str>>,
    /// Secrets Manager secrets (names, or prefixes ending in `*`) that only this role may read:
    /// apply puts a resource policy on each that denies reading it to every other principal.
    pub secrets: Vec<Rc<str>>,
    pub statements: Vec<Rc<Allow>>,
    pub suppressions: Vec<Rc<Suppression>>,
    pub description: Option<Rc<str>>,
    /// A managed policy's ARN: the role's permissions boundary, the most it may ever be allowed
    /// whatever is attached to it.
    pub boundary: Option<Rc<str>>,
    /// The body it was built from, for `with`.
    pub body: Rc<super::DeclBody>,
    pub span: Span,
}

type Row = Attribute<Role, LiveRole>;

impl Declared for Role {
    type Live = LiveRole;
    const ATTRIBUTES: &'static [Row] = &[
        Row {
            about: About {
                name: "trust",
                ty: "list of strings",
                default: "",
                rule: "required: service principals (`ec2.amazonaws.com`) or ARNs: the trust policy's `Principal`",
                words: &[],
            },
            read: |a, r| {
                if a.get("trust").is_none() {
                    a.missing("trust", "[\"ec2.amazonaws.com\"]");
                }
                r.trust = checked_list(a, "trust", validate::trust_principal);
            },
            field: Some(|r| Field::Strs(&r.trust)),
            change: Change::InPlace(Compare { desired: |r, s| s.put(list_text(&r.trust)), live: |l, s| s.put(list_text(&l.trust)) }),
        },
        Row {
            about: About {
                name: "managed",
                ty: "list of strings",
                default: "`[]`",
                rule: "managed policy ARNs (`arn:aws:iam::…:policy/…`), attached to the role",
                words: &[],
            },
            read: |a, r| r.managed = checked_list(a, "managed", validate::policy_arn),
            field: Some(|r| Field::Strs(&r.managed)),
            change: Change::InPlace(Compare {
                desired: |r, s| s.put(list_text(&r.managed)),
                live: |l, s| s.put(list_text(&l.managed)),
            }),
        },
        Row {
            about: About {
                name: "secrets",
                ty: "list of strings",
                default: "`[]`",
                rule: "Secrets Manager names or prefixes ending in `*`; each must match a secret; locked so only this role reads them",
                words: &[],
            },
            read: |a, r| r.secrets = checked_list(a, "secrets", validate::secret_pattern),
            field: Some(|r| Field::Strs(&r.secrets)),
            change: Change::Ignored,
        },
        Row {
            about: About {
                name: "boundary",
                ty: "string",
                default: "",
                rule: "a managed policy ARN (`arn:aws:iam::…:policy/…`): the permissions boundary, the most the role may ever be allowed",
                words: &[],
            },
            read: |a, r| {
                r.boundary = a.string("boundary").map(|(arn, span)| {
                    if let Err(e) = validate::policy_arn(&arn) {
                        a.invalid(span, "boundary", e, None);
                    }
                    arn
                })
            },
            field: Some(|r| Field::opt(&r.boundary)),
            change: Change::InPlace(Compare {
                desired: |r, s| s.put(opt_quoted(r.boundary.as_deref())),
                live: |l, s| s.put(opt_quoted(l.boundary.as_deref())),
            }),
        },
        Row {
            about: About { name: "description", ty: "string", default: "", rule: "the role's IAM description", words: &[] },
            read: |a, r| r.description = a.string("description").map(|(s, _)| s),
            field: Some(|r| Field::opt(&r.description)),
            change: Change::Ignored,
        },
    ];
}

/// What a role shows besides its attributes: its name, statements and suppressions.
const PARTS: [(&str, Getter<Role>); 3] = [
    ("allow", |r| Field::decls(&r.statements, Decl::Allow)),
    ("name", |r| Field::Str(&r.name)),
    ("suppressions", |r| Field::decls(&r.suppressions, Decl::Suppress)),
];

const FIELDS: usize = field_count(Role::ATTRIBUTES, PARTS.len());

static BY_NAME: LazyLock<Vec<(&str, Getter<Role>)>> = LazyLock::new(|| fields_by_name(&PARTS));

impl Role {
    pub fn build(name: Rc<str>, a: &mut Attrs, children: Children) -> Role {
        if let Err(e) = validate::role_name(&name) {
            a.invalid(a.span, "role name", e, None);
        }
        let (statements, suppressions) = (children.allows, children.suppressions);
        let blank = Role {
            name,
            trust: Vec::new(),
            managed: Vec::new(),
            secrets: Vec::new(),
            statements,
            suppressions,
            description: None,
            boundary: None,
            body: Rc::default(),
            span: a.span,
        };
        Role::read_attributes(blank, a)
    }

    /// The allow statements and suppressions it was built with (for `with`).
    pub fn children(&self) -> Children {
        Children { allows: self.statements.clone(), suppressions: self.suppressions.clone(), ..Children::default() }
    }

    pub fn fields(&self) -> FieldList<'_, FIELDS> {
        fields_of(&BY_NAME, self)
    }
}

fn checked_list(a: &mut Attrs, name: &str, check: fn(&str) -> Result<(), String>) -> Vec<Rc<str>> {
    let items = a.strings(name);
    for item in &items {
        if let Err(e) = check(item) {
            a.invalid(a.span_of(name), name, e, None);
        }
    }
    items
}
