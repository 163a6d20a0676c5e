//! The contact policy: ordered rules over a customer's recent events that
//! suppress kinds of offer or put some kinds first, each decision naming the
//! rules that fired.

use super::offer::CustomerState;
use crate::catalog::ItemKind;
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::collections::HashSet;

const DAY: i64 = 86_400;

/// What a rule does when it fires.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "do", content = "kinds")]
pub enum RuleAction {
    /// Offers of these kinds may not be shown.
    Suppress(Vec<ItemKind>),
    /// Slots are filled from these kinds before any other.
    First(Vec<ItemKind>),
}

/// "If the customer had an event of one of `after` in the last
/// `within_secs` seconds, do `action`." An empty `after` fires always.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContactRule {
    /// Named in every decision it shapes.
    pub name: String,
    pub after: Vec<String>,
    pub within_secs: i64,
    pub action: RuleAction,
}

/// Ordered contact rules. Every rule whose trigger holds fires; a kind is
/// suppressed by the first rule that suppresses it, and `First` rules build
/// priority tiers in rule order (kinds no rule names come last).
///
/// The default: after a `return` or a `complaint`, no sales offers for 14 days
/// (`no-sales-after-return-or-complaint`) and service actions first for 30
/// days (`service-first-after-return-or-complaint`).
///
/// ```
/// use maitre::catalog::ItemKind;
/// use maitre::offers::{ContactPolicy, CustomerState};
/// let policy = ContactPolicy::default();
/// let unhappy = CustomerState::new("c1").event("return", None, 1_000);
/// let applied = policy.apply(&unhappy, 1_000 + 86_400)?;
/// assert_eq!(applied.suppressed_by(ItemKind::Offer), Some("no-sales-after-return-or-complaint"));
/// assert_eq!(applied.tiers[0], vec![ItemKind::Service]);
/// let happy = CustomerState::new("c2").event("purchase", None, 1_000);
/// assert!(policy.apply(&happy, 2_000)?.fired.is_empty());
/// # Ok::<(), maitre::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContactPolicy {
    pub rules: Vec<ContactRule>,
}

impl Default for ContactPolicy {
    fn default() -> Self {
        let after = vec!["return".to_owned(), "complaint".to_owned()];
        ContactPolicy {
            rules: vec![
                ContactRule {
                    name: "no-sales-after-return-or-complaint".into(),
                    after: after.clone(),
                    within_secs: 14 * DAY,
                    action: RuleAction::Suppress(vec![ItemKind::Offer]),
                },
                ContactRule {
                    name: "service-first-after-return-or-complaint".into(),
                    after,
                    within_secs: 30 * DAY,
                    action: RuleAction::First(vec![ItemKind::Service]),
                },
            ],
        }
    }
}

/// The policy's verdict for one customer at one time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Applied {
    /// Kinds that may not be shown, each with the rule that suppressed it.
    pub suppressed: Vec<(ItemKind, String)>,
    /// Kinds in the order slots are filled from them (every kind appears once).
    pub tiers: Vec<Vec<ItemKind>>,
    /// The rules that fired, in rule order.
    pub fired: Vec<String>,
}

impl Applied {
    /// The rule that suppresses `kind`, if any.
    pub fn suppressed_by(&self, kind: ItemKind) -> Option<&str> {
        self.suppressed
            .iter()
            .find(|(k, _)| *k == kind)
            .map(|(_, r)| r.as_str())
    }

    /// The tier `kind` is in (0 first).
    pub fn tier_of(&self, kind: ItemKind) -> usize {
        self.tiers
            .iter()
            .position(|t| t.contains(&kind))
            .unwrap_or(self.tiers.len())
    }
}

impl ContactPolicy {
    /// A policy with no rules: nothing suppressed, no order.
    pub fn none() -> Self {
        ContactPolicy { rules: Vec::new() }
    }

    /// Appends a rule (builder).
    #[must_use]
    pub fn rule(mut self, rule: ContactRule) -> Self {
        self.rules.push(rule);
        self
    }

    /// Names non-empty and unique, windows non-negative, actions naming a kind.
    pub fn validate(&self) -> Result<()> {
        let mut names = HashSet::new();
        for r in &self.rules {
            if r.name.trim().is_empty() {
                return Err(Error::param("contact_policy.name", "may not be empty"));
            }
            if !names.insert(r.name.as_str()) {
                return Err(Error::param(
                    "contact_policy.name",
                    format!(
                        "{:?} appears twice: decisions name rules, so names must be unique",
                        r.name
                    ),
                ));
            }
            if r.within_secs < 0 {
                return Err(Error::param(
                    format!("contact_policy {:?}.within_secs", r.name),
                    "must be non-negative",
                ));
            }
            let (RuleAction::Suppress(k) | RuleAction::First(k)) = &r.action;
            if k.is_empty() {
                return Err(Error::param(
                    format!("contact_policy {:?}.action", r.name),
                    "names no kind",
                ));
            }
        }
        Ok(())
    }

    /// Which rules fire for `customer` at `now`.
    pub fn apply(&self, customer: &CustomerState, now: i64) -> Result<Applied> {
        self.validate()?;
        let mut applied = Applied {
            suppressed: Vec::new(),
            tiers: Vec::new(),
            fired: Vec::new(),
        };
        let mut placed: HashSet<ItemKind> = HashSet::new();
        for r in &self.rules {
            let since = now.saturating_sub(r.within_secs);
            let fires = r.after.is_empty()
                || customer.recent.iter().any(|e| {
                    e.timestamp >= since && e.timestamp <= now && r.after.contains(&e.kind)
                });
            if !fires {
                continue;
            }
            applied.fired.push(r.name.clone());
            match &r.action {
                RuleAction::Suppress(kinds) => {
                    for &k in kinds {
                        if applied.suppressed_by(k).is_none() {
                            applied.suppressed.push((k, r.name.clone()));
                        }
                    }
                }
                RuleAction::First(kinds) => {
                    let tier: Vec<ItemKind> = kinds
                        .iter()
                        .copied()
                        .filter(|k| placed.insert(*k))
                        .collect();
                    if !tier.is_empty() {
                        applied.tiers.push(tier);
                    }
                }
            }
        }
        let rest: Vec<ItemKind> = ItemKind::ALL
            .into_iter()
            .filter(|k| !placed.contains(k))
            .collect();
        if !rest.is_empty() {
            applied.tiers.push(rest);
        }
        Ok(applied)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_fire_in_their_windows_only() {
        let p = ContactPolicy::default();
        let c = CustomerState::new("c").event("complaint", None, 0);
        let at = |t| p.apply(&c, t).unwrap();
        assert!(at(14 * DAY).suppressed_by(ItemKind::Offer).is_some());
        assert!(at(14 * DAY + 1).suppressed_by(ItemKind::Offer).is_none());
        assert_eq!(at(30 * DAY).tier_of(ItemKind::Service), 0);
        assert_eq!(at(30 * DAY).tier_of(ItemKind::Offer), 1);
        assert_eq!(at(30 * DAY + 1).tiers.len(), 1);
        // An event in the future of `now` does not fire anything.
        assert!(at(-1).fired.is_empty());
    }

    #[test]
    fn bad_policies_are_rejected() {
        let dup = ContactPolicy::default().rule(ContactPolicy::default().rules[0].clone());
        assert!(dup.validate().is_err());
        let empty = ContactPolicy::none().rule(ContactRule {
            name: "x".into(),
            after: vec![],
            within_secs: 0,
            action: RuleAction::First(vec![]),
        });
        assert!(empty.apply(&CustomerState::new("c"), 0).is_err());
    }
}
