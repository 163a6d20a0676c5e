import pandas as pd
import pytest

import maitre

KEYS = {"hr@10", "recall@10", "recall@20", "ndcg@10", "mrr@10", "coverage@10"}


def check_report(report, models):
    assert set(report) == {"dataset", "split", "users", "items", "results"}
    assert report["users"] > 0 and report["items"] > 0
    assert [r["model"] for r in report["results"]] == list(models)
    for result in report["results"]:
        assert KEYS <= set(result)
        assert result["fit_seconds"] >= 0
        for key, v in result.items():
            if key not in ("model", "fit_seconds"):
                assert 0.0 <= v <= 1.0, (key, v)


@pytest.fixture(scope="module")
def shop():
    return maitre.synthetic_storefront(seed=3, size="tiny")


def test_popularity_on_synthetic_storefront(shop):
    report = maitre.evaluate(shop, positive_kinds=["purchase"])
    check_report(report, ["popularity"])
    assert report["split"] == "leave-last-out"
    assert report["results"][0]["hr@10"] > 0  # popularity finds something


@pytest.mark.parametrize("split", ["leave-last-out", "temporal", "random"])
def test_every_split(shop, split):
    report = maitre.evaluate(shop, split=split, models=("popularity", "item-knn"))
    assert report["split"] == split
    check_report(report, ["popularity", "item-knn"])


def test_evaluate_is_deterministic(shop):
    a = maitre.evaluate(shop, split="random")
    b = maitre.evaluate(shop, split="random")
    for ra, rb in zip(a["results"], b["results"]):
        ra.pop("fit_seconds"), rb.pop("fit_seconds")
        assert ra == rb


def test_evaluate_frame(shop):
    frame = maitre.evaluate_frame(shop, models=["popularity", "item-knn"], dataset="shop")
    assert isinstance(frame, pd.DataFrame)
    assert list(frame["model"]) == ["popularity", "item-knn"]
    assert KEYS <= set(frame.columns)
    assert frame.attrs["dataset"] == "shop" and frame.attrs["users"] > 0


def test_bad_parameters(shop):
    with pytest.raises(maitre.InvalidParamError) as info:
        maitre.evaluate(shop, split="sideways")
    assert info.value.name == "split" and "sideways" in str(info.value)
    with pytest.raises(maitre.InvalidParamError) as info:
        maitre.evaluate(shop, models=["popularity", "oracle"])
    assert info.value.name == "models"
    with pytest.raises(TypeError):
        maitre.evaluate("not a log")


def test_not_enough_data():
    with pytest.raises(maitre.NotEnoughDataError):
        maitre.evaluate(maitre.EventLog())


@pytest.fixture(scope="module")
def movielens():
    # No skip: without the data (MAITRE_ML100K or ../shared/data/ml-100k) this fails.
    return maitre.load_movielens()


def test_movielens_loads(movielens):
    s = movielens.summary()
    assert s["events"] == 100_000
    assert s["customers"] == 943
    assert s["items"] >= 1682
    assert s["kinds"] == {"rating": 100_000}


def test_popularity_on_movielens_leave_last_out(movielens):
    report = maitre.evaluate(
        movielens, split="leave-last-out", models=["popularity"], min_value=4.0,
        dataset="ml-100k",
    )
    check_report(report, ["popularity"])
    assert report["dataset"] == "ml-100k"
    assert 900 <= report["users"] <= 943
    assert report["results"][0]["hr@10"] > 0.05


def test_als_model_takes_its_hyper_parameters(shop):
    args = dict(models=["popularity", "als"], positive_kinds=["purchase"])
    frame = maitre.evaluate_frame(shop, als=maitre.ALS(factors=8, iterations=4, seed=1), **args)
    assert list(frame["model"]) == ["popularity", "als"]
    again = maitre.evaluate_frame(shop, als=maitre.ALS(factors=8, iterations=4, seed=1), **args)
    assert frame.drop(columns="fit_seconds").equals(again.drop(columns="fit_seconds"))
    other = maitre.evaluate_frame(shop, als=maitre.ALS(factors=32, iterations=4, seed=1), **args)
    assert not other.loc[1].drop("fit_seconds").equals(frame.loc[1].drop("fit_seconds"))


def test_blend_reports_its_validated_weights(shop):
    report = maitre.evaluate(shop, models=["ease", "blend"], positive_kinds=["purchase"])
    assert [r["model"] for r in report["results"]] == ["ease", "blend"]
    weights = dict(report["blend"]["weights"])
    assert set(weights) == {"als", "ease", "item-knn", "popularity"}
    assert all(w >= 0 for w in weights.values()) and any(w > 0 for w in weights.values())


def test_tune_returns_a_model_and_its_trials(shop):
    seen = []
    model, trials = maitre.tune(
        shop, budget=120, max_trials=4, positive_kinds=["purchase"], seed=1, progress=seen.append
    )
    assert isinstance(model, maitre.AlsModel)
    # Four search trials, then the one ALS setting tried checked as it serves,
    # then the search on the served path from it; each setting served without
    # a history half-life and with each of four.
    models = list(trials["model"])
    assert models[:9] == ["als", "ease", "ease", "blend"] + ["recommend"] * 5
    assert set(models[4:]) == {"recommend"} and len(models[4:]) % 5 == 0
    assert [p["trials"] for p in seen] == list(range(1, len(models) + 1))
    assert trials["ndcg"].between(0, 1).all()
    assert trials.attrs["best"] in ("als", "ease", "blend")
    served = trials[trials["model"] == "recommend"]
    halves = [None, 300.0, 3600.0, 86400.0, 2592000.0]
    assert [None if pd.isna(h) else h for h in served["history_half_life"]] == \
        halves * (len(served) // 5)
    # The served search starts from the setting checked first and tries each once.
    keys = list(zip(served["factors"], served["regularization"], served["alpha"],
                    served["iterations"]))[::5]
    assert keys[0] == tuple(trials.iloc[0][["factors", "regularization", "alpha", "iterations"]])
    assert len(set(keys)) == len(keys)
    # The settings returned are those of the best served row.
    settings = trials.attrs["settings"]
    best_row = served.loc[served["ndcg"].idxmax()]
    half_life = settings["history_half_life"]
    assert (half_life is None and pd.isna(best_row["history_half_life"])) or \
        half_life == best_row["history_half_life"]
    rec = maitre.Recommender.build(shop, model, settings=settings)
    assert rec.settings() == maitre.Recommender.build(shop, model).settings() | {
        "history_half_life": half_life}
    assert set(trials["weights"].iloc[3]) == {"als", "ease", "item-knn", "popularity"}
    # Same seed, same table (times aside).
    _, again = maitre.tune(shop, budget=120, max_trials=4, positive_kinds=["purchase"], seed=1)
    pd.testing.assert_series_equal(trials["ndcg"], again["ndcg"])


def test_tune_serves_from_the_catalogue_it_is_given(shop):
    items = maitre.synthetic_catalog(seed=3, size="tiny")
    # An item with no events is left out of tuning, not added to the model.
    extra = pd.DataFrame({"id": ["sku-never-seen"], "kind": ["product"]})
    catalogue = pd.concat([items, extra], ignore_index=True)
    args = dict(budget=120, max_trials=3, positive_kinds=["purchase"], seed=1)
    model, trials = maitre.tune(shop, items=catalogue, **args)
    assert "sku-never-seen" not in model.item_ids()
    assert len(model.item_ids()) == shop.summary()["items"]
    # Serving from the real catalogue (only products, not guides or offers)
    # is another measure than every item as a product.
    _, plain = maitre.tune(shop, **args)
    served = trials[trials["model"] == "recommend"]["ndcg"].tolist()
    assert served != plain[plain["model"] == "recommend"]["ndcg"].tolist()
    rec = maitre.Recommender.build(shop, model, items=catalogue,
                                   settings=trials.attrs["settings"])
    ids, _ = rec.recommend(customer="c0000001", k=5)
    assert len(ids) == 5
    with pytest.raises(maitre.MissingColumnError):
        maitre.tune(shop, items=pd.DataFrame({"name": ["x"]}), **args)


def test_tune_cancels_and_refuses_bad_budgets(shop):
    with pytest.raises(maitre.CancelledError):
        maitre.tune(shop, max_trials=3, positive_kinds=["purchase"], progress=lambda p: False)
    for budget in (0, -1.0, float("nan"), float("inf")):
        with pytest.raises(maitre.InvalidParamError):
            maitre.tune(shop, budget=budget, positive_kinds=["purchase"])
    with pytest.raises(maitre.InvalidParamError):
        maitre.tune(shop, max_trials=0, positive_kinds=["purchase"])
