//! A benchmark's command-line arguments.

/// The first argument after the benchmark's own flags, read as a count of
/// `what` (at least 1); `default` when there is none. Anything else ends
/// the benchmark with a line that says what was expected, and status 2.
pub fn count(what: &str, default: usize) -> usize {
    let Some(given) = std::env::args().skip(1).find(|a| !a.starts_with('-')) else {
        return default;
    };
    match given.parse::<usize>() {
        Ok(n) if n >= 1 => n,
        _ => {
            eprintln!("the first argument is the number of {what}, 1 or more, not `{given}`");
            std::process::exit(2);
        }
    }
}
