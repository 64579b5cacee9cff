//! Builtins about the world around the program: environment variables, secrets, failing, types.

use std::rc::Rc;

use super::{Args, Builtin, Effect::Pure};
use crate::diag::{Diag, ErrorKind, Result};
use crate::model::{Context, Mode};
use crate::model::{Secret, SecretPart, SecretRef, SecretStore, Value};

pub const BUILTINS: &[Builtin] = &[
    Builtin {
        name: "env",
        params: &["name: string", "default?"],
        effect: Pure,
        doc: "An environment variable of the kenv process, or `default` (null) when unset.",
        func: env,
    },
    Builtin {
        name: "secret",
        params: &["name"],
        effect: Pure,
        doc:
            "A Secrets Manager secret, by name or ARN, as a secret value: fetched only when an effect needs it, never \
        shown.",
        func: secret,
    },
    Builtin {
        name: "parameter",
        params: &["name"],
        effect: Pure,
        doc: "An SSM SecureString parameter as a secret value: fetched only when an effect needs it, never shown.",
        func: parameter,
    },
    Builtin {
        name: "fail",
        params: &["message"],
        effect: Pure,
        doc: "Stops evaluation with the message, pointing at the call.",
        func: fail,
    },
    Builtin {
        name: "type_of",
        params: &["value"],
        effect: Pure,
        doc: "The name of the value's type: \"int\", \"string\", \"environment\", …",
        func: type_of,
    },
    Builtin {
        name: "print",
        params: &["value"],
        effect: Pure,
        doc: "Prints the value (strings as they are); secrets print as (secret). Output goes to stdout in `kenv run` \
        and the REPL, to stderr elsewhere.",
        func: print,
    },
];

fn env(_: &mut dyn Context, a: &mut Args) -> Result<Value> {
    let name = a.str(0)?;
    Ok(std::env::var(&*name).map(|v| Value::str(&v)).unwrap_or_else(|_| a.value(1)))
}

fn secret_ref(a: &Args, store: SecretStore) -> Result<Value> {
    let name = a.str(0)?;
    if name.is_empty() {
        return a.invalid(0, "the secret's name is empty");
    }
    let r = SecretRef { name, store, span: a.span };
    Ok(Value::Secret(Rc::new(Secret { parts: vec![SecretPart::Ref(r)] })))
}

fn secret(_: &mut dyn Context, a: &mut Args) -> Result<Value> {
    secret_ref(a, SecretStore::SecretsManager)
}

fn parameter(_: &mut dyn Context, a: &mut Args) -> Result<Value> {
    secret_ref(a, SecretStore::Parameter)
}

fn fail(_: &mut dyn Context, a: &mut Args) -> Result<Value> {
    let message = a.value(0).to_text();
    Diag::new(ErrorKind::Fail(message), a.span).err()
}

fn type_of(_: &mut dyn Context, a: &mut Args) -> Result<Value> {
    Ok(Value::str(a.value(0).type_name()))
}

fn print(cx: &mut dyn Context, a: &mut Args) -> Result<Value> {
    let text = a.value(0).to_text();
    if matches!(cx.mode(), Mode::Run | Mode::Repl) {
        cx.host().out(&format!("{text}\n"));
    } else {
        cx.host().err(&format!("{text}\n"));
    }
    Ok(Value::Null)
}
