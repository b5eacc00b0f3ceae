//! The stable diagnostic codes: one table for the whole front end.
//!
//! A code never changes meaning once released; `docs/language.md` lists the same table
//! (a test keeps the two in step).

/// A stable diagnostic code and its one-line meaning.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Code {
    /// `E0001`-style identifier; `W` codes are warnings.
    pub id: &'static str,
    /// What the code means, in a few words.
    pub title: &'static str,
}

impl Code {
    /// Whether diagnostics of this code are warnings rather than errors.
    pub fn is_warning(self) -> bool {
        self.id.starts_with('W')
    }
}

macro_rules! codes {
    ($($name:ident = $id:literal : $title:literal;)*) => {
        $(
            #[doc = $title]
            pub const $name: Code = Code { id: $id, title: $title };
        )*
        /// Every code, in order.
        pub const ALL: &[Code] = &[$($name),*];
    };
}

codes! {
    SYNTAX = "E0001": "syntax error";
    TOO_DEEP = "E0002": "nesting deeper than the limit";
    BAD_NUMBER = "E0003": "invalid number literal";
    BAD_ESCAPE = "E0004": "invalid escape in a string or bytes literal";
    NOT_UTF8 = "E0005": "source file is not valid UTF-8";
    BAD_IP = "E0006": "invalid IP address literal";
    UNKNOWN_NAME = "E0101": "unknown name";
    UNKNOWN_PKT_FIELD = "E0102": "unknown packet field";
    UNKNOWN_FLOW_FIELD = "E0103": "unknown flow field";
    UNKNOWN_GROUP = "E0104": "unknown feature group";
    UNKNOWN_GROUP_FEATURE = "E0105": "group has no such feature";
    UNKNOWN_FUNCTION = "E0106": "unknown function or aggregate";
    UNKNOWN_TYPE = "E0107": "unknown type";
    UNKNOWN_PATTERN = "E0108": "unknown pattern";
    UNKNOWN_RECORD_FIELD = "E0109": "record has no such field";
    DUPLICATE = "E0110": "name defined twice in one scope";
    DUPLICATE_FEATURE = "E0111": "feature defined by two selected groups";
    DUPLICATE_GROUP = "E0112": "group defined twice";
    CYCLE = "E0113": "definition depends on itself";
    UNKNOWN_SELECTION = "E0114": "unknown group or profile selected";
    TYPE_MISMATCH = "E0201": "mismatched types";
    BAD_OPERANDS = "E0202": "operator cannot be applied to these types";
    ARG_COUNT = "E0203": "wrong number of arguments";
    DECLARED_TYPE = "E0204": "value does not have the declared type";
    NOT_A_COLUMN_TYPE = "E0205": "type cannot be an output column";
    INCOMPATIBLE = "E0206": "branches have incompatible types";
    UNTYPED_NONE = "E0207": "type of `none` cannot be inferred";
    PACKET_IN_FLOW = "E0301": "packet value used where a flow value is needed";
    FLOW_IN_PACKET = "E0302": "flow value used where a packet value is needed";
    NESTED_AGGREGATE = "E0303": "aggregate inside an aggregate";
    MISPLACED_WHERE = "E0304": "`where` on something that is not an aggregate";
    MISPLACED_MULTI = "E0305": "`seq` or `hist` not the whole value of a feature";
    NOT_CONSTANT = "E0401": "a constant is required here";
    BAD_ARGUMENT = "E0402": "argument out of range";
    CONST_EVAL = "E0403": "constant evaluation failed";
    BAD_REGEX = "E0501": "invalid pattern regex";
    BAD_TABLE_TYPE = "E0601": "unsupported table key or value type";
    TABLE_ENTRY_TYPE = "E0602": "table entry of the wrong type";
    TABLE_OVERLAP = "E0603": "table keys overlap";
    EMPTY_RANGE = "E0604": "empty key range";
    TEST_FLOW = "E0701": "test needs exactly one flow block";
    TEST_UNKNOWN_SETTING = "E0702": "unknown setting in a test block";
    TEST_BAD_VALUE = "E0703": "invalid value for a test setting";
    TEST_UNKNOWN_COLUMN = "E0704": "expectation names no column of the file's groups";
    TEST_NO_PACKETS = "E0705": "test has no packets";
    IO = "E0901": "file or folder cannot be read";
    UNUSED_LET = "W0001": "unused `let`";
    UNUSED_PATTERN = "W0002": "unused pattern";
    UNUSED_TABLE = "W0003": "unused table";
    UNUSED_CONST = "W0004": "unused constant";
    CONSTANT_FEATURE = "W0005": "feature is a constant";
    UNUSED_USE = "W0006": "unused `use`";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_well_formed() {
        let mut ids: Vec<&str> = ALL.iter().map(|c| c.id).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), ALL.len());
        for c in ALL {
            assert_eq!(c.id.len(), 5, "{}", c.id);
            assert!(c.id.starts_with('E') || c.id.starts_with('W'));
        }
        assert!(UNUSED_LET.is_warning());
        assert!(!SYNTAX.is_warning());
    }
}
