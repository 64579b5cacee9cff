//! Builtins over AWS: reads (cached for the rest of the evaluation) and writes (confirmed first).
//! Their results are records whose fields each builtin's doc lists (`kenv doc NAME`), made from
//! the typed AWS reads by their serialized shape. Errors point at the call.

use std::rc::Rc;

use super::{Args, Builtin, Effect::ReadsAws, Effect::WritesAws};
use serde::Serialize;

use crate::aws::{Aws, AwsError, Cloud9Env, ErrorClass, Filters, GroupRule};
use crate::diag::{Diag, Result};
use crate::model::typed::{string_items, Strings, Typed};
use crate::model::Context;
use crate::model::{record, Decl};
use crate::model::{Record, Secret, SecretPart, SecretRef, SecretStore, Value};

pub const BUILTINS: &[Builtin] = &[
    Builtin {
        name: "aws_whoami",
        params: &[],
        effect: ReadsAws,
        doc: "Who the credentials belong to: `{account, arn, user_id}` (STS GetCallerIdentity).",
        func: whoami,
    },
    Builtin {
        name: "aws_region",
        params: &[],
        effect: ReadsAws,
        doc: "The region kenv talks to (from --region, AWS_REGION or the profile).",
        func: region,
    },
    Builtin {
        name: "cloud9_environments",
        params: &[],
        effect: ReadsAws,
        doc: "Every Cloud9 environment: `{id, name, description, arn, owner, connection, managed_credentials, \
        lifecycle, instance}` where `instance` is its EC2 instance id (or null).",
        func: cloud9_environments,
    },
    Builtin {
        name: "cloud9_environment",
        params: &["id: string"],
        effect: ReadsAws,
        doc: "One Cloud9 environment by id, with the fields of `cloud9_environments`.",
        func: cloud9_environment,
    },
    Builtin {
        name: "ec2_instances",
        params: &["filters?"],
        effect: ReadsAws,
        doc: "Instances matching EC2 filters (a record: `{\"vpc-id\": \"vpc-…\", \"tag:owner\": [\"alice\"]}`): `{id, \
        type, state, image, subnet, vpc, private_ip, public_ip, security_groups, tags, instance_profile, metadata: \
        {tokens, hop_limit, endpoint}}`.",
        func: ec2_instances,
    },
    Builtin {
        name: "ec2_instance",
        params: &["id: string"],
        effect: ReadsAws,
        doc: "One instance by id, with the fields of `ec2_instances`.",
        func: ec2_instance,
    },
    Builtin {
        name: "ec2_security_groups",
        params: &["filters?"],
        effect: ReadsAws,
        doc: "Security groups matching EC2 filters: `{id, name, description, vpc, ingress, egress, tags}`; each rule \
        is `{direction, protocol, from_port, to_port, peer, description}`.",
        func: ec2_security_groups,
    },
    Builtin {
        name: "ec2_security_group",
        params: &["id: string"],
        effect: ReadsAws,
        doc: "One security group by id, with the fields of `ec2_security_groups`.",
        func: ec2_security_group,
    },
    Builtin {
        name: "ec2_subnets",
        params: &["filters?"],
        effect: ReadsAws,
        doc: "Subnets matching EC2 filters: `{id, vpc, cidr, availability_zone, public_ip_on_launch, tags}`.",
        func: ec2_subnets,
    },
    Builtin {
        name: "ec2_route_tables",
        params: &["filters?"],
        effect: ReadsAws,
        doc: "Route tables matching EC2 filters: `{id, vpc, main, subnets, routes: [{destination, target}]}`.",
        func: ec2_route_tables,
    },
    Builtin {
        name: "ec2_vpcs",
        params: &["filters?"],
        effect: ReadsAws,
        doc: "VPCs matching EC2 filters: `{id, cidr, default, tags}`.",
        func: ec2_vpcs,
    },
    Builtin {
        name: "ec2_vpc_endpoints",
        params: &["filters?"],
        effect: ReadsAws,
        doc: "VPC endpoints matching EC2 filters: `{id, vpc, service, type, state, subnets}`.",
        func: ec2_vpc_endpoints,
    },
    Builtin {
        name: "ec2_authorize",
        params: &["group: string", "rules"],
        effect: WritesAws,
        doc: "Adds security group rules (`ingress …`/`egress …` values, or records like those `ec2_security_groups` \
        returns) to a group, one call per direction; rules already there count as added.",
        func: ec2_authorize,
    },
    Builtin {
        name: "ec2_revoke",
        params: &["group: string", "rules"],
        effect: WritesAws,
        doc: "Removes security group rules from a group, one call per direction.",
        func: ec2_revoke,
    },
    Builtin {
        name: "iam_role",
        params: &["name: string"],
        effect: ReadsAws,
        doc: "An IAM role: `{name, arn, path, trust, managed, instance_profiles, tags}` (`trust` lists the services \
        that may assume it; `managed` the attached policy ARNs).",
        func: iam_role,
    },
    Builtin {
        name: "ssm_parameter",
        params: &["name: string"],
        effect: ReadsAws,
        doc:
            "An SSM parameter's value: a string (a list for StringList); a SecureString comes back as a secret value, \
        never shown.",
        func: ssm_parameter,
    },
    Builtin {
        name: "ssm_session_preferences",
        params: &[],
        effect: ReadsAws,
        doc: "The account's Session Manager preferences in the region (the `SSM-SessionManagerRunShell` document), \
        or null when none were ever set: `{version, log_group, s3_bucket, kms_key, log_group_encrypted, \
        s3_encrypted, idle_timeout, max_duration, run_as, held_by}` (timeouts as durations; `held_by`: the stack \
        whose `sessions` they are, or null).",
        func: ssm_session_preferences,
    },
    Builtin {
        name: "ssm_run",
        params: &[
            "targets",
            "commands: strings",
            "comment?: string",
            "max_concurrency?: string",
            "max_errors?: string",
        ],
        effect: WritesAws,
        doc: "Runs shell commands through SSM Run Command (AWS-RunShellScript) on a list of instance ids, or on a \
        fleet chosen by tags (a record: `{ project: \"kobanzaki\" }`) at most `max_concurrency` at a time (default \
        \"10\"), stopping after `max_errors` failures (default \"0\"); waits, and returns `{command, invocations: \
        [{instance, status, exit_code, stdout, stderr}]}`.",
        func: ssm_run,
    },
];

fn aws_err(cx: &dyn Context, span: crate::source::Span, e: AwsError) -> Box<Diag> {
    e.diag(Some(span), cx.aws().region().as_deref()).boxed()
}

/// A read, answered from the evaluation's cache when the same call was made before.
fn cached(
    cx: &mut dyn Context,
    a: &Args,
    read: impl FnOnce(&Aws) -> std::result::Result<Value, AwsError>,
) -> Result<Value> {
    let args: Vec<String> = a.values.iter().map(|v| v.as_ref().map_or("null".into(), |(v, _)| v.to_kenv())).collect();
    let key = format!("{}({})", a.name, args.join(", "));
    let aws = &cx.aws();
    cx.cache().get_or_read(aws, key, || read(aws)).map_err(|e| e.diag(Some(a.span), aws.region().as_deref()).boxed())
}

fn not_found(what: &str, id: &str) -> AwsError {
    AwsError { class: ErrorClass::NotFound, op: None, code: None, message: format!("no {what} `{id}`") }
}

/// EC2 filters from a record of strings or lists of strings.
fn filters(a: &Args, i: usize) -> Result<Filters> {
    let Some(_) = a.get(i) else { return Ok(Filters::new()) };
    let mut out = Filters::new();
    for (name, value) in a.record(i)?.iter() {
        let values: Vec<String> = string_items(value).unwrap_or_default().iter().map(|s| s.to_string()).collect();
        if values.is_empty() {
            return a.invalid(i, format!("filter `{name}` must be a string or a non-empty list of strings"));
        }
        out.insert(name.to_string(), values);
    }
    Ok(out)
}

/// A typed AWS read as the record the builtin shows.
fn shown<T: Serialize>(typed: T) -> Value {
    Value::from_serialize(&typed)
}

fn whoami(cx: &mut dyn Context, a: &mut Args) -> Result<Value> {
    cached(cx, a, |aws| aws.whoami().map(shown))
}

fn region(cx: &mut dyn Context, a: &mut Args) -> Result<Value> {
    cx.aws().config().map_err(|e| aws_err(cx, a.span, e))?;
    Ok(cx.aws().region().map_or(Value::Null, |r| Value::str(&r)))
}

/// A Cloud9 environment with the id of its instance.
#[derive(Serialize)]
struct Cloud9WithInstance<'a> {
    #[serde(flatten)]
    env: &'a Cloud9Env,
    instance: Option<&'a str>,
}

/// Cloud9 environments with their instance ids, found by one DescribeInstances on Cloud9's tag.
fn cloud9_with_instances(aws: &Aws, ids: &[String]) -> std::result::Result<Value, AwsError> {
    let envs = aws.cloud9_describe(ids)?;
    let tag = "tag:aws:cloud9:environment".to_string();
    let live = Filters::from([(tag, envs.iter().map(|e| e.id.clone()).collect())]);
    let instances = if envs.is_empty() { Vec::new() } else { aws.instances(&live, &[])? };
    let items = envs.iter().map(|e| {
        let instance = instances
            .iter()
            .filter(|i| i.state != "terminated")
            .find(|i| i.tags.get("aws:cloud9:environment") == Some(&e.id));
        shown(Cloud9WithInstance { env: e, instance: instance.map(|i| i.id.as_str()) })
    });
    Ok(Value::list(items.collect()))
}

fn cloud9_environments(cx: &mut dyn Context, a: &mut Args) -> Result<Value> {
    cached(cx, a, |aws| cloud9_with_instances(aws, &aws.cloud9_ids()?))
}

fn cloud9_environment(cx: &mut dyn Context, a: &mut Args) -> Result<Value> {
    let id = a.str(0)?;
    cached(cx, a, |aws| match cloud9_with_instances(aws, &[id.to_string()])? {
        Value::List(found) if !found.is_empty() => Ok(found[0].clone()),
        _ => Err(not_found("Cloud9 environment", &id)),
    })
}

fn ec2_instances(cx: &mut dyn Context, a: &mut Args) -> Result<Value> {
    let f = filters(a, 0)?;
    cached(cx, a, |aws| aws.instances(&f, &[]).map(shown))
}

fn ec2_instance(cx: &mut dyn Context, a: &mut Args) -> Result<Value> {
    let id = a.str(0)?;
    cached(cx, a, |aws| {
        let found = aws.instances(&Filters::new(), &[id.to_string()])?;
        found.first().map(shown).ok_or_else(|| not_found("instance", &id))
    })
}

fn ec2_security_groups(cx: &mut dyn Context, a: &mut Args) -> Result<Value> {
    let f = filters(a, 0)?;
    cached(cx, a, |aws| aws.security_groups(&f, &[]).map(shown))
}

fn ec2_security_group(cx: &mut dyn Context, a: &mut Args) -> Result<Value> {
    let id = a.str(0)?;
    cached(cx, a, |aws| {
        let found = aws.security_groups(&Filters::new(), &[id.to_string()])?;
        found.first().map(shown).ok_or_else(|| not_found("security group", &id))
    })
}

fn ec2_subnets(cx: &mut dyn Context, a: &mut Args) -> Result<Value> {
    let f = filters(a, 0)?;
    cached(cx, a, |aws| aws.subnets(&f, &[]).map(shown))
}

fn ec2_route_tables(cx: &mut dyn Context, a: &mut Args) -> Result<Value> {
    let f = filters(a, 0)?;
    cached(cx, a, |aws| aws.route_tables(&f).map(shown))
}

fn ec2_vpcs(cx: &mut dyn Context, a: &mut Args) -> Result<Value> {
    let f = filters(a, 0)?;
    cached(cx, a, |aws| aws.vpcs(&f).map(shown))
}

fn ec2_vpc_endpoints(cx: &mut dyn Context, a: &mut Args) -> Result<Value> {
    let f = filters(a, 0)?;
    cached(cx, a, |aws| aws.vpc_endpoints(&f).map(shown))
}

/// Rules from `ingress …`/`egress …` values or rule records, each flattened to one peer.
fn group_rules(a: &Args, i: usize) -> Result<Vec<GroupRule>> {
    let items = match a.get(i) {
        Some(Value::List(items)) => items.to_vec(),
        Some(one) => vec![one.clone()],
        None => vec![],
    };
    let mut out = Vec::new();
    for item in items {
        match item {
            Value::Decl(Decl::Rule(r)) => out.extend(r.group_rules()),
            Value::Record(r) => {
                match rules_of_record(&r) {
                    Some(rules) => out.extend(rules),
                    None => return a.invalid(
                        i,
                        "a rule record needs `direction`, `protocol`, `from_port`, `to_port` and `peer` (or `peers`)",
                    ),
                }
            }
            other => return a.invalid(i, format!("expected security group rules, found {}", other.type_name())),
        }
    }
    if out.is_empty() {
        return a.invalid(i, "no rules given");
    }
    Ok(out)
}

/// Rules from a record shaped like those `ec2_security_groups` shows (or with `peers`, a list).
fn rules_of_record(r: &Record) -> Option<Vec<GroupRule>> {
    let text = |k: &str| r.get(k).and_then(Rc::<str>::from_value).map(|s| s.to_string());
    let int = |k: &str| r.get(k).and_then(i64::from_value).and_then(|n| i32::try_from(n).ok());
    let ingress = match text("direction")?.as_str() {
        "ingress" => true,
        "egress" => false,
        _ => return None,
    };
    let protocol = match text("protocol")?.as_str() {
        "all" | "-1" => "-1".to_string(),
        p @ ("tcp" | "udp" | "icmp") => p.to_string(),
        _ => return None,
    };
    let peers = match (text("peer"), r.get("peers").and_then(Strings::from_value)) {
        (Some(peer), _) => vec![peer],
        (None, Some(peers)) => peers.0.iter().map(|p| p.to_string()).collect(),
        _ => return None,
    };
    let (from_port, to_port) = (int("from_port")?, int("to_port")?);
    let description = text("description");
    let rule = |peer| GroupRule {
        ingress,
        protocol: protocol.clone(),
        from_port,
        to_port,
        peer,
        description: description.clone(),
    };
    Some(peers.into_iter().map(rule).collect())
}

fn describe_rules(verb: &str, group: &str, rules: &[GroupRule]) -> String {
    let lines: Vec<String> = rules.iter().map(|r| format!("    {}", r.summary())).collect();
    format!("{verb} {} rule(s) on {group}:\n{}", rules.len(), lines.join("\n"))
}

fn ec2_authorize(cx: &mut dyn Context, a: &mut Args) -> Result<Value> {
    let group = a.str(0)?;
    let wanted = group_rules(a, 1)?;
    // Only what is missing is added (and confirmed): a script run twice changes nothing.
    let current =
        cx.aws().security_groups(&Filters::new(), &[group.to_string()]).map_err(|e| aws_err(cx, a.span, e))?;
    let have: Vec<GroupRule> = current.into_iter().flat_map(|g| g.rules).collect();
    let rules: Vec<GroupRule> = wanted.into_iter().filter(|r| !have.iter().any(|h| h.same_permission(r))).collect();
    if rules.is_empty() {
        cx.host().err(&format!("kenv: the rules are already on {group}\n"));
        return Ok(Value::Null);
    }
    change_rules(cx, a, "add", &group, &rules)
}

fn ec2_revoke(cx: &mut dyn Context, a: &mut Args) -> Result<Value> {
    let group = a.str(0)?;
    let rules = group_rules(a, 1)?;
    change_rules(cx, a, "remove", &group, &rules)
}

/// Confirms, then adds or removes rules on a group.
fn change_rules(cx: &mut dyn Context, a: &Args, verb: &str, group: &str, rules: &[GroupRule]) -> Result<Value> {
    cx.confirm(&describe_rules(verb, group, rules), a.span)?;
    let done = if verb == "add" { cx.aws().authorize(group, rules) } else { cx.aws().revoke(group, rules) };
    done.map_err(|e| aws_err(cx, a.span, e))?;
    Ok(Value::Null)
}

fn iam_role(cx: &mut dyn Context, a: &mut Args) -> Result<Value> {
    let name = a.str(0)?;
    cached(cx, a, |aws| aws.role(&name)?.map(shown).ok_or_else(|| not_found("IAM role", &name)))
}

fn ssm_parameter(cx: &mut dyn Context, a: &mut Args) -> Result<Value> {
    let name = a.str(0)?;
    let span = a.span;
    cached(cx, a, |aws| {
        let (kind, value) = aws.parameter(&name)?;
        Ok(match (kind.as_str(), value) {
            ("StringList", Some(v)) => Value::list(v.split(',').map(Value::str).collect()),
            (_, Some(v)) => Value::str(&v),
            _ => {
                let r = SecretRef { name: name.clone(), store: SecretStore::Parameter, span };
                Value::Secret(Rc::new(Secret { parts: vec![SecretPart::Ref(r)] }))
            }
        })
    })
}

fn ssm_session_preferences(cx: &mut dyn Context, a: &mut Args) -> Result<Value> {
    cached(cx, a, |aws| {
        let Some(p) = aws.session_preferences()? else { return Ok(Value::Null) };
        let text = |key: &str| p.inputs[key].as_str().filter(|s| !s.is_empty()).map_or(Value::Null, Value::str);
        let minutes = |key: &str| {
            p.inputs[key].as_str().and_then(|m| m.parse::<i64>().ok()).map_or(Value::Null, |m| Value::Duration(m * 60))
        };
        let on = |key: &str| Value::Bool(p.inputs[key].as_bool() == Some(true));
        let run_as =
            if p.inputs["runAsEnabled"].as_bool() == Some(true) { text("runAsDefaultUser") } else { Value::Null };
        Ok(record([
            ("version", Value::str(&p.version)),
            ("log_group", text("cloudWatchLogGroupName")),
            ("s3_bucket", text("s3BucketName")),
            ("kms_key", text("kmsKeyId")),
            ("log_group_encrypted", on("cloudWatchEncryptionEnabled")),
            ("s3_encrypted", on("s3EncryptionEnabled")),
            ("idle_timeout", minutes("idleSessionTimeout")),
            ("max_duration", minutes("maxSessionDuration")),
            ("run_as", run_as),
            ("held_by", p.tags.get(crate::model::tags::TAG_STACK).map_or(Value::Null, |s| Value::str(s))),
        ]))
    })
}

fn ssm_run(cx: &mut dyn Context, a: &mut Args) -> Result<Value> {
    let commands = a.strings(1)?;
    let comment = a.opt_str(2)?.map_or("kenv".to_string(), |c| c.to_string());
    let (concurrency, errors) = (a.opt_str(3)?.unwrap_or("10".into()), a.opt_str(4)?.unwrap_or("0".into()));
    let (ids, tags) = match a.get(0) {
        Some(Value::Record(_)) => (Vec::new(), filters(a, 0)?),
        _ => (a.strings(0)?, Filters::new()),
    };
    let whom = if tags.is_empty() { ids.join(", ") } else { format!("the instances tagged {tags:?}") };
    cx.confirm(&format!("run on {whom}:\n    {}", commands.join("\n    ")), a.span)?;
    let aws = &cx.aws();
    let run = || -> std::result::Result<Value, AwsError> {
        let (to, instances) = if tags.is_empty() {
            (crate::aws::Targets::Instances(&ids), ids.clone())
        } else {
            let f: Filters = tags.iter().map(|(k, v)| (format!("tag:{k}"), v.clone())).collect();
            let found = aws.instances(&f, &[])?.into_iter().filter(|i| i.state == "running").map(|i| i.id).collect();
            (crate::aws::Targets::Tags { tags: &tags, max_concurrency: &concurrency, max_errors: &errors }, found)
        };
        // AWS-RunShellScript's default execution timeout; the wait covers delivery and that.
        let id = aws.send_command(&to, &commands, &comment, 3600)?;
        let wait = std::time::Duration::from_secs(3600 + crate::aws::DELIVERY_TIMEOUT as u64);
        let done = aws.wait_command(&id, &instances, wait)?;
        Ok(record([("command", Value::str(&id)), ("invocations", shown(done))]))
    };
    run().map_err(|e| aws_err(cx, a.span, e))
}
