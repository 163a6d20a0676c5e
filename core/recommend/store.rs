//! A [`Recommender`] in an artifact, and back.
//!
//! Sections (all through `artifact::{Encoder, Decoder}`):
//!
//! | tag | content | flavour |
//! | --- | --- | --- |
//! | `META` | factors, serving settings, ALS parameters | both |
//! | `KIND` | event kinds and weights | both |
//! | `ITEM` | item ids and attributes (dictionary-coded) | both |
//! | `IVEC` | item vectors, `f32` | full |
//! | `IVQ8` | item vectors, int8 with a scale per vector | storefront |
//! | `GRAM` | the fold-in Gram matrix `α₀·YᵀY` (`k × k`, `f32`) | both |
//! | `CTXP` / `CTXV` | context pair names / vectors | both |
//! | `POPU` / `POPC` | popular items overall / per context | both |
//! | `ATTR` | cold-start attribute map (optional) | both |
//! | `NEWA` | items placed without events, ascending `u32`s (optional: the exploration slot's candidates) | both |
//! | `CALI` | norm calibration of attribute vectors: predicted norms, learnt norms, strength, each `f32`s (optional) | both |
//! | `HALF` | the history half-life, seconds, `f32` (optional: when set) | both |
//! | `CUST` / `UVEC` | customer ids, aliases, histories / vectors | full |
//! | `LAST` | each history entry's last event time, `i64` as two `u32`s (optional: artifacts before it serve those customers from their vectors) | full |
//! | `HNSW` | the HNSW graph and its parameters (when the index is HNSW) | full |
//!
//! The storefront flavour holds no customer id, alias or vector: it is meant
//! to be shipped to browsers. The index is rebuilt on load (exact below the
//! automatic threshold, so scores are bit-identical for the full flavour),
//! except that a stored HNSW graph is taken as it is, with the parameters it
//! was built with, unless exact search is asked for explicitly: building a
//! graph costs minutes at a million items, reading it a fraction of a second,
//! and the loaded recommender answers exactly as the saved one did.

use super::{Customers, Recommender, ServeSettings};
use crate::artifact::{
    tag_name, Artifact, ArtifactProblem, ArtifactWriter, Decoder, Encoder, Flavour, QuantizedRows,
};
use crate::catalog::{Catalog, Item, ItemKind};
use crate::embed::{
    AlsModel, AlsParams, AttributeVectors, ContextVectors, Factors, NormCalibration,
};
use crate::error::Result;
use crate::events::EventKinds;
use crate::index::{Index, IndexParams};
use crate::Interner;
use std::collections::HashMap;
use std::path::Path;

impl Recommender {
    /// The artifact bytes of this recommender. [`Flavour::Storefront`] leaves
    /// out every customer id, alias, history and vector, and stores item
    /// vectors as int8.
    pub fn to_bytes(&self, flavour: Flavour) -> Result<Vec<u8>> {
        self.writer(flavour)?.to_bytes()
    }

    /// Saves atomically (a temporary file, then a rename).
    pub fn save(&self, path: impl AsRef<Path>, flavour: Flavour) -> Result<()> {
        self.writer(flavour)?.save(path)
    }

    /// Reads an artifact written by [`Recommender::to_bytes`], with the
    /// default index choice.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        Self::from_artifact(&Artifact::from_bytes(bytes)?, &IndexParams::default())
    }

    /// Loads a saved artifact, with the default index choice.
    pub fn load(path: impl AsRef<Path>) -> Result<Self> {
        Self::from_artifact(&Artifact::load(path)?, &IndexParams::default())
    }

    /// Whether known customers are kept (not for one loaded from a storefront
    /// artifact; its full artifact then has no customer sections).
    pub fn has_customers(&self) -> bool {
        self.customers.is_some()
    }

    fn writer(&self, flavour: Flavour) -> Result<ArtifactWriter> {
        // A full artifact of a recommender without customers (one loaded from
        // a storefront artifact) has no customer sections: it keeps everything
        // the recommender holds, exactly, so it copies it (pickling) losslessly.
        let full = flavour == Flavour::Full;
        let k = self.model.items.k();
        let mut w = ArtifactWriter::new(flavour);

        let mut meta = Encoder::new();
        let p = self.model.params();
        meta.put_u64(k as u64)
            .put_f32(self.settings.context_weight)
            .put_f32(self.settings.session_weight)
            .put_u64(self.settings.popular_per_context as u64);
        p.encode(&mut meta);
        w = w.section(*b"META", meta.into_bytes());
        // Optional, so artifacts without it keep their bytes.
        if let Some(h) = self.settings.history_half_life {
            let mut v = Encoder::new();
            v.put_f32(h);
            w = w.section(*b"HALF", v.into_bytes());
        }

        let mut kinds = Encoder::new();
        let specs = self.kinds.specs();
        let names: Vec<&str> = specs.iter().map(|s| s.name.as_str()).collect();
        let weights: Vec<f32> = specs.iter().map(|s| s.weight).collect();
        let scaled: Vec<u32> = specs.iter().map(|s| u32::from(s.scale_by_value)).collect();
        kinds.put_strs(&names).put_f32s(&weights).put_u32s(&scaled);
        w = w.section(*b"KIND", kinds.into_bytes());

        w = w.section(*b"ITEM", encode_items(self.catalog.items()));
        let items = &self.model.items;
        let data = items.view();
        let data = data.as_slice().unwrap_or(&[]);
        if full {
            let mut v = Encoder::new();
            v.put_u64(items.rows() as u64).put_f32s(data);
            w = w.section(*b"IVEC", v.into_bytes());
        } else {
            let mut v = Encoder::new();
            QuantizedRows::quantize(items.rows(), k, data)?.encode(&mut v);
            w = w.section(*b"IVQ8", v.into_bytes());
        }

        let mut gram = Encoder::new();
        gram.put_f32s(self.model.item_gram());
        w = w.section(*b"GRAM", gram.into_bytes());

        let mut pairs = Encoder::new();
        pairs.put_strs(self.context_pairs.names());
        w = w.section(*b"CTXP", pairs.into_bytes());
        if let Some(ctx) = &self.context {
            let mut v = Encoder::new();
            let present: Vec<u32> = (0..ctx.len() as u32)
                .map(|p| u32::from(ctx.get(p).is_some()))
                .collect();
            let flat: Vec<f32> = (0..ctx.len() as u32)
                .filter_map(|p| ctx.get(p))
                .flatten()
                .copied()
                .collect();
            v.put_u32s(&present).put_f32s(&flat);
            w = w.section(*b"CTXV", v.into_bytes());
        }

        let mut pop = Encoder::new();
        pop.put_u32s(&self.popular);
        w = w.section(*b"POPU", pop.into_bytes());
        w = w.section(*b"POPC", encode_lists(&self.popular_in));

        if let Some(map) = &self.attributes {
            let mut v = Encoder::new();
            let weights = map.weights().view();
            v.put_strs(map.features())
                .put_f32s(weights.as_slice().unwrap_or(&[]));
            w = w.section(*b"ATTR", v.into_bytes());
        }
        // Optional sections, so artifacts without new arrivals or a
        // calibration keep their bytes (and older readers their files).
        if !self.new_arrivals.is_empty() {
            let mut v = Encoder::new();
            v.put_u32s(&self.new_arrivals);
            w = w.section(*b"NEWA", v.into_bytes());
        }
        if let Some(c) = &self.calibration {
            let mut v = Encoder::new();
            let (predicted, learnt): (Vec<f32>, Vec<f32>) = c.knots().iter().copied().unzip();
            v.put_f32s(&predicted)
                .put_f32s(&learnt)
                .put_f32s(&[c.strength()]);
            w = w.section(*b"CALI", v.into_bytes());
        }

        #[cfg(feature = "hnsw")]
        if let (true, Some(hnsw)) = (full, self.index.as_hnsw()) {
            let mut v = Encoder::new();
            if hnsw.encode(&mut v) {
                w = w.section(*b"HNSW", v.into_bytes());
            }
        }

        if let (true, Some(c)) = (full, &self.customers) {
            let mut cust = Encoder::new();
            cust.put_strs(c.ids.names());
            let mut aliases: Vec<(&String, &u32)> = c.aliases.iter().collect();
            aliases.sort();
            let alias_names: Vec<&str> = aliases.iter().map(|a| a.0.as_str()).collect();
            let alias_rows: Vec<u32> = aliases.iter().map(|a| *a.1).collect();
            cust.put_strs(&alias_names).put_u32s(&alias_rows);
            let mut offsets = vec![0u32];
            let (mut hist_items, mut hist_weights, mut hist_had, mut hist_last) =
                (Vec::new(), Vec::new(), Vec::new(), Vec::new());
            for h in &c.history {
                for e in h {
                    hist_items.push(e.item);
                    hist_weights.push(e.weight);
                    put_i64(&mut hist_had, e.had);
                    put_i64(&mut hist_last, e.last);
                }
                offsets.push(hist_items.len() as u32);
            }
            cust.put_u32s(&offsets)
                .put_u32s(&hist_items)
                .put_f32s(&hist_weights)
                .put_u32s(&hist_had);
            w = w.section(*b"CUST", cust.into_bytes());
            let mut last = Encoder::new();
            last.put_u32s(&hist_last);
            w = w.section(*b"LAST", last.into_bytes());
            let users = self.model.users.view();
            let mut v = Encoder::new();
            v.put_u64(self.model.users.rows() as u64)
                .put_f32s(users.as_slice().unwrap_or(&[]));
            w = w.section(*b"UVEC", v.into_bytes());
        }
        Ok(w)
    }

    /// Rebuilds a recommender from an artifact of either flavour.
    ///
    /// Every failure is an [`crate::Error::Artifact`], naming the section
    /// whose content is at fault: behind a valid checksum, a corrupt payload
    /// (a writer's bug, or bytes altered and resealed) must not surface as a
    /// parameter or length error of some inner type. The flavour byte is
    /// checked against the sections present: a full artifact has customer
    /// and float item vectors, a storefront one neither customers nor float
    /// vectors (a "storefront" file holding customer data breaks its promise).
    pub fn from_artifact(artifact: &Artifact, index: &IndexParams) -> Result<Self> {
        // The caller's own parameters: their error is theirs, not the file's.
        index.validate()?;
        check_flavour(artifact)?;
        Self::decode(artifact, index).map_err(|e| match e {
            e @ crate::Error::Artifact { .. } => e,
            // Every section's own errors are mapped below; this is the net
            // for a check that spans sections.
            other => crate::Error::artifact(ArtifactProblem::Malformed {
                reason: other.to_string(),
            }),
        })
    }

    fn decode(artifact: &Artifact, index: &IndexParams) -> Result<Self> {
        let mut meta = artifact.decoder(*b"META")?;
        let k = meta.get_usize()?;
        let mut settings = ServeSettings {
            context_weight: meta.get_f32()?,
            session_weight: meta.get_f32()?,
            popular_per_context: meta.get_usize()?,
            history_half_life: None,
        };
        let params = AlsParams::decode(&mut meta)?;
        meta.finish()?;
        if artifact.has_section(*b"HALF") {
            let mut d = artifact.decoder(*b"HALF")?;
            settings.history_half_life = Some(d.get_f32()?);
            d.finish()?;
            within(b"HALF", settings.validate())?;
        }
        within(b"META", settings.validate())?;
        within(b"META", params.validate())?;
        // `k` sizes every table below (`k * k` for the Gram matrix): bounded
        // here by the parameters' own range before anything uses it.
        if k != params.factors {
            return Err(bad(
                b"META",
                &format!(
                    "dimension {k} differs from the model's {} factors",
                    params.factors
                ),
            ));
        }

        let mut kinds_dec = artifact.decoder(*b"KIND")?;
        let (names, weights, scaled) = (
            kinds_dec.get_strs()?,
            kinds_dec.get_f32s()?,
            kinds_dec.get_u32s()?,
        );
        kinds_dec.finish()?;
        if names.len() != weights.len() || names.len() != scaled.len() {
            return Err(bad(b"KIND", "names, weights and flags differ in length"));
        }
        let mut kinds = EventKinds::empty();
        for ((name, weight), scale) in names.iter().zip(weights).zip(scaled) {
            kinds = within(
                b"KIND",
                match scale {
                    0 => kinds.with(name, weight),
                    _ => kinds.with_scaled(name, weight),
                },
            )?;
        }

        let items = decode_items(artifact.decoder(*b"ITEM")?)?;
        let n_items = items.len();
        let item_vectors = if artifact.has_section(*b"IVEC") {
            let mut d = artifact.decoder(*b"IVEC")?;
            let rows = d.get_usize()?;
            let data = d.get_f32s()?;
            d.finish()?;
            within(b"IVEC", Factors::from_vec(rows, k, data))?
        } else {
            let mut d = artifact.decoder(*b"IVQ8")?;
            let q = QuantizedRows::decode(&mut d)?;
            d.finish()?;
            if q.k() != k {
                return Err(bad(b"IVQ8", "dimension differs from META"));
            }
            let mut data = vec![0f32; q.rows() * k];
            for (i, row) in data.chunks_exact_mut(k.max(1)).enumerate() {
                q.dequantize_row(i, row);
            }
            within(b"IVQ8", Factors::from_vec(q.rows(), k, data))?
        };
        if item_vectors.rows() != n_items {
            return Err(bad(b"ITEM", "item count differs from the vectors"));
        }

        let mut d = artifact.decoder(*b"CTXP")?;
        let pair_names = d.get_strs()?;
        d.finish()?;
        let mut context_pairs = Interner::new();
        for name in &pair_names {
            context_pairs.intern(name);
        }
        let context = if artifact.has_section(*b"CTXV") {
            let mut d = artifact.decoder(*b"CTXV")?;
            let present = d.get_u32s()?;
            let flat = d.get_f32s()?;
            d.finish()?;
            let wanted = present.iter().filter(|&&p| p != 0).count() * k;
            if present.len() != pair_names.len() || flat.len() != wanted {
                return Err(bad(b"CTXV", "vector count differs from CTXP"));
            }
            let mut chunks = flat.chunks_exact(k.max(1));
            let vectors = present
                .iter()
                .map(|&p| {
                    (p != 0)
                        .then(|| chunks.next().map(<[f32]>::to_vec))
                        .flatten()
                })
                .collect();
            Some(within(b"CTXV", ContextVectors::from_parts(vectors))?)
        } else {
            None
        };

        let mut d = artifact.decoder(*b"POPU")?;
        let popular = d.get_u32s()?;
        d.finish()?;
        let popular_in = decode_lists(artifact.decoder(*b"POPC")?, n_items)?;
        if popular.iter().any(|&i| i as usize >= n_items) || popular_in.len() != pair_names.len() {
            return Err(bad(
                b"POPU",
                "popularity does not match the items or contexts",
            ));
        }

        let attributes = if artifact.has_section(*b"ATTR") {
            let mut d = artifact.decoder(*b"ATTR")?;
            let features = d.get_strs()?;
            let weights = d.get_f32s()?;
            d.finish()?;
            let rows = features.len();
            let weights = within(b"ATTR", Factors::from_vec(rows, k, weights))?;
            Some(within(
                b"ATTR",
                AttributeVectors::from_parts(features, weights),
            )?)
        } else {
            None
        };

        let new_arrivals = if artifact.has_section(*b"NEWA") {
            let mut d = artifact.decoder(*b"NEWA")?;
            let list = d.get_u32s()?;
            d.finish()?;
            if !list.windows(2).all(|w| w[0] < w[1]) || list.iter().any(|&i| i as usize >= n_items)
            {
                return Err(bad(b"NEWA", "new arrivals out of order or out of range"));
            }
            list
        } else {
            Vec::new()
        };
        let calibration = if artifact.has_section(*b"CALI") {
            let mut d = artifact.decoder(*b"CALI")?;
            let predicted = d.get_f32s()?;
            let learnt = d.get_f32s()?;
            let strength = d.get_f32s()?;
            d.finish()?;
            if predicted.len() != learnt.len() || strength.len() != 1 {
                return Err(bad(b"CALI", "knots and strength do not match"));
            }
            let knots = predicted.into_iter().zip(learnt).collect();
            Some(within(
                b"CALI",
                NormCalibration::from_parts(knots, strength[0]),
            )?)
        } else {
            None
        };

        let (users, customers) = if artifact.has_section(*b"CUST") {
            let mut d = artifact.decoder(*b"CUST")?;
            let ids_list = d.get_strs()?;
            let alias_names = d.get_strs()?;
            let alias_rows = d.get_u32s()?;
            let offsets = d.get_u32s()?;
            let hist_items = d.get_u32s()?;
            let hist_weights = d.get_f32s()?;
            let hist_times = d.get_u32s()?;
            d.finish()?;
            let n = ids_list.len();
            let consistent = alias_names.len() == alias_rows.len()
                && alias_rows.iter().all(|&r| (r as usize) < n)
                && offsets.len() == n + 1
                && offsets.first() == Some(&0)
                && offsets.windows(2).all(|w| w[0] <= w[1])
                && offsets.last().map(|&o| o as usize) == Some(hist_items.len())
                && hist_weights.len() == hist_items.len()
                && hist_times.len() == 2 * hist_items.len()
                && hist_items.iter().all(|&i| (i as usize) < n_items)
                // A NaN weight would fold into a NaN taste vector: every
                // score of that customer silently NaN.
                && hist_weights.iter().all(|w| w.is_finite())
                && hist_times.chunks_exact(2).all(|t| {
                    // A "had" marker or an accepted timestamp (see `events`).
                    let t = get_i64(t);
                    t == super::NOT_HAD
                        || t == super::HAD_UNTIMED
                        || crate::events::check_timestamp(t).is_ok()
                });
            if !consistent {
                return Err(bad(b"CUST", "customer tables disagree"));
            }
            // Each entry's last event time; artifacts from before it was kept
            // have none (their customers are served from taste vectors).
            let hist_last = if artifact.has_section(*b"LAST") {
                let mut d = artifact.decoder(*b"LAST")?;
                let last = d.get_u32s()?;
                d.finish()?;
                if last.len() != hist_times.len()
                    || !last
                        .chunks_exact(2)
                        .all(|t| crate::events::check_timestamp(get_i64(t)).is_ok())
                {
                    return Err(bad(b"LAST", "history times disagree with CUST"));
                }
                last
            } else {
                Vec::new()
            };
            let mut ids = Interner::new();
            for id in &ids_list {
                ids.intern(id);
            }
            let aliases: HashMap<String, u32> = alias_names.into_iter().zip(alias_rows).collect();
            let history = offsets
                .windows(2)
                .map(|w| {
                    (w[0] as usize..w[1] as usize)
                        .map(|e| super::Seen {
                            item: hist_items[e],
                            weight: hist_weights[e],
                            had: get_i64(&hist_times[2 * e..]),
                            last: if hist_last.is_empty() {
                                super::UNKNOWN_TIME
                            } else {
                                get_i64(&hist_last[2 * e..])
                            },
                        })
                        .collect()
                })
                .collect();
            let mut d = artifact.decoder(*b"UVEC")?;
            let rows = d.get_usize()?;
            let data = d.get_f32s()?;
            d.finish()?;
            if rows != n {
                return Err(bad(b"UVEC", "customer count differs from CUST"));
            }
            (
                within(b"UVEC", Factors::from_vec(rows, k, data))?,
                Some(Customers {
                    ids,
                    aliases,
                    history,
                }),
            )
        } else {
            (within(b"META", Factors::from_vec(0, k, Vec::new()))?, None)
        };

        let model = if artifact.has_section(*b"GRAM") {
            let mut d = artifact.decoder(*b"GRAM")?;
            let gram = d.get_f32s()?;
            d.finish()?;
            within(
                b"GRAM",
                AlsModel::from_parts_with_gram(users, item_vectors, params, gram),
            )?
        } else {
            within(b"META", AlsModel::from_parts(users, item_vectors, params))?
        };
        let index = within(
            match (
                artifact.has_section(*b"HNSW"),
                artifact.has_section(*b"IVEC"),
            ) {
                (true, _) => b"HNSW",
                (false, true) => b"IVEC",
                (false, false) => b"IVQ8",
            },
            restore_index(
                artifact,
                index,
                k,
                model.items.view().as_slice().unwrap_or(&[]),
            ),
        )?;
        let mut ids = Interner::new();
        for item in &items {
            ids.intern(&item.id);
        }
        if ids.len() != items.len() {
            return Err(bad(b"ITEM", "duplicate item ids"));
        }
        Ok(Recommender {
            model,
            catalog: Catalog::from_aligned(items),
            ids,
            index,
            kinds,
            context_pairs,
            context,
            attributes,
            calibration,
            new_arrivals,
            popular,
            popular_in,
            customers,
            settings,
        })
    }
}

/// The result of building a part from section `tag`'s content, with any
/// error that is not already an artifact error turned into one naming `tag`
/// (`'item_gram' must be finite` becomes "section GRAM is invalid: …").
fn within<T>(tag: &[u8; 4], result: Result<T>) -> Result<T> {
    result.map_err(|e| match e {
        e @ crate::Error::Artifact { .. } => e,
        other => bad(tag, &other.to_string()),
    })
}

/// The flavour byte against the sections present (see
/// [`Recommender::from_artifact`]).
fn check_flavour(artifact: &Artifact) -> Result<()> {
    let has = |tag: &[u8; 4]| artifact.has_section(*tag);
    let (name, must, must_not): (_, &[&[u8; 4]], &[&[u8; 4]]) = match artifact.flavour() {
        Flavour::Full => ("full", &[b"IVEC"], &[b"IVQ8"]),
        Flavour::Storefront => (
            "storefront",
            &[b"IVQ8"],
            &[b"IVEC", b"CUST", b"UVEC", b"LAST", b"HNSW"],
        ),
    };
    let wrong = must
        .iter()
        .find(|t| !has(t))
        .map(|t| format!("has no section {}", tag_name(**t)))
        .or_else(|| {
            must_not
                .iter()
                .find(|t| has(t))
                .map(|t| format!("has a section {}", tag_name(**t)))
        })
        .or_else(|| {
            // A full artifact of a recommender without customers (one loaded
            // from a storefront artifact, then pickled) has neither section;
            // one without the other is damage.
            (artifact.flavour() == Flavour::Full && has(b"CUST") != has(b"UVEC"))
                .then(|| "has only one of the sections CUST and UVEC".to_owned())
        });
    match wrong {
        Some(what) => Err(crate::Error::artifact(ArtifactProblem::Malformed {
            reason: format!("the flavour byte says {name}, but the artifact {what}"),
        })),
        None => Ok(()),
    }
}

/// An `i64` as two `u32`s, low half first (the artifact's integer tables are `u32`s).
fn put_i64(out: &mut Vec<u32>, t: i64) {
    out.push(t as u64 as u32);
    out.push((t as u64 >> 32) as u32);
}

/// The `i64` [`put_i64`] wrote at the start of `halves` (at least two long).
fn get_i64(halves: &[u32]) -> i64 {
    (u64::from(halves[0]) | (u64::from(halves[1]) << 32)) as i64
}

/// A typed "bad section" error, for checks across sections.
fn bad(tag: &[u8; 4], reason: &str) -> crate::Error {
    crate::Error::Artifact {
        path: None,
        problem: crate::error::ArtifactProblem::BadSection {
            tag: String::from_utf8_lossy(tag).into_owned(),
            reason: reason.into(),
        },
    }
}

/// Items, packed for size (a 20,000-item storefront must fit in 1.6 MB with
/// its vectors): ids front-coded against the previous id, attribute strings
/// in one dictionary, each distinct attribute tuple stored once, and each
/// item a varint naming its tuple.
fn encode_items(items: &[Item]) -> Vec<u8> {
    let mut dict = Interner::new();
    let mut tuples: HashMap<Vec<u64>, u64> = HashMap::new();
    let mut tuple_bytes = Vec::new();
    let (mut ids, mut which) = (Vec::new(), Vec::new());
    let mut previous: &[u8] = &[];
    for it in items {
        let id = it.id.as_bytes();
        let shared = previous.iter().zip(id).take_while(|(a, b)| a == b).count();
        put_varint(&mut ids, shared as u64);
        put_varint(&mut ids, (id.len() - shared) as u64);
        ids.extend_from_slice(&id[shared..]);
        previous = id;

        let mut code = |s: &Option<String>| s.as_ref().map_or(0, |s| u64::from(dict.intern(s)) + 1);
        let kind = ItemKind::ALL
            .iter()
            .position(|&k| k == it.kind)
            .unwrap_or(0) as u64;
        let mut tuple = vec![
            kind | u64::from(it.in_stock) << 3,
            code(&it.category),
            code(&it.brand),
            code(&it.price_band),
            it.tags.len() as u64,
        ];
        tuple.extend(it.tags.iter().map(|t| code(&Some(t.clone()))));
        let next = tuples.len() as u64;
        let id = *tuples.entry(tuple.clone()).or_insert_with(|| {
            tuple.iter().for_each(|&v| put_varint(&mut tuple_bytes, v));
            next
        });
        put_varint(&mut which, id);
    }
    let mut e = Encoder::new();
    e.put_u64(items.len() as u64)
        .put_bytes(&ids)
        .put_strs(dict.names())
        .put_u64(tuples.len() as u64)
        .put_bytes(&tuple_bytes)
        .put_bytes(&which);
    encode_prices(&mut e, items);
    e.into_bytes()
}

/// Prices as varints of cents (0 = no price) when every price survives that
/// exactly, as shop prices do; else as `f32`s (NaN = no price). Cents save
/// about 2.5 bytes per item.
fn encode_prices(e: &mut Encoder, items: &[Item]) {
    let cents: Option<Vec<u64>> = items
        .iter()
        .map(|i| match i.price {
            None => Some(0),
            Some(p) => {
                let c = (f64::from(p) * 100.0).round();
                ((0.0..1e15).contains(&c) && cents_to_price(c as u64) == p).then_some(c as u64 + 1)
            }
        })
        .collect();
    match cents {
        Some(cents) => {
            let mut bytes = Vec::with_capacity(cents.len() * 3);
            cents.iter().for_each(|&c| put_varint(&mut bytes, c));
            e.put_u8(1).put_bytes(&bytes);
        }
        None => {
            let prices: Vec<f32> = items.iter().map(|i| i.price.unwrap_or(f32::NAN)).collect();
            e.put_u8(0).put_f32s(&prices);
        }
    };
}

fn cents_to_price(cents: u64) -> f32 {
    (cents as f64 / 100.0) as f32
}

fn decode_prices(d: &mut Decoder<'_>, n: usize) -> Result<Vec<Option<f32>>> {
    match d.get_u8()? {
        0 => Ok(d
            .get_f32s()?
            .into_iter()
            .map(|p| (!p.is_nan()).then_some(p))
            .collect()),
        1 => {
            let mut bytes = d.get_bytes()?;
            // Each price takes at least one byte: a bound before allocating.
            if n > bytes.len() {
                return Err(bad(b"ITEM", "fewer prices than items"));
            }
            (0..n)
                .map(|_| match get_varint(&mut bytes) {
                    Some(0) => Ok(None),
                    Some(c) => Ok(Some(cents_to_price(c - 1))),
                    None => Err(bad(b"ITEM", "a price is cut short")),
                })
                .collect::<Result<Vec<_>>>()
                .and_then(|prices| match bytes.is_empty() {
                    true => Ok(prices),
                    false => Err(bad(b"ITEM", "trailing bytes after the prices")),
                })
        }
        other => Err(bad(b"ITEM", &format!("unknown price encoding {other}"))),
    }
}

/// The most attribute text decoding may materialise: `ITEM_TEXT_FLOOR` plus
/// `ITEM_TEXT_PER_BYTE` bytes per byte of the section. Shared tuples make the
/// text larger than the section (that is the point of sharing), but a few
/// hundred KB must not expand into gigabytes of cloned tag strings.
const ITEM_TEXT_FLOOR: usize = 64 << 20;
const ITEM_TEXT_PER_BYTE: usize = 256;

fn decode_items(mut d: Decoder<'_>) -> Result<Vec<Item>> {
    let text_budget =
        ITEM_TEXT_FLOOR.saturating_add(d.remaining().saturating_mul(ITEM_TEXT_PER_BYTE));
    let text_used = std::cell::Cell::new(0usize);
    let n = d.get_usize()?;
    let mut ids = d.get_bytes()?;
    let dict = d.get_strs()?;
    let n_tuples = d.get_usize()?;
    let mut tuple_bytes = d.get_bytes()?;
    let mut which = d.get_bytes()?;
    let prices = decode_prices(&mut d, n)?;
    d.finish()?;
    let bad = |reason: &str| bad(b"ITEM", reason);
    // Counts text against the budget before it is cloned: the clones are
    // what a crafted file could multiply.
    let charge = |len: usize| -> Result<()> {
        text_used.set(text_used.get().saturating_add(len));
        match text_used.get() > text_budget {
            true => Err(bad("attribute text expands beyond any real catalogue")),
            false => Ok(()),
        }
    };
    let word = |c: u64| -> Result<Option<String>> {
        match c {
            0 => Ok(None),
            c => {
                let w = dict
                    .get(c as usize - 1)
                    .ok_or_else(|| bad("an attribute code is out of range"))?;
                charge(w.len())?;
                Ok(Some(w.clone()))
            }
        }
    };
    // Every item needs at least one byte in each blob: a bound before allocating.
    if prices.len() != n || n > which.len() || n_tuples > tuple_bytes.len() {
        return Err(bad("item tables differ in length"));
    }
    let mut tuples = Vec::with_capacity(n_tuples);
    for _ in 0..n_tuples {
        let mut next = || get_varint(&mut tuple_bytes).ok_or_else(|| bad("a tuple is cut short"));
        let head = next()?;
        let kind = *ItemKind::ALL
            .get((head & 7) as usize)
            .ok_or_else(|| bad("an item kind code is out of range"))?;
        let (category, brand, band) = (word(next()?)?, word(next()?)?, word(next()?)?);
        let n_tags = next()?;
        let tags = (0..n_tags)
            .map(|_| word(next()?)?.ok_or_else(|| bad("a tag has no text")))
            .collect::<Result<Vec<String>>>()?;
        let text: usize = [&category, &brand, &band]
            .iter()
            .filter_map(|w| w.as_ref().map(String::len))
            .chain(tags.iter().map(String::len))
            .sum();
        tuples.push((kind, head >> 3 & 1 == 1, category, brand, band, tags, text));
    }
    let mut items = Vec::with_capacity(n);
    let mut previous: Vec<u8> = Vec::new();
    for &price in &prices {
        let cut = || bad("an item id is cut short");
        let shared = get_varint(&mut ids).ok_or_else(cut)? as usize;
        let len = get_varint(&mut ids).ok_or_else(cut)? as usize;
        if shared > previous.len() || len > ids.len() {
            return Err(cut());
        }
        previous.truncate(shared);
        previous.extend_from_slice(&ids[..len]);
        ids = &ids[len..];
        let id = String::from_utf8(previous.clone()).map_err(|_| bad("an item id is not UTF-8"))?;
        let t = get_varint(&mut which).ok_or_else(|| bad("an item code is cut short"))?;
        let tuple = tuples
            .get(t as usize)
            .ok_or_else(|| bad("an item's attribute tuple is out of range"))?;
        charge(tuple.6)?;
        let (kind, in_stock, category, brand, price_band, tags, _) = tuple.clone();
        items.push(Item {
            id,
            kind,
            category,
            brand,
            price_band,
            price,
            tags,
            in_stock,
        });
    }
    if !ids.is_empty() || !which.is_empty() || !tuple_bytes.is_empty() {
        return Err(bad("trailing bytes after the items"));
    }
    Ok(items)
}

/// LEB128: seven bits per byte, low first, high bit set on all but the last.
fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn get_varint(bytes: &mut &[u8]) -> Option<u64> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let (&b, rest) = bytes.split_first()?;
        *bytes = rest;
        v |= u64::from(b & 0x7f) << shift;
        if b < 0x80 {
            return Some(v);
        }
    }
    None
}

fn encode_lists(lists: &[Vec<u32>]) -> Vec<u8> {
    let mut offsets = vec![0u32];
    let mut flat = Vec::new();
    for l in lists {
        flat.extend_from_slice(l);
        offsets.push(flat.len() as u32);
    }
    let mut e = Encoder::new();
    e.put_u32s(&offsets).put_u32s(&flat);
    e.into_bytes()
}

fn decode_lists(mut d: Decoder<'_>, n_items: usize) -> Result<Vec<Vec<u32>>> {
    let offsets = d.get_u32s()?;
    let flat = d.get_u32s()?;
    let ok = offsets.first() == Some(&0)
        && offsets.windows(2).all(|w| w[0] <= w[1])
        && offsets.last().map(|&o| o as usize) == Some(flat.len())
        && flat.iter().all(|&i| (i as usize) < n_items);
    if !ok {
        return Err(d.invalid("list offsets or items are out of range"));
    }
    d.finish()?;
    Ok(offsets
        .windows(2)
        .map(|w| flat[w[0] as usize..w[1] as usize].to_vec())
        .collect())
}

/// The artifact's HNSW graph if it has one and `params` does not ask for exact
/// search; otherwise a fresh index built by `params`.
fn restore_index(
    artifact: &Artifact,
    params: &IndexParams,
    k: usize,
    vectors: &[f32],
) -> Result<Box<dyn Index>> {
    #[cfg(feature = "hnsw")]
    if artifact.has_section(*b"HNSW") && params.restores_graph() {
        let mut d = artifact.decoder(*b"HNSW")?;
        let index = crate::index::HnswIndex::decode(k, vectors, &mut d)?;
        d.finish()?;
        return Ok(Box::new(index));
    }
    #[cfg(not(feature = "hnsw"))]
    let _ = artifact;
    params.build(k, vectors)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small ITEM section whose one tuple holds many tags naming a long
    /// word, shared by many items: gigabytes of cloned text from kilobytes.
    #[test]
    fn item_text_cannot_expand_without_bound() {
        let items = 100usize;
        let (mut ids, mut tuple, mut which, mut prices) = (vec![], vec![], vec![], vec![]);
        for i in 0..items {
            let id = format!("i{i:03}");
            put_varint(&mut ids, 0);
            put_varint(&mut ids, id.len() as u64);
            ids.extend_from_slice(id.as_bytes());
            put_varint(&mut which, 0);
            put_varint(&mut prices, 0);
        }
        for v in [0, 1, 0, 0, 200] {
            put_varint(&mut tuple, v);
        }
        tuple.extend(std::iter::repeat_n(1, 200)); // 200 tags, each the 10 KB word
        let mut e = Encoder::new();
        e.put_u64(items as u64)
            .put_bytes(&ids)
            .put_strs(&["w".repeat(10_000)])
            .put_u64(1)
            .put_bytes(&tuple)
            .put_bytes(&which)
            .put_u8(1)
            .put_bytes(&prices);
        let bytes = e.into_bytes();
        assert!(bytes.len() < 20_000);
        // 100 items × 201 × 10 KB = 201 MB of text, over the budget.
        match decode_items(Decoder::new(&bytes)) {
            Err(crate::Error::Artifact {
                problem: ArtifactProblem::BadSection { tag, reason },
                ..
            }) => assert!(
                tag == "ITEM" && reason.contains("attribute text"),
                "{reason}"
            ),
            other => panic!("{:?}", other.map(|v| v.len())),
        }
        // A real catalogue of that shape but 5 items decodes.
        let mut e = Encoder::new();
        let five = |blob: &[u8], per: usize| blob[..5 * per].to_vec();
        e.put_u64(5)
            .put_bytes(&five(&ids, 6))
            .put_strs(&["w".repeat(10_000)])
            .put_u64(1)
            .put_bytes(&tuple)
            .put_bytes(&five(&which, 1))
            .put_u8(1)
            .put_bytes(&five(&prices, 1));
        assert_eq!(
            decode_items(Decoder::new(&e.into_bytes())).unwrap().len(),
            5
        );
    }

    #[test]
    fn varints_round_trip_and_reject_overlong_input() {
        let values = [0u64, 1, 127, 128, 300, u64::from(u32::MAX), u64::MAX];
        let mut bytes = Vec::new();
        values.iter().for_each(|&v| put_varint(&mut bytes, v));
        let mut rest = &bytes[..];
        for &v in &values {
            assert_eq!(get_varint(&mut rest), Some(v));
        }
        assert!(rest.is_empty());
        assert_eq!(get_varint(&mut &[0x80u8; 11][..]), None);
        assert_eq!(get_varint(&mut &[0x80u8][..]), None);
    }

    #[test]
    fn items_round_trip_through_the_packed_encoding() {
        let items = vec![
            Item::new("sku-0001")
                .category("shoes")
                .brand("acme")
                .price(9.5)
                .tag("new"),
            Item::new("sku-0002")
                .category("shoes")
                .brand("acme")
                .price(12.0)
                .tag("new"),
            Item::new("guide-é").kind(ItemKind::Content).in_stock(false),
            Item::new("g"),
        ];
        // Shop prices go as cents; one price that is not whole cents sends them all as f32.
        let odd = [items.clone(), vec![Item::new("odd").price(0.333)]].concat();
        for items in [items, odd] {
            let bytes = encode_items(&items);
            let decoded = decode_items(Decoder::new(&bytes)).unwrap();
            assert_eq!(decoded, items);
            for cut in 0..bytes.len() {
                assert!(
                    decode_items(Decoder::new(&bytes[..cut])).is_err(),
                    "cut {cut}"
                );
            }
        }
    }

    #[cfg(feature = "hnsw")]
    #[test]
    fn a_stored_hnsw_graph_is_restored_as_built_and_checked() {
        use crate::artifact::ArtifactWriter;
        use crate::embed::Als;
        use crate::index::{HnswParams, IndexKind};
        use crate::interactions::{InteractionConfig, Interactions};
        let shop = crate::datasets::synthetic_storefront(3, crate::datasets::Size::Tiny).unwrap();
        let matrix = Interactions::build(&shop.log, &InteractionConfig::default()).unwrap();
        let model = Als::params().factors(8).iterations(3).fit(&matrix).unwrap();
        let built_with = HnswParams::default()
            .max_connections(6)
            .ef_search(12)
            .seed(7);
        let options = super::super::BuildOptions {
            index: IndexParams::default()
                .kind(IndexKind::Hnsw)
                .hnsw(built_with.clone()),
            ..Default::default()
        };
        let rec = Recommender::build(&shop.log, &shop.catalog, model, &options).unwrap();
        let artifact = Artifact::from_bytes(&rec.to_bytes(Flavour::Full).unwrap()).unwrap();
        assert!(artifact.has_section(*b"HNSW"));

        // Asked for HNSW with other parameters: the stored graph wins, as built.
        let wants = IndexParams::default().kind(IndexKind::Hnsw);
        let loaded = Recommender::from_artifact(&artifact, &wants).unwrap();
        let restored = loaded.index.as_hnsw().unwrap();
        assert_eq!(restored.params(), &built_with);
        // The default (automatic) choice takes the stored graph too, even on
        // a catalogue small enough for exact search.
        let loaded = Recommender::from_bytes(&rec.to_bytes(Flavour::Full).unwrap()).unwrap();
        assert_eq!(loaded.index.as_hnsw().unwrap().params(), &built_with);
        let query = rec.model.items.row(0).to_vec();
        assert_eq!(
            rec.index.search(&query, 10, None).unwrap(),
            restored.search(&query, 10, None).unwrap()
        );
        // Asked for exact: the graph is ignored.
        let exact = IndexParams::default().kind(IndexKind::Exact);
        let loaded = Recommender::from_artifact(&artifact, &exact).unwrap();
        assert!(loaded.index.as_hnsw().is_none());

        // A link to a node that does not exist, behind a valid checksum: the
        // u32 after the 36 bytes of parameters and the list's length is node
        // 0's link count; its first link follows.
        let mut graph = artifact.section(*b"HNSW").unwrap().to_vec();
        graph[36 + 8 + 4..36 + 8 + 8].copy_from_slice(&u32::MAX.to_le_bytes());
        let mut w = ArtifactWriter::new(Flavour::Full);
        for tag in artifact.tags() {
            let bytes = if &tag == b"HNSW" {
                graph.clone()
            } else {
                artifact.section(tag).unwrap().to_vec()
            };
            w = w.section(tag, bytes);
        }
        let damaged = Artifact::from_bytes(&w.to_bytes().unwrap()).unwrap();
        let err = Recommender::from_artifact(&damaged, &wants).unwrap_err();
        assert!(err.to_string().contains("HNSW graph"), "{err}");
    }
}
