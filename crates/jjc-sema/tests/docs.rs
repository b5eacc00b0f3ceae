//! `docs/language.md` documents every field, callable and diagnostic code.

use jjc_sema::builtins::{CALLABLES, FLOW_FIELDS, PKT_FIELDS, RECORDS, record_fields};
use jjc_syntax::codes;

#[test]
fn language_reference_is_complete() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/language.md");
    let doc = std::fs::read_to_string(path).expect("docs/language.md");
    for f in PKT_FIELDS {
        assert!(doc.contains(&format!("`pkt.{}`", f.name)), "pkt.{}", f.name);
    }
    for f in FLOW_FIELDS {
        assert!(
            doc.contains(&format!("`flow.{}`", f.name)),
            "flow.{}",
            f.name
        );
    }
    for r in RECORDS {
        let table = doc
            .split(&format!("`{}` (`tls_", r.name()))
            .nth(1)
            .and_then(|rest| rest.split("\n\n`").next())
            .unwrap_or_else(|| panic!("no field table for `{}`", r.name()));
        for f in record_fields(*r) {
            let row = format!("| `.{}` | {} | {} |", f.name, f.ty, f.doc);
            assert!(table.contains(&row), "{}: {row}", r.name());
        }
    }
    for (name, _, _) in CALLABLES {
        assert!(doc.contains(&format!("`{name}(")), "{name}");
    }
    for c in codes::ALL {
        assert!(doc.contains(&format!("| {} |", c.id)), "{}", c.id);
    }
}
