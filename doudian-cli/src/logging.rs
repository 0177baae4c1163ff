//! Log lines on stderr through `tracing-subscriber`: `RUST_LOG` when set, else `-v`/`-vv`.

use tracing_subscriber::EnvFilter;

/// The HTTP crates below the SDK write request URLs into their trace lines, and the access
/// token rides in the URL's query: they are held at `info` whatever else is asked for.
const TRANSPORT_CAPS: [&str; 6] =
    ["reqwest=info", "hyper=info", "hyper_util=info", "h2=info", "rustls=info", "tower=info"];

/// The filter for `verbose` (`-v` count) and the `RUST_LOG` value, if any.
fn filter(verbose: u8, rust_log: Option<&str>) -> EnvFilter {
    let base = match (rust_log.filter(|v| !v.trim().is_empty()), verbose) {
        (Some(directives), _) => directives.to_owned(),
        (None, 0) => "warn".to_owned(),
        (None, 1) => "warn,doudian=debug,doudian_sdk=debug,doudian_gateway=debug".to_owned(),
        (None, _) => "info,doudian=trace,doudian_sdk=trace,doudian_gateway=trace".to_owned(),
    };
    let mut filter = EnvFilter::try_new(&base).unwrap_or_else(|e| {
        eprintln!("warning: RUST_LOG `{base}` is not a valid filter ({e}); using `warn`");
        EnvFilter::new("warn")
    });
    for cap in TRANSPORT_CAPS {
        filter = filter.add_directive(cap.parse().unwrap_or_else(|_| unreachable!("the caps are valid directives")));
    }
    filter
}

/// Installs the subscriber (once, at start-up).
pub fn init(verbose: u8) {
    let rust_log = std::env::var("RUST_LOG").ok();
    tracing_subscriber::fmt()
        .with_env_filter(filter(verbose, rust_log.as_deref()))
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(true)
        .init();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verbosity_and_rust_log_pick_the_level_and_transport_stays_capped() {
        // The transport caps allow `info` for those crates, so `-v` levels show in the hint
        // only from debug up; the default is `warn` for everything else.
        assert!(filter(0, None).to_string().split(',').any(|d| d == "warn"), "{}", filter(0, None));
        assert_eq!(filter(1, None).max_level_hint(), Some(tracing::level_filters::LevelFilter::DEBUG));
        assert_eq!(filter(2, None).max_level_hint(), Some(tracing::level_filters::LevelFilter::TRACE));
        assert_eq!(filter(0, Some("trace")).max_level_hint(), Some(tracing::level_filters::LevelFilter::TRACE));
        let text = filter(0, Some("trace,reqwest=trace,h2=trace")).to_string();
        assert!(text.contains("reqwest=info") && !text.contains("reqwest=trace"), "{text}");
        assert!(text.contains("h2=info") && !text.contains("h2=trace"), "{text}");
        // A broken value falls back instead of failing the command.
        assert!(filter(0, Some("=bad=[")).to_string().split(',').any(|d| d == "warn"));
        assert_eq!(filter(0, Some("=bad=[")).max_level_hint(), Some(tracing::level_filters::LevelFilter::INFO));
    }
}
