//! Constant evaluation: `const` items, aggregate parameters, table values, expectations.

use jjc_syntax::ast::{BinaryOp, UnaryOp};
use jjc_syntax::codes;
use jjc_syntax::{Diagnostic, Span};

use super::Checker;
use crate::hir::*;

fn failed(span: Span, message: impl Into<String>) -> Box<Diagnostic> {
    Box::new(Diagnostic::new(
        codes::CONST_EVAL,
        message,
        span,
        "cannot be evaluated",
    ))
}

fn as_f64(v: &Value) -> Option<f64> {
    match v {
        Value::Int(i) => Some(*i as f64),
        Value::Float(x) => Some(*x),
        _ => None,
    }
}

impl Checker<'_> {
    /// Evaluates a constant-context expression.
    pub(super) fn eval(&self, e: &Expr) -> Result<Value, Box<Diagnostic>> {
        match &e.kind {
            ExprKind::Lit(v) => Ok(v.clone()),
            ExprKind::Const(id) => Ok(self.program.consts[id.index()].value.clone()),
            ExprKind::ToFloat(a) => match self.eval(a)? {
                Value::Int(i) => Ok(Value::Float(i as f64)),
                other => Ok(other),
            },
            ExprKind::Unary(op, a) => match (op, self.eval(a)?) {
                (UnaryOp::Neg, Value::Int(i)) => i
                    .checked_neg()
                    .map(Value::Int)
                    .ok_or_else(|| failed(e.span, "integer overflow")),
                (UnaryOp::Neg, Value::Float(x)) => Ok(Value::Float(-x)),
                (UnaryOp::Not, Value::Bool(b)) => Ok(Value::Bool(!b)),
                (UnaryOp::Not, Value::None) => Ok(Value::Bool(true)),
                (_, v) => Err(failed(
                    e.span,
                    format!("cannot apply the operator to `{v}`"),
                )),
            },
            ExprKind::IsDefined(a) => Ok(Value::Bool(self.eval(a)? != Value::None)),
            ExprKind::If(c, a, b) => match self.eval(c)? {
                Value::Bool(true) => self.eval(a),
                _ => self.eval(b),
            },
            ExprKind::Binary(op, a, b) => {
                let x = self.eval(a)?;
                let y = self.eval(b)?;
                binary(*op, x, y, e.span)
            }
            ExprKind::Call(f, args) if args.len() == 1 => {
                let x = self.eval(&args[0])?;
                use crate::builtins::Func::*;
                match (f, &x) {
                    (Len, Value::Str(s)) => Ok(Value::Int(s.len() as i64)),
                    (Len, Value::Bytes(b)) => Ok(Value::Int(b.len() as i64)),
                    (ToFloat, v) => as_f64(v)
                        .map(Value::Float)
                        .ok_or_else(|| failed(e.span, "not a number")),
                    (Abs, Value::Int(i)) => i
                        .checked_abs()
                        .map(Value::Int)
                        .ok_or_else(|| failed(e.span, "integer overflow")),
                    (Abs, Value::Float(v)) => Ok(Value::Float(v.abs())),
                    (Str, Value::Int(i)) => Ok(Value::Str(i.to_string())),
                    _ => Err(failed(
                        e.span,
                        "this function cannot be evaluated in a constant",
                    )),
                }
            }
            _ => Err(failed(e.span, "this cannot be evaluated in a constant")),
        }
    }
}

fn binary(op: BinaryOp, x: Value, y: Value, span: Span) -> Result<Value, Box<Diagnostic>> {
    use BinaryOp::*;
    use Value::*;
    let overflow = || failed(span, "integer overflow");
    let by_zero =
        || Box::new(failed(span, "division by zero").with_help("a constant cannot be `none`"));
    Ok(match (op, x, y) {
        (Coalesce, None, y) => y,
        (Coalesce, x, _) => x,
        (And, a, b) => Bool(a == Bool(true) && b == Bool(true)),
        (Or, a, b) => Bool(a == Bool(true) || b == Bool(true)),
        (_, None, _) | (_, _, None) => None,
        (Add, Int(a), Int(b)) => Int(a.checked_add(b).ok_or_else(overflow)?),
        (Sub, Int(a), Int(b)) => Int(a.checked_sub(b).ok_or_else(overflow)?),
        (Mul, Int(a), Int(b)) => Int(a.checked_mul(b).ok_or_else(overflow)?),
        (IntDiv, Int(a), Int(b)) => {
            if b == 0 {
                return Err(by_zero());
            }
            Int(a.checked_div_euclid(b).ok_or_else(overflow)?)
        }
        (Rem, Int(a), Int(b)) => {
            if b == 0 {
                return Err(by_zero());
            }
            Int(a.checked_rem_euclid(b).ok_or_else(overflow)?)
        }
        (BitAnd, Int(a), Int(b)) => Int(a & b),
        (BitOr, Int(a), Int(b)) => Int(a | b),
        (BitXor, Int(a), Int(b)) => Int(a ^ b),
        (Shl, Int(a), Int(b)) => Int(u32::try_from(b)
            .ok()
            .and_then(|s| a.checked_shl(s))
            .ok_or_else(overflow)?),
        (Shr, Int(a), Int(b)) => Int(u32::try_from(b)
            .ok()
            .and_then(|s| a.checked_shr(s))
            .ok_or_else(overflow)?),
        (Add, Str(a), Str(b)) => Str(a + &b),
        (Eq, a, b) => Bool(a == b),
        (Ne, a, b) => Bool(a != b),
        (op, a, b) => {
            let (Some(p), Some(q)) = (as_f64(&a), as_f64(&b)) else {
                return Err(failed(
                    span,
                    format!("cannot apply `{}` to `{a}` and `{b}`", op.symbol()),
                ));
            };
            match op {
                Add => Float(p + q),
                Sub => Float(p - q),
                Mul => Float(p * q),
                Div | IntDiv | Rem if q == 0.0 => return Err(by_zero()),
                Div => Float(p / q),
                IntDiv => Float((p / q).floor()),
                Rem => Float(p - q * (p / q).floor()),
                Lt => Bool(p < q),
                Le => Bool(p <= q),
                Gt => Bool(p > q),
                Ge => Bool(p >= q),
                _ => {
                    return Err(failed(
                        span,
                        format!("cannot apply `{}` to `{a}` and `{b}`", op.symbol()),
                    ));
                }
            }
        }
    })
}
