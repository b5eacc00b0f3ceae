//! The engine's own columns and how a flow fills them.

use jjc_abi::{CellSink, Column, ColumnType};
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

/// Gives `sink` the identity cells of `r`.
pub(crate) fn emit_identity(r: &FlowRecord, sink: &mut impl CellSink) {
    sink.ip(r.src_addr());
    sink.ip(r.dst_addr());
    sink.int(i64::from(r.src_port));
    sink.int(i64::from(r.dst_port));
    sink.int(i64::from(r.protocol));
    sink.int(i64::from(r.vlan_id()));
    sink.float(r.start_time);
    sink.float(r.end_time);
}
