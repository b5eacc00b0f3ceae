//! An in-memory feature table, as the library returns it.

use jjc_abi::{Column, Value};

use crate::error::PipelineError;
use crate::pipeline::RowSink;

/// Columns and rows of a finished run.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Table {
    /// The columns, in output order.
    pub columns: Vec<Column>,
    /// One row per flow, each with one value per column.
    pub rows: Vec<Vec<Value>>,
}

impl Table {
    /// An empty table with these columns.
    pub fn new(columns: Vec<Column>) -> Self {
        Table {
            columns,
            rows: Vec::new(),
        }
    }

    /// The column names in order.
    pub fn column_names(&self) -> Vec<&str> {
        self.columns.iter().map(|c| c.name.as_str()).collect()
    }

    /// The position of a column by name.
    pub fn column_index(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.name == name)
    }

    /// Every value of one column, top to bottom.
    pub fn column(&self, name: &str) -> Option<impl Iterator<Item = &Value>> {
        let i = self.column_index(name)?;
        Some(self.rows.iter().map(move |r| &r[i]))
    }
}

impl RowSink for Table {
    fn write_row(&mut self, row: &[Value]) -> Result<(), PipelineError> {
        self.rows.push(row.to_vec());
        Ok(())
    }
}
