//! Where groups come from: the embedded standard library, `-f` files, feature folders,
//! `JJ_FEATURES_PATH` and `$XDG_CONFIG_HOME/jjc/features`, loaded and checked together.

use std::path::{Path, PathBuf};

use jjc_syntax::codes;
use jjc_syntax::{Diagnostic, Diagnostics, FileId, SourceMap, Span};

use crate::check;
use crate::hir::{GroupId, Program};

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/embedded.rs"));
}

/// The stack the checker runs on.
const CHECKER_STACK: usize = 64 << 20;

/// The largest `.jjf` file read (bigger files are an I/O error, not a hang).
const MAX_FILE_BYTES: u64 = 64 << 20;

/// Where to look for groups besides the embedded standard library.
#[derive(Debug, Clone, Default)]
pub struct Sources {
    /// `-f FILE`, in order: their groups run by default.
    pub files: Vec<PathBuf>,
    /// `--features-dir DIR`: the `.jjf` files at the top of each.
    pub features_dirs: Vec<PathBuf>,
    /// Also search `JJ_FEATURES_PATH` (colon-separated folders) and
    /// `$XDG_CONFIG_HOME/jjc/features` (default `~/.config/jjc/features`).
    pub use_env: bool,
}

/// How a file came to be loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileOrigin {
    /// The standard library built into the binary.
    Embedded,
    /// A features folder (`--features-dir`, `JJ_FEATURES_PATH` or the XDG folder).
    FeaturesDir(PathBuf),
    /// Named with `-f`: its groups run by default.
    File,
    /// Named on the `jjc check` command line.
    Checked,
}

/// One loaded source file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadedFile {
    /// Its id in [`Library::sources`].
    pub id: FileId,
    /// How it was found.
    pub origin: FileOrigin,
    /// Its canonical path (none for embedded files).
    pub path: Option<PathBuf>,
}

/// Every group that can be selected, checked into one program.
#[derive(Debug, Clone, Default)]
pub struct Library {
    /// The text of every loaded file.
    pub sources: SourceMap,
    /// The checked program of all of them.
    pub program: Program,
    /// The loaded files, in load order.
    pub files: Vec<LoadedFile>,
}

/// The files of a library, found and read but not yet parsed or checked
/// ([`Library::gather`]).
pub struct Gathered(Loader);

impl Gathered {
    /// Whether reading the files already failed (one could not be read, or is not UTF-8).
    pub fn has_errors(&self) -> bool {
        self.0.diags.has_errors()
    }

    /// Feeds `field` everything checking the files depends on, one field a call, in load
    /// order: each file's origin (and its folder), path, name and text. Two gatherings that
    /// feed the same fields check to the same library.
    pub fn fingerprint(&self, field: &mut dyn FnMut(&[u8])) {
        for f in &self.0.files {
            match &f.origin {
                FileOrigin::Embedded => field(b"embedded"),
                FileOrigin::FeaturesDir(dir) => {
                    field(b"features-dir");
                    field(dir.as_os_str().as_encoded_bytes());
                }
                FileOrigin::File => field(b"file"),
                FileOrigin::Checked => field(b"checked"),
            }
            field(
                f.path
                    .as_deref()
                    .map_or(b"", |p| p.as_os_str().as_encoded_bytes()),
            );
            match self.0.sources.get(f.id) {
                Some(source) => {
                    field(source.name.as_bytes());
                    field(source.text.as_bytes());
                }
                None => field(b"?"),
            }
        }
    }

    /// Parses and checks the files: the second half of [`Library::load_with`].
    pub fn check(self) -> (Library, Diagnostics) {
        self.0.finish()
    }
}

/// Collects files before checking.
#[derive(Default)]
struct Loader {
    sources: SourceMap,
    files: Vec<LoadedFile>,
    texts: Vec<Option<FileId>>,
    /// The trees of embedded files, parsed when jjc was built (`jjc_syntax::ast_codec`).
    built_trees: Vec<(FileId, &'static [u8])>,
    diags: Diagnostics,
}

impl Loader {
    fn add_text(
        &mut self,
        name: String,
        bytes: Vec<u8>,
        origin: FileOrigin,
        path: Option<PathBuf>,
    ) {
        let (text, bad) = match String::from_utf8(bytes) {
            Ok(t) => (t, None),
            Err(e) => {
                let at = e.utf8_error().valid_up_to();
                (String::from_utf8_lossy(e.as_bytes()).into_owned(), Some(at))
            }
        };
        let id = self.sources.add(name, text);
        if let Some(at) = bad {
            self.diags.push(
                Diagnostic::new(
                    codes::NOT_UTF8,
                    "this file is not valid UTF-8",
                    Span::new(id, at, at + 1),
                    "invalid byte here",
                )
                .with_help(
                    "`.jjf` files are UTF-8 text; write other bytes as escapes in b\"…\" literals",
                ),
            );
            self.texts.push(None);
        } else {
            self.texts.push(Some(id));
        }
        self.files.push(LoadedFile { id, origin, path });
    }

    /// An embedded file, with the tree it parsed to when jjc was built (empty if none).
    fn add_embedded(&mut self, name: &str, text: &str, tree: &'static [u8]) {
        self.add_text(
            format!("<embedded>/{name}"),
            text.as_bytes().to_vec(),
            FileOrigin::Embedded,
            None,
        );
        if let (Some(Some(id)), false) = (self.texts.last(), tree.is_empty()) {
            self.built_trees.push((*id, tree));
        }
    }

    /// The tree of file `id` parsed when jjc was built, if it has one among `built`.
    fn built_tree(built: &[(FileId, &'static [u8])], id: FileId) -> Option<jjc_syntax::ast::File> {
        let (_, bytes) = built.iter().find(|(f, _)| *f == id)?;
        jjc_syntax::ast_codec::decode(bytes, id)
    }

    fn add_path(&mut self, path: &Path, origin: FileOrigin) {
        let canonical = match path.canonicalize() {
            Ok(p) => p,
            Err(e) => {
                self.diags.push(Diagnostic::unlocated(
                    codes::IO,
                    format!("cannot read `{}`: {e}", path.display()),
                ));
                return;
            }
        };
        if let Some(f) = self
            .files
            .iter_mut()
            .find(|f| f.path.as_deref() == Some(canonical.as_path()))
        {
            // The same file twice is harmless; `-f` still makes its groups run.
            if origin == FileOrigin::File {
                f.origin = FileOrigin::File;
            }
            return;
        }
        let read = std::fs::metadata(&canonical).and_then(|m| {
            if m.len() > MAX_FILE_BYTES {
                Err(std::io::Error::other(format!(
                    "larger than {MAX_FILE_BYTES} bytes"
                )))
            } else {
                std::fs::read(&canonical)
            }
        });
        match read {
            Ok(bytes) if self.is_embedded_copy(&bytes, &canonical, &origin) => {}
            Ok(bytes) => self.add_text(path.display().to_string(), bytes, origin, Some(canonical)),
            Err(e) => self.diags.push(Diagnostic::unlocated(
                codes::IO,
                format!("cannot read `{}`: {e}", path.display()),
            )),
        }
    }

    /// Whether `bytes` are the text of an embedded standard-library file (the file in
    /// `features/` the binary was built from): then it is that file, loaded once, now known by
    /// its path.
    fn is_embedded_copy(&mut self, bytes: &[u8], canonical: &Path, origin: &FileOrigin) -> bool {
        let sources = &self.sources;
        let Some(f) = self.files.iter_mut().find(|f| {
            f.origin == FileOrigin::Embedded
                && f.path.is_none()
                && sources
                    .get(f.id)
                    .is_some_and(|s| s.text.as_bytes() == bytes)
        }) else {
            return false;
        };
        f.path = Some(canonical.to_path_buf());
        if matches!(origin, FileOrigin::File | FileOrigin::Checked) {
            f.origin = origin.clone();
        }
        true
    }

    /// The `.jjf` files in `dir` (recursively if asked), sorted.
    fn jjf_files(dir: &Path, recursive: bool) -> std::io::Result<Vec<PathBuf>> {
        let mut out = Vec::new();
        let mut work = vec![dir.to_path_buf()];
        while let Some(d) = work.pop() {
            for entry in std::fs::read_dir(&d)? {
                let p = entry?.path();
                if p.is_dir() {
                    if recursive {
                        work.push(p);
                    }
                } else if p.extension().is_some_and(|x| x == "jjf") {
                    out.push(p);
                }
            }
        }
        out.sort();
        Ok(out)
    }

    fn add_dir(&mut self, dir: &Path, recursive: bool, origin: FileOrigin, must_exist: bool) {
        match Self::jjf_files(dir, recursive) {
            Ok(files) => {
                for f in files {
                    self.add_path(&f, origin.clone());
                }
            }
            Err(e) if must_exist => self.diags.push(Diagnostic::unlocated(
                codes::IO,
                format!("cannot read folder `{}`: {e}", dir.display()),
            )),
            Err(_) => {}
        }
    }

    fn finish(self) -> (Library, Diagnostics) {
        let mut diags = self.diags;
        let texts: Vec<(FileId, &str)> = self
            .texts
            .iter()
            .flatten()
            .map(|id| (*id, self.sources.get(*id).map_or("", |f| f.text.as_str())))
            .collect();
        // Embedded files decode the trees they parsed to when jjc was built (with no
        // diagnostics); the others are parsed now.
        let built: Vec<Option<jjc_syntax::ast::File>> = texts
            .iter()
            .map(|(id, _)| Self::built_tree(&self.built_trees, *id))
            .collect();
        let to_parse: Vec<(FileId, &str)> = texts
            .iter()
            .zip(&built)
            .filter(|(_, tree)| tree.is_none())
            .map(|(text, _)| *text)
            .collect();
        let mut parsed = jjc_syntax::parse_all(&to_parse).into_iter();
        let mut trees = Vec::new();
        for ((id, _), tree) in texts.iter().zip(built) {
            let tree = match tree {
                Some(tree) => Some(tree),
                None => parsed.next().and_then(|p| {
                    diags.extend(p.diagnostics);
                    p.file
                }),
            };
            if let Some(tree) = tree {
                trees.push((*id, tree));
            }
        }
        let refs: Vec<(FileId, &jjc_syntax::ast::File)> =
            trees.iter().map(|(id, t)| (*id, t)).collect();
        // The checker recurses over expressions (at most MAX_NESTING deep): give it a
        // stack that holds that depth in debug builds on any caller's thread.
        let sources = &self.sources;
        let (program, check_diags) = std::thread::scope(|scope| {
            std::thread::Builder::new()
                .name("jjf-check".into())
                .stack_size(CHECKER_STACK)
                .spawn_scoped(scope, || check::check_files(&refs, sources))
                .ok()
                .and_then(|h| h.join().ok())
        })
        .unwrap_or_else(|| check::check_files(&refs, sources));
        diags.extend(check_diags);
        diags.sort();
        (
            Library {
                sources: self.sources,
                program,
                files: self.files,
            },
            diags,
        )
    }
}

/// The folders named by `JJ_FEATURES_PATH` and the XDG config folder.
fn env_dirs() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::env::var_os("JJ_FEATURES_PATH")
        .map(|v| {
            std::env::split_paths(&v)
                .filter(|p| !p.as_os_str().is_empty())
                .collect()
        })
        .unwrap_or_default();
    let config = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")));
    if let Some(c) = config {
        dirs.push(c.join("jjc").join("features"));
    }
    dirs
}

impl Library {
    /// Loads the embedded standard library and everything `sources` names, and checks it.
    pub fn load(sources: &Sources) -> (Library, Diagnostics) {
        Library::load_with(sources, &[])
    }

    /// As [`Library::load`], plus `checked` files and folders (folders recursively), as
    /// `jjc check` names them.
    pub fn load_with(sources: &Sources, checked: &[PathBuf]) -> (Library, Diagnostics) {
        Library::gather(sources, checked).check()
    }

    /// The first half of [`Library::load_with`]: finds and reads the files, without parsing or
    /// checking them.
    pub fn gather(sources: &Sources, checked: &[PathBuf]) -> Gathered {
        let mut l = Loader::default();
        for (name, text, tree) in embedded::EMBEDDED {
            l.add_embedded(name, text, tree);
        }
        for d in &sources.features_dirs {
            l.add_dir(d, false, FileOrigin::FeaturesDir(d.clone()), true);
        }
        if sources.use_env {
            for d in env_dirs() {
                l.add_dir(&d, false, FileOrigin::FeaturesDir(d.clone()), false);
            }
        }
        for f in &sources.files {
            l.add_path(f, FileOrigin::File);
        }
        for p in checked {
            if p.is_dir() {
                l.add_dir(p, true, FileOrigin::Checked, true);
            } else {
                l.add_path(p, FileOrigin::Checked);
            }
        }
        Gathered(l)
    }

    /// Checks in-memory sources only (no standard library); each is treated as `-f`.
    pub fn from_texts(texts: &[(&str, &str)]) -> (Library, Diagnostics) {
        let mut l = Loader::default();
        for (name, text) in texts {
            l.add_text(
                name.to_string(),
                text.as_bytes().to_vec(),
                FileOrigin::File,
                None,
            );
        }
        l.finish()
    }

    /// Checks one file given as bytes (no standard library), treated as `-f`.
    pub fn from_bytes(name: &str, bytes: Vec<u8>) -> (Library, Diagnostics) {
        let mut l = Loader::default();
        l.add_text(name.to_string(), bytes, FileOrigin::File, None);
        l.finish()
    }

    /// E0111 for feature names shared by groups that run together by default: the default
    /// profile's groups and those of `-f` and checked files.
    pub fn default_conflicts(&self) -> Diagnostics {
        let mut together: Vec<GroupId> = crate::builtins::profile(crate::builtins::DEFAULT_PROFILE)
            .map(|p| {
                p.groups
                    .iter()
                    .filter_map(|g| self.program.group_by_name(g))
                    .collect()
            })
            .unwrap_or_default();
        for origin in [FileOrigin::File, FileOrigin::Checked] {
            for g in self.groups_from(&origin) {
                if !together.contains(&g) {
                    together.push(g);
                }
            }
        }
        crate::select::duplicate_features(&self.program, &together)
    }

    /// How a file was loaded.
    pub fn file(&self, id: FileId) -> Option<&LoadedFile> {
        self.files.iter().find(|f| f.id == id)
    }

    /// The groups defined in files of the given origin, in load order.
    pub fn groups_from(&self, origin: &FileOrigin) -> Vec<GroupId> {
        self.program
            .groups
            .iter()
            .enumerate()
            .filter(|(_, g)| self.file(g.file).is_some_and(|f| &f.origin == origin))
            .map(|(i, _)| GroupId(i as u32))
            .collect()
    }

    /// Where a group comes from, as `jjc list` shows it.
    pub fn describe_origin(&self, file: FileId) -> String {
        match self.file(file) {
            Some(LoadedFile {
                origin: FileOrigin::Embedded,
                ..
            }) => "embedded".to_string(),
            _ => self
                .sources
                .get(file)
                .map_or_else(|| "?".to_string(), |f| f.name.clone()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_file_twice_is_harmless_and_missing_file_is_io() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("a.jjf");
        std::fs::write(&f, "features a { n = count() }").unwrap();
        let sources = Sources {
            files: vec![
                f.clone(),
                dir.path().join("./a.jjf"),
                dir.path().join("missing.jjf"),
            ],
            features_dirs: vec![dir.path().to_path_buf()],
            use_env: false,
        };
        let (lib, diags) = Library::load(&sources);
        // One group `a` beside the standard library's.
        let a: Vec<GroupId> = (0..lib.program.groups.len() as u32)
            .map(GroupId)
            .filter(|g| lib.program.group(*g).is_some_and(|g| g.name == "a"))
            .collect();
        assert_eq!(a.len(), 1);
        assert_eq!(diags.len(), 1, "{diags:?}");
        assert_eq!(diags.0[0].code, codes::IO);
        // Named with -f after being found in a folder: its groups run by default.
        assert_eq!(lib.groups_from(&FileOrigin::File), a);
    }

    #[test]
    fn two_files_defining_one_group_is_an_error_naming_both() {
        let (lib, diags) = Library::from_texts(&[
            ("a.jjf", "features g { n = count() }"),
            ("b.jjf", "features g { m = count() }"),
        ]);
        assert_eq!(lib.program.groups.len(), 2);
        let d = diags
            .iter()
            .find(|d| d.code == codes::DUPLICATE_GROUP)
            .expect("E0112");
        assert_eq!(d.span().map(|s| s.file), Some(FileId(1)));
        assert_eq!(d.secondary[0].span.file, FileId(0));
    }

    #[test]
    fn embedded_trees_are_the_trees_their_texts_parse_to() {
        assert!(!embedded::EMBEDDED.is_empty());
        for (i, (name, text, tree)) in embedded::EMBEDDED.iter().enumerate() {
            let id = FileId(i as u32 + 3);
            let parsed = jjc_syntax::parse(id, text);
            assert!(
                parsed.diagnostics.is_empty(),
                "{name}: {:?}",
                parsed.diagnostics
            );
            assert!(!tree.is_empty(), "{name} has a tree");
            assert_eq!(
                jjc_syntax::ast_codec::decode(tree, id),
                parsed.file,
                "{name}"
            );
        }
    }

    #[test]
    fn the_library_is_the_same_with_built_trees_or_parsed_texts() {
        let load = |use_built: bool| {
            let mut l = Loader::default();
            for (name, text, tree) in embedded::EMBEDDED {
                l.add_embedded(name, text, tree);
            }
            l.add_text(
                "a.jjf".into(),
                b"features a { n = count() }".to_vec(),
                FileOrigin::File,
                None,
            );
            if !use_built {
                l.built_trees.clear();
            }
            l.finish()
        };
        let (built, built_diags) = load(true);
        let (parsed, parsed_diags) = load(false);
        assert!(built.program.group_by_name("a").is_some());
        assert_eq!(built.program, parsed.program);
        assert_eq!(built.files, parsed.files);
        assert_eq!(format!("{built_diags:?}"), format!("{parsed_diags:?}"));
    }

    #[test]
    fn invalid_utf8_is_located() {
        let mut l = Loader::default();
        l.add_text(
            "x.jjf".into(),
            b"features g { n = \xff }".to_vec(),
            FileOrigin::File,
            None,
        );
        let (_, diags) = l.finish();
        assert_eq!(diags.len(), 1);
        assert_eq!(diags.0[0].code, codes::NOT_UTF8);
        assert_eq!(diags.0[0].span().map(|s| s.start), Some(17));
    }

    #[test]
    fn env_folders_are_searched() {
        let dir = tempfile::tempdir().unwrap();
        let feats = dir.path().join("jjc").join("features");
        std::fs::create_dir_all(&feats).unwrap();
        std::fs::write(feats.join("mine.jjf"), "features mine { n = count() }").unwrap();
        // Only this test touches these variables in this test binary.
        unsafe {
            std::env::set_var("XDG_CONFIG_HOME", dir.path());
            std::env::set_var("JJ_FEATURES_PATH", "");
        }
        let (lib, diags) = Library::load(&Sources {
            use_env: true,
            ..Sources::default()
        });
        assert!(diags.is_empty(), "{diags:?}");
        assert!(lib.program.group_by_name("mine").is_some());
        let (lib, _) = Library::load(&Sources::default());
        assert!(lib.program.group_by_name("mine").is_none());
    }
}
