//! The engine's own columns and how a flow fills them.

use jjc_abi::{Column, ColumnType, Value};
use jjc_flow::FlowRecord;

/// The identity columns every table starts with.
pub fn identity_columns() -> Vec<Column> {
    use ColumnType::*;
    [
        ("src_ip", Ip),
        ("dst_ip", Ip),
        ("src_port", Int),
        ("dst_port", Int),
        ("protocol", Int),
        ("vlan_id", Int),
        ("start_time", Float),
        ("end_time", Float),
    ]
    .into_iter()
    .map(|(n, t)| Column::new(n, t))
    .collect()
}

/// The name of the column that says which capture a row came from (several inputs only).
pub(crate) const CAPTURE_COLUMN: &str = "capture";

/// Appends the identity values of `r` to `row`.
pub(crate) fn push_identity(r: &FlowRecord, row: &mut Vec<Value>) {
    row.extend([
        Value::Ip(r.src_addr()),
        Value::Ip(r.dst_addr()),
        Value::Int(i64::from(r.src_port)),
        Value::Int(i64::from(r.dst_port)),
        Value::Int(i64::from(r.protocol)),
        Value::Int(i64::from(r.vlan_id())),
        Value::Float(r.start_time),
        Value::Float(r.end_time),
    ]);
}
