//! Dependencies from lockfiles, for `rampart scan deps PATH`:
//! composer.lock (Packagist), package-lock.json (npm, lockfile v1–v3),
//! yarn.lock (classic and Berry) and Gemfile.lock (RubyGems). Reads only;
//! matching is `advisories`' job.

use std::path::Path;

use crate::advisories::Installed;

/// The lockfiles `deps` knows, by file name.
pub const LOCKFILES: [&str; 4] = [
    "composer.lock",
    "package-lock.json",
    "yarn.lock",
    "Gemfile.lock",
];

fn pkg(ecosystem: &str, name: &str, version: &str, location: &str) -> Installed {
    Installed {
        ecosystem: ecosystem.to_string(),
        names: vec![name.to_string()],
        version: version.trim().trim_start_matches('v').to_string(),
        location: location.to_string(),
    }
}

/// Reads one lockfile; the kind comes from its file name.
pub fn read(path: &Path) -> Result<Vec<Installed>, String> {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default()
        .to_string();
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let loc = path.display().to_string();
    let parsed = match name.as_str() {
        "composer.lock" => composer(&text, &loc),
        "package-lock.json" | "npm-shrinkwrap.json" => npm(&text, &loc),
        "yarn.lock" => Ok(yarn(&text, &loc)),
        "Gemfile.lock" => Ok(gemfile(&text, &loc)),
        _ => Err(format!(
            "not a known lockfile (expected one of {})",
            LOCKFILES.join(", ")
        )),
    };
    parsed.map_err(|e| format!("{}: {e}", path.display()))
}

/// Finds the lockfiles in `path` (a file, or a directory's top level).
pub fn find(path: &Path) -> Result<Vec<std::path::PathBuf>, String> {
    if path.is_file() {
        return Ok(vec![path.to_path_buf()]);
    }
    if !path.is_dir() {
        return Err(format!("{}: no such file or directory", path.display()));
    }
    let found: Vec<_> = LOCKFILES
        .iter()
        .map(|n| path.join(n))
        .filter(|p| p.is_file())
        .collect();
    if found.is_empty() {
        return Err(format!(
            "{}: no lockfile ({})",
            path.display(),
            LOCKFILES.join(", ")
        ));
    }
    Ok(found)
}

fn composer(text: &str, loc: &str) -> Result<Vec<Installed>, String> {
    let v: serde_json::Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    for key in ["packages", "packages-dev"] {
        for p in v.get(key).and_then(|p| p.as_array()).into_iter().flatten() {
            if let (Some(n), Some(ver)) = (
                p.get("name").and_then(|n| n.as_str()),
                p.get("version").and_then(|n| n.as_str()),
            ) {
                out.push(pkg("Packagist", n, ver, loc));
            }
        }
    }
    Ok(out)
}

fn npm(text: &str, loc: &str) -> Result<Vec<Installed>, String> {
    let v: serde_json::Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    if let Some(packages) = v.get("packages").and_then(|p| p.as_object()) {
        // v2/v3: "node_modules/a/node_modules/@s/b": {"version": ...}
        for (path, p) in packages {
            let Some(at) = path.rfind("node_modules/") else {
                continue;
            };
            let name = &path[at + "node_modules/".len()..];
            if let Some(ver) = p.get("version").and_then(|v| v.as_str()) {
                out.push(pkg("npm", name, ver, loc));
            }
        }
    } else if let Some(deps) = v.get("dependencies").and_then(|d| d.as_object()) {
        // v1: nested "dependencies".
        let mut stack: Vec<&serde_json::Map<String, serde_json::Value>> = vec![deps];
        while let Some(level) = stack.pop() {
            for (name, p) in level {
                if let Some(ver) = p.get("version").and_then(|v| v.as_str()) {
                    out.push(pkg("npm", name, ver, loc));
                }
                if let Some(inner) = p.get("dependencies").and_then(|d| d.as_object()) {
                    stack.push(inner);
                }
            }
        }
    } else {
        return Err("neither \"packages\" nor \"dependencies\" found".into());
    }
    out.sort_by(|a, b| (&a.names, &a.version).cmp(&(&b.names, &b.version)));
    out.dedup();
    Ok(out)
}

/// `"@scope/name@^1.0.0", name@npm:~1` → `@scope/name`.
fn yarn_name(spec: &str) -> Option<String> {
    let spec = spec.trim().trim_matches('"');
    let at = spec[1..].find('@')? + 1;
    Some(spec[..at].to_string())
}

fn yarn(text: &str, loc: &str) -> Vec<Installed> {
    let mut out = Vec::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        if !line.starts_with(' ') {
            current = line
                .trim_end_matches(':')
                .split(',')
                .next()
                .and_then(yarn_name)
                .filter(|n| n != "__metadata");
            continue;
        }
        let t = line.trim();
        if let (Some(name), Some(rest)) = (&current, t.strip_prefix("version")) {
            let ver = rest.trim_start_matches(':').trim().trim_matches('"');
            if !ver.is_empty() && line.starts_with("  ") && !line.starts_with("    ") {
                out.push(pkg("npm", name, ver, loc));
            }
        }
    }
    out
}

fn gemfile(text: &str, loc: &str) -> Vec<Installed> {
    let mut out = Vec::new();
    let mut in_gem = false;
    let mut in_specs = false;
    for line in text.lines() {
        if !line.starts_with(' ') {
            in_gem = line.trim() == "GEM";
            in_specs = false;
            continue;
        }
        if in_gem && line.trim() == "specs:" {
            in_specs = true;
            continue;
        }
        // Exactly four spaces: a gem; six: one of its dependencies.
        if in_specs && line.starts_with("    ") && !line.starts_with("     ") {
            let t = line.trim();
            if let Some((name, rest)) = t.split_once(" (") {
                let ver = rest.trim_end_matches(')');
                // Platform gems: "1.15.4-x86_64-linux".
                let ver = ver.split('-').next().unwrap_or(ver);
                out.push(pkg("RubyGems", name, ver, loc));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(v: &[Installed]) -> Vec<String> {
        v.iter()
            .map(|i| format!("{} {} {}", i.ecosystem, i.names[0], i.version))
            .collect()
    }

    #[test]
    fn reads_composer_and_npm() {
        let c = composer(
            r#"{"packages":[{"name":"magento/framework","version":"v103.0.5"}],"packages-dev":[{"name":"phpunit/phpunit","version":"9.6.0"}]}"#,
            "composer.lock",
        )
        .unwrap();
        assert_eq!(
            names(&c),
            [
                "Packagist magento/framework 103.0.5",
                "Packagist phpunit/phpunit 9.6.0"
            ]
        );
        let n3 = npm(
            r#"{"lockfileVersion":3,"packages":{"":{"name":"shop"},"node_modules/lodash":{"version":"4.17.20"},"node_modules/a/node_modules/@s/b":{"version":"1.0.0"}}}"#,
            "package-lock.json",
        )
        .unwrap();
        assert_eq!(names(&n3), ["npm @s/b 1.0.0", "npm lodash 4.17.20"]);
        let n1 = npm(
            r#"{"lockfileVersion":1,"dependencies":{"minimist":{"version":"0.0.8","dependencies":{"x":{"version":"1.0.0"}}}}}"#,
            "package-lock.json",
        )
        .unwrap();
        assert_eq!(names(&n1), ["npm minimist 0.0.8", "npm x 1.0.0"]);
    }

    #[test]
    fn reads_yarn_and_gemfile() {
        let classic = "# yarn lockfile v1\n\n\"@babel/core@^7.0.0\", \"@babel/core@^7.1.0\":\n  version \"7.1.2\"\n  resolved \"x\"\n  dependencies:\n    version \"9\"\n\nlodash@^4.17.0:\n  version \"4.17.20\"\n";
        assert_eq!(
            names(&yarn(classic, "yarn.lock")),
            ["npm @babel/core 7.1.2", "npm lodash 4.17.20"]
        );
        let berry = "__metadata:\n  version: 6\n\n\"lodash@npm:^4.17.0\":\n  version: 4.17.21\n  resolution: \"lodash@npm:4.17.21\"\n";
        assert_eq!(names(&yarn(berry, "yarn.lock")), ["npm lodash 4.17.21"]);
        let gems = "GEM\n  remote: https://rubygems.org/\n  specs:\n    rack (2.2.3)\n    nokogiri (1.15.4-x86_64-linux)\n      racc (~> 1.4)\n\nPLATFORMS\n  ruby\n";
        assert_eq!(
            names(&gemfile(gems, "Gemfile.lock")),
            ["RubyGems rack 2.2.3", "RubyGems nokogiri 1.15.4"]
        );
    }
}
