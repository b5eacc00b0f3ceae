//! From source text to [`crate::ast::File`]: the pest parser, nesting limits and the tree builder.

use std::cell::RefCell;

use pest::Parser as _;
use pest::iterators::{Pair, Pairs};
use pest::pratt_parser::{Assoc, Op, PrattParser};

use crate::ast::*;
use crate::codes;
use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::literal::{self, Number};
use crate::nesting::{self, BracketProblem, MAX_NESTING};
use crate::span::{FileId, Span};

mod error;

/// The generated pest parser for `grammar/jjf.pest`.
#[derive(pest_derive::Parser)]
#[grammar = "../../grammar/jjf.pest"]
pub(crate) struct JjfParser;

/// The deepest tree of grammar rules accepted (a few rules per level of nesting).
const MAX_RULE_DEPTH: usize = 4 * MAX_NESTING + 16;

/// The result of parsing one file.
#[derive(Debug, Clone)]
pub struct Parsed {
    /// The tree, unless a syntax error stopped the parse.
    pub file: Option<File>,
    /// Syntax errors (at most one) and literal errors (all of them).
    pub diagnostics: Diagnostics,
}

/// The stack the parser runs on: enough for [`MAX_NESTING`] levels of the recursive
/// descent in debug builds, whatever thread calls [`parse`].
const PARSER_STACK: usize = 64 << 20;

/// Parses one file. Never panics; every problem becomes a located diagnostic.
///
/// Runs on its own thread with a large stack (reserved, not committed), so the nesting
/// limits hold on any caller's thread.
pub fn parse(file: FileId, text: &str) -> Parsed {
    let mut parsed = parse_all(&[(file, text)]);
    parsed.pop().unwrap_or_else(|| parse_here(file, text))
}

/// Files parsed at the same time by [`parse_all`].
const PARALLEL_PARSES: usize = 8;

/// Parses several files, as [`parse`] does each, several at a time (one thread each), and
/// returns their results in the same order.
pub fn parse_all(files: &[(FileId, &str)]) -> Vec<Parsed> {
    let mut parsed = Vec::with_capacity(files.len());
    for chunk in files.chunks(PARALLEL_PARSES) {
        std::thread::scope(|scope| {
            let threads: Vec<_> = chunk
                .iter()
                .map(|&(file, text)| {
                    std::thread::Builder::new()
                        .name("jjf-parse".into())
                        .stack_size(PARSER_STACK)
                        .spawn_scoped(scope, move || parse_here(file, text))
                        .ok()
                })
                .collect();
            for (thread, &(file, text)) in threads.into_iter().zip(chunk) {
                parsed.push(
                    thread
                        .and_then(|t| t.join().ok())
                        .unwrap_or_else(|| parse_here(file, text)),
                );
            }
        });
    }
    parsed
}

fn parse_here(file: FileId, text: &str) -> Parsed {
    let mut diagnostics = Diagnostics::new();
    let bracket_problem = nesting::scan(text);
    if let Some(BracketProblem::TooDeep(at)) = bracket_problem {
        diagnostics.push(too_deep(Span::new(file, at, at + 1), "this bracket"));
        return Parsed {
            file: None,
            diagnostics,
        };
    }
    // Tracking the detail pest's error messages need slows every parse down, and a text that
    // parses does not need it: it is switched on (for the rest of the process, a global flag
    // that concurrent parses must not see switched off) only to explain a failure.
    let pairs = match JjfParser::parse(Rule::file, text) {
        Ok(pairs) => pairs,
        Err(first) => {
            pest::set_error_detail(true);
            let e = JjfParser::parse(Rule::file, text).err().unwrap_or(first);
            diagnostics.push(error::from_pest(file, text, &e, bracket_problem.as_ref()));
            return Parsed {
                file: None,
                diagnostics,
            };
        }
    };
    if let Some(at) = too_deep_rules(pairs.clone()) {
        diagnostics.push(too_deep(
            Span::new(file, at, at + 1),
            "nested too deeply here",
        ));
        return Parsed {
            file: None,
            diagnostics,
        };
    }
    let builder = Builder {
        file,
        diagnostics: RefCell::new(diagnostics),
        pratt: pratt(),
    };
    let tree = pairs
        .into_iter()
        .next()
        .map(|p| builder.file(p))
        .unwrap_or_else(|| File {
            items: Vec::new(),
            span: Span::new(file, 0, text.len()),
        });
    Parsed {
        file: Some(tree),
        diagnostics: builder.diagnostics.into_inner(),
    }
}

fn too_deep(span: Span, label: &str) -> Diagnostic {
    Diagnostic::new(
        codes::TOO_DEEP,
        format!("nesting deeper than {MAX_NESTING} levels"),
        span,
        label,
    )
    .with_help("split the expression into several `let`s")
}

/// Walks the rule tree without recursion; returns where it first gets too deep.
fn too_deep_rules(pairs: Pairs<'_, Rule>) -> Option<usize> {
    let mut depth = 0usize;
    for token in pairs.tokens() {
        match token {
            pest::Token::Start { pos, .. } => {
                depth += 1;
                if depth > MAX_RULE_DEPTH {
                    return Some(pos.pos());
                }
            }
            pest::Token::End { .. } => depth = depth.saturating_sub(1),
        }
    }
    None
}

fn pratt() -> PrattParser<Rule> {
    PrattParser::new()
        .op(Op::infix(Rule::or, Assoc::Left))
        .op(Op::infix(Rule::and, Assoc::Left))
        .op(Op::prefix(Rule::not))
        .op(Op::infix(Rule::eq, Assoc::Left)
            | Op::infix(Rule::ne, Assoc::Left)
            | Op::infix(Rule::lt, Assoc::Left)
            | Op::infix(Rule::le, Assoc::Left)
            | Op::infix(Rule::gt, Assoc::Left)
            | Op::infix(Rule::ge, Assoc::Left)
            | Op::infix(Rule::matches_op, Assoc::Left))
        .op(Op::infix(Rule::coalesce, Assoc::Right))
        .op(Op::infix(Rule::bit_or, Assoc::Left))
        .op(Op::infix(Rule::bit_xor, Assoc::Left))
        .op(Op::infix(Rule::bit_and, Assoc::Left))
        .op(Op::infix(Rule::shl, Assoc::Left) | Op::infix(Rule::shr, Assoc::Left))
        .op(Op::infix(Rule::add, Assoc::Left) | Op::infix(Rule::sub, Assoc::Left))
        .op(Op::infix(Rule::mul, Assoc::Left)
            | Op::infix(Rule::div, Assoc::Left)
            | Op::infix(Rule::int_div, Assoc::Left)
            | Op::infix(Rule::rem, Assoc::Left))
        .op(Op::prefix(Rule::neg))
}

fn is_keyword(rule: Rule) -> bool {
    matches!(
        rule,
        Rule::kw_features
            | Rule::kw_let
            | Rule::kw_use
            | Rule::kw_table
            | Rule::kw_pattern
            | Rule::kw_const
            | Rule::kw_test
            | Rule::kw_expect
            | Rule::kw_if
            | Rule::kw_then
            | Rule::kw_else
            | Rule::kw_where
            | Rule::flow_word
            | Rule::packet_word
    )
}

/// The children of a pair, keywords left out.
fn children(pair: Pair<'_, Rule>) -> impl Iterator<Item = Pair<'_, Rule>> {
    pair.into_inner().filter(|p| !is_keyword(p.as_rule()))
}

/// An expression under construction, with the depth of its tree.
struct Built {
    expr: Expr,
    depth: usize,
}

struct Builder {
    file: FileId,
    diagnostics: RefCell<Diagnostics>,
    pratt: PrattParser<Rule>,
}

impl Builder {
    fn span(&self, pair: &Pair<'_, Rule>) -> Span {
        let s = pair.as_span();
        Span::new(self.file, s.start(), s.end())
    }

    fn literal_error(&self, code: codes::Code, span: Span, e: literal::LiteralError) {
        let start = span.start as usize + e.offset;
        let at = Span::new(self.file, start, (start + e.len).min(span.end as usize));
        self.diagnostics
            .borrow_mut()
            .push(Diagnostic::new(code, e.message, at, "here"));
    }

    fn file(&self, pair: Pair<'_, Rule>) -> File {
        let span = self.span(&pair);
        let mut items = Vec::new();
        for p in children(pair) {
            let item = match p.as_rule() {
                Rule::group => Item::Group(self.group(p)),
                Rule::table => Item::Table(self.table(p)),
                Rule::pattern => Item::Pattern(self.pattern(p)),
                Rule::constant => Item::Const(self.constant(p)),
                Rule::test => Item::Test(self.test(p)),
                _ => continue,
            };
            items.push(item);
        }
        File { items, span }
    }

    fn ident(&self, pair: Pair<'_, Rule>) -> Ident {
        Ident {
            span: self.span(&pair),
            name: pair.as_str().to_string(),
        }
    }

    fn str_lit(&self, pair: Pair<'_, Rule>) -> StrLit {
        let span = self.span(&pair);
        let value = match literal::string(pair.as_str()) {
            Ok(v) => v,
            Err(e) => {
                self.literal_error(codes::BAD_ESCAPE, span, e);
                String::new()
            }
        };
        StrLit { value, span }
    }

    /// A `doc` pair wraps one string.
    fn doc(&self, pair: Pair<'_, Rule>) -> Option<StrLit> {
        let s = pair.into_inner().next()?;
        Some(self.str_lit(s))
    }

    fn group(&self, pair: Pair<'_, Rule>) -> Group {
        let span = self.span(&pair);
        let mut name = None;
        let mut doc = None;
        let mut members = Vec::new();
        for p in children(pair) {
            match p.as_rule() {
                Rule::identifier => name = Some(self.ident(p)),
                Rule::doc => doc = self.doc(p),
                Rule::let_binding => {
                    let span = self.span(&p);
                    let mut it = children(p);
                    let (Some(n), Some(v)) = (it.next(), it.next()) else {
                        continue;
                    };
                    members.push(Member::Let(Let {
                        name: self.ident(n),
                        value: self.expr(v),
                        span,
                    }));
                }
                Rule::use_decl => {
                    let span = self.span(&p);
                    let mut it = children(p);
                    let (Some(g), Some(f)) = (it.next(), it.next()) else {
                        continue;
                    };
                    members.push(Member::Use(Use {
                        group: self.ident(g),
                        feature: self.ident(f),
                        span,
                    }));
                }
                Rule::feature => members.push(Member::Feature(self.feature(p))),
                _ => {}
            }
        }
        Group {
            name: name.unwrap_or_else(|| self.missing_ident(span)),
            doc,
            members,
            span,
        }
    }

    fn missing_ident(&self, span: Span) -> Ident {
        Ident {
            name: String::new(),
            span,
        }
    }

    fn feature(&self, pair: Pair<'_, Rule>) -> Feature {
        let span = self.span(&pair);
        let mut name = None;
        let mut ty = None;
        let mut value = None;
        let mut doc = None;
        for p in children(pair) {
            match p.as_rule() {
                Rule::identifier => name = Some(self.ident(p)),
                Rule::type_name => ty = p.into_inner().next().map(|t| self.ident(t)),
                Rule::expression => value = Some(self.expr(p)),
                Rule::doc => doc = self.doc(p),
                _ => {}
            }
        }
        Feature {
            name: name.unwrap_or_else(|| self.missing_ident(span)),
            ty,
            value: value.unwrap_or(Expr {
                kind: ExprKind::Error,
                span,
            }),
            doc,
            span,
        }
    }

    fn table(&self, pair: Pair<'_, Rule>) -> Table {
        let span = self.span(&pair);
        let mut idents = Vec::new();
        let mut entries = Vec::new();
        for p in children(pair) {
            match p.as_rule() {
                Rule::identifier => idents.push(self.ident(p)),
                Rule::type_name => {
                    if let Some(t) = p.into_inner().next() {
                        idents.push(self.ident(t));
                    }
                }
                Rule::table_entry => {
                    let mut it = children(p);
                    let (Some(k), Some(v)) = (it.next(), it.next()) else {
                        continue;
                    };
                    let key_span = self.span(&k);
                    let key = self.table_key(k);
                    entries.push(TableEntry {
                        key,
                        key_span,
                        value: self.expr(v),
                    });
                }
                _ => {}
            }
        }
        let mut idents = idents.into_iter();
        let missing = self.missing_ident(span);
        Table {
            name: idents.next().unwrap_or_else(|| missing.clone()),
            key_ty: idents.next().unwrap_or_else(|| missing.clone()),
            value_ty: idents.next().unwrap_or(missing),
            entries,
            span,
        }
    }

    fn table_key(&self, pair: Pair<'_, Rule>) -> TableKey {
        let span = self.span(&pair);
        match pair.as_rule() {
            Rule::key_range => {
                let mut lo = 0;
                let mut hi = 0;
                let mut inclusive = false;
                let mut seen_lo = false;
                for p in pair.into_inner() {
                    match p.as_rule() {
                        Rule::range_op => inclusive = p.as_str() == "..=",
                        Rule::signed_number => {
                            let v = match self.number(&p) {
                                Some(Number::Int(v)) => v,
                                Some(Number::Float(_)) => {
                                    let s = self.span(&p);
                                    self.diagnostics.borrow_mut().push(Diagnostic::new(
                                        codes::TABLE_ENTRY_TYPE,
                                        "range bounds must be integers",
                                        s,
                                        "not an integer",
                                    ));
                                    0
                                }
                                None => 0,
                            };
                            if seen_lo {
                                hi = v;
                            } else {
                                lo = v;
                                seen_lo = true;
                            }
                        }
                        _ => {}
                    }
                }
                TableKey::Range { lo, hi, inclusive }
            }
            _ => {
                let Some(p) = pair.into_inner().next() else {
                    return TableKey::Int(0);
                };
                match p.as_rule() {
                    Rule::string => TableKey::Str(self.str_lit(p).value),
                    Rule::ipv4 | Rule::ip_text => match self.ip(&p) {
                        Some(ip) => TableKey::Ip(ip),
                        None => TableKey::Int(0),
                    },
                    _ => match self.number(&p) {
                        Some(Number::Int(v)) => TableKey::Int(v),
                        Some(Number::Float(v)) => TableKey::Float(v),
                        None => {
                            let _ = span;
                            TableKey::Int(0)
                        }
                    },
                }
            }
        }
    }

    fn number(&self, pair: &Pair<'_, Rule>) -> Option<Number> {
        let span = self.span(pair);
        match literal::number(pair.as_str()) {
            Ok(n) => Some(n),
            Err(e) => {
                self.literal_error(codes::BAD_NUMBER, span, e);
                None
            }
        }
    }

    fn ip(&self, pair: &Pair<'_, Rule>) -> Option<std::net::IpAddr> {
        let span = self.span(pair);
        let text = pair.as_str();
        let (inner, offset) = match text.strip_prefix("ip\"") {
            Some(rest) => (rest.strip_suffix('"').unwrap_or(rest), 3),
            None => (text, 0),
        };
        match literal::ip(inner) {
            Ok(ip) => Some(ip),
            Err(mut e) => {
                e.offset += offset;
                self.literal_error(codes::BAD_IP, span, e);
                None
            }
        }
    }

    fn pattern(&self, pair: Pair<'_, Rule>) -> Pattern {
        let span = self.span(&pair);
        let mut name = None;
        let mut regex = String::new();
        let mut regex_span = span;
        let mut doc = None;
        for p in children(pair) {
            match p.as_rule() {
                Rule::identifier => name = Some(self.ident(p)),
                Rule::bytes => {
                    let s = self.span(&p);
                    let text = p.as_str();
                    regex = text
                        .get(2..text.len().saturating_sub(1))
                        .unwrap_or("")
                        .to_string();
                    regex_span = Span::new(self.file, s.start as usize + 2, s.end as usize - 1);
                }
                Rule::doc => doc = self.doc(p),
                _ => {}
            }
        }
        Pattern {
            name: name.unwrap_or_else(|| self.missing_ident(span)),
            regex,
            regex_span,
            doc,
            span,
        }
    }

    fn constant(&self, pair: Pair<'_, Rule>) -> Const {
        let span = self.span(&pair);
        let mut name = None;
        let mut ty = None;
        let mut value = None;
        for p in children(pair) {
            match p.as_rule() {
                Rule::identifier => name = Some(self.ident(p)),
                Rule::type_name => ty = p.into_inner().next().map(|t| self.ident(t)),
                Rule::expression => value = Some(self.expr(p)),
                _ => {}
            }
        }
        Const {
            name: name.unwrap_or_else(|| self.missing_ident(span)),
            ty,
            value: value.unwrap_or(Expr {
                kind: ExprKind::Error,
                span,
            }),
            span,
        }
    }

    fn test(&self, pair: Pair<'_, Rule>) -> Test {
        let span = self.span(&pair);
        let mut name = StrLit {
            value: String::new(),
            span,
        };
        let mut parts = Vec::new();
        for p in children(pair) {
            match p.as_rule() {
                Rule::string => name = self.str_lit(p),
                Rule::flow_block => parts.push(TestPart::Flow(self.settings(p))),
                Rule::packet_block => parts.push(TestPart::Packet(self.settings(p))),
                Rule::expectation => {
                    let span = self.span(&p);
                    let mut it = children(p);
                    let (Some(c), Some(v)) = (it.next(), it.next()) else {
                        continue;
                    };
                    parts.push(TestPart::Expect(Expect {
                        column: self.ident(c),
                        value: self.expr(v),
                        span,
                    }));
                }
                _ => {}
            }
        }
        Test { name, parts, span }
    }

    fn settings(&self, pair: Pair<'_, Rule>) -> SettingsBlock {
        let span = self.span(&pair);
        let mut settings = Vec::new();
        for p in children(pair) {
            let mut it = p.into_inner();
            let Some(key) = it.next() else { continue };
            let key = self.ident(key);
            let (value, value_span) = match it.next() {
                Some(v) => {
                    let vs = self.span(&v);
                    (self.setting_value(v), vs)
                }
                None => (None, key.span),
            };
            settings.push(Setting {
                key,
                value,
                value_span,
            });
        }
        SettingsBlock { settings, span }
    }

    fn setting_value(&self, pair: Pair<'_, Rule>) -> Option<SettingValue> {
        let p = pair.into_inner().next()?;
        match p.as_rule() {
            Rule::endpoint => {
                let mut ip = None;
                let mut port = None;
                for q in p.into_inner() {
                    match q.as_rule() {
                        Rule::ipv4 | Rule::ipv6_text => ip = self.ip(&q),
                        Rule::number => port = self.number(&q),
                        _ => {}
                    }
                }
                match (ip, port) {
                    (Some(ip), Some(Number::Int(port))) => {
                        Some(SettingValue::Endpoint { ip, port })
                    }
                    _ => None,
                }
            }
            Rule::bytes => {
                let span = self.span(&p);
                match literal::bytes(p.as_str()) {
                    Ok(b) => Some(SettingValue::Bytes(b)),
                    Err(e) => {
                        self.literal_error(codes::BAD_ESCAPE, span, e);
                        None
                    }
                }
            }
            Rule::signed_number => match self.number(&p)? {
                Number::Int(v) => Some(SettingValue::Int(v)),
                Number::Float(v) => Some(SettingValue::Float(v)),
            },
            Rule::flag_list => Some(SettingValue::Words(
                p.into_inner().map(|w| self.ident(w)).collect(),
            )),
            _ => None,
        }
    }

    fn error_expr(span: Span) -> Built {
        Built {
            expr: Expr {
                kind: ExprKind::Error,
                span,
            },
            depth: 1,
        }
    }

    fn expr(&self, pair: Pair<'_, Rule>) -> Expr {
        self.built(pair).expr
    }

    /// Wraps a node over children of the given depth, enforcing the depth limit.
    fn node(&self, kind: ExprKind, span: Span, child_depth: usize) -> Built {
        let depth = child_depth + 1;
        if depth > MAX_NESTING {
            self.diagnostics
                .borrow_mut()
                .push(too_deep(span, "this expression"));
            return Self::error_expr(span);
        }
        Built {
            expr: Expr { kind, span },
            depth,
        }
    }

    fn built(&self, pair: Pair<'_, Rule>) -> Built {
        let span = self.span(&pair);
        let pairs = pair.into_inner();
        // Long operator chains are a flat list here; refuse them before the Pratt
        // parser recurses over them.
        let operators = pairs
            .clone()
            .filter(|p| p.as_rule() != Rule::postfixed)
            .count();
        if operators > MAX_NESTING {
            self.diagnostics.borrow_mut().push(
                Diagnostic::new(
                    codes::TOO_DEEP,
                    format!("expression has more than {MAX_NESTING} operators"),
                    span,
                    "this expression",
                )
                .with_help("split the expression into several `let`s"),
            );
            return Self::error_expr(span);
        }
        self.pratt
            .map_primary(|p| self.postfixed(p))
            .map_prefix(|op, rhs| {
                let op_span = self.span(&op);
                let un = if op.as_rule() == Rule::neg {
                    UnaryOp::Neg
                } else {
                    UnaryOp::Not
                };
                let s = op_span.to(rhs.expr.span);
                // Fold `-literal` so that `-9223372036854775808` and `-3` are literals.
                if un == UnaryOp::Neg {
                    match rhs.expr.kind {
                        ExprKind::Int(v) => {
                            if let Some(n) = v.checked_neg() {
                                return self.node(ExprKind::Int(n), s, 0);
                            }
                        }
                        ExprKind::Float(v) => return self.node(ExprKind::Float(-v), s, 0),
                        _ => {}
                    }
                }
                self.node(ExprKind::Unary(un, Box::new(rhs.expr)), s, rhs.depth)
            })
            .map_infix(|lhs, op, rhs| {
                let bin = match op.as_rule() {
                    Rule::coalesce => BinaryOp::Coalesce,
                    Rule::or => BinaryOp::Or,
                    Rule::and => BinaryOp::And,
                    Rule::eq => BinaryOp::Eq,
                    Rule::ne => BinaryOp::Ne,
                    Rule::lt => BinaryOp::Lt,
                    Rule::le => BinaryOp::Le,
                    Rule::gt => BinaryOp::Gt,
                    Rule::ge => BinaryOp::Ge,
                    Rule::matches_op => BinaryOp::Match,
                    Rule::bit_or => BinaryOp::BitOr,
                    Rule::bit_xor => BinaryOp::BitXor,
                    Rule::bit_and => BinaryOp::BitAnd,
                    Rule::shl => BinaryOp::Shl,
                    Rule::shr => BinaryOp::Shr,
                    Rule::add => BinaryOp::Add,
                    Rule::sub => BinaryOp::Sub,
                    Rule::mul => BinaryOp::Mul,
                    Rule::div => BinaryOp::Div,
                    Rule::int_div => BinaryOp::IntDiv,
                    _ => BinaryOp::Rem,
                };
                let s = lhs.expr.span.to(rhs.expr.span);
                let d = lhs.depth.max(rhs.depth);
                self.node(
                    ExprKind::Binary(bin, Box::new(lhs.expr), Box::new(rhs.expr)),
                    s,
                    d,
                )
            })
            .parse(pairs)
    }

    fn postfixed(&self, pair: Pair<'_, Rule>) -> Built {
        let span = self.span(&pair);
        let mut it = pair.into_inner();
        let Some(first) = it.next() else {
            return Self::error_expr(span);
        };
        let mut base = self.primary(first);
        for post in it {
            let post_span = self.span(&post);
            let s = base.expr.span.to(post_span);
            base = match post.as_rule() {
                Rule::field => {
                    let Some(name) = post.into_inner().next() else {
                        continue;
                    };
                    let name = self.ident(name);
                    self.node(ExprKind::Field(Box::new(base.expr), name), s, base.depth)
                }
                _ => {
                    let mut lo = None;
                    let mut hi = None;
                    let mut colon = false;
                    for q in post.into_inner() {
                        match q.as_rule() {
                            Rule::colon => colon = true,
                            _ if colon => hi = Some(self.built(q)),
                            _ => lo = Some(self.built(q)),
                        }
                    }
                    let d = base
                        .depth
                        .max(lo.as_ref().map_or(0, |b| b.depth))
                        .max(hi.as_ref().map_or(0, |b| b.depth));
                    if colon {
                        let kind = ExprKind::Slice(
                            Box::new(base.expr),
                            lo.map(|b| Box::new(b.expr)),
                            hi.map(|b| Box::new(b.expr)),
                        );
                        self.node(kind, s, d)
                    } else if let Some(index) = lo {
                        self.node(
                            ExprKind::Index(Box::new(base.expr), Box::new(index.expr)),
                            s,
                            d,
                        )
                    } else {
                        self.diagnostics.borrow_mut().push(Diagnostic::new(
                            codes::SYNTAX,
                            "empty subscript",
                            post_span,
                            "expected an index `[i]` or a slice `[lo:hi]`",
                        ));
                        Self::error_expr(s)
                    }
                }
            };
        }
        base
    }

    fn primary(&self, pair: Pair<'_, Rule>) -> Built {
        let span = self.span(&pair);
        let leaf = |kind| Built {
            expr: Expr { kind, span },
            depth: 1,
        };
        match pair.as_rule() {
            Rule::number => match self.number(&pair) {
                Some(Number::Int(v)) => leaf(ExprKind::Int(v)),
                Some(Number::Float(v)) => leaf(ExprKind::Float(v)),
                None => Self::error_expr(span),
            },
            Rule::string => leaf(ExprKind::Str(self.str_lit(pair).value)),
            Rule::bytes => match literal::bytes(pair.as_str()) {
                Ok(b) => leaf(ExprKind::Bytes(b)),
                Err(e) => {
                    self.literal_error(codes::BAD_ESCAPE, span, e);
                    Self::error_expr(span)
                }
            },
            Rule::ipv4 | Rule::ip_text => match self.ip(&pair) {
                Some(ip) => leaf(ExprKind::Ip(ip)),
                None => Self::error_expr(span),
            },
            Rule::true_lit => leaf(ExprKind::Bool(true)),
            Rule::false_lit => leaf(ExprKind::Bool(false)),
            Rule::none_lit => leaf(ExprKind::None),
            Rule::identifier => leaf(ExprKind::Name(pair.as_str().to_string())),
            Rule::paren => match pair.into_inner().next() {
                Some(inner) => {
                    let b = self.built(inner);
                    Built {
                        expr: Expr {
                            kind: b.expr.kind,
                            span,
                        },
                        depth: b.depth,
                    }
                }
                None => Self::error_expr(span),
            },
            Rule::list => {
                let items: Vec<Built> = pair.into_inner().map(|p| self.built(p)).collect();
                let d = items.iter().map(|b| b.depth).max().unwrap_or(0);
                self.node(
                    ExprKind::List(items.into_iter().map(|b| b.expr).collect()),
                    span,
                    d,
                )
            }
            Rule::conditional => {
                let parts: Vec<Built> = children(pair).map(|p| self.built(p)).collect();
                let d = parts.iter().map(|b| b.depth).max().unwrap_or(0);
                let mut it = parts.into_iter().map(|b| Box::new(b.expr));
                match (it.next(), it.next(), it.next()) {
                    (Some(c), Some(a), Some(b)) => self.node(ExprKind::If(c, a, b), span, d),
                    _ => Self::error_expr(span),
                }
            }
            Rule::call => {
                let mut func = None;
                let mut args = Vec::new();
                let mut filter = None;
                let mut d = 0;
                for p in pair.into_inner() {
                    match p.as_rule() {
                        Rule::identifier => func = Some(self.ident(p)),
                        Rule::arguments => {
                            for a in p.into_inner() {
                                let b = self.built(a);
                                d = d.max(b.depth);
                                args.push(b.expr);
                            }
                        }
                        Rule::filter => {
                            if let Some(c) = children(p).next() {
                                let b = self.built(c);
                                d = d.max(b.depth);
                                filter = Some(Box::new(b.expr));
                            }
                        }
                        _ => {}
                    }
                }
                match func {
                    Some(func) => self.node(ExprKind::Call { func, args, filter }, span, d),
                    None => Self::error_expr(span),
                }
            }
            _ => Self::error_expr(span),
        }
    }
}

#[cfg(test)]
mod tests;
