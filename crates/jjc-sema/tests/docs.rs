//! `docs/language.md` documents every field, callable and diagnostic code.

use jjc_sema::builtins::{CALLABLES, FLOW_FIELDS, PKT_FIELDS};
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
    for (name, _, _) in CALLABLES {
        assert!(doc.contains(&format!("`{name}(")), "{name}");
    }
    for c in codes::ALL {
        assert!(doc.contains(&format!("| {} |", c.id)), "{}", c.id);
    }
}
