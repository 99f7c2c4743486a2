//! The driver's INF template (`inf/hvsignal_driver.inx`) agrees with the code and the Cargo
//! metadata: hardware ID, service name, binary name, KMDF version, class, device security and the
//! raw-call policy default, and every section and string it references exists.
//!
//! `infverif` and `pnputil` only run on Windows; this test is what checks the template on every
//! CI run. It reads the file with the small INF reader below (sections, `key = value` lines,
//! comma-separated fields, quoted strings, `;` comments, `%token%` substitution from
//! `[Strings]`), which is all the syntax the template uses.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::disallowed_methods,
    reason = "test code: a panic is a failed test"
)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use hvsignal_proto::names::{
    DEVICE_SDDL, DRIVER_BINARY, HARDWARE_ID, RAW_POLICY_VALUE_NAME, SERVICE_NAME,
};

/// `GUID_DEVCLASS_SYSTEM` (`devguid.h`): the class of system devices. A Microsoft-defined class,
/// so the INF carries no `[ClassInstall32]` (infverif 1285).
const SYSTEM_CLASS_GUID: &str = "{4d36e97d-e325-11ce-bfc1-08002be10318}";
/// The target-OS decoration DIRID 13 (run from the driver store) requires (infverif 1199).
const MODELS_DECORATION: &str = "NT$ARCH$.10.0...16299";
/// `SPSVCINST_ASSOCSERVICE`: the service is the device's function driver.
const SPSVCINST_ASSOCSERVICE: u32 = 0x0000_0002;
/// `FLG_ADDREG_TYPE_DWORD`.
const FLG_ADDREG_TYPE_DWORD: u32 = 0x0001_0001;
/// `FILE_DEVICE_SECURE_OPEN`.
const FILE_DEVICE_SECURE_OPEN: u32 = 0x0000_0100;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The crate's file stem: the package name with `-` replaced by `_`, as cargo names the binary.
fn driver_stem() -> String {
    env!("CARGO_PKG_NAME").replace('-', "_")
}

fn inx_path() -> PathBuf {
    root().join("inf").join(format!("{}.inx", driver_stem()))
}

// ------------------------------------------------------------------------------------------------
// A small INF reader
// ------------------------------------------------------------------------------------------------

/// One line of a section: `key = field, field, ...` or a bare `field, field, ...`.
#[derive(Debug, Clone)]
struct Line {
    /// 1-based line number in the file.
    number: usize,
    key: Option<String>,
    /// The comma-separated fields after `=` (or of the whole line), trimmed, quotes removed.
    fields: Vec<String>,
}

#[derive(Debug)]
struct Section {
    name: String,
    lines: Vec<Line>,
}

#[derive(Debug)]
struct Inf {
    sections: Vec<Section>,
}

/// Removes a `;` comment that is outside double quotes.
fn strip_comment(line: &str) -> &str {
    let mut quoted = false;
    for (at, c) in line.char_indices() {
        match c {
            '"' => quoted = !quoted,
            ';' if !quoted => return &line[..at],
            _ => {}
        }
    }
    line
}

/// Splits at `separator` outside double quotes.
fn split_unquoted(text: &str, separator: char) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut quoted = false;
    let mut start = 0;
    for (at, c) in text.char_indices() {
        if c == '"' {
            quoted = !quoted;
        } else if c == separator && !quoted {
            parts.push(&text[start..at]);
            start = at + c.len_utf8();
        }
    }
    parts.push(&text[start..]);
    parts
}

fn unquote(field: &str) -> String {
    let field = field.trim();
    field
        .strip_prefix('"')
        .and_then(|f| f.strip_suffix('"'))
        .unwrap_or(field)
        .to_string()
}

impl Inf {
    fn parse(text: &str) -> Result<Self, String> {
        let mut sections: Vec<Section> = Vec::new();
        for (index, raw) in text.lines().enumerate() {
            let number = index + 1;
            let line = strip_comment(raw).trim();
            if line.is_empty() {
                continue;
            }
            if let Some(rest) = line.strip_prefix('[') {
                let name = rest
                    .strip_suffix(']')
                    .ok_or_else(|| format!("line {number}: unterminated section header"))?
                    .trim();
                if sections.iter().any(|s| s.name.eq_ignore_ascii_case(name)) {
                    return Err(format!("line {number}: section [{name}] appears twice"));
                }
                sections.push(Section {
                    name: name.to_string(),
                    lines: Vec::new(),
                });
                continue;
            }
            let section = sections
                .last_mut()
                .ok_or_else(|| format!("line {number}: entry before the first section"))?;
            let halves = split_unquoted(line, '=');
            let (key, value) = match halves.as_slice() {
                [value] => (None, *value),
                [key, value] => (Some(key.trim().to_string()), *value),
                _ => return Err(format!("line {number}: more than one '='")),
            };
            let fields = split_unquoted(value, ',')
                .into_iter()
                .map(unquote)
                .collect();
            section.lines.push(Line {
                number,
                key,
                fields,
            });
        }
        Ok(Self { sections })
    }

    fn section(&self, name: &str) -> Option<&Section> {
        self.sections
            .iter()
            .find(|s| s.name.eq_ignore_ascii_case(name))
    }

    fn require(&self, name: &str) -> &Section {
        self.section(name)
            .unwrap_or_else(|| panic!("the INF has no [{name}] section"))
    }

    /// The value of `[Strings] token`.
    fn string(&self, token: &str) -> Option<String> {
        let strings = self.section("Strings")?;
        strings.lines.iter().find_map(|line| {
            let key = line.key.as_deref()?;
            key.eq_ignore_ascii_case(token)
                .then(|| line.fields.join(","))
        })
    }

    /// Replaces every `%token%` with its `[Strings]` value; `%<number>%` (a DIRID) stays as is.
    fn expand(&self, text: &str) -> Result<String, String> {
        let mut out = String::new();
        let mut rest = text;
        while let Some(start) = rest.find('%') {
            out.push_str(&rest[..start]);
            let after = &rest[start + 1..];
            let end = after
                .find('%')
                .ok_or_else(|| format!("unterminated %token% in {text:?}"))?;
            let token = &after[..end];
            if token.is_empty() || token.chars().all(|c| c.is_ascii_digit()) {
                out.push('%');
                out.push_str(token);
                out.push('%');
            } else {
                let value = self
                    .string(token)
                    .ok_or_else(|| format!("%{token}% is not defined in [Strings]"))?;
                out.push_str(&value);
            }
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }
}

impl Section {
    /// The fields of the only line with this key (case-insensitive).
    fn value(&self, key: &str) -> &[String] {
        let matches: Vec<&Line> = self
            .lines
            .iter()
            .filter(|l| {
                l.key
                    .as_deref()
                    .is_some_and(|k| k.eq_ignore_ascii_case(key))
            })
            .collect();
        match matches.as_slice() {
            [line] => &line.fields,
            [] => panic!("[{}] has no {key} entry", self.name),
            _ => panic!("[{}] has {key} more than once", self.name),
        }
    }

    fn single(&self, key: &str) -> &str {
        match self.value(key) {
            [only] => only,
            fields => panic!(
                "[{}] {key} should have one field, has {fields:?}",
                self.name
            ),
        }
    }

    fn has(&self, key: &str) -> bool {
        self.lines.iter().any(|l| {
            l.key
                .as_deref()
                .is_some_and(|k| k.eq_ignore_ascii_case(key))
        })
    }
}

fn parse_number(text: &str) -> u32 {
    let text = text.trim();
    let parsed = match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        Some(hex) => u32::from_str_radix(hex, 16),
        None => text.parse(),
    };
    parsed.unwrap_or_else(|e| panic!("{text:?} is not a number: {e}"))
}

fn read_inx_text() -> String {
    let path = inx_path();
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

fn read_inx() -> Inf {
    Inf::parse(&read_inx_text()).unwrap_or_else(|e| panic!("{}: {e}", inx_path().display()))
}

/// The single install section the models section points at, and the hardware ID it gives.
fn model_entry(inf: &Inf) -> (String, String) {
    let manufacturer = inf.require("Manufacturer");
    let [line] = manufacturer.lines.as_slice() else {
        panic!("[Manufacturer] should name exactly one manufacturer");
    };
    let [models, decorations @ ..] = line.fields.as_slice() else {
        panic!("[Manufacturer] entry without a models section");
    };
    assert_eq!(
        decorations,
        [MODELS_DECORATION.to_string()],
        "the models section must be decorated {MODELS_DECORATION} (DIRID 13 needs 16299+)"
    );
    let models = inf.require(&format!("{models}.{MODELS_DECORATION}"));
    let [entry] = models.lines.as_slice() else {
        panic!("[{}] should list exactly one device", models.name);
    };
    let [install, hardware_id] = entry.fields.as_slice() else {
        panic!(
            "line {}: a model entry is `%desc% = install-section, hardware-id`",
            entry.number
        );
    };
    (install.clone(), hardware_id.clone())
}

// ------------------------------------------------------------------------------------------------
// Tests
// ------------------------------------------------------------------------------------------------

#[test]
fn the_reader_handles_comments_quotes_and_fields() {
    let inf = Inf::parse(
        "; header\r\n[A]\r\nkey = \"x;y\" , 2 ; note\r\nbare, entry\r\n[Strings]\r\nT = \"v\"\r\n",
    )
    .unwrap();
    let a = inf.require("a");
    assert_eq!(a.value("KEY"), ["x;y", "2"]);
    assert_eq!(a.lines[1].key, None);
    assert_eq!(a.lines[1].fields, ["bare", "entry"]);
    assert_eq!(inf.expand("%t%-%13%").unwrap(), "v-%13%");
    assert!(inf.expand("%missing%").is_err());
    assert!(
        Inf::parse("[A]\n[a]\n").is_err(),
        "duplicate sections are an error"
    );
}

#[test]
fn template_is_ascii_with_crlf_line_endings() {
    let bytes = std::fs::read(inx_path()).unwrap();
    assert!(
        bytes.is_ascii(),
        "stampinf and infverif expect ASCII (or UTF-16LE with BOM)"
    );
    // Every line, the last included, ends in CRLF: after the final '\n' nothing follows.
    let lines: Vec<&[u8]> = bytes.split(|b| *b == b'\n').collect();
    let (last, complete) = lines.split_last().unwrap();
    assert!(last.is_empty(), "the file ends with a line break");
    for (index, line) in complete.iter().enumerate() {
        assert!(
            line.ends_with(b"\r"),
            "line {} does not end in CRLF (.gitattributes: *.inx text eol=crlf)",
            index + 1
        );
    }
}

#[test]
fn version_section_is_what_infverif_requires() {
    let inf = read_inx();
    let version = inf.require("Version");
    assert_eq!(version.single("Signature"), "$WINDOWS NT$");
    assert_eq!(version.single("Class"), "System");
    assert!(
        version
            .single("ClassGuid")
            .eq_ignore_ascii_case(SYSTEM_CLASS_GUID)
    );
    assert!(
        inf.section("ClassInstall32").is_none(),
        "no [ClassInstall32] for a Microsoft-defined class (infverif 1285)"
    );
    let provider = inf.expand(version.single("Provider")).unwrap();
    assert!(!provider.trim().is_empty(), "Provider must not be empty");
    assert_eq!(
        version.single("CatalogFile"),
        format!("{}.cat", driver_stem())
    );
    assert_eq!(version.single("PnpLockdown"), "1", "infverif 1324");
    assert!(version.has("DriverVer"), "stampinf rewrites DriverVer");
    assert_eq!(
        inf.require("DestinationDirs").single("DefaultDestDir"),
        "13",
        "DIRID 13: the driver runs from the driver store"
    );
}

#[test]
fn model_names_the_hardware_id_of_the_code() {
    let inf = read_inx();
    let (_, hardware_id) = model_entry(&inf);
    assert_eq!(hardware_id, HARDWARE_ID);
}

#[test]
fn service_and_binary_agree_with_the_code_and_cargo() {
    assert_eq!(
        DRIVER_BINARY,
        format!("{}.sys", driver_stem()),
        "cargo builds <package>.dll; packaging renames it to the binary the INF installs"
    );
    let inf = read_inx();
    let (install, _) = model_entry(&inf);

    let source_files = inf.require("SourceDisksFiles");
    assert!(source_files.has(DRIVER_BINARY));
    let copy = inf.require(&format!("{install}.NT")).value("CopyFiles");
    assert_eq!(copy.len(), 1);
    let copied = inf.require(&copy[0]);
    let names: Vec<&str> = copied
        .lines
        .iter()
        .filter_map(|l| l.fields.first().map(String::as_str))
        .collect();
    assert_eq!(names, [DRIVER_BINARY]);

    let services = inf.require(&format!("{install}.NT.Services"));
    let add_service = services.value("AddService");
    let [name, flags, service_install] = add_service else {
        panic!("AddService = name, flags, install-section; got {add_service:?}");
    };
    assert_eq!(name, SERVICE_NAME);
    assert_eq!(
        parse_number(&inf.expand(flags).unwrap()),
        SPSVCINST_ASSOCSERVICE
    );
    let service = inf.require(service_install);
    assert_eq!(
        parse_number(service.single("ServiceType")),
        1,
        "kernel driver"
    );
    assert_eq!(parse_number(service.single("StartType")), 3, "demand start");
    assert_eq!(parse_number(service.single("ErrorControl")), 1);
    assert_eq!(
        service.single("ServiceBinary"),
        format!("%13%\\{DRIVER_BINARY}")
    );
}

#[test]
fn kmdf_section_names_the_service_and_the_stamped_version() {
    let inf = read_inx();
    let (install, _) = model_entry(&inf);
    let wdf = inf.require(&format!("{install}.NT.Wdf"));
    let kmdf_service = wdf.value("KmdfService");
    let [service, wdf_section] = kmdf_service else {
        panic!("KmdfService = service, section; got {kmdf_service:?}");
    };
    assert_eq!(service, SERVICE_NAME);
    assert_eq!(
        inf.require(wdf_section).single("KmdfLibraryVersion"),
        "$KMDFVERSION$",
        "stampinf -k <version> fills in the KMDF version from Cargo metadata"
    );

    // The version stampinf receives is the one in Cargo.toml; the package script reads it from
    // `cargo metadata` rather than repeating it.
    let manifest: toml::Table = std::fs::read_to_string(root().join("Cargo.toml"))
        .unwrap()
        .parse()
        .unwrap();
    let model = &manifest["package"]["metadata"]["wdk"]["driver-model"];
    assert_eq!(model["driver-type"].as_str(), Some("KMDF"));
    assert_eq!(model["kmdf-version-major"].as_integer(), Some(1));
    assert_eq!(model["target-kmdf-version-minor"].as_integer(), Some(33));
    let script = std::fs::read_to_string(root().join("tools").join("package.ps1")).unwrap();
    for key in ["kmdf-version-major", "target-kmdf-version-minor"] {
        assert!(
            script.contains(key),
            "tools/package.ps1 should take the KMDF version from the metadata key {key}"
        );
    }
}

#[test]
fn device_security_is_the_sddl_of_the_code() {
    let inf = read_inx();
    let (install, _) = model_entry(&inf);
    let hw = inf.require(&format!("{install}.NT.HW"));
    let add_reg = hw.value("AddReg");
    let mut security = None;
    let mut characteristics = None;
    for section in add_reg {
        for line in &inf.require(section).lines {
            match line.fields.as_slice() {
                [root, subkey, name, flags, value] if root == "HKR" && subkey.is_empty() => {
                    match name.as_str() {
                        "Security" => security = Some((flags.clone(), value.clone())),
                        "DeviceCharacteristics" => {
                            characteristics = Some((parse_number(flags), parse_number(value)));
                        }
                        other => panic!("line {}: unexpected device property {other}", line.number),
                    }
                }
                other => panic!("line {}: unexpected AddReg entry {other:?}", line.number),
            }
        }
    }
    assert_eq!(
        security,
        Some((String::new(), DEVICE_SDDL.to_string())),
        "HKR,,Security,,\"<sddl>\""
    );
    assert_eq!(
        characteristics,
        Some((FLG_ADDREG_TYPE_DWORD, FILE_DEVICE_SECURE_OPEN))
    );
}

#[test]
fn raw_policy_value_is_created_off() {
    let inf = read_inx();
    let (install, _) = model_entry(&inf);
    let services = inf.require(&format!("{install}.NT.Services"));
    let service = inf.require(&services.value("AddService")[2]);
    let mut found = Vec::new();
    for section in service.value("AddReg") {
        for line in &inf.require(section).lines {
            if let [root, subkey, name, flags, value] = line.fields.as_slice() {
                found.push((
                    root.clone(),
                    subkey.clone(),
                    name.clone(),
                    parse_number(flags),
                    parse_number(value),
                ));
            } else {
                panic!(
                    "line {}: unexpected AddReg entry {:?}",
                    line.number, line.fields
                );
            }
        }
    }
    assert_eq!(
        found,
        [(
            "HKR".to_string(),
            "Parameters".to_string(),
            RAW_POLICY_VALUE_NAME.to_string(),
            FLG_ADDREG_TYPE_DWORD,
            0
        )],
        "the service key's Parameters\\{RAW_POLICY_VALUE_NAME} is a DWORD 0 (raw mode off)"
    );
}

#[test]
fn every_referenced_section_and_string_exists() {
    let inf = read_inx();
    let mut referenced: BTreeSet<String> = BTreeSet::new();
    let (install, _) = model_entry(&inf);
    for suffix in [".NT", ".NT.HW", ".NT.Services", ".NT.Wdf"] {
        referenced.insert(format!("{install}{suffix}"));
    }
    // Directives whose fields name sections: (directive, index of the field, or all fields).
    for section in &inf.sections {
        for line in &section.lines {
            let Some(key) = line.key.as_deref() else {
                continue;
            };
            let named: Vec<&String> = match key.to_ascii_lowercase().as_str() {
                "copyfiles" | "addreg" | "delreg" | "include" | "needs" => {
                    line.fields.iter().filter(|f| !f.starts_with('@')).collect()
                }
                "addservice" => line.fields.get(2).into_iter().collect(),
                "kmdfservice" => line.fields.get(1).into_iter().collect(),
                _ => Vec::new(),
            };
            referenced.extend(named.into_iter().cloned());
        }
    }
    for name in &referenced {
        assert!(
            inf.section(name).is_some(),
            "[{name}] is referenced but does not exist"
        );
    }
    // Every section is either a fixed one or referenced (nothing dead or misspelt).
    let fixed = [
        "Version",
        "DestinationDirs",
        "SourceDisksNames",
        "SourceDisksFiles",
        "Manufacturer",
        "Strings",
    ];
    let models = format!(
        "{}.{MODELS_DECORATION}",
        inf.require("Manufacturer").lines[0].fields[0]
    );
    for section in &inf.sections {
        let known = fixed.iter().any(|f| f.eq_ignore_ascii_case(&section.name))
            || section.name.eq_ignore_ascii_case(&models)
            || referenced
                .iter()
                .any(|r| r.eq_ignore_ascii_case(&section.name));
        assert!(known, "[{}] is never referenced", section.name);
    }
    // Every %token% is defined.
    for section in &inf.sections {
        for line in &section.lines {
            for text in line.key.iter().chain(&line.fields) {
                inf.expand(text)
                    .unwrap_or_else(|e| panic!("line {}: {e}", line.number));
            }
        }
    }
    // The source disk the files come from exists.
    let disk = &inf.require("SourceDisksFiles").value(DRIVER_BINARY)[0];
    assert!(inf.require("SourceDisksNames").has(disk));
}

#[test]
fn the_inx_lives_where_the_package_script_looks_for_it() {
    let script = std::fs::read_to_string(root().join("tools").join("package.ps1")).unwrap();
    assert!(inx_path().is_file());
    assert!(
        script.contains("'inf'") && script.contains(".inx"),
        "tools/package.ps1 reads the template from inf/<crate>.inx"
    );
    assert!(Path::new(&inx_path()).starts_with(root().join("inf")));
}
