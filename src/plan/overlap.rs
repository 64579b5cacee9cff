//! Work on many items side by side: each on a thread of its own (at most `PARALLEL` at a time)
//! with its own handle on AWS (`Aws::sibling`: the configuration and credentials shared). A
//! thread owns what it works on; what it has to say goes back to the apply's thread, which shows
//! it and records the results in the plan's order.

use std::collections::VecDeque;
use std::sync::{mpsc, Mutex};

use super::ctx::{Ctx, Failed};
use super::Change;
use crate::aws::{Aws, AwsError};

/// Environments converged at once.
const PARALLEL: usize = 8;

/// What a worker tells the apply's thread.
pub(super) enum Said {
    Line(String),
    Env(String, String),
    Done(usize, Result<(), AwsError>),
}

/// A worker's job on one item: AWS, the item, and where to say what it is doing.
pub(super) type Work<W> = fn(&Aws, &W, &dyn Fn(Said)) -> Result<(), AwsError>;

/// Runs `work` on each item side by side; each that succeeded is recorded as done, in the plan's
/// order, and the first that failed (in that order) stops the apply.
pub(super) fn overlap<W: Send>(ctx: &mut Ctx, items: Vec<(&Change, W)>, work: Work<W>) -> Result<(), Box<Failed>> {
    let Some(first) = items.first().map(|(c, _)| *c) else { return Ok(()) };
    let fail = |ctx: &Ctx, c: &Change, error| {
        Box::new(Failed { address: c.address.clone(), span: c.span, error, done: ctx.done.clone() })
    };
    let (changes, work_items): (Vec<&Change>, Vec<W>) = items.into_iter().unzip();
    let mut siblings = Vec::new();
    for _ in 0..PARALLEL.min(work_items.len()) {
        siblings.push(ctx.aws.sibling().map_err(|e| fail(ctx, first, e))?);
    }
    let queue = Mutex::new(work_items.into_iter().enumerate().collect::<VecDeque<_>>());
    let mut results: Vec<Option<Result<(), AwsError>>> = changes.iter().map(|_| None).collect();
    let (tx, rx) = mpsc::channel();
    let joined = std::thread::scope(|scope| {
        let workers: Vec<_> = siblings
            .into_iter()
            .map(|aws| {
                let (tx, queue) = (tx.clone(), &queue);
                scope.spawn(move || {
                    while let Some((i, item)) = queue.lock().ok().and_then(|mut q| q.pop_front()) {
                        let result = if crate::host::interrupted() {
                            Err(AwsError::interrupted())
                        } else {
                            work(&aws, &item, &|said| drop(tx.send(said)))
                        };
                        let _ = tx.send(Said::Done(i, result));
                    }
                    aws
                })
            })
            .collect();
        drop(tx);
        for said in rx {
            match said {
                Said::Line(line) => ctx.say(&line),
                Said::Env(env, state) => ctx.env_is(&env, &state),
                Said::Done(i, result) => results[i] = Some(result),
            }
        }
        workers.into_iter().map(|w| w.join()).collect::<Vec<_>>()
    });
    for aws in joined.into_iter().flatten() {
        ctx.aws.absorb(aws);
    }
    let mut failure = None;
    for (c, result) in changes.into_iter().zip(results) {
        match result {
            Some(Ok(())) => ctx.finished(c),
            Some(Err(e)) => failure = failure.or(Some((c, e))),
            None => failure = failure.or(Some((c, AwsError::local("its work stopped unexpectedly".into())))),
        }
    }
    failure.map_or(Ok(()), |(c, e)| Err(fail(ctx, c, e)))
}
