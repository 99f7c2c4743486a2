//! Progress bars on stderr, only when stderr is a terminal.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A progress bar over `total` items named `unit`, hidden unless stderr is a terminal.
#[must_use]
pub fn bar(total: u64, unit: &str) -> ProgressBar {
    bar_when(true, total, unit)
}

/// As [`bar`], and hidden unless `show`.
#[must_use]
pub fn bar_when(show: bool, total: u64, unit: &str) -> ProgressBar {
    let target = if show {
        target()
    } else {
        ProgressDrawTarget::hidden()
    };
    let bar = ProgressBar::with_draw_target(Some(total), target);
    let template = format!("{{elapsed_precise}} [{{bar:40}}] {{pos}}/{{len}} {unit} (ETA {{eta}})");
    if let Ok(style) = ProgressStyle::with_template(&template) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

fn target() -> ProgressDrawTarget {
    if std::io::stderr().is_terminal() {
        ProgressDrawTarget::stderr()
    } else {
        ProgressDrawTarget::hidden()
    }
}
