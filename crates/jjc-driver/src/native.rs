//! Native extractors: feature groups written in Rust, for logic the language cannot express —
//! JoyfulJay's `FeatureExtractor` and `register_extractor(group, …)`, in Rust.
//!
//! A native group is selected by name like any `.jjf` group (`-g flow_meta,my_group`) and its
//! columns take its place in the selection order. Unlike a compiled kernel, it is called
//! through a trait object once per packet; only runs that select a native group pay for that.
//!
//! ```
//! use jjc_abi::{Column, ColumnType, FlowView, PacketView, Value};
//! use jjc_driver::{FeatureExtractor, FlowFeatures, register_extractor};
//!
//! /// The largest payload seen, and whether any payload was larger than 1000 bytes.
//! struct Jumbo;
//! struct JumboFlow { largest: u32 }
//!
//! impl FeatureExtractor for Jumbo {
//!     fn columns(&self) -> Vec<Column> {
//!         vec![Column::new("largest_payload", ColumnType::Int), Column::new("has_jumbo", ColumnType::Bool)]
//!     }
//!     fn start(&self) -> Box<dyn FlowFeatures> {
//!         Box::new(JumboFlow { largest: 0 })
//!     }
//! }
//!
//! impl FlowFeatures for JumboFlow {
//!     fn update(&mut self, pkt: &PacketView<'_>) {
//!         self.largest = self.largest.max(pkt.payload_len);
//!     }
//!     fn finish(&mut self, _flow: &FlowView, out: &mut Vec<Value>) {
//!         out.push(Value::Int(i64::from(self.largest)));
//!         out.push(Value::Bool(self.largest > 1000));
//!     }
//! }
//!
//! register_extractor("jumbo", Jumbo);
//! ```

use std::sync::{Arc, Mutex, OnceLock};

use jjc_abi::{Column, FlowView, PacketView, Value};

/// A feature group written in Rust. It makes one [`FlowFeatures`] per flow.
pub trait FeatureExtractor: Send + Sync + 'static {
    /// The output columns, in order; every flow's `finish` appends one value of each.
    fn columns(&self) -> Vec<Column>;
    /// What the group computes (shown by tools that list groups).
    fn doc(&self) -> &str {
        ""
    }
    /// The state of a flow that starts now.
    fn start(&self) -> Box<dyn FlowFeatures>;
}

/// One flow's state of a native extractor.
pub trait FlowFeatures: Send {
    /// Takes one packet of the flow (its `dir` is set), in file order.
    fn update(&mut self, pkt: &PacketView<'_>);
    /// The flow ended: appends exactly one value per column, of the column's type.
    fn finish(&mut self, flow: &FlowView, out: &mut Vec<Value>);
}

/// A registered native group.
#[derive(Clone)]
pub(crate) struct NativeGroup {
    pub(crate) name: String,
    pub(crate) extractor: Arc<dyn FeatureExtractor>,
    pub(crate) columns: Vec<Column>,
}

fn registry() -> &'static Mutex<Vec<NativeGroup>> {
    static REGISTRY: OnceLock<Mutex<Vec<NativeGroup>>> = OnceLock::new();
    REGISTRY.get_or_init(|| Mutex::new(Vec::new()))
}

/// Registers a native extractor under a group name, replacing one registered under the same
/// name. Pipelines made afterwards can select it with `-g`/`FeatureConfig::groups`.
pub fn register_extractor(group: &str, extractor: impl FeatureExtractor) {
    let columns = extractor.columns();
    let entry = NativeGroup {
        name: group.to_string(),
        extractor: Arc::new(extractor),
        columns,
    };
    let mut groups = registry().lock().unwrap_or_else(|e| e.into_inner());
    match groups.iter_mut().find(|g| g.name == group) {
        Some(g) => *g = entry,
        None => groups.push(entry),
    }
}

/// The names of the registered native groups.
pub fn registered_extractors() -> Vec<String> {
    registry()
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .map(|g| g.name.clone())
        .collect()
}

/// The registered group of this name.
pub(crate) fn registered(name: &str) -> Option<NativeGroup> {
    registry()
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .find(|g| g.name == name)
        .cloned()
}
