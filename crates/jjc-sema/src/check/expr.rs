//! Typing one expression: resolution, contexts, types, aggregates.

use jjc_syntax::ast::{self, BinaryOp, ExprKind as A, UnaryOp};
use jjc_syntax::codes;
use jjc_syntax::{Diagnostic, Span};

use super::{Checker, Def, DefAst, FileSym, GroupSym, error_expr, packet_in_flow, to_float};
use crate::builtins::{self, Agg, Callable, Func, NamedValue};
use crate::hir::*;
use crate::suggest;
use crate::types::{Base, Record, Type, unify};

/// What a bare name means where it is used.
enum Resolved {
    Group(GroupSym),
    File(FileSym),
    Named(NamedValue),
    Nothing,
}

impl<'a> Checker<'a> {
    fn resolve(&self, name: &str) -> Resolved {
        if let Some(g) = self.env.group
            && let Some(sym) = self.group_scopes.get(g.index()).and_then(|s| s.get(name))
        {
            return Resolved::Group(*sym);
        }
        if let Some(sym) = self
            .file_scopes
            .get(&self.env.file)
            .and_then(|s| s.get(name))
        {
            return Resolved::File(*sym);
        }
        if let Some(c) = builtins::NAMED_CONSTS.iter().find(|c| c.name == name) {
            return Resolved::Named(c.value);
        }
        Resolved::Nothing
    }

    /// Every name visible here, for did-you-mean.
    fn visible_names(&self) -> Vec<String> {
        let mut names: Vec<String> = Vec::new();
        if let Some(g) = self.env.group
            && let Some(s) = self.group_scopes.get(g.index())
        {
            names.extend(s.keys().cloned());
        }
        if let Some(s) = self.file_scopes.get(&self.env.file) {
            names.extend(s.keys().cloned());
        }
        names.extend(builtins::NAMED_CONSTS.iter().map(|c| c.name.to_string()));
        names.extend(self.group_names.keys().cloned());
        names.extend(["pkt".to_string(), "flow".to_string()]);
        names
    }

    /// Collects the definitions that definition `i` refers to (for ordering).
    pub(super) fn def_refs(&mut self, i: usize, out: &mut Vec<(usize, Span)>) {
        let (file, group) = (self.defs[i].file, self.defs[i].group);
        let saved = self.env;
        self.env.file = file;
        self.env.group = group;
        match self.defs[i].ast {
            DefAst::Const(k) => self.refs_in(&k.value, out),
            DefAst::Table(t) => {
                for e in &t.entries {
                    self.refs_in(&e.value, out);
                }
            }
            DefAst::Let(l) => self.refs_in(&l.value, out),
            DefAst::Feature(f) => self.refs_in(&f.value, out),
        }
        self.env = saved;
    }

    fn push_ref(&self, def: Def, span: Span, out: &mut Vec<(usize, Span)>) {
        if let Some(&i) = self.def_index.get(&def) {
            out.push((i, span));
        }
    }

    fn refs_in(&self, e: &ast::Expr, out: &mut Vec<(usize, Span)>) {
        match &e.kind {
            A::Name(n) => match self.resolve(n) {
                Resolved::Group(GroupSym::Let(id)) => self.push_ref(Def::Let(id), e.span, out),
                Resolved::Group(GroupSym::Feature(id))
                | Resolved::Group(GroupSym::Use(Some(id), _)) => {
                    self.push_ref(Def::Feature(id), e.span, out)
                }
                Resolved::File(FileSym::Const(id)) => self.push_ref(Def::Const(id), e.span, out),
                Resolved::File(FileSym::Table(id)) => self.push_ref(Def::Table(id), e.span, out),
                _ => {}
            },
            A::Field(base, field) => {
                if let A::Name(g) = &base.kind
                    && matches!(self.resolve(g), Resolved::Nothing)
                    && let Some(gid) = self.group_names.get(g)
                {
                    let found = self.program.groups[gid.index()]
                        .features
                        .iter()
                        .find(|f| self.program.features[f.index()].name == field.name);
                    if let Some(f) = found {
                        self.push_ref(Def::Feature(*f), e.span, out);
                    }
                } else {
                    self.refs_in(base, out);
                }
            }
            A::Index(a, b) => {
                self.refs_in(a, out);
                self.refs_in(b, out);
            }
            A::Slice(a, lo, hi) => {
                self.refs_in(a, out);
                for x in [lo, hi].into_iter().flatten() {
                    self.refs_in(x, out);
                }
            }
            A::Unary(_, a) => self.refs_in(a, out),
            A::Binary(_, a, b) => {
                self.refs_in(a, out);
                self.refs_in(b, out);
            }
            A::If(a, b, c) => {
                self.refs_in(a, out);
                self.refs_in(b, out);
                self.refs_in(c, out);
            }
            A::Call { args, filter, .. } => {
                for a in args {
                    self.refs_in(a, out);
                }
                if let Some(f) = filter {
                    self.refs_in(f, out);
                }
            }
            A::List(items) => {
                for a in items {
                    self.refs_in(a, out);
                }
            }
            _ => {}
        }
    }

    /// Types an expression in the current environment.
    pub(super) fn expr(&mut self, e: &ast::Expr) -> Expr {
        let top = std::mem::replace(&mut self.env.top_of_feature, false);
        let out = self.expr_inner(e, top);
        self.env.top_of_feature = top;
        out
    }

    fn lit(value: Value, span: Span) -> Expr {
        Expr {
            ty: value.ty(),
            kind: ExprKind::Lit(value),
            ctx: Context::Const,
            span,
        }
    }

    fn expr_inner(&mut self, e: &ast::Expr, top: bool) -> Expr {
        let span = e.span;
        match &e.kind {
            A::Int(v) => Self::lit(Value::Int(*v), span),
            A::Float(v) => Self::lit(Value::Float(*v), span),
            A::Str(s) => Self::lit(Value::Str(s.clone()), span),
            A::Bytes(b) => Self::lit(Value::Bytes(b.clone()), span),
            A::Bool(b) => Self::lit(Value::Bool(*b), span),
            A::None => Self::lit(Value::None, span),
            A::Ip(ip) => Self::lit(Value::Ip(*ip), span),
            A::Error => error_expr(span),
            A::Name(n) => self.name(n, span),
            A::Field(base, field) => self.field(base, field, span),
            A::Index(base, index) => self.index(base, index, span),
            A::Slice(base, lo, hi) => self.slice(base, lo.as_deref(), hi.as_deref(), span),
            A::Unary(op, a) => self.unary(*op, a, span),
            A::Binary(op, a, b) => self.binary(*op, a, b, span),
            A::If(c, a, b) => self.conditional(c, a, b, span),
            A::Call { func, args, filter } => self.call(func, args, filter.as_deref(), span, top),
            A::List(_) => {
                self.error(Diagnostic::new(
                    codes::TYPE_MISMATCH,
                    "a list is only allowed as the bin edges of `hist`",
                    span,
                    "unexpected list",
                ));
                error_expr(span)
            }
        }
    }

    fn name(&mut self, n: &str, span: Span) -> Expr {
        let mk = |kind, ty, ctx| Expr {
            kind,
            ty,
            ctx,
            span,
        };
        match self.resolve(n) {
            Resolved::Group(GroupSym::Let(id)) => {
                self.used_lets.insert(id);
                let l = &self.program.lets[id.index()];
                let (ty, ctx) = (l.expr.ty, l.expr.ctx);
                if ctx == Context::Error || ty.is_error() {
                    return error_expr(span);
                }
                mk(ExprKind::Let(id), ty, ctx)
            }
            Resolved::Group(GroupSym::Feature(id)) => self.feature_ref(id, n, span),
            Resolved::Group(GroupSym::Use(Some(id), i)) => {
                if let Some(u) = self.uses.get_mut(i) {
                    u.used = true;
                }
                self.feature_ref(id, n, span)
            }
            Resolved::Group(GroupSym::Use(None, _)) => error_expr(span),
            Resolved::File(FileSym::Const(id)) => {
                self.used_file_syms.insert(FileSym::Const(id));
                let c = &self.program.consts[id.index()];
                mk(
                    ExprKind::Const(id),
                    c.ty,
                    if c.ty.is_error() {
                        Context::Error
                    } else {
                        Context::Const
                    },
                )
            }
            Resolved::File(FileSym::Table(id)) => {
                self.used_file_syms.insert(FileSym::Table(id));
                self.error(
                    Diagnostic::new(
                        codes::TYPE_MISMATCH,
                        format!("table `{n}` must be looked up with a key"),
                        span,
                        "a table, not a value",
                    )
                    .with_help(format!(
                        "write `{n}[key]`; add `?? default` for keys it lacks"
                    )),
                );
                error_expr(span)
            }
            Resolved::File(FileSym::Pattern(id)) => {
                self.used_file_syms.insert(FileSym::Pattern(id));
                self.error(
                    Diagnostic::new(
                        codes::TYPE_MISMATCH,
                        format!("pattern `{n}` must be matched against bytes"),
                        span,
                        "a pattern, not a value",
                    )
                    .with_help(format!("write `pkt.payload ~ {n}`")),
                );
                error_expr(span)
            }
            Resolved::Named(NamedValue::Dir(d)) => Self::lit(Value::Dir(d), span),
            Resolved::Named(NamedValue::Int(v)) => Self::lit(Value::Int(v), span),
            Resolved::Nothing => {
                let (message, help) = match n {
                    "pkt" | "flow" => (
                        format!("`{n}` must be followed by a field"),
                        Some(format!(
                            "write a field such as `{n}.{}`",
                            if n == "pkt" { "len" } else { "duration" }
                        )),
                    ),
                    _ if self.group_names.contains_key(n) => (
                        format!("`{n}` is a group, not a value"),
                        Some(format!("name one of its features: `{n}.FEATURE`")),
                    ),
                    _ => {
                        let names = self.visible_names();
                        let mut help = suggest::help(n, names.iter().map(String::as_str));
                        if help.is_none() && builtins::pkt_field(n).is_some() {
                            help = Some(format!("did you mean `pkt.{n}`?"));
                        } else if help.is_none() && builtins::flow_field(n).is_some() {
                            help = Some(format!("did you mean `flow.{n}`?"));
                        }
                        (format!("cannot find `{n}` here"), help)
                    }
                };
                let mut d = Diagnostic::new(codes::UNKNOWN_NAME, message, span, "not found");
                if let Some(h) = help {
                    d = d.with_help(h);
                }
                self.error(d);
                error_expr(span)
            }
        }
    }

    fn feature_ref(&mut self, id: FeatureId, text: &str, span: Span) -> Expr {
        let f = &self.program.features[id.index()];
        let (shape, output, fgroup) = (f.shape, f.output, f.group);
        if let Some(g) = self.env.group
            && g != fgroup
            && !self.program.groups[g.index()].uses_groups.contains(&fgroup)
        {
            self.program.groups[g.index()].uses_groups.push(fgroup);
        }
        if shape != Shape::Scalar {
            self.error(Diagnostic::new(
                codes::MISPLACED_MULTI,
                format!("feature `{text}` has several columns and cannot be used as one value"),
                span,
                "a `seq` or `hist` feature",
            ));
            return error_expr(span);
        }
        Expr {
            kind: ExprKind::Feature(id),
            ty: Type::of(output),
            ctx: Context::Flow,
            span,
        }
    }

    /// Reports `field` as unknown on `pkt` or `flow`: a did-you-mean among that view's
    /// fields, else `other` (the field exists on the other view), else where the list is.
    fn unknown_view_field(
        &mut self,
        field: &ast::Ident,
        view: UnknownField,
        other: Option<String>,
    ) {
        let d = Diagnostic::new(
            view.code,
            format!("{} have no field `{}`", view.plural, field.name),
            field.span,
            "unknown field",
        );
        let d = match suggest::help(&field.name, view.names.iter().map(|f| f.name)) {
            Some(h) => d.with_help(h),
            None => match other {
                Some(h) => d.with_help(h),
                None => d.with_help(format!(
                    "see the list of `{}.*` fields in docs/language.md",
                    view.prefix
                )),
            },
        };
        self.error(d);
    }

    fn field(&mut self, base: &ast::Expr, field: &ast::Ident, span: Span) -> Expr {
        if let A::Name(b) = &base.kind
            && matches!(self.resolve(b), Resolved::Nothing)
        {
            let b = b.as_str();
            if b == "pkt" {
                let Some((_, f)) = builtins::pkt_field(&field.name) else {
                    let other = builtins::flow_field(&field.name)
                        .map(|_| format!("`flow.{}` is a flow field", field.name));
                    self.unknown_view_field(field, UnknownField::PKT, other);
                    return error_expr(span);
                };
                return Expr {
                    kind: ExprKind::Pkt(f),
                    ty: f.ty,
                    ctx: Context::Packet,
                    span,
                };
            }
            if b == "flow" {
                let Some((_, f)) = builtins::flow_field(&field.name) else {
                    let other = builtins::pkt_field(&field.name).map(|_| {
                        format!(
                            "`pkt.{}` is a packet field; aggregate it, as in mean(pkt.{})",
                            field.name, field.name
                        )
                    });
                    self.unknown_view_field(field, UnknownField::FLOW, other);
                    return error_expr(span);
                };
                return Expr {
                    kind: ExprKind::Flow(f),
                    ty: f.ty,
                    ctx: Context::Flow,
                    span,
                };
            }
            let group = ast::Ident {
                name: b.to_string(),
                span: base.span,
            };
            return match self.group_feature(&group, field) {
                Some(id) => self.feature_ref(id, &format!("{b}.{}", field.name), span),
                None => error_expr(span),
            };
        }
        let inner = self.expr(base);
        if let Base::Record(r) = inner.ty.base {
            return self.record_field(inner, r, field, span);
        }
        if !inner.ty.is_error() {
            self.error(Diagnostic::new(
                codes::BAD_OPERANDS,
                format!("a `{}` value has no field `{}`", inner.ty, field.name),
                field.span,
                "no such field",
            ));
        }
        error_expr(span)
    }

    /// A field of a record value: as optional as the record.
    fn record_field(&mut self, record: Expr, r: Record, field: &ast::Ident, span: Span) -> Expr {
        let Some(f) = builtins::record_field(r, &field.name) else {
            let names = builtins::record_fields(r).iter().map(|f| f.name);
            let mut d = Diagnostic::new(
                codes::UNKNOWN_RECORD_FIELD,
                format!("a `{}` record has no field `{}`", r.name(), field.name),
                field.span,
                "unknown field",
            )
            .with_secondary(record.span, format!("this is `{}`", record.ty));
            d = match suggest::help(&field.name, names.clone()) {
                Some(h) => d.with_help(h),
                None => {
                    let all: Vec<String> = names.map(|n| format!("`{n}`")).collect();
                    d.with_help(format!("its fields are {}", all.join(", ")))
                }
            };
            self.error(d);
            return error_expr(span);
        };
        if record.ctx == Context::Error {
            return error_expr(span);
        }
        Expr {
            ty: f.ty.or_optional(record.ty.optional),
            ctx: record.ctx,
            kind: ExprKind::RecordField(Box::new(record), f),
            span,
        }
    }

    fn index(&mut self, base: &ast::Expr, index: &ast::Expr, span: Span) -> Expr {
        if let A::Name(n) = &base.kind
            && let Resolved::File(FileSym::Table(id)) = self.resolve(n)
        {
            self.used_file_syms.insert(FileSym::Table(id));
            let key = self.expr(index);
            let t = &self.program.tables[id.index()];
            let (kt, vt) = (t.key, t.value);
            let key_ok = key.ty.is_error()
                || kt == Base::Error
                || key.ty.base == kt
                || key.ty.base == Base::Nothing;
            if !key_ok {
                self.error(
                    Diagnostic::new(
                        codes::TYPE_MISMATCH,
                        format!("table `{n}` has `{kt}` keys, but this key is `{}`", key.ty),
                        index.span,
                        format!("expected `{kt}`"),
                    )
                    .with_secondary(
                        self.program.tables[id.index()].name_span,
                        "table defined here",
                    ),
                );
            }
            let ctx = key.ctx;
            return Expr {
                kind: ExprKind::Lookup(id, Box::new(key)),
                ty: Type::optional(vt),
                ctx,
                span,
            };
        }
        let b = self.expr(base);
        let i = self.expr(index);
        if b.ty.is_error() || i.ty.is_error() {
            return error_expr(span);
        }
        if b.ty.base != Base::Bytes {
            self.error(
                Diagnostic::new(
                    codes::BAD_OPERANDS,
                    format!("`{}` cannot be indexed", b.ty),
                    base.span,
                    format!("this is `{}`", b.ty),
                )
                .with_help("only bytes (`pkt.payload[0]`) and tables (`t[key]`) take `[…]`"),
            );
            return error_expr(span);
        }
        self.expect_int(&i);
        let ctx = self.join(&[&b, &i]);
        Expr {
            ty: Type::optional(Base::Int),
            kind: ExprKind::ByteAt(Box::new(b), Box::new(i)),
            ctx,
            span,
        }
    }

    fn expect_int(&mut self, e: &Expr) {
        if !e.ty.is_error() && e.ty.base != Base::Int {
            self.error(Diagnostic::new(
                codes::TYPE_MISMATCH,
                format!("expected `int`, found `{}`", e.ty),
                e.span,
                "expected `int`",
            ));
        }
    }

    fn slice(
        &mut self,
        base: &ast::Expr,
        lo: Option<&ast::Expr>,
        hi: Option<&ast::Expr>,
        span: Span,
    ) -> Expr {
        let b = self.expr(base);
        let lo = lo.map(|e| self.expr(e));
        let hi = hi.map(|e| self.expr(e));
        for x in lo.iter().chain(hi.iter()) {
            self.expect_int(x);
        }
        if !b.ty.is_error() && b.ty.base != Base::Bytes {
            self.error(
                Diagnostic::new(
                    codes::BAD_OPERANDS,
                    format!("`{}` cannot be sliced", b.ty),
                    base.span,
                    format!("this is `{}`", b.ty),
                )
                .with_help("only bytes can be sliced, as in `pkt.payload[:100]`"),
            );
            return error_expr(span);
        }
        let mut parts: Vec<&Expr> = vec![&b];
        parts.extend(lo.iter());
        parts.extend(hi.iter());
        let ctx = self.join(&parts);
        let optional = b.ty.optional
            || lo.as_ref().is_some_and(|e| e.ty.optional)
            || hi.as_ref().is_some_and(|e| e.ty.optional);
        Expr {
            kind: ExprKind::Slice(Box::new(b), lo.map(Box::new), hi.map(Box::new)),
            ty: Type::of(Base::Bytes).or_optional(optional),
            ctx,
            span,
        }
    }

    /// The context of an expression made of `parts`; reports packet/flow mixes.
    pub(super) fn join(&mut self, parts: &[&Expr]) -> Context {
        let any = |c: Context| parts.iter().any(|p| p.ctx == c);
        if any(Context::Error) {
            return Context::Error;
        }
        match (any(Context::Packet), any(Context::Flow)) {
            (true, true) => {
                if self.env.packet_only {
                    for p in parts.iter().filter(|p| p.ctx == Context::Flow) {
                        let culprit = flow_culprit(p);
                        let text = self.text(culprit.span);
                        self.error(flow_in_packet(&text, culprit.span));
                    }
                } else {
                    for p in parts.iter().filter(|p| p.ctx == Context::Packet) {
                        let text = self.text(p.span);
                        self.error(packet_in_flow(
                            &text,
                            p.span,
                            p.ty,
                            "it is combined with a flow value, which exists once per flow",
                        ));
                    }
                }
                Context::Error
            }
            (true, false) => Context::Packet,
            (false, true) => Context::Flow,
            (false, false) => Context::Const,
        }
    }

    fn unary(&mut self, op: UnaryOp, a: &ast::Expr, span: Span) -> Expr {
        let x = self.expr(a);
        let ctx = x.ctx;
        let ty = match op {
            UnaryOp::Neg => {
                if !x.ty.is_numeric() {
                    self.bad_operand("-", &x);
                    return error_expr(span);
                }
                x.ty
            }
            UnaryOp::Not => {
                if !matches!(x.ty.base, Base::Bool | Base::Error) {
                    self.bad_operand("not", &x);
                    return error_expr(span);
                }
                Type::BOOL
            }
        };
        Expr {
            kind: ExprKind::Unary(op, Box::new(x)),
            ty,
            ctx,
            span,
        }
    }

    fn bad_operand(&mut self, op: &str, x: &Expr) {
        if x.ty.is_error() {
            return;
        }
        self.error(Diagnostic::new(
            codes::BAD_OPERANDS,
            format!("`{op}` cannot be applied to `{}`", x.ty),
            x.span,
            format!("this is `{}`", x.ty),
        ));
    }

    fn bad_operands(&mut self, op: BinaryOp, a: &Expr, b: &Expr, hint: Option<&str>) {
        if a.ty.is_error() || b.ty.is_error() {
            return;
        }
        let mut d = Diagnostic::new(
            codes::BAD_OPERANDS,
            format!(
                "`{}` cannot be applied to `{}` and `{}`",
                op.symbol(),
                a.ty,
                b.ty
            ),
            b.span,
            format!("this is `{}`", b.ty),
        )
        .with_secondary(a.span, format!("this is `{}`", a.ty));
        if let Some(h) = hint {
            d = d.with_help(h.to_string());
        }
        self.error(d);
    }

    fn binary(&mut self, op: BinaryOp, a: &ast::Expr, b: &ast::Expr, span: Span) -> Expr {
        if op == BinaryOp::Match {
            let x = self.expr(a);
            return self.match_pattern(x, b, span);
        }
        let x = self.expr(a);
        let y = self.expr(b);
        if x.ty.is_error() || y.ty.is_error() {
            let ctx = self.join(&[&x, &y]);
            let _ = ctx;
            return error_expr(span);
        }
        let ctx = self.join(&[&x, &y]);
        let optional = x.ty.optional || y.ty.optional;
        let mk = |kind, ty: Type| Expr {
            kind,
            ty,
            ctx,
            span,
        };
        use BinaryOp::*;
        match op {
            Coalesce => {
                let Some(t) = unify(Type::of(x.ty.base), y.ty) else {
                    self.incompatible(&x, &y, "both sides of `??` must have the same type");
                    return error_expr(span);
                };
                let (x, y) = widen_pair(x, y, t.base);
                let ty = Type {
                    base: t.base,
                    optional: y.ty.optional,
                };
                mk(ExprKind::Binary(op, Box::new(x), Box::new(y)), ty)
            }
            And | Or => {
                for v in [&x, &y] {
                    if v.ty.base != Base::Bool {
                        self.error(
                            Diagnostic::new(
                                codes::TYPE_MISMATCH,
                                format!(
                                    "`{}` needs `bool` operands, found `{}`",
                                    op.symbol(),
                                    v.ty
                                ),
                                v.span,
                                "expected `bool`",
                            )
                            .with_help("compare it, as in `x > 0` or `x != none`"),
                        );
                        return error_expr(span);
                    }
                }
                mk(ExprKind::Binary(op, Box::new(x), Box::new(y)), Type::BOOL)
            }
            Eq | Ne => {
                // `x == none` / `x != none` test whether x is defined.
                let none_side = match (x.ty.base, y.ty.base) {
                    (Base::Nothing, Base::Nothing) => None,
                    (_, Base::Nothing) => Some(x),
                    (Base::Nothing, _) => Some(y),
                    _ => {
                        let Some(t) = unify(x.ty, y.ty)
                            .filter(|t| !matches!(t.base, Base::Bytes) || (x.ty.base == y.ty.base))
                            .filter(|t| !matches!(t.base, Base::Record(_)))
                        else {
                            let record = matches!(x.ty.base, Base::Record(_))
                                || matches!(y.ty.base, Base::Record(_));
                            let hint = record.then_some(
                                "records cannot be compared: compare a field, or test whether there is one with `!= none`",
                            );
                            self.bad_operands(op, &x, &y, hint);
                            return error_expr(span);
                        };
                        let (x, y) = widen_pair(x, y, t.base);
                        return mk(
                            ExprKind::Binary(op, Box::new(x), Box::new(y)),
                            Type::BOOL.or_optional(optional),
                        );
                    }
                };
                let Some(v) = none_side else {
                    return mk(ExprKind::Lit(Value::Bool(op == Eq)), Type::BOOL);
                };
                let ctx = v.ctx;
                let defined = Expr {
                    kind: ExprKind::IsDefined(Box::new(v)),
                    ty: Type::BOOL,
                    ctx,
                    span,
                };
                if op == Ne {
                    defined
                } else {
                    Expr {
                        kind: ExprKind::Unary(UnaryOp::Not, Box::new(defined)),
                        ty: Type::BOOL,
                        ctx,
                        span,
                    }
                }
            }
            Lt | Le | Gt | Ge => {
                let ok = (x.ty.is_numeric() && y.ty.is_numeric())
                    || (x.ty.base == y.ty.base && matches!(x.ty.base, Base::Str | Base::Ip));
                if !ok {
                    self.bad_operands(
                        op,
                        &x,
                        &y,
                        Some("ordering compares numbers, strings or addresses"),
                    );
                    return error_expr(span);
                }
                let t = unify(x.ty, y.ty).map_or(Base::Error, |t| t.base);
                let (x, y) = widen_pair(x, y, t);
                mk(
                    ExprKind::Binary(op, Box::new(x), Box::new(y)),
                    Type::BOOL.or_optional(optional),
                )
            }
            BitOr | BitXor | BitAnd | Shl | Shr => {
                if x.ty.base != Base::Int || y.ty.base != Base::Int {
                    self.bad_operands(op, &x, &y, Some("bit operators need `int` operands"));
                    return error_expr(span);
                }
                mk(
                    ExprKind::Binary(op, Box::new(x), Box::new(y)),
                    Type::INT.or_optional(optional),
                )
            }
            Add | Sub | Mul | Div | IntDiv | Rem => {
                if op == Add && x.ty.base == Base::Str && y.ty.base == Base::Str {
                    return mk(
                        ExprKind::Binary(op, Box::new(x), Box::new(y)),
                        Type::of(Base::Str).or_optional(optional),
                    );
                }
                if !x.ty.is_numeric() || !y.ty.is_numeric() {
                    let hint = (x.ty.base == Base::Bool || y.ty.base == Base::Bool)
                        .then_some("to count true values, use count(...); to use a bool as 0/1, write `if b then 1 else 0`");
                    self.bad_operands(op, &x, &y, hint);
                    return error_expr(span);
                }
                let both_int = x.ty.base == Base::Int && y.ty.base == Base::Int;
                let base = match op {
                    Div => Base::Float,
                    _ if both_int => Base::Int,
                    _ => Base::Float,
                };
                let divides = matches!(op, Div | IntDiv | Rem);
                // Division by zero gives none, unless the divisor is a non-zero constant.
                let may_fail = divides && !self.is_nonzero_const(&y);
                let (x, y) = if base == Base::Float {
                    (to_float(x), to_float(y))
                } else {
                    (x, y)
                };
                mk(
                    ExprKind::Binary(op, Box::new(x), Box::new(y)),
                    Type::of(base).or_optional(optional || may_fail),
                )
            }
            Match => error_expr(span),
        }
    }

    fn is_nonzero_const(&mut self, e: &Expr) -> bool {
        if e.ctx != Context::Const {
            return false;
        }
        match self.eval(e) {
            Ok(Value::Int(v)) => v != 0,
            Ok(Value::Float(v)) => v != 0.0,
            _ => false,
        }
    }

    fn incompatible(&mut self, a: &Expr, b: &Expr, why: &str) {
        if a.ty.is_error() || b.ty.is_error() {
            return;
        }
        self.error(
            Diagnostic::new(
                codes::INCOMPATIBLE,
                format!("`{}` and `{}` are incompatible", a.ty, b.ty),
                b.span,
                format!("this is `{}`", b.ty),
            )
            .with_secondary(a.span, format!("this is `{}`", a.ty))
            .with_help(why.to_string()),
        );
    }

    fn match_pattern(&mut self, x: Expr, pattern: &ast::Expr, span: Span) -> Expr {
        let pid = match &pattern.kind {
            A::Name(n) => match self.resolve(n) {
                Resolved::File(FileSym::Pattern(id)) => {
                    self.used_file_syms.insert(FileSym::Pattern(id));
                    Some(id)
                }
                _ => {
                    let names: Vec<String> = self
                        .file_scopes
                        .get(&self.env.file)
                        .map(|s| {
                            s.iter()
                                .filter(|(_, v)| matches!(v, FileSym::Pattern(_)))
                                .map(|(k, _)| k.clone())
                                .collect()
                        })
                        .unwrap_or_default();
                    let mut d = Diagnostic::new(
                        codes::UNKNOWN_PATTERN,
                        format!("no pattern named `{n}` in this file"),
                        pattern.span,
                        "not a pattern",
                    );
                    d = match suggest::help(n, names.iter().map(String::as_str)) {
                        Some(h) => d.with_help(h),
                        None => d.with_help(format!("define it: `pattern {n} = b\"regex\"`")),
                    };
                    self.error(d);
                    None
                }
            },
            _ => {
                self.error(
                    Diagnostic::new(
                        codes::UNKNOWN_PATTERN,
                        "the right side of `~` must name a pattern",
                        pattern.span,
                        "not a pattern name",
                    )
                    .with_help(
                        "define one with `pattern NAME = b\"regex\"` and write `bytes ~ NAME`",
                    ),
                );
                None
            }
        };
        if !x.ty.is_error() && x.ty.base != Base::Bytes {
            self.error(
                Diagnostic::new(
                    codes::TYPE_MISMATCH,
                    format!("patterns match bytes, found `{}`", x.ty),
                    x.span,
                    "expected `bytes`",
                )
                .with_help("match a payload, as in `pkt.payload[:100] ~ NAME`"),
            );
            return error_expr(span);
        }
        match pid {
            Some(id) if !x.ty.is_error() => Expr {
                ty: Type::BOOL.or_optional(x.ty.optional),
                ctx: x.ctx,
                kind: ExprKind::Match(Box::new(x), id),
                span,
            },
            _ => error_expr(span),
        }
    }

    fn conditional(&mut self, c: &ast::Expr, a: &ast::Expr, b: &ast::Expr, span: Span) -> Expr {
        let c = self.expr(c);
        let x = self.expr(a);
        let y = self.expr(b);
        if !c.ty.is_error() && c.ty.base != Base::Bool {
            self.error(
                Diagnostic::new(
                    codes::TYPE_MISMATCH,
                    format!("the condition of `if` must be `bool`, found `{}`", c.ty),
                    c.span,
                    "expected `bool`",
                )
                .with_help("compare it, as in `x > 0` or `x != none`"),
            );
        }
        let ctx = self.join(&[&c, &x, &y]);
        if c.ty.is_error() || x.ty.is_error() || y.ty.is_error() {
            return error_expr(span);
        }
        let Some(t) = unify(x.ty, y.ty) else {
            self.incompatible(&x, &y, "both branches of `if` must have the same type");
            return error_expr(span);
        };
        let (x, y) = widen_pair(x, y, t.base);
        Expr {
            kind: ExprKind::If(Box::new(c), Box::new(x), Box::new(y)),
            ty: t,
            ctx,
            span,
        }
    }

    fn call(
        &mut self,
        func: &ast::Ident,
        args: &[ast::Expr],
        filter: Option<&ast::Expr>,
        span: Span,
        top: bool,
    ) -> Expr {
        let Some((callable, signature)) = builtins::callable(&func.name) else {
            let mut d = Diagnostic::new(
                codes::UNKNOWN_FUNCTION,
                format!("unknown function `{}`", func.name),
                func.span,
                "not a function or aggregate",
            );
            let alias = suggest::ALIASES
                .iter()
                .find(|(a, _)| *a == func.name)
                .map(|(_, to)| format!("did you mean `{to}`?"));
            if let Some(h) =
                alias.or_else(|| suggest::help(&func.name, builtins::CALLABLES.iter().map(|c| c.0)))
            {
                d = d.with_help(h);
            }
            self.error(d);
            return error_expr(span);
        };
        match callable {
            Callable::Func(f) => {
                if let Some(w) = filter {
                    self.error(
                        Diagnostic::new(
                            codes::MISPLACED_WHERE,
                            format!("`where` filters aggregates, but `{}` is not one", func.name),
                            w.span,
                            "cannot filter here",
                        )
                        .with_help(
                            "move the condition into an aggregate, as in `mean(x where cond)`",
                        ),
                    );
                }
                self.function(f, func, args, signature, span)
            }
            Callable::Agg(a) => self.aggregate(a, func, args, filter, signature, span, top),
        }
    }

    fn arity(
        &mut self,
        func: &ast::Ident,
        args: &[ast::Expr],
        range: (usize, usize),
        signature: &str,
        span: Span,
    ) -> bool {
        if args.len() < range.0 || args.len() > range.1 {
            let want = if range.0 == range.1 {
                format!("{}", range.0)
            } else {
                format!("{} to {}", range.0, range.1)
            };
            self.error(
                Diagnostic::new(
                    codes::ARG_COUNT,
                    format!(
                        "`{}` takes {want} argument{}, found {}",
                        func.name,
                        if range.1 == 1 { "" } else { "s" },
                        args.len()
                    ),
                    span,
                    format!(
                        "{} argument{}",
                        args.len(),
                        if args.len() == 1 { "" } else { "s" }
                    ),
                )
                .with_help(format!("use it as `{signature}`")),
            );
            return false;
        }
        true
    }

    fn function(
        &mut self,
        f: Func,
        func: &ast::Ident,
        args: &[ast::Expr],
        signature: &str,
        span: Span,
    ) -> Expr {
        let range = match f {
            Func::Least | Func::Greatest | Func::Matches => (2, 2),
            Func::Prev => (1, 2),
            _ => (1, 1),
        };
        if !self.arity(func, args, range, signature, span) {
            for a in args {
                let _ = self.expr(a);
            }
            return error_expr(span);
        }
        match f {
            Func::Matches => {
                let x = self.expr(&args[0]);
                return self.match_pattern(x, &args[1], span);
            }
            Func::Prev => return self.prev(args, span),
            _ => {}
        }
        let xs: Vec<Expr> = args.iter().map(|a| self.expr(a)).collect();
        let refs: Vec<&Expr> = xs.iter().collect();
        let ctx = self.join(&refs);
        if xs.iter().any(|x| x.ty.is_error()) {
            return error_expr(span);
        }
        let optional = xs.iter().any(|x| x.ty.optional);
        let ty = match f {
            Func::Len => {
                if !matches!(xs[0].ty.base, Base::Bytes | Base::Str) {
                    self.wrong_arg(func, &xs[0], "bytes or str");
                    return error_expr(span);
                }
                Type::INT
            }
            Func::Abs => {
                if !xs[0].ty.is_numeric() {
                    self.wrong_arg(func, &xs[0], "a number");
                    return error_expr(span);
                }
                Type::of(xs[0].ty.base)
            }
            Func::Sqrt | Func::Ln | Func::Log2 | Func::Exp => {
                if !xs[0].ty.is_numeric() {
                    self.wrong_arg(func, &xs[0], "a number");
                    return error_expr(span);
                }
                if f == Func::Exp {
                    Type::FLOAT
                } else {
                    Type::optional(Base::Float)
                }
            }
            Func::Floor | Func::Ceil | Func::Round | Func::ToInt => {
                if !xs[0].ty.is_numeric() {
                    self.wrong_arg(func, &xs[0], "a number");
                    return error_expr(span);
                }
                Type::INT
            }
            Func::ToFloat => {
                if !xs[0].ty.is_numeric() {
                    self.wrong_arg(func, &xs[0], "a number");
                    return error_expr(span);
                }
                Type::FLOAT
            }
            Func::Least | Func::Greatest => {
                if !xs[0].ty.is_numeric() || !xs[1].ty.is_numeric() {
                    let bad = if xs[0].ty.is_numeric() {
                        &xs[1]
                    } else {
                        &xs[0]
                    };
                    self.wrong_arg(func, bad, "a number");
                    return error_expr(span);
                }
                unify(xs[0].ty, xs[1].ty).map_or(Type::FLOAT, |t| Type::of(t.base))
            }
            Func::Str => {
                if xs[0].ty.base != Base::Int {
                    self.wrong_arg(func, &xs[0], "an `int`");
                    return error_expr(span);
                }
                Type::of(Base::Str)
            }
            Func::TlsClientHello
            | Func::TlsServerHello
            | Func::TlsCertificates
            | Func::TlsKeyExchange => {
                if xs[0].ty.base != Base::Bytes {
                    self.wrong_arg(func, &xs[0], "bytes (a payload, as in pkt.payload)");
                    return error_expr(span);
                }
                if ctx == Context::Error {
                    return error_expr(span);
                }
                let record = f.record().map_or(Base::Error, Base::Record);
                // A record is a packet value, even of constant bytes.
                return Expr {
                    kind: ExprKind::Call(f, xs),
                    ty: Type::optional(record),
                    ctx: Context::Packet,
                    span,
                };
            }
            Func::Matches | Func::Prev => Type::ERROR,
        };
        let xs = if ty.base == Base::Float && matches!(f, Func::Least | Func::Greatest) {
            xs.into_iter().map(to_float).collect()
        } else {
            xs
        };
        Expr {
            kind: ExprKind::Call(f, xs),
            ty: ty.or_optional(optional),
            ctx,
            span,
        }
    }

    fn wrong_arg(&mut self, func: &ast::Ident, x: &Expr, want: &str) {
        if x.ty.is_error() {
            return;
        }
        self.error(Diagnostic::new(
            codes::TYPE_MISMATCH,
            format!("`{}` expects {want}, found `{}`", func.name, x.ty),
            x.span,
            format!("expected {want}"),
        ));
    }

    fn prev(&mut self, args: &[ast::Expr], span: Span) -> Expr {
        let per_direction = match args.get(1) {
            None => false,
            Some(a) if matches!(&a.kind, A::Name(n) if n == "dir") => true,
            Some(a) => {
                self.error(Diagnostic::new(
                    codes::BAD_ARGUMENT,
                    "the second argument of `prev` must be `dir`",
                    a.span,
                    "expected `dir`",
                ).with_help("`prev(x)` is the previous packet's value; `prev(x, dir)` the previous one in the same direction"));
                return error_expr(span);
            }
        };
        let saved = self.env.packet_only;
        self.env.packet_only = true;
        let x = self.expr(&args[0]);
        self.env.packet_only = saved;
        if x.ty.is_error() || x.ctx == Context::Error {
            return error_expr(span);
        }
        if let Base::Record(r) = x.ty.base {
            self.error(
                Diagnostic::new(
                    codes::TYPE_MISMATCH,
                    format!("`prev` cannot keep a `{}` record", r.name()),
                    x.span,
                    "a record lives for one packet",
                )
                .with_help("keep one of its fields instead, as in `prev(x.FIELD)`"),
            );
            return error_expr(span);
        }
        if x.ctx == Context::Flow {
            let c = flow_culprit(&x);
            let text = self.text(c.span);
            self.error(
                flow_in_packet(&text, c.span).with_note("`prev` looks at the previous packet"),
            );
            return error_expr(span);
        }
        Expr {
            ty: Type::optional(x.ty.base),
            kind: ExprKind::Prev {
                value: Box::new(x),
                per_direction,
            },
            ctx: Context::Packet,
            span,
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn aggregate(
        &mut self,
        agg: Agg,
        func: &ast::Ident,
        args: &[ast::Expr],
        filter: Option<&ast::Expr>,
        signature: &str,
        span: Span,
        top: bool,
    ) -> Expr {
        if self.env.in_aggregate {
            self.error(Diagnostic::new(
                codes::NESTED_AGGREGATE,
                format!("aggregate `{}` inside another aggregate", func.name),
                span,
                "nested aggregate",
            ).with_help("an aggregate's argument is a per-packet value; compute the inner aggregate in a `let` or feature and combine them outside"));
            return error_expr(span);
        }
        if matches!(agg, Agg::Seq | Agg::Hist) && !top {
            self.error(
                Diagnostic::new(
                    codes::MISPLACED_MULTI,
                    format!(
                        "`{}` makes several columns, so it must be a feature's whole value",
                        func.name
                    ),
                    span,
                    "not the whole value of a feature",
                )
                .with_help(format!(
                    "define it as its own feature: `name = {}(...)`",
                    func.name
                )),
            );
            return error_expr(span);
        }
        let range = match agg {
            Agg::Count => (0, 1),
            Agg::Nth | Agg::Seq | Agg::Hist | Agg::Percentile => (2, 2),
            _ => (1, 1),
        };
        if !self.arity(func, args, range, signature, span) {
            return error_expr(span);
        }
        let saved = self.env;
        self.env.in_aggregate = true;
        self.env.packet_only = true;
        let arg = args.first().map(|a| self.expr(a));
        let filter = filter.map(|f| self.expr(f));
        self.env = saved;
        let param = match (agg, args.get(1)) {
            (Agg::Nth, Some(p)) => self.count_param(p, 0, i64::MAX),
            (Agg::Seq, Some(p)) => self.count_param(p, 1, builtins::MAX_COLUMNS_PER_FEATURE),
            (Agg::Percentile, Some(p)) => self.percent_param(p),
            (Agg::Hist, Some(p)) => self.edges_param(p),
            _ => Some(AggParam::None),
        };
        let Some(param) = param else {
            return error_expr(span);
        };
        for part in arg.iter().chain(filter.iter()) {
            if part.ctx == Context::Flow {
                let c = flow_culprit(part);
                let text = self.text(c.span);
                self.error(flow_in_packet(&text, c.span));
                return error_expr(span);
            }
        }
        if arg
            .iter()
            .chain(filter.iter())
            .any(|p| p.ty.is_error() || p.ctx == Context::Error)
        {
            return error_expr(span);
        }
        if let Some(f) = &filter
            && f.ty.base != Base::Bool
        {
            self.error(Diagnostic::new(
                codes::TYPE_MISMATCH,
                format!("a `where` condition must be `bool`, found `{}`", f.ty),
                f.span,
                "expected `bool`",
            ));
            return error_expr(span);
        }
        let ty = match &arg {
            None => Type::INT,
            Some(x) => match self.aggregate_type(agg, func, x) {
                Some(t) => t,
                None => return error_expr(span),
            },
        };
        let arg = match (agg, arg) {
            (
                Agg::Mean
                | Agg::Var
                | Agg::Std
                | Agg::Skew
                | Agg::Kurtosis
                | Agg::Median
                | Agg::Percentile
                | Agg::Hist,
                Some(x),
            ) => Some(to_float(x)),
            (_, x) => x,
        };
        Expr {
            kind: ExprKind::Aggregate(Box::new(Aggregate {
                agg,
                arg,
                param,
                filter,
            })),
            ty,
            ctx: Context::Flow,
            span,
        }
    }

    fn aggregate_type(&mut self, agg: Agg, func: &ast::Ident, x: &Expr) -> Option<Type> {
        let base = x.ty.base;
        let numeric = matches!(base, Base::Int | Base::Float);
        let want = |ok: bool, what: &str, c: &mut Self| {
            if !ok {
                c.wrong_arg(func, x, what);
            }
            ok
        };
        Some(match agg {
            Agg::Count => Type::INT,
            Agg::Sum => {
                want(numeric, "a number", self).then_some(())?;
                Type::of(base)
            }
            Agg::Min | Agg::Max => {
                want(numeric, "a number", self).then_some(())?;
                Type::optional(base)
            }
            Agg::Mean
            | Agg::Var
            | Agg::Std
            | Agg::Skew
            | Agg::Kurtosis
            | Agg::Median
            | Agg::Percentile => {
                want(numeric, "a number", self).then_some(())?;
                Type::optional(Base::Float)
            }
            Agg::Hist => {
                want(numeric, "a number", self).then_some(())?;
                Type::INT
            }
            Agg::First | Agg::Last | Agg::Nth | Agg::Mode | Agg::ModeCount | Agg::Seq => {
                want(
                    base != Base::Bytes,
                    "a value that is not bytes (use len(...) or a pattern)",
                    self,
                )
                .then_some(())?;
                want(
                    !matches!(base, Base::Record(_)),
                    "a value that is not a record (aggregate one of its fields, as in first(x.FIELD))",
                    self,
                )
                .then_some(())?;
                if agg == Agg::ModeCount {
                    Type::INT
                } else if agg == Agg::Seq {
                    if Type::of(base).column().is_none() {
                        self.wrong_arg(func, x, "bool, int, float, str or ip");
                        return None;
                    }
                    Type::of(base)
                } else {
                    Type::optional(base)
                }
            }
            Agg::Any | Agg::All | Agg::Runs | Agg::LongestRun => {
                want(base == Base::Bool, "a `bool` condition", self).then_some(())?;
                if matches!(agg, Agg::Any | Agg::All) {
                    Type::BOOL
                } else {
                    Type::INT
                }
            }
            Agg::BitOr => {
                want(base == Base::Int, "an `int`", self).then_some(())?;
                Type::INT
            }
            Agg::Entropy => {
                want(base == Base::Bytes, "bytes", self).then_some(())?;
                Type::optional(Base::Float)
            }
        })
    }

    /// Checks and evaluates a constant argument.
    fn const_arg(&mut self, p: &ast::Expr, what: &str) -> Option<Value> {
        let e = self.expr(p);
        if e.ty.is_error() || e.ctx == Context::Error {
            return None;
        }
        if e.ctx != Context::Const {
            self.error(
                Diagnostic::new(
                    codes::NOT_CONSTANT,
                    format!("{what} must be a constant"),
                    p.span,
                    format!(
                        "this depends on the {}",
                        if e.ctx == Context::Packet {
                            "packet"
                        } else {
                            "flow"
                        }
                    ),
                )
                .with_help("write a number, or the name of a `const`"),
            );
            return None;
        }
        match self.eval(&e) {
            Ok(v) => Some(v),
            Err(d) => {
                self.error(*d);
                None
            }
        }
    }

    fn count_param(&mut self, p: &ast::Expr, lo: i64, hi: i64) -> Option<AggParam> {
        let v = self.const_arg(p, "this count")?;
        match v {
            Value::Int(n) if (lo..=hi).contains(&n) => Some(AggParam::Count(n)),
            other => {
                self.error(Diagnostic::new(
                    codes::BAD_ARGUMENT,
                    format!("expected an integer from {lo} to {hi}, found `{other}`"),
                    p.span,
                    "out of range",
                ));
                None
            }
        }
    }

    fn percent_param(&mut self, p: &ast::Expr) -> Option<AggParam> {
        let v = self.const_arg(p, "the percentile")?;
        let x = match v {
            Value::Int(n) => n as f64,
            Value::Float(x) => x,
            _ => f64::NAN,
        };
        if (0.0..=100.0).contains(&x) {
            Some(AggParam::Percent(x))
        } else {
            self.error(Diagnostic::new(
                codes::BAD_ARGUMENT,
                format!("a percentile is from 0 to 100, found `{v}`"),
                p.span,
                "out of range",
            ));
            None
        }
    }

    fn edges_param(&mut self, p: &ast::Expr) -> Option<AggParam> {
        let A::List(items) = &p.kind else {
            self.error(Diagnostic::new(
                codes::BAD_ARGUMENT,
                "`hist` needs a list of bin edges",
                p.span,
                "expected a list such as [0, 100, 1500]",
            ));
            return None;
        };
        let mut edges = Vec::with_capacity(items.len());
        for item in items {
            match self.const_arg(item, "a bin edge")? {
                Value::Int(n) => edges.push(n as f64),
                Value::Float(x) if x.is_finite() => edges.push(x),
                other => {
                    self.error(Diagnostic::new(
                        codes::BAD_ARGUMENT,
                        format!("bin edges are numbers, found `{other}`"),
                        item.span,
                        "not a number",
                    ));
                    return None;
                }
            }
        }
        if edges.len() < 2 || edges.len() as i64 > builtins::MAX_COLUMNS_PER_FEATURE + 1 {
            self.error(Diagnostic::new(
                codes::BAD_ARGUMENT,
                format!(
                    "`hist` needs from 2 to {} bin edges, found {}",
                    builtins::MAX_COLUMNS_PER_FEATURE + 1,
                    edges.len()
                ),
                p.span,
                "wrong number of edges",
            ));
            return None;
        }
        if let Some(i) = (1..edges.len()).find(|&i| edges[i] <= edges[i - 1]) {
            self.error(Diagnostic::new(
                codes::BAD_ARGUMENT,
                "bin edges must be strictly increasing",
                items[i].span,
                format!("not greater than the edge before it ({})", edges[i - 1]),
            ));
            return None;
        }
        Some(AggParam::Edges(edges))
    }
}

/// Widens the int side of a pair to float when the pair's type is float.
fn widen_pair(x: Expr, y: Expr, base: Base) -> (Expr, Expr) {
    if base == Base::Float {
        (to_float(x), to_float(y))
    } else {
        (x, y)
    }
}

/// The innermost part of a flow-context expression that makes it flow context.
fn flow_culprit(e: &Expr) -> &Expr {
    let children: Vec<&Expr> = match &e.kind {
        ExprKind::Unary(_, a) | ExprKind::IsDefined(a) | ExprKind::ToFloat(a) => vec![a],
        ExprKind::Binary(_, a, b) | ExprKind::ByteAt(a, b) => vec![a, b],
        ExprKind::If(a, b, c) => vec![a, b, c],
        ExprKind::Lookup(_, a) | ExprKind::Match(a, _) | ExprKind::RecordField(a, _) => vec![a],
        ExprKind::Call(_, xs) => xs.iter().collect(),
        _ => vec![],
    };
    match children.into_iter().find(|c| c.ctx == Context::Flow) {
        Some(c) => flow_culprit(c),
        None => e,
    }
}

/// The E0302 diagnostic: a flow value where a per-packet value is needed.
fn flow_in_packet(text: &str, span: Span) -> Diagnostic {
    Diagnostic::new(
        codes::FLOW_IN_PACKET,
        format!("`{text}` is a flow value, but a per-packet value is needed here"),
        span,
        "one value per flow",
    )
    .with_note("aggregate arguments, `where` conditions and `prev` are evaluated at every packet")
    .with_help("move the flow value outside the aggregate, as in `mean(pkt.len) / flow.duration`")
}

/// What an unknown-field diagnostic says of `pkt` or `flow`.
#[derive(Clone, Copy)]
struct UnknownField {
    code: codes::Code,
    plural: &'static str,
    prefix: &'static str,
    names: &'static [builtins::Field],
}

impl UnknownField {
    const PKT: UnknownField = UnknownField {
        code: codes::UNKNOWN_PKT_FIELD,
        plural: "packets",
        prefix: "pkt",
        names: builtins::PKT_FIELDS,
    };
    const FLOW: UnknownField = UnknownField {
        code: codes::UNKNOWN_FLOW_FIELD,
        plural: "flows",
        prefix: "flow",
        names: builtins::FLOW_FIELDS,
    };
}
