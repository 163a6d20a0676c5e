# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # maitre on MovieLens 100K
#
# Load the ratings, fit implicit ALS, compare it with the baselines, then serve:
# recommendations with their reasons, similar movies, and a saved artifact.
# Runs as a plain script too: `python examples/notebook.py` (needs the data:
# `bash scripts/fetch-movielens.sh`, and `pip install './bindings-python[pandas]'`).

# %%
import sys
import tempfile
from pathlib import Path

import pandas as pd

import maitre

try:
    log = maitre.load_movielens()  # from $MAITRE_ML100K, ../shared/data/ml-100k or data/ml-100k
except maitre.MaitreFileNotFoundError as e:
    sys.exit(f"notebook: {e}")
log

# %% [markdown]
# The movies, as an item table: the first genre is the category, every genre a tag.

# %%
movies = pd.read_csv(maitre.movielens_dir() / "ml-100k.item", sep="\t", dtype=str, keep_default_na=False)
movies.columns = [c.split(":")[0] for c in movies.columns]
genres = movies["class"].str.split()
items = pd.DataFrame({"id": movies["item_id"], "category": genres.str[0], "tags": genres})
title = dict(zip(movies["item_id"], movies["movie_title"]))
items.head()

# %% [markdown]
# ## Offline evaluation
#
# Leave-last-out over ratings of 4 stars or more: the baselines, ALS on those
# positives alone (the protocol's model), and the recommender as it serves
# (ALS on every rating, the default rules), all with maitre's defaults.

# %%
report = maitre.evaluate_frame(
    log,
    models=["popularity", "item-knn", "als", "recommend"],
    positive_kinds=["rating"],
    min_value=4.0,
    dataset="ml-100k",
    items=items,
)
print(report[["model", "ndcg@10", "recall@20", "hr@10", "coverage@10", "fit_seconds"]].to_string(index=False))

# %%
try:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
except ImportError:
    print("matplotlib is not installed: no plot")
else:
    ax = report.set_index("model")[["hr@10", "ndcg@10", "recall@20"]].plot.bar(rot=0)
    ax.set_title("MovieLens 100K, leave-last-out")
    out = Path(tempfile.gettempdir()) / "maitre-movielens-metrics.png"
    plt.tight_layout()
    plt.savefig(out)
    print(f"plot saved to {out}")

# %% [markdown]
# ## Fit and serve

# %%
model = maitre.ALS(seed=0).fit(log, progress=True)
rec = maitre.Recommender.build(log, model, items=items)
rec

# %% [markdown]
# User 1's top 5, with the movies behind each recommendation.

# %%
top = rec.recommend(customer="1", k=5, as_frame=True)
top["title"] = top["item"].map(title)
top["because"] = top["because"].map(lambda ids: [title[i] for i in ids] if isinstance(ids, list) else None)
print(top[["title", "score", "reason", "because"]].to_string(index=False))

# %% [markdown]
# A visitor who just watched Toy Story, dramas excluded.

# %%
ids, scores = rec.recommend(
    session=[("1", "rating")], k=5, filters={"predicates": [{"field": "tag", "values": ["Drama"], "negate": True}]}
)
print([title[i] for i in ids])

# %% [markdown]
# Movies like Star Wars (item 50), and everyone's top 10 in one batch call.

# %%
ids, scores = rec.similar_items("50", k=5)
print([title[i] for i in ids])
batch = rec.recommend_batch([str(u) for u in range(1, 944)], k=10, as_frame=True)
print(batch.groupby("item").size().sort_values(ascending=False).head(5).rename(index=title))

# %% [markdown]
# ## Segments
#
# The users in five segments by their ALS vectors, each described by the
# genres of what they rated, and a 2-D picture of them (the vectors'
# first two principal components).

# %%
seg = maitre.segments(log, items, k=5, model=model, seed=0)
print(seg.segments[["segment", "size", "description"]].to_string(index=False))
try:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
except ImportError:
    print("matplotlib is not installed: no plot")
else:
    import numpy as np

    vectors = model.user_factors - model.user_factors.mean(axis=0)
    _, _, axes = np.linalg.svd(vectors, full_matrices=False)
    xy = vectors @ axes[:2].T
    labels = seg.customers.set_index("customer").loc[list(model.customer_ids()), "segment"].to_numpy()
    fig, ax = plt.subplots(figsize=(6, 5))
    for s in sorted(set(labels)):
        ax.scatter(*xy[labels == s].T, s=6, label=f"segment {s}")
    ax.set_title("MovieLens 100K users by ALS vector (PCA), coloured by segment")
    ax.legend(markerscale=3)
    out = Path(tempfile.gettempdir()) / "maitre-movielens-segments.png"
    plt.tight_layout()
    plt.savefig(out)
    print(f"plot saved to {out}")

# %% [markdown]
# ## Save
#
# The full artifact reloads bit-identically; the storefront flavour drops every
# customer and quantises the vectors.

# %%
with tempfile.TemporaryDirectory() as tmp:
    full, front = Path(tmp) / "ml.maitre", Path(tmp) / "ml-storefront.maitre"
    rec.save(full)
    rec.save(front, flavour="storefront")
    print(f"full {full.stat().st_size / 1e6:.2f} MB, storefront {front.stat().st_size / 1e6:.2f} MB")
    again = maitre.Recommender.load(full)
    assert list(again.recommend(customer="1")[0]) == list(rec.recommend(customer="1")[0])
