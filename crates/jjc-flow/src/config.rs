//! Flow-table settings.

use std::fmt;
use std::str::FromStr;

/// When a TCP flow ends because of its flags (`--tcp-end`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TcpEnd {
    /// After a RST, or once both sides sent a FIN, the flow takes the packets of its key that
    /// follow within the grace period, then ends; a SYN without ACK starts a new flow.
    #[default]
    Graceful,
    /// JoyfulJay's rule: a FIN or RST in any packet but the flow's first ends the flow after it.
    FirstFinRst,
    /// Flags never end a flow.
    Never,
}

impl FromStr for TcpEnd {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "graceful" => Ok(TcpEnd::Graceful),
            "first-fin-rst" | "first_fin_rst" => Ok(TcpEnd::FirstFinRst),
            "never" => Ok(TcpEnd::Never),
            other => Err(format!(
                "unknown TCP end rule `{other}`: expected graceful, first-fin-rst or never"
            )),
        }
    }
}

impl fmt::Display for TcpEnd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TcpEnd::Graceful => "graceful",
            TcpEnd::FirstFinRst => "first-fin-rst",
            TcpEnd::Never => "never",
        })
    }
}

/// The rules a [`crate::FlowTable`] applies.
#[derive(Debug, Clone, PartialEq)]
pub struct FlowConfig {
    /// A flow idle for longer than this many seconds (strictly) ends.
    pub idle_timeout: f64,
    /// A flow older than this many seconds (strictly) ends; `None` is off.
    pub active_timeout: Option<f64>,
    /// The TCP end rule.
    pub tcp_end: TcpEnd,
    /// Seconds a gracefully closing TCP flow keeps taking packets of its key.
    pub tcp_grace: f64,
    /// At most this many flows live at once (split over the partitions); `None` is unbounded.
    pub max_flows: Option<usize>,
}

impl Default for FlowConfig {
    fn default() -> Self {
        FlowConfig {
            idle_timeout: 60.0,
            active_timeout: None,
            tcp_end: TcpEnd::Graceful,
            tcp_grace: 1.0,
            max_flows: None,
        }
    }
}

/// A setting out of range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError(pub String);

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConfigError {}

impl FlowConfig {
    /// The number of partitions of a table with these settings (fixed whatever the thread
    /// count): [`MAX_PARTITIONS`](crate::MAX_PARTITIONS), fewer when `max_flows` is smaller.
    pub fn partitions(&self) -> usize {
        self.max_flows
            .map_or(crate::MAX_PARTITIONS, |m| m.clamp(1, crate::MAX_PARTITIONS))
    }

    /// Checks every setting, naming the first one out of range.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let positive = |name: &str, v: f64| {
            if v.is_finite() && v > 0.0 {
                Ok(())
            } else {
                Err(ConfigError(format!(
                    "{name} must be a positive number of seconds, got {v}"
                )))
            }
        };
        positive("idle timeout", self.idle_timeout)?;
        if let Some(a) = self.active_timeout {
            positive("active timeout", a)?;
        }
        if !(self.tcp_grace.is_finite() && self.tcp_grace >= 0.0) {
            return Err(ConfigError(format!(
                "TCP grace period must be zero or more seconds, got {}",
                self.tcp_grace
            )));
        }
        if self.max_flows == Some(0) {
            return Err(ConfigError(
                "max flows must be at least 1 (leave it unset for no limit)".into(),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tcp_end_parses_and_prints() {
        for s in ["graceful", "first-fin-rst", "never"] {
            assert_eq!(s.parse::<TcpEnd>().unwrap().to_string(), s);
        }
        assert!(
            "fin"
                .parse::<TcpEnd>()
                .unwrap_err()
                .contains("first-fin-rst")
        );
    }

    #[test]
    fn validation_names_the_setting() {
        let mut c = FlowConfig::default();
        assert!(c.validate().is_ok());
        c.idle_timeout = 0.0;
        assert!(c.validate().unwrap_err().0.contains("idle timeout"));
        c = FlowConfig {
            max_flows: Some(0),
            ..FlowConfig::default()
        };
        assert!(c.validate().unwrap_err().0.contains("max flows"));
        c = FlowConfig {
            active_timeout: Some(f64::NAN),
            ..FlowConfig::default()
        };
        assert!(c.validate().unwrap_err().0.contains("active timeout"));
    }
}
