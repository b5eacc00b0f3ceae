//! Which groups run: profiles, `-g`, and the groups of `-f` files.

use std::collections::HashMap;

use jjc_syntax::codes;
use jjc_syntax::{Diagnostic, Diagnostics};

use crate::builtins::{self, DEFAULT_PROFILE};
use crate::hir::{GroupId, Program};
use crate::library::{FileOrigin, Library};
use crate::suggest;

/// What the user asked to run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selection {
    /// `-g` groups (each flag may hold a comma list; both forms are accepted here).
    pub groups: Vec<String>,
    /// `--profile P`.
    pub profile: Option<String>,
}

/// The groups whose columns are output, in order, without duplicates.
///
/// No `-g` and no profile: the default profile (JJ-CORE) plus every group of the `-f`
/// files. `-g`: exactly those groups, plus the profile's if one is given. Groups of a
/// profile the library lacks are skipped. The groups they use run too, but their features
/// are not columns (see [`Program::dependencies`]).
pub fn select_groups(lib: &Library, sel: &Selection) -> Result<Vec<GroupId>, Diagnostics> {
    let mut diags = Diagnostics::new();
    let mut out: Vec<GroupId> = Vec::new();
    let push = |g: GroupId, out: &mut Vec<GroupId>| {
        if !out.contains(&g) {
            out.push(g);
        }
    };
    let names: Vec<String> = sel
        .groups
        .iter()
        .flat_map(|g| g.split(','))
        .map(|g| g.trim().to_string())
        .filter(|g| !g.is_empty())
        .collect();
    let profile = match (&sel.profile, names.is_empty()) {
        (Some(p), _) => Some(p.as_str()),
        (None, true) => Some(DEFAULT_PROFILE),
        (None, false) => None,
    };
    if let Some(p) = profile {
        match builtins::profile(p) {
            Some(prof) => {
                for g in prof.groups {
                    if let Some(id) = lib.program.group_by_name(g) {
                        push(id, &mut out);
                    }
                }
            }
            None => {
                let mut d = Diagnostic::unlocated(
                    codes::UNKNOWN_SELECTION,
                    format!("unknown profile `{p}`"),
                );
                d = match suggest::help(p, builtins::PROFILES.iter().map(|p| p.name)) {
                    Some(h) => d.with_help(h),
                    None => d.with_help(format!(
                        "profiles: {}",
                        builtins::PROFILES
                            .iter()
                            .map(|p| p.name)
                            .collect::<Vec<_>>()
                            .join(", ")
                    )),
                };
                diags.push(d);
            }
        }
    }
    if names.is_empty() {
        for g in lib.groups_from(&FileOrigin::File) {
            push(g, &mut out);
        }
    }
    for name in &names {
        match lib.program.group_by_name(name) {
            Some(id) => push(id, &mut out),
            None => {
                let mut d = Diagnostic::unlocated(
                    codes::UNKNOWN_SELECTION,
                    format!("unknown group `{name}`"),
                );
                let known: Vec<&str> = lib.program.groups.iter().map(|g| g.name.as_str()).collect();
                d = match suggest::help(name, known) {
                    Some(h) => d.with_help(h),
                    None => d.with_help("`jjc list` shows every group"),
                };
                diags.push(d);
            }
        }
    }
    diags.extend(duplicate_features(&lib.program, &out));
    if diags.has_errors() {
        Err(diags)
    } else {
        Ok(out)
    }
}

/// E0111 for every feature name defined by two of `groups`.
pub(crate) fn duplicate_features(program: &Program, groups: &[GroupId]) -> Diagnostics {
    let mut diags = Diagnostics::new();
    let mut seen: HashMap<&str, (GroupId, jjc_syntax::Span)> = HashMap::new();
    for gid in groups {
        let Some(g) = program.group(*gid) else {
            continue;
        };
        for fid in &g.features {
            let Some(f) = program.feature(*fid) else {
                continue;
            };
            match seen.get(f.name.as_str()) {
                Some((other, first)) if other != gid => {
                    let other_name = program.group(*other).map_or("?", |g| g.name.as_str());
                    diags.push(
                        Diagnostic::new(
                            codes::DUPLICATE_FEATURE,
                            format!(
                                "feature `{}` is defined by both `{}` and `{}`",
                                f.name, other_name, g.name
                            ),
                            f.name_span,
                            format!("defined in group `{}`", g.name),
                        )
                        .with_secondary(*first, format!("also defined in group `{other_name}`"))
                        .with_help("output columns need distinct names: rename one, or select only one of the groups"),
                    );
                }
                Some(_) => {}
                None => {
                    seen.insert(f.name.as_str(), (*gid, f.name_span));
                }
            }
        }
    }
    diags
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lib() -> Library {
        let (lib, diags) = Library::from_texts(&[(
            "a.jjf",
            "features a { n = count() }\nfeatures b { m = count() }\nfeatures c { n = sum(pkt.len) }",
        )]);
        // The file is `-f`, so `a` and `c` clash when all its groups run.
        assert!(diags.iter().all(|d| d.code != codes::DUPLICATE_FEATURE));
        lib
    }

    #[test]
    fn default_runs_the_f_files_and_skips_missing_profile_groups() {
        let err = select_groups(&lib(), &Selection::default()).unwrap_err();
        let d = err
            .iter()
            .find(|d| d.code == codes::DUPLICATE_FEATURE)
            .unwrap();
        assert!(d.message.contains("`a` and `c`"), "{}", d.message);
        assert_eq!(d.secondary.len(), 1);
    }

    #[test]
    fn g_selects_exactly_and_unknown_names_are_errors() {
        let l = lib();
        let sel = Selection {
            groups: vec!["b,a".into()],
            profile: None,
        };
        assert_eq!(select_groups(&l, &sel), Ok(vec![GroupId(1), GroupId(0)]));
        let sel = Selection {
            groups: vec!["bb".into()],
            profile: None,
        };
        let err = select_groups(&l, &sel).unwrap_err();
        assert_eq!(err.0[0].code, codes::UNKNOWN_SELECTION);
        assert_eq!(err.0[0].help.as_deref(), Some("did you mean `b`?"));
        let sel = Selection {
            groups: vec!["a".into()],
            profile: Some("jj-core".into()),
        };
        assert_eq!(select_groups(&l, &sel), Ok(vec![GroupId(0)]));
        let sel = Selection {
            groups: vec![],
            profile: Some("nope".into()),
        };
        assert!(select_groups(&l, &sel).is_err());
    }
}
