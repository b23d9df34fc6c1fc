//! The configuration `wsk` reads: `~/.wskprops`, or the file named by
//! `WSK_CONFIG_FILE` (apache/openwhisk-cli `commands/property.go`,
//! `ReadProps`: `KEY=VALUE` lines, `#` comments, surrounding spaces
//! trimmed, a missing file is an empty one).

use std::collections::BTreeMap;
use std::path::PathBuf;

/// The properties file `wsk` would read.
pub fn path() -> PathBuf {
    if let Some(file) = std::env::var_os("WSK_CONFIG_FILE").filter(|f| !f.is_empty()) {
        return PathBuf::from(file);
    }
    let home = std::env::var_os("HOME").unwrap_or_default();
    PathBuf::from(home).join(".wskprops")
}

/// `KEY=VALUE` lines as `wsk` reads them.
pub fn parse(text: &str) -> BTreeMap<String, String> {
    let mut props = BTreeMap::new();
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or("").trim();
        if let Some((key, value)) = line.split_once('=') {
            let key = key.trim();
            if !key.is_empty() {
                props.insert(key.to_owned(), value.trim().to_owned());
            }
        }
    }
    props
}

/// The properties of [`path`] (empty when the file does not exist).
pub fn read() -> anyhow::Result<(PathBuf, BTreeMap<String, String>)> {
    let path = path();
    match std::fs::read_to_string(&path) {
        Ok(text) => Ok((path, parse(&text))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok((path, BTreeMap::new())),
        Err(e) => Err(anyhow::anyhow!("cannot read {}: {e}", path.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_read_as_wsk_reads_them() {
        let props = parse(
            "# a comment\nAPIHOST = https://h:443 \nAUTH=u:k=x # trailing\n\nNAMESPACE=guest\nnonsense\n",
        );
        assert_eq!(props["APIHOST"], "https://h:443");
        assert_eq!(props["AUTH"], "u:k=x");
        assert_eq!(props["NAMESPACE"], "guest");
        assert_eq!(props.len(), 3);
    }
}
