//! Checking parsed files into a typed [`Program`]: symbols, dependency order, then each
//! definition in turn (see [`expr`] for expressions).

mod consts;
mod expr;
mod items;

use std::collections::{HashMap, HashSet};

use jjc_syntax::ast;
use jjc_syntax::codes;
use jjc_syntax::{Diagnostic, Diagnostics, FileId, SourceMap, Span};

use crate::hir::*;
use crate::suggest;
use crate::types::{Base, Type};

/// A name visible inside a group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum GroupSym {
    Let(LetId),
    Feature(FeatureId),
    /// `use g.f`, resolved to the feature (or `None` if it does not exist); the index
    /// is the position in `Checker::uses`.
    Use(Option<FeatureId>, usize),
}

/// A name visible in a whole file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum FileSym {
    Const(ConstId),
    Table(TableId),
    Pattern(PatternId),
}

/// Something whose value depends on other definitions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Def {
    Const(ConstId),
    Table(TableId),
    Let(LetId),
    Feature(FeatureId),
}

/// The AST of a definition.
enum DefAst<'a> {
    Const(&'a ast::Const),
    Table(&'a ast::Table),
    Let(&'a ast::Let),
    Feature(&'a ast::Feature),
}

struct DefInfo<'a> {
    def: Def,
    ast: DefAst<'a>,
    file: FileId,
    group: Option<GroupId>,
    name: String,
    name_span: Span,
}

/// A `use` declaration.
struct UseInfo {
    span: Span,
    used: bool,
}

/// Checks every file together (groups may use each other across files).
pub(crate) fn check_files(
    files: &[(FileId, &ast::File)],
    sources: &SourceMap,
) -> (Program, Diagnostics) {
    let mut c = Checker::new(sources);
    c.collect(files);
    c.resolve_uses(files);
    c.check_patterns(files);
    let order = c.order();
    for i in order {
        c.check_def(i);
    }
    c.check_tests(files);
    c.warn_unused();
    let mut diags = c.diags;
    diags.sort();
    (c.program, diags)
}

struct Checker<'a> {
    sources: &'a SourceMap,
    diags: Diagnostics,
    program: Program,
    group_names: HashMap<String, GroupId>,
    group_scopes: Vec<HashMap<String, GroupSym>>,
    file_scopes: HashMap<FileId, HashMap<String, FileSym>>,
    defs: Vec<DefInfo<'a>>,
    def_index: HashMap<Def, usize>,
    /// Definitions on a cycle (typed as errors).
    cyclic: HashSet<Def>,
    uses: Vec<UseInfo>,
    used_lets: HashSet<LetId>,
    used_file_syms: HashSet<FileSym>,
    pattern_asts: Vec<&'a ast::Pattern>,
    // The environment of the expression being checked.
    env: Env,
}

/// Where an expression is being checked.
#[derive(Debug, Clone, Copy)]
struct Env {
    file: FileId,
    group: Option<GroupId>,
    /// Inside an aggregate's argument or filter, or `prev`'s argument.
    packet_only: bool,
    /// Inside an aggregate's argument or filter.
    in_aggregate: bool,
    /// At the top of a feature's value (where `seq`/`hist` may appear).
    top_of_feature: bool,
}

impl<'a> Checker<'a> {
    fn new(sources: &'a SourceMap) -> Checker<'a> {
        Checker {
            sources,
            diags: Diagnostics::new(),
            program: Program::default(),
            group_names: HashMap::new(),
            group_scopes: Vec::new(),
            file_scopes: HashMap::new(),
            defs: Vec::new(),
            def_index: HashMap::new(),
            cyclic: HashSet::new(),
            uses: Vec::new(),
            used_lets: HashSet::new(),
            used_file_syms: HashSet::new(),
            pattern_asts: Vec::new(),
            env: Env {
                file: FileId(0),
                group: None,
                packet_only: false,
                in_aggregate: false,
                top_of_feature: false,
            },
        }
    }

    fn error(&mut self, d: Diagnostic) {
        self.diags.push(d);
    }

    fn text(&self, span: Span) -> String {
        let t = self.sources.slice(span);
        let t: String = t.split_whitespace().collect::<Vec<_>>().join(" ");
        if t.chars().count() > 40 {
            format!("{}…", t.chars().take(39).collect::<String>())
        } else {
            t
        }
    }

    fn add_def(&mut self, info: DefInfo<'a>) {
        self.def_index.insert(info.def, self.defs.len());
        self.defs.push(info);
    }

    /// Pass 1: every group, member and file-level item gets an id and a scope entry.
    fn collect(&mut self, files: &[(FileId, &'a ast::File)]) {
        for (file, tree) in files {
            let file = *file;
            let mut scope: HashMap<String, (FileSym, Span)> = HashMap::new();
            let mut add_file_sym = |c: &mut Checker<'a>, name: &ast::Ident, sym: FileSym| {
                if let Some((_, first)) = scope.get(&name.name) {
                    c.error(duplicate(&name.name, name.span, *first));
                } else {
                    scope.insert(name.name.clone(), (sym, name.span));
                }
            };
            for item in &tree.items {
                match item {
                    ast::Item::Const(k) => {
                        let id = ConstId(self.program.consts.len() as u32);
                        self.program.consts.push(Const {
                            name: k.name.name.clone(),
                            file,
                            value: Value::None,
                            ty: Type::ERROR,
                            name_span: k.name.span,
                        });
                        add_file_sym(self, &k.name, FileSym::Const(id));
                        self.add_def(DefInfo {
                            def: Def::Const(id),
                            ast: DefAst::Const(k),
                            file,
                            group: None,
                            name: k.name.name.clone(),
                            name_span: k.name.span,
                        });
                    }
                    ast::Item::Table(t) => {
                        let id = TableId(self.program.tables.len() as u32);
                        self.program.tables.push(Table {
                            name: t.name.name.clone(),
                            file,
                            key: Base::Error,
                            value: Base::Error,
                            entries: Vec::new(),
                            name_span: t.name.span,
                        });
                        add_file_sym(self, &t.name, FileSym::Table(id));
                        self.add_def(DefInfo {
                            def: Def::Table(id),
                            ast: DefAst::Table(t),
                            file,
                            group: None,
                            name: t.name.name.clone(),
                            name_span: t.name.span,
                        });
                    }
                    ast::Item::Pattern(p) => {
                        let id = PatternId(self.program.patterns.len() as u32);
                        self.program.patterns.push(Pattern {
                            name: p.name.name.clone(),
                            file,
                            regex: p.regex.clone(),
                            name_span: p.name.span,
                        });
                        self.pattern_asts.push(p);
                        add_file_sym(self, &p.name, FileSym::Pattern(id));
                    }
                    ast::Item::Group(g) => self.collect_group(file, g),
                    ast::Item::Test(_) => {}
                }
            }
            self.file_scopes.insert(
                file,
                scope.into_iter().map(|(k, (sym, _))| (k, sym)).collect(),
            );
        }
    }

    fn collect_group(&mut self, file: FileId, g: &'a ast::Group) {
        let gid = GroupId(self.program.groups.len() as u32);
        if let Some(first) = self.group_names.get(&g.name.name).copied() {
            let first_span = self.program.groups[first.index()].name_span;
            self.error(
                Diagnostic::new(
                    codes::DUPLICATE_GROUP,
                    format!("group `{}` is defined twice", g.name.name),
                    g.name.span,
                    "defined again here",
                )
                .with_secondary(first_span, "first defined here")
                .with_help("rename one of the groups; group names are global"),
            );
        } else {
            self.group_names.insert(g.name.name.clone(), gid);
        }
        let mut group = Group {
            name: g.name.name.clone(),
            doc: g.doc.as_ref().map(|d| d.value.clone()).unwrap_or_default(),
            file,
            name_span: g.name.span,
            span: g.span,
            features: Vec::new(),
            lets: Vec::new(),
            uses_groups: Vec::new(),
        };
        let mut scope: HashMap<String, GroupSym> = HashMap::new();
        let mut spans: HashMap<String, Span> = HashMap::new();
        for m in &g.members {
            let (name, sym) = match m {
                ast::Member::Let(l) => {
                    let id = LetId(self.program.lets.len() as u32);
                    self.program.lets.push(Let {
                        name: l.name.name.clone(),
                        group: gid,
                        expr: error_expr(l.span),
                        name_span: l.name.span,
                    });
                    group.lets.push(id);
                    self.add_def(DefInfo {
                        def: Def::Let(id),
                        ast: DefAst::Let(l),
                        file,
                        group: Some(gid),
                        name: l.name.name.clone(),
                        name_span: l.name.span,
                    });
                    (&l.name, GroupSym::Let(id))
                }
                ast::Member::Feature(f) => {
                    let id = FeatureId(self.program.features.len() as u32);
                    self.program.features.push(Feature {
                        name: f.name.name.clone(),
                        group: gid,
                        doc: f.doc.as_ref().map(|d| d.value.clone()).unwrap_or_default(),
                        ty: Type::ERROR,
                        output: Base::Float,
                        shape: Shape::Scalar,
                        expr: error_expr(f.span),
                        name_span: f.name.span,
                        span: f.span,
                    });
                    group.features.push(id);
                    self.add_def(DefInfo {
                        def: Def::Feature(id),
                        ast: DefAst::Feature(f),
                        file,
                        group: Some(gid),
                        name: f.name.name.clone(),
                        name_span: f.name.span,
                    });
                    (&f.name, GroupSym::Feature(id))
                }
                ast::Member::Use(u) => {
                    self.uses.push(UseInfo {
                        span: u.span,
                        used: false,
                    });
                    (&u.feature, GroupSym::Use(None, self.uses.len() - 1))
                }
            };
            if let Some(first) = spans.get(&name.name) {
                let first = *first;
                self.error(duplicate(&name.name, name.span, first));
            } else {
                spans.insert(name.name.clone(), name.span);
                scope.insert(name.name.clone(), sym);
            }
        }
        self.program.groups.push(group);
        self.group_scopes.push(scope);
    }

    /// Pass 2: `use g.f` finds its feature.
    fn resolve_uses(&mut self, files: &[(FileId, &'a ast::File)]) {
        let mut gid = 0u32;
        let mut use_index = 0usize;
        for (_, tree) in files {
            for item in &tree.items {
                let ast::Item::Group(g) = item else { continue };
                let this = GroupId(gid);
                gid += 1;
                for m in &g.members {
                    let ast::Member::Use(u) = m else { continue };
                    let index = use_index;
                    use_index += 1;
                    let Some(fid) = self.group_feature(&u.group, &u.feature) else {
                        // Already reported; do not also call it unused.
                        if let Some(info) = self.uses.get_mut(index) {
                            info.used = true;
                        }
                        continue;
                    };
                    if let Some(GroupSym::Use(slot, i)) =
                        self.group_scopes[this.index()].get_mut(&u.feature.name)
                        && *i == index
                    {
                        *slot = Some(fid);
                    }
                }
            }
        }
    }

    /// Looks up `group.feature`, reporting unknown names.
    fn group_feature(&mut self, group: &ast::Ident, feature: &ast::Ident) -> Option<FeatureId> {
        let Some(gid) = self.group_names.get(&group.name).copied() else {
            let mut d = Diagnostic::new(
                codes::UNKNOWN_GROUP,
                format!("no group named `{}`", group.name),
                group.span,
                "unknown group",
            );
            if let Some(h) = suggest::help(&group.name, self.group_names.keys().map(String::as_str))
            {
                d = d.with_help(h);
            }
            self.error(d);
            return None;
        };
        let g = &self.program.groups[gid.index()];
        let found = g
            .features
            .iter()
            .copied()
            .find(|f| self.program.features[f.index()].name == feature.name);
        if found.is_none() {
            let names: Vec<&str> = g
                .features
                .iter()
                .map(|f| self.program.features[f.index()].name.as_str())
                .collect();
            let mut d = Diagnostic::new(
                codes::UNKNOWN_GROUP_FEATURE,
                format!("group `{}` has no feature `{}`", group.name, feature.name),
                feature.span,
                "not a feature of this group",
            )
            .with_secondary(g.name_span, format!("group `{}` is defined here", g.name));
            if let Some(h) = suggest::help(&feature.name, names) {
                d = d.with_help(h);
            }
            self.error(d);
        }
        found
    }

    /// The definitions in an order where each comes after what it uses; cycles reported.
    fn order(&mut self) -> Vec<usize> {
        let edges: Vec<Vec<(usize, Span)>> = (0..self.defs.len())
            .map(|i| {
                let mut refs = Vec::new();
                self.def_refs(i, &mut refs);
                refs
            })
            .collect();
        // Iterative depth-first search; 0 = new, 1 = on the stack, 2 = done.
        let mut state = vec![0u8; self.defs.len()];
        let mut order = Vec::with_capacity(self.defs.len());
        let mut cycles: Vec<Vec<(usize, Span)>> = Vec::new();
        for root in 0..self.defs.len() {
            if state[root] != 0 {
                continue;
            }
            let mut stack: Vec<(usize, usize)> = vec![(root, 0)];
            state[root] = 1;
            while let Some(&mut (node, ref mut next)) = stack.last_mut() {
                if let Some(&(to, at)) = edges[node].get(*next) {
                    *next += 1;
                    match state[to] {
                        0 => {
                            state[to] = 1;
                            stack.push((to, 0));
                        }
                        1 => {
                            // A cycle: from `to` down the stack to `node`, then back.
                            let start = stack.iter().position(|(n, _)| *n == to).unwrap_or(0);
                            let mut cycle: Vec<(usize, Span)> = Vec::new();
                            for w in stack[start..].windows(2) {
                                let (from, taken) = w[0];
                                let span = edges[from]
                                    .get(taken.saturating_sub(1))
                                    .map_or(self.defs[from].name_span, |e| e.1);
                                cycle.push((from, span));
                            }
                            cycle.push((node, at));
                            cycles.push(cycle);
                        }
                        _ => {}
                    }
                } else {
                    state[node] = 2;
                    order.push(node);
                    stack.pop();
                }
            }
        }
        for cycle in cycles {
            self.report_cycle(&cycle);
        }
        order
    }

    fn report_cycle(&mut self, cycle: &[(usize, Span)]) {
        let Some(&(first, _)) = cycle.first() else {
            return;
        };
        if cycle
            .iter()
            .any(|(d, _)| self.cyclic.contains(&self.defs[*d].def))
        {
            for (d, _) in cycle {
                self.cyclic.insert(self.defs[*d].def);
            }
            return;
        }
        let name = self.defs[first].name.clone();
        let mut d = Diagnostic::new(
            codes::CYCLE,
            if cycle.len() == 1 {
                format!("`{name}` is defined in terms of itself")
            } else {
                format!(
                    "`{name}` depends on itself through {} other definition{}",
                    cycle.len() - 1,
                    if cycle.len() == 2 { "" } else { "s" }
                )
            },
            self.defs[first].name_span,
            "defined here",
        );
        for (i, (def, at)) in cycle.iter().enumerate() {
            let next = cycle.get(i + 1).map_or(first, |c| c.0);
            d = d.with_secondary(
                *at,
                format!(
                    "`{}` uses `{}` here",
                    self.defs[*def].name, self.defs[next].name
                ),
            );
            self.cyclic.insert(self.defs[*def].def);
            // Their uses are not checked, so do not also call them unused.
            match self.defs[*def].def {
                Def::Let(id) => {
                    self.used_lets.insert(id);
                }
                Def::Const(id) => {
                    self.used_file_syms.insert(FileSym::Const(id));
                }
                _ => {}
            }
        }
        self.error(d.with_help("a value cannot depend on itself; compute it from other values"));
    }

    fn check_def(&mut self, i: usize) {
        let (def, file, group) = {
            let d = &self.defs[i];
            (d.def, d.file, d.group)
        };
        self.env = Env {
            file,
            group,
            packet_only: false,
            in_aggregate: false,
            top_of_feature: false,
        };
        let cyclic = self.cyclic.contains(&def);
        match self.defs[i].ast {
            DefAst::Const(k) => self.check_const(def, k, cyclic),
            DefAst::Table(t) => self.check_table(def, t),
            DefAst::Let(l) => {
                let Def::Let(id) = def else { return };
                let e = if cyclic {
                    error_expr(l.value.span)
                } else {
                    self.expr(&l.value)
                };
                self.program.lets[id.index()].expr = e;
            }
            DefAst::Feature(f) => {
                let Def::Feature(id) = def else { return };
                if cyclic {
                    return;
                }
                self.check_feature(id, f);
            }
        }
    }

    fn check_feature(&mut self, id: FeatureId, f: &ast::Feature) {
        let errors_before = self.diags.error_count();
        self.env.top_of_feature = true;
        let mut e = self.expr(&f.value);
        let mut shape = Shape::Scalar;
        if let ExprKind::Aggregate(a) = &e.kind {
            match (&a.agg, &a.param) {
                (crate::builtins::Agg::Seq, AggParam::Count(n)) => shape = Shape::Seq(*n as usize),
                (crate::builtins::Agg::Hist, AggParam::Edges(edges)) => {
                    shape = Shape::Hist(edges.len().saturating_sub(1))
                }
                _ => {}
            }
        }
        if e.ctx == Context::Packet {
            let text = self.text(e.span);
            self.error(packet_in_flow(
                &text,
                e.span,
                e.ty,
                "a feature is one value per flow",
            ));
            let feat = &mut self.program.features[id.index()];
            feat.ty = Type::ERROR;
            feat.expr = e;
            return;
        }
        let mut output = e.ty.base;
        if let Some(declared) = &f.ty {
            match crate::types::base_from_name(&declared.name) {
                None => self.unknown_type(declared),
                Some(want) => {
                    if e.ty.is_error() || e.ty.base == Base::Nothing {
                        output = want;
                    } else if want == Base::Float && e.ty.base == Base::Int {
                        e = to_float(e);
                        output = Base::Float;
                    } else if want != e.ty.base {
                        self.error(
                            Diagnostic::new(
                                codes::DECLARED_TYPE,
                                format!(
                                    "feature `{}` is declared `{}` but its value is `{}`",
                                    f.name.name, want, e.ty
                                ),
                                f.value.span,
                                format!("this is `{}`", e.ty.base),
                            )
                            .with_secondary(declared.span, format!("declared `{want}` here")),
                        );
                        output = want;
                    } else {
                        output = want;
                    }
                }
            }
        }
        if output == Base::Nothing && !e.ty.is_error() {
            self.error(
                Diagnostic::new(
                    codes::UNTYPED_NONE,
                    format!("the type of feature `{}` cannot be inferred", f.name.name),
                    f.value.span,
                    "this is always `none`",
                )
                .with_help(format!(
                    "declare its type, as in `{}: int = …`",
                    f.name.name
                )),
            );
            output = Base::Error;
        }
        if shape == Shape::Scalar
            && !matches!(output, Base::Error)
            && Type::of(output).column().is_none()
        {
            self.error(
                Diagnostic::new(
                    codes::NOT_A_COLUMN_TYPE,
                    format!("feature `{}` has type `{output}`, which cannot be a column", f.name.name),
                    f.value.span,
                    format!("this is `{output}`"),
                )
                .with_help(match output {
                    Base::Bytes => "features are bool, int, float, str or ip: use len(...), a pattern match `~`, or an aggregate such as entropy(...)",
                    _ => "features are bool, int, float, str or ip; compare it instead, as in `first(pkt.dir) == fwd`",
                }),
            );
            output = Base::Error;
        }
        if e.ctx == Context::Const && !e.ty.is_error() && self.diags.error_count() == errors_before
        {
            self.error(
                Diagnostic::new(
                    codes::CONSTANT_FEATURE,
                    format!("feature `{}` is the same for every flow", f.name.name),
                    f.value.span,
                    "this does not depend on the packets or the flow",
                )
                .with_help(
                    "a constant column carries no information; use a `const` if it is a parameter",
                ),
            );
        }
        let feat = &mut self.program.features[id.index()];
        feat.ty = e.ty;
        feat.output = if output == Base::Error {
            Base::Float
        } else {
            output
        };
        feat.shape = shape;
        feat.expr = e;
    }

    fn unknown_type(&mut self, t: &ast::Ident) {
        let mut d = Diagnostic::new(
            codes::UNKNOWN_TYPE,
            format!("unknown type `{}`", t.name),
            t.span,
            "not a type",
        );
        d = match suggest::help(&t.name, crate::types::TYPE_NAMES.iter().copied()) {
            Some(h) => d.with_help(h),
            None => d.with_help("the types are bool, int, float, str, bytes, ip and dir"),
        };
        self.error(d);
    }

    fn warn_unused(&mut self) {
        for (i, l) in self.program.lets.iter().enumerate() {
            if !self.used_lets.contains(&LetId(i as u32)) && !l.name.starts_with('_') {
                self.diags.push(
                    Diagnostic::new(
                        codes::UNUSED_LET,
                        format!("`let {}` is never used", l.name),
                        l.name_span,
                        "defined here",
                    )
                    .with_help(format!("remove it, or name it `_{}` to keep it", l.name)),
                );
            }
        }
        let mut unused = Vec::new();
        for scope in self.file_scopes.values() {
            for (name, sym) in scope {
                if !self.used_file_syms.contains(sym) && !name.starts_with('_') {
                    unused.push(*sym);
                }
            }
        }
        for sym in unused {
            let (code, what, name, span) = match sym {
                FileSym::Const(id) => {
                    let c = &self.program.consts[id.index()];
                    (codes::UNUSED_CONST, "constant", &c.name, c.name_span)
                }
                FileSym::Table(id) => {
                    let t = &self.program.tables[id.index()];
                    (codes::UNUSED_TABLE, "table", &t.name, t.name_span)
                }
                FileSym::Pattern(id) => {
                    let p = &self.program.patterns[id.index()];
                    (codes::UNUSED_PATTERN, "pattern", &p.name, p.name_span)
                }
            };
            self.diags.push(Diagnostic::new(
                code,
                format!("{what} `{name}` is never used"),
                span,
                "defined here",
            ));
        }
        for u in &self.uses {
            if !u.used {
                self.diags.push(Diagnostic::new(
                    codes::UNUSED_USE,
                    "this `use` is never needed",
                    u.span,
                    "the feature is not used by this group",
                ));
            }
        }
    }
}

fn duplicate(name: &str, again: Span, first: Span) -> Diagnostic {
    Diagnostic::new(
        codes::DUPLICATE,
        format!("`{name}` is defined twice"),
        again,
        "defined again here",
    )
    .with_secondary(first, "first defined here")
}

fn error_expr(span: Span) -> Expr {
    Expr {
        kind: ExprKind::Error,
        ty: Type::ERROR,
        ctx: Context::Error,
        span,
    }
}

fn to_float(e: Expr) -> Expr {
    if e.ty.base != Base::Int {
        return e;
    }
    let ty = Type {
        base: Base::Float,
        optional: e.ty.optional,
    };
    let (ctx, span) = (e.ctx, e.span);
    Expr {
        kind: ExprKind::ToFloat(Box::new(e)),
        ty,
        ctx,
        span,
    }
}

/// The aggregate to suggest for a packet value of this type.
fn aggregate_for(ty: Type) -> &'static str {
    match ty.base {
        Base::Bool => "any",
        Base::Int | Base::Float => "mean",
        Base::Bytes => "entropy",
        Base::Dir => "count",
        _ => "first",
    }
}

/// The E0301 diagnostic: a packet value where one value per flow is needed.
fn packet_in_flow(text: &str, span: Span, ty: Type, why: &str) -> Diagnostic {
    let agg = aggregate_for(ty);
    let help = if ty.base == Base::Dir {
        format!("wrap `{text}` in an aggregate such as count({text} == fwd)")
    } else if matches!(ty.base, Base::Record(_)) {
        format!(
            "aggregate one of its fields, as in first({text}.FIELD), or count it: count({text})"
        )
    } else {
        format!("wrap `{text}` in an aggregate such as {agg}(...)")
    };
    Diagnostic::new(
        codes::PACKET_IN_FLOW,
        format!("`{text}` is a packet value, but a flow value is needed here"),
        span,
        "one value per packet",
    )
    .with_note(why.to_string())
    .with_help(help)
}
