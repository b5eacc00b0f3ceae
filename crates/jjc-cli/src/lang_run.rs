//! `jjc test` and `jjc dump`: commands that compile `.jjf` programs into kernels.

use std::io::Write;
use std::path::PathBuf;

use jjc_kernel::{Interpreter, testing};
use jjc_sema::{Library, Selection, select_groups};

use crate::args::{DumpArgs, Stage, TestArgs};

/// Exit status when a test fails or a program does not compile.
const EXIT_FAILURE: u8 = 1;
/// Exit status when files cannot be read.
const EXIT_USAGE: u8 = 2;

/// Prints every error of a library load to stderr; true if there were any.
fn report(lib: &Library, diags: &jjc_syntax::Diagnostics) -> bool {
    for d in diags.iter() {
        eprintln!("{}", jjc_syntax::render_human(d, &lib.sources, false));
    }
    diags.has_errors()
}

/// `jjc test [PATH…]`: runs the `test` blocks of the given files (default: the standard
/// library's) under the interpreter and the JIT.
pub fn test(a: TestArgs) -> u8 {
    let sources = a.sources.to_sources();
    let (lib, diags) = Library::load_with(&sources, &a.paths);
    if report(&lib, &diags) {
        return EXIT_FAILURE;
    }
    let wanted: Vec<jjc_syntax::FileId> = if a.paths.is_empty() {
        lib.files.iter().map(|f| f.id).collect()
    } else {
        lib.files
            .iter()
            .filter(|f| is_under(f.path.as_ref(), &a.paths))
            .map(|f| f.id)
            .collect()
    };
    let program = &lib.program;
    let (mut passed, mut failed) = (0usize, 0usize);
    let mut stdout = std::io::stdout().lock();
    for test in program.tests.iter().filter(|t| wanted.contains(&t.file)) {
        let where_ = lib.describe_origin(test.file);
        let groups = testing::groups_of_file(program, test.file);
        let kernel = match jjc_kernel::compile(program, &groups) {
            Ok(k) => k,
            Err(e) => {
                let _ = writeln!(stdout, "test {where_}: {} ... FAILED\n  {e}", test.name);
                failed += 1;
                continue;
            }
        };
        let mut problems = Vec::new();
        let interp = testing::run_test(program, &kernel, &mut Interpreter::new(&kernel), test);
        problems.extend(
            interp
                .failures
                .iter()
                .map(|f| format!("interp: {}", describe(f, &lib.sources))),
        );
        match jjc_jit::JitKernel::compile(&kernel) {
            Ok(mut jit) => {
                let native = testing::run_test(program, &kernel, &mut jit, test);
                problems.extend(
                    native
                        .failures
                        .iter()
                        .map(|f| format!("jit: {}", describe(f, &lib.sources))),
                );
            }
            Err(e) => problems.push(format!("jit: does not compile: {e}")),
        }
        if problems.is_empty() {
            passed += 1;
            let _ = writeln!(stdout, "test {where_}: {} ... ok", test.name);
        } else {
            failed += 1;
            let _ = writeln!(stdout, "test {where_}: {} ... FAILED", test.name);
            for p in problems {
                let _ = writeln!(stdout, "  {p}");
            }
        }
    }
    let _ = writeln!(stdout, "{passed} passed, {failed} failed");
    if failed > 0 { EXIT_FAILURE } else { 0 }
}

/// A failed `expect`, with where it is written.
fn describe(f: &testing::TestFailure, sources: &jjc_syntax::SourceMap) -> String {
    let place = sources.get(f.span.file).map_or_else(String::new, |file| {
        let (line, col) = file.line_col(f.span.start as usize);
        format!("{}:{line}:{col}: ", file.name)
    });
    format!(
        "{place}expected {} == {}, got {}",
        f.column, f.expected, f.got
    )
}

/// Whether `file` is one of `paths` or inside one of them.
fn is_under(file: Option<&PathBuf>, paths: &[PathBuf]) -> bool {
    let Some(file) = file.and_then(|f| f.canonicalize().ok()) else {
        return false;
    };
    paths
        .iter()
        .filter_map(|p| p.canonicalize().ok())
        .any(|p| file.starts_with(&p))
}

/// `jjc dump --ast|--ir|--clif`.
pub fn dump(a: DumpArgs) -> u8 {
    let sources = a.sources.to_sources();
    if a.stage() == Stage::Ast {
        return dump_ast(&a.sources.files);
    }
    let (lib, diags) = Library::load(&sources);
    if report(&lib, &diags) {
        return EXIT_FAILURE;
    }
    let groups = match select_groups(
        &lib,
        &Selection {
            groups: a.selection.groups.clone(),
            profile: a.selection.profile.clone(),
        },
    ) {
        Ok(g) => g,
        Err(d) => {
            report(&lib, &d);
            return EXIT_FAILURE;
        }
    };
    let kernel = match jjc_kernel::compile(&lib.program, &groups) {
        Ok(k) => k,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_FAILURE;
        }
    };
    let text = match a.stage() {
        Stage::Ir => kernel.dump_ir(),
        _ => match jjc_jit::dump_clif(&kernel) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("error: {e}");
                return EXIT_FAILURE;
            }
        },
    };
    // A reader that stopped reading (`jjc dump … | head`) is not an error.
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
    0
}

/// Prints the syntax tree of each `-f` file.
fn dump_ast(files: &[PathBuf]) -> u8 {
    if files.is_empty() {
        eprintln!("error: `jjc dump --ast` needs the files to parse: -f FILE.jjf");
        return EXIT_USAGE;
    }
    let mut status = 0;
    let mut map = jjc_syntax::SourceMap::new();
    for path in files {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("error: {}: {e}", path.display());
                status = EXIT_USAGE;
                continue;
            }
        };
        let id = map.add(path.display().to_string(), text.clone());
        let parsed = jjc_syntax::parse(id, &text);
        let mut stdout = std::io::stdout().lock();
        let _ = writeln!(stdout, "# {}", path.display());
        if let Some(file) = &parsed.file {
            let _ = writeln!(stdout, "{file:#?}");
        }
        if parsed.diagnostics.has_errors() {
            for d in parsed.diagnostics.iter() {
                eprintln!("{}", jjc_syntax::render_human(d, &map, false));
            }
            status = EXIT_FAILURE;
        }
    }
    status
}
