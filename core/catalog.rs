//! The catalogue: what each item is (product, content, offer, service) and the
//! attributes that rules and cold start need (category, brand, price, tags,
//! stock).
//!
//! A [`Catalog`] is aligned with an [`EventLog`]'s item indices, so item `i` of
//! a model, of an index and of the catalogue are the same thing. Building one
//! registers catalogue items that have no events yet in the log (that is what
//! makes a brand-new item recommendable).
//!
//! Depends on: `events` (for the item interner), `error`. May not depend on
//! models, indexes or evaluation.

use crate::error::{BadRow, Error, Location, Problem, Result};
use crate::events::EventLog;
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::str::FromStr;

/// What an item is. Recommendations can be restricted to some kinds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemKind {
    #[default]
    Product,
    /// Guides and articles.
    Content,
    /// Commercial offers (discounts, bundles).
    Offer,
    /// Service actions (return help, a call back).
    Service,
}

impl ItemKind {
    /// Every kind, in the order of their stable codes.
    pub const ALL: [ItemKind; 4] = [
        ItemKind::Product,
        ItemKind::Content,
        ItemKind::Offer,
        ItemKind::Service,
    ];

    /// The lower-case name (`product`, `content`, `offer`, `service`).
    pub fn name(self) -> &'static str {
        match self {
            ItemKind::Product => "product",
            ItemKind::Content => "content",
            ItemKind::Offer => "offer",
            ItemKind::Service => "service",
        }
    }
}

impl FromStr for ItemKind {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        ItemKind::ALL
            .into_iter()
            .find(|k| k.name().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| Error::Unknown {
                what: "item kind (expected product, content, offer or service)",
                id: s.into(),
            })
    }
}

/// One catalogue entry with its attributes. Everything but the id is optional
/// in spirit: an item nobody described is an in-stock product with no
/// attributes.
///
/// In JSON only `id` is required; the rest default as in [`Item::new`]
/// (an offer written by hand names its id, kind and little else).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Item {
    pub id: String,
    #[serde(default)]
    pub kind: ItemKind,
    #[serde(default)]
    pub category: Option<String>,
    #[serde(default)]
    pub brand: Option<String>,
    /// A coarse price level (`low`, `mid`, `high`, or the shop's own labels).
    #[serde(default)]
    pub price_band: Option<String>,
    #[serde(default)]
    pub price: Option<f32>,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default = "in_stock")]
    pub in_stock: bool,
}

fn in_stock() -> bool {
    true
}

impl Item {
    /// An in-stock product with no attributes.
    ///
    /// ```
    /// use maitre::catalog::{Item, ItemKind};
    /// let item = Item::new("sku-1").kind(ItemKind::Content).category("guides").tag("how-to");
    /// assert_eq!(item.category.as_deref(), Some("guides"));
    /// assert!(item.in_stock);
    /// ```
    pub fn new(id: impl Into<String>) -> Self {
        Item {
            id: id.into(),
            kind: ItemKind::Product,
            category: None,
            brand: None,
            price_band: None,
            price: None,
            tags: Vec::new(),
            in_stock: true,
        }
    }

    #[must_use]
    pub fn kind(mut self, kind: ItemKind) -> Self {
        self.kind = kind;
        self
    }

    #[must_use]
    pub fn category(mut self, category: impl Into<String>) -> Self {
        self.category = Some(category.into());
        self
    }

    #[must_use]
    pub fn brand(mut self, brand: impl Into<String>) -> Self {
        self.brand = Some(brand.into());
        self
    }

    #[must_use]
    pub fn price_band(mut self, band: impl Into<String>) -> Self {
        self.price_band = Some(band.into());
        self
    }

    #[must_use]
    pub fn price(mut self, price: f32) -> Self {
        self.price = Some(price);
        self
    }

    #[must_use]
    pub fn tag(mut self, tag: impl Into<String>) -> Self {
        self.tags.push(tag.into());
        self
    }

    #[must_use]
    pub fn in_stock(mut self, in_stock: bool) -> Self {
        self.in_stock = in_stock;
        self
    }

    /// The attribute features cold start learns from, as `field=value` strings
    /// (`kind=product`, `category=shoes`, `tag=vegan`, …). Absent attributes
    /// give no feature.
    pub fn features(&self) -> impl Iterator<Item = String> + '_ {
        let fields = [
            ("category", &self.category),
            ("brand", &self.brand),
            ("price_band", &self.price_band),
        ];
        std::iter::once(format!("kind={}", self.kind.name()))
            .chain(
                fields
                    .into_iter()
                    .filter_map(|(f, v)| v.as_ref().map(|v| format!("{f}={v}"))),
            )
            .chain(self.tags.iter().map(|t| format!("tag={t}")))
    }

    fn check(&self, row: usize) -> Result<()> {
        let bad =
            |field: &str, problem| Err(BadRow::new(Location::Index(row), field, problem).into());
        if self.id.trim().is_empty() {
            return bad("id", Problem::Empty);
        }
        if let Some(p) = self.price {
            if !p.is_finite() {
                return bad("price", Problem::NotFinite(p.to_string()));
            }
            if p < 0.0 {
                return bad("price", Problem::Malformed(format!("{p} is negative")));
            }
        }
        Ok(())
    }
}

/// Item attributes aligned with an event log's item indices.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Catalog {
    items: Vec<Item>,
}

impl Catalog {
    /// Aligns `items` with `log`: item `i` of the catalogue is item index `i`
    /// of the log. Items the log has not seen are added to it (so they are
    /// recommendable before their first event); log items missing from `items`
    /// get [`Item::new`]'s defaults. All items are checked before the log is
    /// touched, so a bad item (empty id, duplicate id, negative or non-finite
    /// price) changes nothing.
    ///
    /// ```
    /// use maitre::catalog::{Catalog, Item};
    /// use maitre::events::{Event, EventLog};
    /// let mut log = EventLog::new();
    /// log.push(&Event::new("ann", "sku-1", "view", 0))?;
    /// let catalog = Catalog::aligned(&mut log, vec![Item::new("sku-2").category("shoes")])?;
    /// assert_eq!(catalog.len(), 2);
    /// assert_eq!(catalog.item(1).unwrap().category.as_deref(), Some("shoes"));
    /// assert!(Catalog::aligned(&mut log, vec![Item::new("x").price(f32::NAN)]).is_err());
    /// assert_eq!(log.items().len(), 2); // the bad batch added nothing
    /// # Ok::<(), maitre::Error>(())
    /// ```
    pub fn aligned(log: &mut EventLog, items: impl IntoIterator<Item = Item>) -> Result<Self> {
        let items: Vec<Item> = items.into_iter().collect();
        let mut seen = HashSet::with_capacity(items.len());
        for (row, item) in items.iter().enumerate() {
            item.check(row)?;
            if !seen.insert(item.id.trim()) {
                return Err(BadRow::new(
                    Location::Index(row),
                    "id",
                    Problem::Malformed(format!("duplicate item id {:?}", item.id)),
                )
                .into());
            }
        }
        let mut placed: Vec<Option<Item>> = Vec::new();
        for mut item in items {
            item.id = item.id.trim().to_owned();
            let index = log.add_item(&item.id)? as usize;
            if placed.len() <= index {
                placed.resize(index + 1, None);
            }
            placed[index] = Some(item);
        }
        let names = log.items().names();
        placed.resize(names.len(), None);
        let items = placed
            .into_iter()
            .zip(names)
            .map(|(item, name)| item.unwrap_or_else(|| Item::new(name.clone())))
            .collect();
        Ok(Catalog { items })
    }

    /// A catalogue whose `items[i]` is already item index `i` of its log.
    pub(crate) fn from_aligned(items: Vec<Item>) -> Self {
        Catalog { items }
    }

    /// Appends a new item (index = the previous length). The caller keeps
    /// the log and model in step and rules out duplicate ids;
    /// `Recommender::add_item` does both.
    pub(crate) fn push(&mut self, mut item: Item) -> Result<u32> {
        item.check(self.items.len())?;
        item.id = item.id.trim().to_owned();
        self.items.push(item);
        Ok((self.items.len() - 1) as u32)
    }

    /// Number of items.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// True when there are no items.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Item `index`, if it exists.
    pub fn item(&self, index: u32) -> Option<&Item> {
        self.items.get(index as usize)
    }

    /// All items, in index order.
    pub fn items(&self) -> &[Item] {
        &self.items
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::Event;

    #[test]
    fn kinds_parse_by_name() {
        assert_eq!("Offer".parse::<ItemKind>().unwrap(), ItemKind::Offer);
        assert!("gadget".parse::<ItemKind>().is_err());
    }

    #[test]
    fn duplicates_and_empty_ids_are_rejected_before_the_log_changes() {
        let mut log = EventLog::new();
        log.push(&Event::new("c", "a", "view", 0)).unwrap();
        let dup = Catalog::aligned(&mut log, vec![Item::new("n1"), Item::new(" n1 ")]);
        assert!(matches!(dup, Err(Error::BadRecord(ref r)) if r.location == Location::Index(1)));
        let empty = Catalog::aligned(&mut log, vec![Item::new("n2"), Item::new(" ")]);
        assert!(matches!(empty, Err(Error::BadRecord(ref r)) if r.field == "id"));
        assert_eq!(log.items().len(), 1);
    }

    #[test]
    fn features_name_each_present_attribute() {
        let item = Item::new("s").brand("acme").tag("eco").tag("new");
        let f: Vec<String> = item.features().collect();
        assert_eq!(f, ["kind=product", "brand=acme", "tag=eco", "tag=new"]);
    }
}
