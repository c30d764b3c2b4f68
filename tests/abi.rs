//! The plugin ABI has one Rust definition (the SDK's `CsPluginV1` and the
//! types it holds, which the host reads too) and one C definition (the
//! header plugin authors include). This test compiles the header with the
//! system C compiler and checks that every struct has the same fields at
//! the same offsets and the same size on both sides, and that the version
//! and the needs bits agree: a field added, moved or retyped on one side
//! only fails here.

use std::collections::BTreeMap;
use std::mem::{offset_of, size_of};
use std::path::Path;
use std::process::Command;

use callscope_plugin_sdk::{CsBuffer, CsBytes, CsCall, CsPluginV1, CsTrack, Needs, ABI_VERSION};

const HEADER: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/plugins/callscope-plugin-sdk/include/callscope_plugin.h"
);

/// The header without its comments.
fn header_code() -> String {
    let text = std::fs::read_to_string(HEADER).unwrap();
    let mut out = String::new();
    let mut rest = text.as_str();
    while let Some(i) = rest.find("/*") {
        out.push_str(&rest[..i]);
        let end = rest[i..].find("*/").expect("closed comment") + i + 2;
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

/// Every `typedef struct NAME { fields } NAME;` of the header, with its
/// field names in order (a function pointer's name is the one in `(*name)`).
fn c_structs(code: &str) -> Vec<(String, Vec<String>)> {
    let mut out = Vec::new();
    let mut rest = code;
    while let Some(i) = rest.find("typedef struct ") {
        rest = &rest[i + "typedef struct ".len()..];
        let name = rest.split_whitespace().next().unwrap().to_string();
        let open = rest.find('{').unwrap();
        let close = rest.find('}').unwrap();
        let fields = rest[open + 1..close]
            .split(';')
            .map(str::trim)
            .filter(|f| !f.is_empty())
            .map(|f| match f.find("(*") {
                Some(p) => f[p + 2..f[p..].find(')').unwrap() + p].trim().to_string(),
                None => f
                    .split('[')
                    .next()
                    .unwrap()
                    .rsplit(|c: char| !(c.is_alphanumeric() || c == '_'))
                    .find(|w| !w.is_empty())
                    .unwrap()
                    .to_string(),
            })
            .collect();
        out.push((name, fields));
        rest = &rest[close..];
    }
    out
}

/// What the C compiler says: `struct field offset` and `struct sizeof size`
/// lines, and the header's constants.
fn c_layout(dir: &Path, structs: &[(String, Vec<String>)]) -> Option<BTreeMap<String, usize>> {
    let mut prog = String::from(
        "#include <stdio.h>\n#include <stddef.h>\n#include \"callscope_plugin.h\"\nint main(void) {\n",
    );
    for (s, fields) in structs {
        prog.push_str(&format!("printf(\"{s} sizeof %zu\\n\", sizeof({s}));\n"));
        for f in fields {
            prog.push_str(&format!(
                "printf(\"{s} {f} %zu\\n\", offsetof({s}, {f}));\n"
            ));
        }
    }
    for c in [
        "CALLSCOPE_ABI_VERSION",
        "CS_NEEDS_METADATA",
        "CS_NEEDS_TRANSCRIPT",
        "CS_NEEDS_EVENTS",
        "CS_NEEDS_AUDIO",
        "CS_NEEDS_TIMELINE",
    ] {
        prog.push_str(&format!("printf(\"const {c} %u\\n\", (unsigned) {c});\n"));
    }
    prog.push_str("return 0;\n}\n");
    let src = dir.join("layout.c");
    std::fs::write(&src, prog).unwrap();
    let exe = dir.join("layout");
    let include = Path::new(HEADER).parent().unwrap();
    let built = Command::new("cc")
        .args(["-std=c99", "-Wall", "-Werror", "-I"])
        .arg(include)
        .arg(&src)
        .arg("-o")
        .arg(&exe)
        .status();
    match built {
        Ok(s) => assert!(s.success(), "the header does not compile"),
        Err(_) => return None,
    }
    let out = Command::new(&exe).output().unwrap();
    Some(
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(|l| {
                let (k, v) = l.rsplit_once(' ').unwrap();
                (k.to_string(), v.parse().unwrap())
            })
            .collect(),
    )
}

macro_rules! layout {
    ($map:ident, $t:ty, $c:literal, [$($f:ident),* $(,)?]) => {
        $map.insert(format!("{} sizeof", $c), size_of::<$t>());
        $( $map.insert(format!("{} {}", $c, stringify!($f)), offset_of!($t, $f)); )*
    };
}

/// The same facts from the Rust definitions.
fn rust_layout() -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    layout!(m, CsBytes, "cs_bytes", [ptr, len]);
    layout!(m, CsBuffer, "cs_buffer", [ptr, len]);
    layout!(m, CsTrack, "cs_track", [samples, len, sample_rate]);
    layout!(m, CsCall, "cs_call", [call_json, caller, bot]);
    layout!(
        m,
        CsPluginV1,
        "cs_plugin_v1",
        [
            abi_version,
            name,
            version,
            needs,
            init,
            columns,
            analyze,
            summarize,
            free_buffer,
            deinit
        ]
    );
    for (c, v) in [
        ("CALLSCOPE_ABI_VERSION", ABI_VERSION),
        ("CS_NEEDS_METADATA", Needs::METADATA.0),
        ("CS_NEEDS_TRANSCRIPT", Needs::TRANSCRIPT.0),
        ("CS_NEEDS_EVENTS", Needs::EVENTS.0),
        ("CS_NEEDS_AUDIO", Needs::AUDIO.0),
        ("CS_NEEDS_TIMELINE", Needs::TIMELINE.0),
    ] {
        m.insert(format!("const {c}"), v as usize);
    }
    m
}

#[test]
fn the_c_header_and_the_rust_definitions_agree() {
    let code = header_code();
    let structs = c_structs(&code);
    let names: Vec<&str> = structs.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "cs_bytes",
            "cs_buffer",
            "cs_track",
            "cs_call",
            "cs_plugin_v1"
        ],
        "a struct was added to or removed from the header: describe it in rust_layout too"
    );
    let tmp = tempfile::tempdir().unwrap();
    let Some(c) = c_layout(tmp.path(), &structs) else {
        eprintln!("SKIPPED: no C compiler (cc); the header is not compared with the Rust layout");
        return;
    };
    let rust = rust_layout();
    let only_c: Vec<_> = c.keys().filter(|k| !rust.contains_key(*k)).collect();
    let only_rust: Vec<_> = rust.keys().filter(|k| !c.contains_key(*k)).collect();
    assert!(only_c.is_empty(), "in the C header only: {only_c:?}");
    assert!(
        only_rust.is_empty(),
        "in the Rust definitions only: {only_rust:?}"
    );
    for (k, v) in &c {
        assert_eq!(rust[k], *v, "{k}: C says {v}, Rust says {}", rust[k]);
    }
}

/// The parser above reads what it must: a header with one more field has
/// one more field, whatever its kind.
#[test]
fn the_header_parser_sees_every_field() {
    let code = "typedef struct a { int x; const char *y; void (*f)(int z); uint8_t w[4]; } a;";
    assert_eq!(
        c_structs(code),
        [(
            "a".to_string(),
            vec!["x".into(), "y".into(), "f".into(), "w".into()]
        )]
    );
}
