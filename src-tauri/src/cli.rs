//! `ringside-desktop [--demo] [--settings PATH] [tel:…|callto:…]`.

use std::path::PathBuf;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cli {
    /// Run in demo mode whatever the settings say (not saved).
    pub demo: bool,
    /// Where `settings.json` is; default [`crate::settings::default_path`].
    pub settings: Option<PathBuf>,
    /// The number of a `tel:`/`callto:` argument, to dial once connected.
    pub dial: Option<String>,
}

impl Cli {
    /// Read `argv` (with `argv[0]`). Unknown arguments are ignored with a
    /// warning: desktop launchers add their own.
    pub fn parse<S: AsRef<str>>(argv: &[S]) -> Cli {
        let mut cli = Cli::default();
        let mut args = argv.iter().skip(1).map(AsRef::as_ref);
        while let Some(arg) = args.next() {
            match arg {
                "--demo" => cli.demo = true,
                "--settings" => cli.settings = args.next().map(PathBuf::from),
                _ if arg.starts_with("--settings=") => {
                    cli.settings = Some(PathBuf::from(&arg["--settings=".len()..]));
                }
                _ => match crate::deeplink::parse_dial_link(arg) {
                    Some(number) => cli.dial = Some(number),
                    None => tracing::warn!("ignoring argument {arg:?}"),
                },
            }
        }
        cli
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_flags_and_link() {
        let cli = Cli::parse(&[
            "rd",
            "--demo",
            "--settings",
            "/tmp/s.json",
            "tel:+34%20647%2046%2001%2097",
        ]);
        assert_eq!(
            cli,
            Cli {
                demo: true,
                settings: Some("/tmp/s.json".into()),
                dial: Some("+34647460197".into())
            }
        );
        let cli = Cli::parse(&["rd", "--settings=/x.json", "--weird"]);
        assert_eq!(cli.settings, Some("/x.json".into()));
        assert!(!cli.demo && cli.dial.is_none());
        assert_eq!(Cli::parse(&["rd"]), Cli::default());
    }
}
