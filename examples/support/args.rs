//! Command-line options of the Majordomo examples: `--name value` pairs, nothing more.

use compysition::Error;

/// The value after `name`, if it is given.
pub fn option(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

/// The value of option `name`, or `default` when it is not given; one that does not parse is
/// an [`Error::Config`] naming the option.
pub fn parsed<T: std::str::FromStr>(
    args: &[String],
    name: &str,
    default: T,
) -> compysition::Result<T>
where
    T::Err: std::fmt::Display,
{
    match option(args, name) {
        None => Ok(default),
        Some(text) => text.parse().map_err(|e| Error::Config {
            setting: name.to_string(),
            message: format!("`{text}`: {e}"),
        }),
    }
}
