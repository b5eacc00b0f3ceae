//! A progress bar on stderr, only when stderr is a terminal.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressStyle};
use jjc_driver::Progress;

/// Shows bytes read of the current capture.
pub struct Bar {
    bar: ProgressBar,
}

impl Bar {
    /// A bar if stderr is a terminal and the user did not ask for quiet.
    pub fn for_terminal(quiet: bool) -> Option<Bar> {
        if quiet || !std::io::stderr().is_terminal() {
            return None;
        }
        let bar = ProgressBar::new(0);
        bar.set_style(
            ProgressStyle::with_template(
                "{msg} [{bar:30}] {bytes}/{total_bytes} ({bytes_per_sec}, {eta})",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        Some(Bar { bar })
    }

    /// Removes the bar.
    pub fn clear(&self) {
        self.bar.finish_and_clear();
    }
}

impl Progress for Bar {
    fn start_capture(&mut self, name: &str, total_bytes: Option<u64>) {
        self.bar.set_message(name.to_string());
        self.bar.set_length(total_bytes.unwrap_or(0));
        self.bar.set_position(0);
    }

    fn advance(&mut self, bytes: u64) {
        self.bar.set_position(bytes);
    }
}
