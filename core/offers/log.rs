//! The decision log: what was decided, with which probabilities, and what came
//! of it — the input off-policy evaluation needs. Exported as JSON Lines.

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::io::Write;

/// One filled slot of a logged decision and, once known, its reward.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoggedChoice {
    pub offer: String,
    /// Index into the record's candidates.
    pub candidate: usize,
    pub position: usize,
    pub event_id: u64,
    /// Probability of this choice given the earlier slots.
    pub propensity: f64,
    pub reward: Option<f64>,
    pub rewarded_at: Option<i64>,
    /// The reward is the default one, applied at expiry.
    pub defaulted: bool,
}

/// One decision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// The first slot's event id (identifies the decision).
    pub decision: u64,
    pub timestamp: i64,
    pub customer: Option<String>,
    /// The context vector the bandit saw.
    pub context: Vec<f32>,
    /// Candidate offer ids and values, after eligibility and the contact policy.
    pub candidates: Vec<String>,
    pub values: Vec<f64>,
    /// The first slot's distribution over `candidates` (sums to 1).
    pub probabilities: Vec<f64>,
    pub chosen: Vec<LoggedChoice>,
    /// Contact-policy rules that fired.
    pub rules: Vec<String>,
}

/// Decisions in the order they were made.
///
/// ```
/// use maitre::offers::{Bandit, BanditParams, Candidate};
/// let bandit = Bandit::new(1, BanditParams::default())?;
/// let r = bandit.rank(&[0.5], &[Candidate::new("a", 1.0), Candidate::new("b", 1.0)], 1, 0)?;
/// bandit.reward(r.chosen[0].event_id, 1.0, 5)?;
/// let mut out = Vec::new();
/// bandit.log().write_jsonl(&mut out)?;
/// let line = String::from_utf8(out).unwrap();
/// assert_eq!(line.lines().count(), 1);
/// assert!(line.contains("\"reward\":1.0"));
/// # Ok::<(), maitre::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DecisionLog {
    records: Vec<Record>,
    /// event id → (record, slot)
    by_event: HashMap<u64, (usize, usize)>,
}

impl DecisionLog {
    pub(crate) fn push(&mut self, record: Record) {
        let at = self.records.len();
        for (slot, c) in record.chosen.iter().enumerate() {
            self.by_event.insert(c.event_id, (at, slot));
        }
        self.records.push(record);
    }

    pub(crate) fn settle(&mut self, event_id: u64, reward: f64, at: i64, defaulted: bool) {
        if let Some(&(r, s)) = self.by_event.get(&event_id) {
            let c = &mut self.records[r].chosen[s];
            c.reward = Some(reward);
            c.rewarded_at = Some(at);
            c.defaulted = defaulted;
        }
    }

    /// Takes out the records `remove` accepts (keeping the others' order).
    pub(crate) fn take_where(&mut self, remove: impl Fn(&Record) -> bool) -> Vec<Record> {
        let (gone, kept): (Vec<Record>, Vec<Record>) = std::mem::take(&mut self.records)
            .into_iter()
            .partition(|r| remove(r));
        self.by_event.clear();
        for r in kept {
            self.push(r);
        }
        gone
    }

    pub fn records(&self) -> &[Record] {
        &self.records
    }

    pub fn len(&self) -> usize {
        self.records.len()
    }

    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// One JSON object per decision per line.
    pub fn write_jsonl<W: Write>(&self, mut out: W) -> Result<()> {
        let io = |e: std::io::Error| Error::io("<decision log writer>", e);
        for r in &self.records {
            serde_json::to_writer(&mut out, r)
                .map_err(|e| Error::io("<decision log writer>", std::io::Error::other(e)))?;
            out.write_all(b"\n").map_err(io)?;
        }
        out.flush().map_err(io)
    }

    /// Writes [`DecisionLog::write_jsonl`]'s lines to the file at `path`
    /// (created or truncated).
    pub fn write_jsonl_file(&self, path: impl AsRef<std::path::Path>) -> Result<()> {
        let path = path.as_ref();
        let file = std::fs::File::create(path).map_err(|e| Error::io(path, e))?;
        self.write_jsonl(std::io::BufWriter::new(file))
            .map_err(|e| match e {
                Error::Io { source, .. } => Error::io(path, source),
                other => other,
            })
    }

    /// Reads records written by [`DecisionLog::write_jsonl`]; a bad line is a
    /// typed error naming it.
    pub fn read_jsonl(text: &str) -> Result<DecisionLog> {
        let mut log = DecisionLog::default();
        for (i, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let r: Record = serde_json::from_str(line).map_err(|e| {
                Error::BadRecord(crate::error::BadRow {
                    location: crate::error::Location::Line(i + 1),
                    field: "record".into(),
                    problem: crate::error::Problem::Malformed(e.to_string()),
                })
            })?;
            log.push(r);
        }
        Ok(log)
    }

    /// The first slot of every settled decision as OPE arrays: (contexts
    /// row-major, actions as candidate indices, propensities, rewards) —
    /// decisions still awaiting a reward are left out.
    pub fn first_slot(&self) -> (Vec<Vec<f32>>, Vec<usize>, Vec<f64>, Vec<f64>) {
        let mut out = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for r in &self.records {
            if let Some(c) = r.chosen.first() {
                if let Some(reward) = c.reward {
                    out.0.push(r.context.clone());
                    out.1.push(c.candidate);
                    out.2.push(c.propensity);
                    out.3.push(reward);
                }
            }
        }
        out
    }
}
