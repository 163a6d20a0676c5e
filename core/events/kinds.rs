use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};

/// How much one event of a kind says about a customer's affinity for an item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KindSpec {
    /// The kind's name as it appears in the data (`view`, `purchase`, …).
    pub name: String,
    /// Confidence weight of one event. Negative for kinds that lower affinity
    /// (return, dislike, complaint).
    pub weight: f32,
    /// Multiply the weight by the event's value (a rating, a quantity).
    pub scale_by_value: bool,
}

/// The registry of event kinds a log accepts, with their confidence weights.
///
/// The defaults, chosen so that stronger commitments count more and negative
/// experiences count against an item:
///
/// | kind | weight | scaled by value |
/// | --- | --- | --- |
/// | `view` | 1 | no |
/// | `click` | 1 | no |
/// | `cart` | 3 | no |
/// | `purchase` | 5 | no |
/// | `rating` | 1 | yes |
/// | `review` | 2 | no |
/// | `share` | 2 | no |
/// | `return` | −4 | no |
/// | `dislike` | −3 | no |
/// | `complaint` | −4 | no |
///
/// ```
/// use maitre::events::EventKinds;
/// let kinds = EventKinds::default().with("wishlist", 2.0)?.with("view", 0.5)?;
/// assert_eq!(kinds.weight_of("wishlist"), Some(2.0));
/// assert_eq!(kinds.weight_of("view"), Some(0.5));
/// assert!(kinds.with("bad", f32::NAN).is_err());
/// # Ok::<(), maitre::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventKinds {
    specs: Vec<KindSpec>,
}

impl Default for EventKinds {
    fn default() -> Self {
        let spec = |name: &str, weight: f32, scale_by_value: bool| KindSpec {
            name: name.to_owned(),
            weight,
            scale_by_value,
        };
        EventKinds {
            specs: vec![
                spec("view", 1.0, false),
                spec("click", 1.0, false),
                spec("cart", 3.0, false),
                spec("purchase", 5.0, false),
                spec("rating", 1.0, true),
                spec("review", 2.0, false),
                spec("share", 2.0, false),
                spec("return", -4.0, false),
                spec("dislike", -3.0, false),
                spec("complaint", -4.0, false),
            ],
        }
    }
}

impl EventKinds {
    /// The most kinds one registry holds (kind ids are stored as `u8`).
    pub const MAX: usize = 256;

    /// A registry with no kinds at all.
    pub fn empty() -> Self {
        EventKinds { specs: Vec::new() }
    }

    /// A registry of exactly these kinds and weights (how bindings pass a
    /// `{kind: weight}` mapping); the kinds named in `scaled` have their
    /// weight multiplied by each event's value. An empty list, a repeated
    /// name, a non-finite weight, or a `scaled` name that is not among the
    /// kinds is an [`Error::InvalidParam`].
    ///
    /// ```
    /// use maitre::events::EventKinds;
    /// let kinds = EventKinds::from_weights(
    ///     &[("view", 0.5), ("purchase", 4.0), ("stars", 1.0), ("return", -2.0)],
    ///     &["stars"],
    /// )?;
    /// assert_eq!(kinds.weight_of("purchase"), Some(4.0));
    /// assert!(kinds.specs()[2].scale_by_value);
    /// assert!(EventKinds::from_weights(&[("view", 1.0)], &["rating"]).is_err());
    /// # Ok::<(), maitre::Error>(())
    /// ```
    pub fn from_weights<S: AsRef<str>, T: AsRef<str>>(
        weights: &[(S, f32)],
        scaled: &[T],
    ) -> Result<Self> {
        if weights.is_empty() {
            return Err(Error::param("kinds", "give at least one event kind"));
        }
        let mut kinds = EventKinds::empty();
        for (name, weight) in weights {
            let name = name.as_ref();
            if kinds.id(name.trim()).is_some() {
                return Err(Error::param("kinds", format!("{name:?} is given twice")));
            }
            kinds.set(name, *weight, None)?;
        }
        for name in scaled {
            let name = name.as_ref().trim();
            let Some(id) = kinds.id(name) else {
                return Err(Error::param(
                    "scaled",
                    format!("{name:?} is not one of the kinds given"),
                ));
            };
            kinds.specs[id as usize].scale_by_value = true;
        }
        Ok(kinds)
    }

    /// Adds a kind, or changes the weight of an existing one.
    pub fn with(mut self, name: &str, weight: f32) -> Result<Self> {
        self.set(name, weight, None)?;
        Ok(self)
    }

    /// Adds a kind whose weight is multiplied by each event's value (a rating, a quantity).
    pub fn with_scaled(mut self, name: &str, weight: f32) -> Result<Self> {
        self.set(name, weight, Some(true))?;
        Ok(self)
    }

    fn set(&mut self, name: &str, weight: f32, scale_by_value: Option<bool>) -> Result<()> {
        let name = name.trim();
        if name.is_empty() {
            return Err(Error::param("kind", "a kind name may not be empty"));
        }
        if !weight.is_finite() {
            return Err(Error::param(
                format!("weight of {name:?}"),
                format!("{weight} is not finite"),
            ));
        }
        let full = self.specs.len() >= Self::MAX;
        match self.specs.iter_mut().find(|s| s.name == name) {
            Some(spec) => {
                spec.weight = weight;
                if let Some(scale) = scale_by_value {
                    spec.scale_by_value = scale;
                }
            }
            None if full => {
                return Err(Error::param(
                    "kind",
                    format!("at most {} kinds fit in one registry", Self::MAX),
                ))
            }
            None => self.specs.push(KindSpec {
                name: name.to_owned(),
                weight,
                scale_by_value: scale_by_value.unwrap_or(false),
            }),
        }
        Ok(())
    }

    /// The id of a kind, if registered.
    pub fn id(&self, name: &str) -> Option<u8> {
        self.specs
            .iter()
            .position(|s| s.name == name)
            .map(|i| i as u8)
    }

    /// The spec of kind `id`.
    pub fn spec(&self, id: u8) -> Option<&KindSpec> {
        self.specs.get(id as usize)
    }

    /// The weight of the kind called `name`.
    pub fn weight_of(&self, name: &str) -> Option<f32> {
        self.id(name).map(|i| self.specs[i as usize].weight)
    }

    /// Every registered kind, in id order.
    pub fn specs(&self) -> &[KindSpec] {
        &self.specs
    }

    /// Whether kind `id`'s weight is multiplied by each event's value.
    pub(crate) fn scales_by_value(&self, id: u8) -> bool {
        self.specs
            .get(id as usize)
            .is_some_and(|s| s.scale_by_value)
    }

    /// The confidence an event of kind `id` with `value` contributes (before decay).
    pub(crate) fn contribution(&self, id: u8, value: f32) -> f32 {
        let spec = &self.specs[id as usize];
        if spec.scale_by_value && !value.is_nan() {
            spec.weight * value
        } else {
            spec.weight
        }
    }
}
