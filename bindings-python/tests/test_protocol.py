"""The MovieLens protocol, re-derived independently with pandas.

The popularity baseline is simple enough to compute by hand: this test rebuilds
both splits and the metrics from the raw file and checks maitre's numbers
match to floating-point precision. It fails (never skips) without the data.
"""

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import maitre



def data_dir() -> Path:
    return maitre.movielens_dir()


def read(name: str) -> pd.DataFrame:
    df = pd.read_csv(data_dir() / name, sep="\t", dtype=str)
    df.columns = [c.split(":")[0] for c in df.columns]
    return df


def popularity_by_hand(split: str):
    inter = read("ml-100k.inter")
    inter["rating"] = inter["rating"].astype(float)
    inter["timestamp"] = inter["timestamp"].astype(float).astype(np.int64)
    inter["row"] = np.arange(len(inter))
    catalogue = read("ml-100k.item")["item_id"].tolist()
    position = {item: i for i, item in enumerate(catalogue)}
    pos = inter[inter["rating"] >= 4]
    if split == "leave-last-out":
        counts = pos.groupby("user_id")["row"].transform("size")
        last = pos.sort_values(["timestamp", "row"]).groupby("user_id").tail(1)
        test_rows = set(last[counts.loc[last.index] >= 5]["row"])
        is_test = pos["row"].isin(test_rows)
    else:
        cut = np.quantile(inter["timestamp"].to_numpy(), 0.8, method="lower")
        is_test = pos["timestamp"] >= cut
    train, test = pos[~is_test], pos[is_test]
    test = test[test["user_id"].isin(set(train["user_id"]))]
    popularity = train["item_id"].value_counts()
    # Highest count first; ties to the earlier item of ml-100k.item.
    order = sorted(catalogue, key=lambda i: (-popularity.get(i, 0), position[i]))
    seen = train.groupby("user_id")["item_id"].agg(set)
    hr = ndcg = recall20 = 0.0
    users = test.groupby("user_id")["item_id"].agg(set)
    for user, held in users.items():
        ranked = [i for i in order if i not in seen[user]][:20]
        hits10 = [r for r, i in enumerate(ranked[:10]) if i in held]
        hr += bool(hits10)
        dcg = sum(1 / math.log2(r + 2) for r in hits10)
        ndcg += dcg / sum(1 / math.log2(r + 2) for r in range(min(len(held), 10)))
        recall20 += sum(i in held for i in ranked) / len(held)
    n = len(users)
    return n, {"hr@10": hr / n, "ndcg@10": ndcg / n, "recall@20": recall20 / n}


@pytest.mark.parametrize("split", ["leave-last-out", "temporal"])
def test_popularity_matches_an_independent_computation(split):
    users, expected = popularity_by_hand(split)
    log = maitre.load_movielens(data_dir())
    report = maitre.evaluate(log, split=split, models=["popularity"], positive_kinds=["rating"], min_value=4.0)
    assert report["users"] == users
    assert report["items"] == 1682
    got = report["results"][0]
    for key, value in expected.items():
        assert got[key] == pytest.approx(value, abs=1e-12), key
