//! Embeds the standard library: every `.jjf` file at the top of `features/`, with its syntax
//! tree parsed here, at build time, so that a run decodes the tree instead of parsing the
//! text again (parsing was the largest part of start-up).
//!
//! A file that does not parse cleanly gets no tree: it is parsed at run time, where its
//! diagnostics are reported as for any file.

use std::path::{Path, PathBuf};

use jjc_syntax::{FileId, ast_codec, parse_all};

fn main() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../features");
    println!("cargo:rerun-if-changed={}", dir.display());
    let out_dir = PathBuf::from(std::env::var("OUT_DIR").unwrap_or_default());
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "jjf"))
        .collect();
    files.sort();
    // Read once: the text embedded is the text parsed. A file that cannot be read, or is
    // not UTF-8, is embedded from its own path, which `include_str!` reports.
    let texts: Vec<(&Path, String, Option<String>)> = files
        .iter()
        .map(|f| {
            println!("cargo:rerun-if-changed={}", f.display());
            let name = f.file_name().and_then(|n| n.to_str()).unwrap_or("?");
            let text = std::fs::read(f)
                .ok()
                .and_then(|b| String::from_utf8(b).ok());
            (f.as_path(), name.to_string(), text)
        })
        .collect();
    let inputs: Vec<(FileId, &str)> = texts
        .iter()
        .filter_map(|(_, _, text)| Some((FileId(0), text.as_deref()?)))
        .collect();
    let mut parsed = parse_all(&inputs).into_iter();
    let mut code = String::from(
        "/// The standard library: (file name, text, syntax tree from `jjc_syntax::ast_codec`,\n\
         /// empty when the file did not parse cleanly) of each embedded `.jjf` file.\n",
    );
    code.push_str("pub const EMBEDDED: &[(&str, &str, &[u8])] = &[\n");
    for (path, name, text) in &texts {
        let mut text_path = path.to_path_buf();
        let mut tree = Vec::new();
        if let Some(text) = text {
            if let Some(p) = parsed.next()
                && let Some(file) = p.file.filter(|_| p.diagnostics.is_empty())
            {
                tree = ast_codec::encode(&file);
            }
            text_path = out_dir.join(name);
            write(&text_path, text.as_bytes());
        }
        let tree_path = out_dir.join(format!("{name}.tree"));
        write(&tree_path, &tree);
        code.push_str(&format!(
            "    ({:?}, include_str!({:?}), include_bytes!({:?})),\n",
            name,
            text_path.display().to_string(),
            tree_path.display().to_string()
        ));
    }
    code.push_str("];\n");
    write(&out_dir.join("embedded.rs"), code.as_bytes());
}

fn write(path: &Path, bytes: &[u8]) {
    if let Err(e) = std::fs::write(path, bytes) {
        println!("cargo:warning=cannot write {}: {e}", path.display());
    }
}
