//! The driver package's pieces that can be checked off Windows:
//!
//! - the driver crate builds on this host and is empty here (everything in `driver/` is
//!   `#[cfg(windows)]`, so the workspace builds, lints and tests on Linux);
//! - the packaging PowerShell scripts in `tools/` parse (tree-sitter-powershell) and keep the
//!   conventions the project's scripts share;
//! - the build script and `.cargo/config.toml` keep what wdk-build needs on Windows.
//!
//! The driver's Windows code is compiled only for Windows: once so far, by an independent check
//! against public KMDF headers, never by this suite (docs/TESTING.md, What is verified where).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::disallowed_methods,
    reason = "test code: a panic is a failed test"
)]

use std::path::PathBuf;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every node of `tree` that is an error or a missing token, as "line:column kind".
fn syntax_errors(tree: &tree_sitter::Tree) -> Vec<String> {
    let mut errors = Vec::new();
    let mut cursor = tree.walk();
    let mut visited_children = false;
    loop {
        let node = cursor.node();
        if !visited_children && (node.is_error() || node.is_missing()) {
            let at = node.start_position();
            errors.push(format!("{}:{} {}", at.row + 1, at.column + 1, node.kind()));
        }
        if !visited_children && cursor.goto_first_child() {
            continue;
        }
        if cursor.goto_next_sibling() {
            visited_children = false;
        } else if cursor.goto_parent() {
            visited_children = true;
        } else {
            break;
        }
    }
    errors
}

fn parse_powershell(source: &str) -> tree_sitter::Tree {
    let mut parser = tree_sitter::Parser::new();
    parser
        .set_language(&tree_sitter_powershell::LANGUAGE.into())
        .expect("the PowerShell grammar loads");
    parser
        .parse(source, None)
        .expect("the parser returns a tree")
}

fn tool_scripts() -> Vec<PathBuf> {
    let mut scripts: Vec<PathBuf> = std::fs::read_dir(root().join("tools"))
        .expect("tools/ exists")
        .map(|entry| entry.expect("readable directory entry").path())
        .filter(|path| {
            path.extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("ps1"))
        })
        .collect();
    scripts.sort();
    scripts
}

#[test]
fn the_syntax_check_catches_a_broken_script() {
    assert!(syntax_errors(&parse_powershell("$x = 1\nif ($x) { Write-Host 'ok' }\n")).is_empty());
    assert!(!syntax_errors(&parse_powershell("if ($x { Write-Host 'no'\n")).is_empty());
}

#[test]
fn packaging_scripts_parse() {
    let scripts = tool_scripts();
    let names: Vec<String> = scripts
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert!(names.contains(&"package.ps1".to_string()), "{names:?}");
    assert!(names.contains(&"vm-test.ps1".to_string()), "{names:?}");
    for script in &scripts {
        let source = std::fs::read_to_string(script).unwrap();
        let errors = syntax_errors(&parse_powershell(&source));
        assert!(
            errors.is_empty(),
            "{}: syntax errors at {errors:?}",
            script.display()
        );
    }
}

#[test]
fn packaging_scripts_follow_the_script_conventions() {
    // Aliases that scripts must not use (they differ between PowerShell 5.1 and 7, or shadow
    // native programs): the long cmdlet names are used instead.
    const ALIASES: &[&str] = &[
        "% ", "? ", "cd ", "cp ", "del ", "dir ", "echo ", "gci ", "gc ", "iex ", "ls ", "md ",
        "mv ", "rm ", "rmdir ", "sc ", "select ", "sort ", "where ", "curl ", "wget ",
    ];
    for script in tool_scripts() {
        let bytes = std::fs::read(&script).unwrap();
        let shown = script.display();
        assert!(
            bytes.is_ascii(),
            "{shown}: ASCII only (Windows PowerShell 5.1 reads ANSI)"
        );
        let text = String::from_utf8(bytes).unwrap();
        assert!(
            text.split('\n')
                .all(|line| line.is_empty() || line.ends_with('\r')),
            "{shown}: CRLF line endings (.gitattributes: *.ps1 text eol=crlf)"
        );
        assert!(text.contains("Set-StrictMode -Version Latest"), "{shown}");
        assert!(text.contains("$ErrorActionPreference = 'Stop'"), "{shown}");
        for line in text.lines() {
            let code = line.trim_start();
            if code.starts_with('#') {
                continue;
            }
            for alias in ALIASES {
                let used = code.starts_with(alias)
                    || code.contains(&format!("| {alias}"))
                    || code.contains(&format!("({alias}"));
                assert!(!used, "{shown}: alias {alias:?} in {line:?}");
            }
        }
    }
}

#[test]
fn the_package_script_signs_without_a_timestamp_server() {
    let script = std::fs::read_to_string(root().join("tools").join("package.ps1")).unwrap();
    for needed in [
        "stampinf",
        "inf2cat",
        "infverif",
        "'/w'",
        "signtool",
        "New-SelfSignedCertificate",
        "hvsignal_package",
        "WDKContentRoot",
        "KitsRoot10",
    ] {
        assert!(
            script.contains(needed),
            "tools/package.ps1 should use {needed}"
        );
    }
    assert!(
        !script.contains("'/t'") && !script.contains("'/tr'") && !script.contains("http"),
        "test signing must not depend on a network timestamp server"
    );
}

/// The lines of a script or workflow that are not comments.
fn code_lines(text: &str) -> impl Iterator<Item = &str> {
    text.lines()
        .filter(|line| !line.trim_start().starts_with('#'))
}

/// The files a `path: |` block of the artifact upload lists, as file names.
fn uploaded_files(workflow: &str) -> Vec<String> {
    let upload = workflow
        .split("uses: actions/upload-artifact")
        .nth(1)
        .expect("the workflow uploads an artifact");
    let mut files = Vec::new();
    let mut in_path = false;
    for line in upload.lines() {
        let trimmed = line.trim();
        if trimmed == "path: |" {
            in_path = true;
            continue;
        }
        if in_path {
            if trimmed.is_empty() || trimmed.ends_with(':') || trimmed.contains(": ") {
                break;
            }
            files.push(trimmed.rsplit('/').next().unwrap_or(trimmed).to_owned());
        }
    }
    files
}

/// The files the workflow's "Check the package is complete" step tests for, in order: the
/// quoted names of its `foreach ($file in ...)` list.
fn checked_files(workflow: &str) -> Vec<String> {
    let list = workflow
        .split("foreach ($file in ")
        .nth(1)
        .and_then(|rest| rest.split(") {").next())
        .expect("the workflow checks the package's files one by one");
    list.split('\'')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect()
}

#[test]
fn the_package_and_its_artifact_hold_no_wdk_tool() {
    // devgen.exe (and every other WDK tool) is Microsoft's and may not be redistributed: the
    // package script stages none, and the workflow uploads exactly the project's own files.
    let script = std::fs::read_to_string(root().join("tools").join("package.ps1")).unwrap();
    for line in code_lines(&script) {
        assert!(
            !line.to_ascii_lowercase().contains("devgen"),
            "tools/package.ps1 stages devgen: {line:?}"
        );
    }
    let workflow =
        std::fs::read_to_string(root().join(".github").join("workflows").join("windows.yml"))
            .unwrap();
    for line in code_lines(&workflow) {
        assert!(
            !line.to_ascii_lowercase().contains("devgen"),
            "the Windows workflow ships devgen: {line:?}"
        );
    }
    let stem = env!("CARGO_PKG_NAME").replace('-', "_");
    let mut expected: Vec<String> = ["sys", "pdb", "inf", "cat"]
        .iter()
        .map(|extension| format!("{stem}.{extension}"))
        .collect();
    expected.push("hvsignal.exe".to_owned());
    let certificate = script
        .lines()
        .find_map(|line| line.trim().strip_prefix("$TestCertificateFile = '"))
        .and_then(|rest| rest.split('\'').next())
        .expect("tools/package.ps1 names the test certificate file");
    expected.push(certificate.to_owned());
    assert_eq!(uploaded_files(&workflow), expected);
    // The completeness check lists the same files: upload-artifact alone would not notice one
    // missing file among several.
    assert_eq!(checked_files(&workflow), expected);
    assert_eq!(
        checked_files("foreach ($file in 'a.sys',\n   'b.cat') {\n"),
        ["a.sys", "b.cat"],
        "the check reader reads every listed file"
    );
    assert_eq!(
        uploaded_files(
            "- uses: actions/upload-artifact@v4\n  with:\n    path: |\n      a/x.sys\n      a/devgen.exe\n    if-no-files-found: error\n"
        ),
        ["x.sys", "devgen.exe"],
        "the upload reader reads every listed file"
    );
}

/// The CI checks are defined once, in `.ci/run`: `cargo make test` runs that script and
/// nothing else, so the two cannot drift apart.
#[test]
fn makefile_test_task_runs_the_ci_script() {
    let makefile: toml::Table = std::fs::read_to_string(root().join("Makefile.toml"))
        .unwrap()
        .parse()
        .unwrap();
    let test = makefile["tasks"]["test"].as_table().unwrap();
    assert_eq!(test["command"].as_str(), Some("bash"));
    let args: Vec<&str> = test["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert_eq!(
        args,
        ["${CARGO_MAKE_CURRENT_TASK_INITIAL_MAKEFILE_DIRECTORY}/.ci/run"]
    );
    for own_steps in ["dependencies", "script", "run_task"] {
        assert!(
            !test.contains_key(own_steps),
            "the test task runs .ci/run only, not steps of its own (`{own_steps}`)"
        );
    }
    assert!(root().join(".ci").join("run").is_file());
}

#[test]
fn driver_build_configuration_is_what_wdk_build_needs() {
    let build = std::fs::read_to_string(root().join("build.rs")).unwrap();
    assert!(build.contains("wdk_build::configure_wdk_binary_build()"));
    let config = std::fs::read_to_string(root().join(".cargo").join("config.toml")).unwrap();
    assert!(config.contains("[target.x86_64-pc-windows-msvc]"));
    assert!(config.contains("target-feature=+crt-static"));
    let manifest: toml::Table = std::fs::read_to_string(root().join("Cargo.toml"))
        .unwrap()
        .parse()
        .unwrap();
    let lib = &manifest["lib"];
    assert_eq!(lib["path"].as_str(), Some("driver/lib.rs"));
    assert_eq!(lib["crate-type"].as_array().unwrap().len(), 1);
    assert_eq!(lib["crate-type"][0].as_str(), Some("cdylib"));
    for profile in ["dev", "release"] {
        assert_eq!(
            manifest["profile"][profile]["panic"].as_str(),
            Some("abort"),
            "a kernel driver cannot unwind"
        );
    }
}

/// Builds the driver package (library only) for this host into a private target directory and
/// returns the cdylib.
#[cfg(not(windows))]
fn build_driver_for_this_host() -> PathBuf {
    let target_dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("driver-off-windows");
    let status = std::process::Command::new(env!("CARGO"))
        .current_dir(root())
        .args(["build", "--offline", "--locked", "--lib", "-p"])
        .arg(env!("CARGO_PKG_NAME"))
        .arg("--target-dir")
        .arg(&target_dir)
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .status()
        .expect("cargo runs");
    assert!(status.success(), "the driver crate must build on this host");
    let stem = env!("CARGO_PKG_NAME").replace('-', "_");
    let name = format!(
        "{}{stem}{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    );
    target_dir.join("debug").join(name)
}

#[test]
#[cfg(not(windows))]
fn driver_crate_is_empty_off_windows() {
    let library = build_driver_for_this_host();
    let bytes =
        std::fs::read(&library).unwrap_or_else(|e| panic!("reading {}: {e}", library.display()));
    // With the cfg gates in place nothing of the driver is compiled here: no entry point, no WDF
    // callback, no use of the core crates. Without them the build above fails (wdk-sys and the
    // core crates are Windows-only dependencies of this package) or these names show up.
    for symbol in [
        "DriverEntry",
        "evt_device_add",
        "evt_io_device_control",
        "hvsignal_core",
        "wdk_sys",
    ] {
        assert!(
            !bytes.windows(symbol.len()).any(|w| w == symbol.as_bytes()),
            "{} contains {symbol}: driver code was compiled off Windows",
            library.display()
        );
    }
}

#[test]
fn driver_sources_gate_everything_on_windows() {
    let lib = std::fs::read_to_string(root().join("driver").join("lib.rs")).unwrap();
    assert!(lib.contains("#![cfg_attr(windows, no_std)]"));
    // Every top-level item of lib.rs carries #[cfg(windows)] (or a cfg(all(windows, ..))); the
    // other files in driver/ are modules reached only through these items. rustfmt puts items
    // at column 0, continuation lines are indented or start with a closing bracket.
    let mut attributes: Vec<&str> = Vec::new();
    let mut items = 0;
    for line in lib.lines() {
        let starts_item = !line.is_empty()
            && !line.starts_with(char::is_whitespace)
            && !line.starts_with(['}', ')', ']'])
            && !line.starts_with("//")
            && !line.starts_with("#![");
        if !starts_item {
            continue;
        }
        if line.starts_with("#[") {
            attributes.push(line);
            continue;
        }
        items += 1;
        assert!(
            attributes
                .iter()
                .any(|a| a.starts_with("#[cfg(windows)]") || a.starts_with("#[cfg(all(windows")),
            "driver/lib.rs: `{line}` is not gated on #[cfg(windows)]"
        );
        attributes.clear();
    }
    assert!(items > 0, "driver/lib.rs declares the driver's modules");
}

#[test]
fn the_drivers_dependencies_stay_no_std_when_built_with_the_console_program() {
    // tools/package.ps1 builds the driver and the console program in one cargo invocation, so
    // their dependencies' features unify. A `std` (or `alloc`) feature switched on for a crate
    // the driver links would pull the user-mode runtime into the kernel binary, which fails only
    // on Windows, at link time. cargo tree resolves the Windows graph on any host.
    // Offline first; the Windows-only crates (wdk, wdk-sys, ...) may not have been downloaded
    // on a host that never built for Windows, and then cargo fetches their manifests.
    let run = |offline: bool| {
        let mut command = std::process::Command::new(env!("CARGO"));
        command.current_dir(root()).arg("tree");
        if offline {
            command.arg("--offline");
        }
        command
            .args([
                "--locked",
                "-p",
                env!("CARGO_PKG_NAME"),
                "-p",
                "hvsignal",
                "--target",
                "x86_64-pc-windows-msvc",
                "-e",
                "normal,features",
                "--prefix",
                "none",
            ])
            .env_remove("CARGO_TARGET_DIR")
            .output()
            .expect("cargo runs")
    };
    let mut output = run(true);
    if !output.status.success() {
        output = run(false);
    }
    assert!(
        output.status.success(),
        "cargo tree failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let tree = String::from_utf8(output.stdout).unwrap();
    assert!(
        tree.contains("hvsignal-core feature"),
        "unexpected cargo tree output:\n{tree}"
    );
    for krate in ["zerocopy", "hvcall", "hvsignal-proto", "hvsignal-core"] {
        for feature in ["std", "alloc"] {
            let enabled = format!("{krate} feature \"{feature}\"");
            assert!(
                !tree.lines().any(|line| line.starts_with(&enabled)),
                "{enabled} is enabled in the driver's build graph"
            );
        }
    }
}
