//! A readable text form of the typed program (for snapshots and developer views).

use std::fmt::Write;

use jjc_syntax::ast::UnaryOp;

use crate::hir::*;

/// Prints every group, feature, let, constant, table, pattern and test with its types.
pub fn pretty_program(p: &Program) -> String {
    let mut s = String::new();
    for c in &p.consts {
        let _ = writeln!(s, "const {}: {} = {}", c.name, c.ty, c.value);
    }
    for t in &p.tables {
        let _ = writeln!(
            s,
            "table {}: {} -> {} ({} entries)",
            t.name,
            t.key,
            t.value,
            t.entries.len()
        );
        for (k, v) in &t.entries {
            let key = match k {
                TableKey::Int(i) => i.to_string(),
                TableKey::Range(a, b) => format!("{a}..={b}"),
                TableKey::Str(x) => format!("{x:?}"),
                TableKey::Ip(ip) => ip.to_string(),
            };
            let _ = writeln!(s, "    {key} => {v}");
        }
    }
    for pat in &p.patterns {
        let _ = writeln!(s, "pattern {} = /{}/", pat.name, pat.regex);
    }
    for g in &p.groups {
        let _ = writeln!(s, "features {} {:?}", g.name, g.doc);
        if !g.uses_groups.is_empty() {
            let names: Vec<&str> = g
                .uses_groups
                .iter()
                .filter_map(|u| p.group(*u).map(|g| g.name.as_str()))
                .collect();
            let _ = writeln!(s, "    uses groups: {}", names.join(", "));
        }
        for l in &g.lets {
            let Some(l) = p.lets.get(l.index()) else {
                continue;
            };
            let _ = writeln!(
                s,
                "    let {} : {} @{} = {}",
                l.name,
                l.expr.ty,
                l.expr.ctx.as_str(),
                expr(p, &l.expr)
            );
        }
        for f in &g.features {
            let Some(f) = p.feature(*f) else { continue };
            let cols: Vec<String> = f
                .columns()
                .iter()
                .map(|c| format!("{}:{}", c.name, c.ty))
                .collect();
            let _ = writeln!(
                s,
                "    {} : {} -> [{}] = {}",
                f.name,
                f.ty,
                cols.join(", "),
                expr(p, &f.expr)
            );
        }
    }
    for t in &p.tests {
        let _ = writeln!(
            s,
            "test {:?}: {}:{} -> {}:{} proto {}, {} packets, {} expectations",
            t.name,
            t.flow.src.0,
            t.flow.src.1,
            t.flow.dst.0,
            t.flow.dst.1,
            t.flow.protocol,
            t.packets.len(),
            t.expects.len()
        );
        for e in &t.expects {
            let _ = writeln!(s, "    expect {} == {}", e.column, e.value);
        }
    }
    s
}

fn expr(p: &Program, e: &Expr) -> String {
    match &e.kind {
        ExprKind::Lit(v) => v.to_string(),
        ExprKind::Pkt(f) => format!("pkt.{}", f.name),
        ExprKind::Flow(f) => format!("flow.{}", f.name),
        ExprKind::Let(id) => p
            .lets
            .get(id.index())
            .map_or("?".into(), |l| l.name.clone()),
        ExprKind::Feature(id) => p.feature(*id).map_or("?".into(), |f| {
            let g = p.group(f.group).map_or("?", |g| g.name.as_str());
            format!("{g}.{}", f.name)
        }),
        ExprKind::Const(id) => p
            .consts
            .get(id.index())
            .map_or("?".into(), |c| c.name.clone()),
        ExprKind::Unary(UnaryOp::Neg, a) => format!("(- {})", expr(p, a)),
        ExprKind::Unary(UnaryOp::Not, a) => format!("(not {})", expr(p, a)),
        ExprKind::Binary(op, a, b) => format!("({} {} {})", op.symbol(), expr(p, a), expr(p, b)),
        ExprKind::IsDefined(a) => format!("(defined {})", expr(p, a)),
        ExprKind::ToFloat(a) => format!("(float {})", expr(p, a)),
        ExprKind::If(c, a, b) => format!("(if {} {} {})", expr(p, c), expr(p, a), expr(p, b)),
        ExprKind::Lookup(t, k) => format!(
            "(lookup {} {})",
            p.tables.get(t.index()).map_or("?", |t| t.name.as_str()),
            expr(p, k)
        ),
        ExprKind::ByteAt(a, i) => format!("(byte {} {})", expr(p, a), expr(p, i)),
        ExprKind::Slice(a, lo, hi) => format!(
            "(slice {} {} {})",
            expr(p, a),
            lo.as_ref().map_or("_".into(), |x| expr(p, x)),
            hi.as_ref().map_or("_".into(), |x| expr(p, x))
        ),
        ExprKind::Match(a, pat) => format!(
            "(match {} {})",
            expr(p, a),
            p.patterns.get(pat.index()).map_or("?", |x| x.name.as_str())
        ),
        ExprKind::Call(f, args) => {
            let args: Vec<String> = args.iter().map(|a| expr(p, a)).collect();
            format!("({f:?} {})", args.join(" "))
        }
        ExprKind::RecordField(r, f) => format!("(field {} {})", expr(p, r), f.name),
        ExprKind::Prev {
            value,
            per_direction,
        } => {
            format!(
                "(prev{} {})",
                if *per_direction { "-dir" } else { "" },
                expr(p, value)
            )
        }
        ExprKind::Aggregate(a) => {
            let mut s = format!("({:?}", a.agg);
            if let Some(x) = &a.arg {
                let _ = write!(s, " {}", expr(p, x));
            }
            match &a.param {
                AggParam::None => {}
                AggParam::Count(n) => {
                    let _ = write!(s, " {n}");
                }
                AggParam::Percent(x) => {
                    let _ = write!(s, " {x}%");
                }
                AggParam::Edges(e) => {
                    let _ = write!(s, " {e:?}");
                }
            }
            if let Some(f) = &a.filter {
                let _ = write!(s, " where {}", expr(p, f));
            }
            s.push(')');
            s
        }
        ExprKind::Error => "<error>".into(),
    }
}
