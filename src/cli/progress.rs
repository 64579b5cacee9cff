//! How apply's progress looks: on a terminal, one live line per environment (what it is doing
//! now) under the log's lines; otherwise the log alone, one line after another.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::plan::Progress;

pub enum Shown {
    Lines,
    Live { bars: MultiProgress, envs: RefCell<BTreeMap<String, ProgressBar>> },
}

impl Shown {
    /// Live lines when stderr is a terminal, plain lines otherwise.
    pub fn for_stderr() -> Shown {
        if !std::io::stderr().is_terminal() {
            return Shown::Lines;
        }
        let bars = MultiProgress::with_draw_target(ProgressDrawTarget::stderr());
        Shown::Live { bars, envs: RefCell::default() }
    }

    pub fn show(&self, progress: Progress) {
        match (self, progress) {
            (Shown::Lines, Progress::Line(line)) => super::err(&format!("{line}\n")),
            (Shown::Lines, Progress::Env(..)) => {}
            (Shown::Live { bars, .. }, Progress::Line(line)) => {
                if bars.println(line).is_err() {
                    super::err(&format!("{line}\n"));
                }
            }
            (Shown::Live { bars, envs }, Progress::Env(env, state)) => {
                let mut envs = envs.borrow_mut();
                let bar = envs.entry(env.to_string()).or_insert_with(|| {
                    let style = ProgressStyle::with_template("  {spinner} {prefix:24} {msg}")
                        .unwrap_or_else(|_| ProgressStyle::default_spinner());
                    let bar = bars.add(ProgressBar::new_spinner().with_style(style).with_prefix(env.to_string()));
                    bar.enable_steady_tick(Duration::from_millis(120));
                    bar
                });
                bar.set_message(state.to_string());
            }
        }
    }

    /// Leaves each environment's last state on the screen.
    pub fn finish(&self) {
        if let Shown::Live { envs, .. } = self {
            envs.borrow().values().for_each(ProgressBar::finish);
        }
    }
}
