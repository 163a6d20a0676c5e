//! The merchant's rules: which items may be shown (filters), which are pushed
//! up (boosts, pins), how varied the list is (diversity) and how it changes
//! between visits (rotation). Plain data, so every binding can fill them in.

use crate::catalog::{Item, ItemKind};
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// An item attribute a predicate looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    Category,
    Brand,
    PriceBand,
    Tag,
    Kind,
}

/// `field ∈ values` (or `∉` when `negate`), with values given at request time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Predicate {
    pub field: Field,
    pub values: Vec<String>,
    #[serde(default)]
    pub negate: bool,
}

impl Predicate {
    /// `field` is one of `values`.
    ///
    /// ```
    /// use maitre::catalog::Item;
    /// use maitre::recommend::{Field, Predicate};
    /// let vegan = Predicate::any_of(Field::Tag, ["vegan"]);
    /// assert!(vegan.matches(&Item::new("a").tag("vegan").tag("new")));
    /// assert!(!vegan.matches(&Item::new("b")));
    /// assert!(Predicate::none_of(Field::Brand, ["acme"]).matches(&Item::new("c")));
    /// ```
    pub fn any_of<S: Into<String>>(field: Field, values: impl IntoIterator<Item = S>) -> Self {
        Predicate {
            field,
            values: values.into_iter().map(Into::into).collect(),
            negate: false,
        }
    }

    /// `field` is none of `values` (an item without the field passes).
    pub fn none_of<S: Into<String>>(field: Field, values: impl IntoIterator<Item = S>) -> Self {
        Predicate {
            negate: true,
            ..Predicate::any_of(field, values)
        }
    }

    /// Whether `item` passes.
    pub fn matches(&self, item: &Item) -> bool {
        let present: Vec<&str> = match self.field {
            Field::Category => item.category.as_deref().into_iter().collect(),
            Field::Brand => item.brand.as_deref().into_iter().collect(),
            Field::PriceBand => item.price_band.as_deref().into_iter().collect(),
            Field::Kind => vec![item.kind.name()],
            Field::Tag => item.tags.iter().map(String::as_str).collect(),
        };
        listed(&self.values, self.negate, present)
    }
}

/// The one membership test behind every predicate: some `present` value is
/// one of `values` (none is, when `negate`; having no value at all then
/// passes). Offers' customer-attribute rules call it too, so an item rule and
/// a customer rule can never disagree on what "any of" means.
pub(crate) fn listed<'a>(
    values: &[String],
    negate: bool,
    present: impl IntoIterator<Item = &'a str>,
) -> bool {
    let found = present.into_iter().any(|v| values.iter().any(|x| x == v));
    found != negate
}

/// The event kinds that mean the customer is done with the item: they had it
/// (bought it, or rated, reviewed, returned or complained about it, which they
/// only do with what they had) or turned it down (dislike). What
/// [`Filters::exclude_consumed`] leaves out.
pub const CONSUMED_KINDS: [&str; 6] = [
    "purchase",
    "rating",
    "review",
    "return",
    "complaint",
    "dislike",
];

/// Which items may appear. Defaults: products only, in stock, nothing the
/// customer or session has already had or turned down (bought, rated,
/// reviewed, returned, complained about, disliked); items merely viewed, clicked or carted stay eligible,
/// because they are what a shopper most often buys next.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Filters {
    /// Item kinds to recommend (default: products).
    pub kinds: Vec<ItemKind>,
    pub in_stock_only: bool,
    /// Leave out every item the customer or session interacted with, views
    /// included (default off).
    pub exclude_seen: bool,
    /// Leave out items the customer or session has had or turned down: any
    /// event of the kinds in [`CONSUMED_KINDS`] (default on). On the synthetic storefront's
    /// next purchase this rule instead of `exclude_seen` nearly doubles
    /// NDCG@10 (BENCHMARKS.md); where every event is a rating (MovieLens) the
    /// two are the same rule.
    pub exclude_consumed: bool,
    /// Leave out items purchased in the last this-many seconds (needs
    /// `Request::now`): with `exclude_consumed` off, a repeat-purchase item
    /// comes back once its cycle has passed.
    pub exclude_purchased_within: Option<i64>,
    /// Only these categories (empty: any).
    pub categories: Vec<String>,
    pub min_price: Option<f32>,
    pub max_price: Option<f32>,
    /// Item ids never to show.
    pub exclude_items: Vec<String>,
    /// Only these item ids may appear (empty: any): a candidate set from
    /// elsewhere, ranked by this request. Ids not in the catalogue are
    /// ignored, as in `exclude_items`.
    pub only_items: Vec<String>,
    /// All must hold.
    pub predicates: Vec<Predicate>,
}

impl Default for Filters {
    fn default() -> Self {
        Filters {
            kinds: vec![ItemKind::Product],
            in_stock_only: true,
            exclude_seen: false,
            exclude_consumed: true,
            exclude_purchased_within: None,
            categories: Vec::new(),
            min_price: None,
            max_price: None,
            exclude_items: Vec::new(),
            only_items: Vec::new(),
            predicates: Vec::new(),
        }
    }
}

impl Filters {
    /// Checks values that would make every item fail or that are meaningless.
    pub fn validate(&self) -> Result<()> {
        for (name, p) in [("min_price", self.min_price), ("max_price", self.max_price)] {
            if p.is_some_and(|p| !p.is_finite()) {
                return Err(Error::param(name, "must be a finite number"));
            }
        }
        if let (Some(lo), Some(hi)) = (self.min_price, self.max_price) {
            if lo > hi {
                return Err(Error::param(
                    "min_price",
                    format!("{lo} is above max_price {hi}"),
                ));
            }
        }
        if self.exclude_purchased_within.is_some_and(|w| w < 0) {
            return Err(Error::param(
                "exclude_purchased_within",
                "must be a non-negative number of seconds",
            ));
        }
        Ok(())
    }

    /// Whether the item's own attributes pass (seen/purchased/excluded-id
    /// checks need the request and are done by the recommender).
    pub fn admits(&self, item: &Item) -> bool {
        (self.kinds.is_empty() || self.kinds.contains(&item.kind))
            && (!self.in_stock_only || item.in_stock)
            && (self.categories.is_empty()
                || item
                    .category
                    .as_ref()
                    .is_some_and(|c| self.categories.contains(c)))
            && self
                .min_price
                .is_none_or(|lo| item.price.is_some_and(|p| p >= lo))
            && self
                .max_price
                .is_none_or(|hi| item.price.is_some_and(|p| p <= hi))
            && self.predicates.iter().all(|p| p.matches(item))
    }
}

/// Added to the score of items matching `when` (margin, new arrivals, a
/// campaign). Scores are inner products, typically between 0 and 1.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Boost {
    pub when: Predicate,
    pub amount: f32,
}

/// How varied the list must be.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Diversity {
    /// MMR trade-off: 1 ranks by relevance only; lower values trade relevance
    /// for items unlike those already picked (cosine of item vectors).
    pub relevance: f32,
    /// At most this many items of one category in the whole list, fallbacks
    /// included (`None`: no cap). The cap is a rule, not a preference: when
    /// it leaves fewer than `k` eligible items, the list is shorter.
    pub max_per_category: Option<usize>,
}

impl Default for Diversity {
    fn default() -> Self {
        Diversity {
            relevance: 1.0,
            max_per_category: None,
        }
    }
}

impl Diversity {
    pub fn validate(&self) -> Result<()> {
        if !(0.0..=1.0).contains(&self.relevance) {
            return Err(Error::param(
                "relevance",
                format!("{} must be between 0 and 1", self.relevance),
            ));
        }
        if self.max_per_category == Some(0) {
            return Err(Error::param("max_per_category", "must be at least 1"));
        }
        Ok(())
    }
}

/// What was shown and not taken, kept by the caller between visits so lists
/// rotate: each ignored showing lowers an item's score by `penalty`.
///
/// ```
/// use maitre::recommend::Rotation;
/// let mut memory = Rotation::new(0.05);
/// memory.shown(["a", "b"]);
/// memory.taken("b");
/// assert_eq!(memory.ignored("a"), 1);
/// assert_eq!(memory.ignored("b"), 0);
/// ```
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rotation {
    /// Score subtracted per ignored showing.
    pub penalty: f32,
    #[serde(default)]
    ignored: HashMap<String, u32>,
}

impl Rotation {
    /// Empty memory with the given per-showing penalty.
    pub fn new(penalty: f32) -> Self {
        Rotation {
            penalty,
            ignored: HashMap::new(),
        }
    }

    /// Records that these items were shown.
    pub fn shown<S: AsRef<str>>(&mut self, items: impl IntoIterator<Item = S>) {
        for item in items {
            *self.ignored.entry(item.as_ref().to_owned()).or_default() += 1;
        }
    }

    /// Records that an item was taken (clicked, bought): it is no longer ignored.
    pub fn taken(&mut self, item: &str) {
        self.ignored.remove(item);
    }

    /// How many showings of `item` were ignored.
    pub fn ignored(&self, item: &str) -> u32 {
        self.ignored.get(item).copied().unwrap_or(0)
    }

    /// Forgets everything.
    pub fn clear(&mut self) {
        self.ignored.clear();
    }

    pub fn validate(&self) -> Result<()> {
        if !(self.penalty.is_finite() && self.penalty >= 0.0) {
            return Err(Error::param(
                "penalty",
                format!("{} must be finite and non-negative", self.penalty),
            ));
        }
        Ok(())
    }
}
