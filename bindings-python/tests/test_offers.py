"""NextBestOffer and evaluate_policy from Python: learning, the contact policy,
bad input as typed exceptions with the state unchanged, pickling, OPE by hand."""

import json
import math
import pickle
import threading

import numpy as np
import pandas as pd
import pytest

import maitre

# A small OfferWorld-like simulator: 4 segments, 6 offers; each segment's
# acceptance probabilities are known, and the best offer differs by segment.
SEGMENTS = 4
VALUES = np.array([1.0, 2.0, 1.5, 1.0, 3.0, 0.5])
ACCEPT = np.array(
    [
        [0.30, 0.05, 0.05, 0.10, 0.02, 0.20],
        [0.05, 0.25, 0.05, 0.05, 0.02, 0.20],
        [0.05, 0.05, 0.40, 0.05, 0.02, 0.20],
        [0.05, 0.05, 0.05, 0.05, 0.20, 0.20],
    ]
)
DAY = 86_400
NOW = 1_800_000_000


def offers_frame():
    return pd.DataFrame({"id": [f"o{k}" for k in range(len(VALUES))], "kind": "offer", "value": VALUES})


def context(segment):
    v = np.zeros(SEGMENTS, dtype=np.float32)
    v[segment] = 1.0
    return v


def simulate(nbo, rounds, seed, policy=None):
    """Total realised value of `rounds` visitors; `policy` (None: the engine)
    picks an offer index for a segment instead of the engine."""
    rng = np.random.default_rng(seed)
    total = 0.0
    for t in range(rounds):
        s = int(rng.integers(SEGMENTS))
        coin = rng.random()
        if policy is None:
            d = nbo.decide(f"c{t}", context(s), now=NOW + t)
            k = int(d.chosen[0].offer[1:])
        else:
            k = policy(s, rng)
        accepted = coin < ACCEPT[s, k]
        if policy is None:
            nbo.reward(d.chosen[0].event_id, float(accepted), now=NOW + t)
        total += VALUES[k] * accepted
    return total


def test_the_learnt_policy_beats_uniform_random():
    learnt, uniform = [], []
    for seed in range(3):
        nbo = maitre.NextBestOffer(offers_frame(), dim=SEGMENTS, bandit={"seed": seed})
        learnt.append(simulate(nbo, 3000, seed))
        uniform.append(simulate(None, 3000, seed, policy=lambda s, rng: int(rng.integers(len(VALUES)))))
    expected_uniform = float(np.mean((ACCEPT * VALUES).mean(axis=1))) * 3000
    expected_oracle = float(np.mean((ACCEPT * VALUES).max(axis=1))) * 3000
    assert np.mean(learnt) > 1.5 * np.mean(uniform), (learnt, uniform)
    assert np.mean(learnt) > 0.8 * expected_oracle, (learnt, expected_oracle, expected_uniform)


def returned(customer="ann"):
    return [{"kind": "return", "category": "shoes", "timestamp": NOW - 3_600}]


def shop(**bandit):
    return maitre.NextBestOffer(
        [
            {"id": "10-off", "value": 5.0, "cap": {"max": 2, "window_secs": DAY}, "cooldown_secs": 3_600},
            {"id": "bundle", "value": 8.0, "budget": 1},
            {"id": "return-help", "kind": "service", "value": 1.0,
             "eligibility": {"state": [{"kind": "return", "within_secs": 30 * DAY, "present": True}]}},
            {"id": "call-back", "kind": "service", "value": 0.5},
        ],
        dim=2,
        bandit={"seed": 3, **bandit},
    )


def test_service_comes_first_after_a_return_and_the_rule_is_named():
    nbo = shop()
    d = nbo.decide("ann", [0.1, 0.2], now=NOW, slots=2, events=returned())
    assert [c.kind for c in d.chosen] == ["service", "service"]
    assert d.fired == ["no-sales-after-return-or-complaint", "service-first-after-return-or-complaint"]
    assert d.excluded["10-off"] == ("contact_policy", "no-sales-after-return-or-complaint")
    assert "service-first-after-return-or-complaint" in d.chosen[0].why
    # Two weeks later sales offers are back, after the service actions (still
    # in the 30-day "service first" window).
    later = nbo.decide("ann", [0.1, 0.2], now=NOW + 15 * DAY, slots=3, events=returned())
    assert [c.kind for c in later.chosen] == ["service", "service", "offer"]
    assert later.fired == ["service-first-after-return-or-complaint"]
    happy = nbo.decide("bob", [0.3, 0.0], now=NOW, events=[{"kind": "purchase", "timestamp": NOW - 60}])
    assert happy.fired == [] and happy.chosen[0].kind == "offer"
    assert "estimated reward" in happy.chosen[0].why


def test_recent_events_come_from_an_event_log_too():
    log = maitre.EventLog()
    log.extend({"customer_id": ["ann", "bob"], "item_id": ["shoe", "shoe"], "kind": ["return", "purchase"],
                "timestamp": [NOW - 3_600, NOW - 3_600]})
    nbo = shop()
    assert nbo.decide("ann", [0.1, 0.2], now=NOW, log=log).chosen[0].kind == "service"
    assert nbo.decide("bob", [0.1, 0.2], now=NOW, log=log).chosen[0].kind == "offer"
    # A custom policy: after a view, content and service first.
    custom = maitre.NextBestOffer(
        [{"id": "a", "value": 9.0}, {"id": "s", "kind": "service", "value": 0.1}],
        dim=0,
        policy=[{"name": "help-browsers", "after": ["view"], "within_secs": 600, "do": "first", "kinds": ["service"]}],
    )
    d = custom.decide("c", now=NOW, events=pd.DataFrame({"kind": ["view"], "timestamp": [NOW - 10]}))
    assert d.offer == "s" and d.fired == ["help-browsers"]


def test_caps_budgets_and_cool_downs_hold():
    nbo = shop(epsilon=0.0)
    seen = []
    for t in range(6):
        d = nbo.decide("cat", [0.0, 0.0], now=NOW + t, slots=4)
        seen.append([c.offer for c in d.chosen])
        for c in d.chosen:
            nbo.reward(c.event_id, 1.0 if c.offer == "bundle" else 0.0, now=NOW + t)
    flat = [o for s in seen for o in s]
    assert flat.count("10-off") == 1  # declined: 1 h cool-down
    assert flat.count("bundle") == 1  # budget of one acceptance
    assert "return-help" not in flat  # no return, not eligible
    d = nbo.decide("cat", [0.0, 0.0], now=NOW + 10, slots=4)
    assert d.excluded["10-off"][0] == "cool_down" and d.excluded["bundle"][0] == "budget_spent"


def state(nbo):
    return nbo.to_bytes()


def decided(**bandit):
    nbo = shop(reward_window_secs=600, **bandit)
    d = nbo.decide("bob", [0.3, 0.1], now=NOW, slots=2)
    nbo.reward(d.chosen[1].event_id, 0.0, now=NOW + 1)
    return nbo, d.chosen[0].event_id


@pytest.mark.parametrize(
    "call, error",
    [
        (lambda nbo, e: nbo.reward(e + 1000, 1.0, now=NOW + 5), maitre.UnknownIdError),
        (lambda nbo, e: nbo.reward(e, math.nan, now=NOW + 5), maitre.InvalidParamError),
        (lambda nbo, e: nbo.reward(e, math.inf, now=NOW + 5), maitre.InvalidParamError),
        (lambda nbo, e: nbo.reward(e, 1.0, now=NOW + 600), maitre.InvalidParamError),  # past the window
        (lambda nbo, e: nbo.reward(e, 1.0, now=NOW - 1), maitre.InvalidParamError),  # before the decision
        (lambda nbo, e: nbo.reward(e, "yes", now=NOW + 5), maitre.InvalidParamError),
        (lambda nbo, e: nbo.reward(-1, 1.0, now=NOW + 5), maitre.InvalidParamError),
        (lambda nbo, e: nbo.decide("bob", [0.3], now=NOW), maitre.LengthMismatchError),
        (lambda nbo, e: nbo.decide("bob", [0.3, 0.1, 0.0], now=NOW), maitre.LengthMismatchError),
        (lambda nbo, e: nbo.decide("bob", [math.nan, 0.1], now=NOW), maitre.InvalidParamError),
        (lambda nbo, e: nbo.decide("bob", [1e39, 0.1], now=NOW), maitre.InvalidParamError),  # inf as f32
        (lambda nbo, e: nbo.decide("bob", ["a", "b"], now=NOW), maitre.InvalidParamError),
        (lambda nbo, e: nbo.decide("bob", [0.3, 0.1], now=NOW, slots=-1), maitre.InvalidParamError),
        (lambda nbo, e: nbo.decide("bob", [0.3, 0.1], now=NOW, slots=0), maitre.InvalidParamError),
        (lambda nbo, e: nbo.decide("bob", [0.3, 0.1], now=NOW, slots=10**12), maitre.InvalidParamError),
        (lambda nbo, e: nbo.decide("bob", [0.3, 0.1], now=NOW, slots=2**64), maitre.InvalidParamError),
        (lambda nbo, e: nbo.decide("bob", [0.3, 0.1], now=NOW, slots=1.5), maitre.InvalidParamError),
        (lambda nbo, e: nbo.decide("", [0.3, 0.1], now=NOW), maitre.InvalidParamError),
        (lambda nbo, e: nbo.decide("bob", [0.3, 0.1], now=2**63), maitre.InvalidParamError),
        (lambda nbo, e: nbo.decide("bob", [0.3, 0.1], now=NOW, filters={"categorys": ["x"]}), maitre.InvalidParamError),
        (lambda nbo, e: nbo.decide("bob", [0.3, 0.1], now=NOW, events=[{"kind": "view"}]), maitre.MissingColumnError),
        (lambda nbo, e: nbo.expire(now="soon"), maitre.InvalidParamError),
    ],
)
def test_bad_input_is_a_typed_error_and_changes_nothing(call, error):
    nbo, event = decided()
    before = state(nbo)
    with pytest.raises(error):
        call(nbo, event)
    assert state(nbo) == before
    # The pending decision still takes its reward afterwards.
    assert nbo.reward(event, 1.0, now=NOW + 5)["reward"] == 1.0


def test_nothing_eligible_is_an_empty_decision_not_an_error():
    # The documented outcome for an empty candidate set: nothing chosen, every
    # exclusion named, nothing recorded.
    nbo = maitre.NextBestOffer([{"id": "late", "value": 1.0, "valid_from": 0, "valid_until": 10}], dim=0)
    before = state(nbo)
    d = nbo.decide("c", now=NOW)
    assert d.chosen == [] and d.offer is None and d.excluded == {"late": ("outside_validity", None)}
    assert state(nbo) == before
    assert maitre.NextBestOffer([], dim=0).decide("c", now=0).chosen == []


@pytest.mark.parametrize(
    "offers, policy, bandit, name",
    [
        ([{"id": "a", "value": 1.0}, {"id": "a", "value": 2.0}], None, None, "offers"),
        ([{"id": "a", "value": -1.0}], None, None, 'offer "a": value'),
        ([{"id": "a", "value": math.nan}], None, None, "offers[0]"),  # NaN is a missing value
        ([{"id": "a", "value": 1.0, "cooldown": 5}], None, None, "offers[0].cooldown"),
        ([{"id": "a", "value": 1.0, "kind": "product"}], None, None, 'offer "a": kind'),
        ([{"id": "a", "value": 1.0, "cap": {"max": 0, "window_secs": 5}}], None, None, 'offer "a": cap'),
        ([{"id": "a", "value": 1.0}], [{"name": "x", "after": [], "within_secs": -1, "do": "first", "kinds": ["service"]}], None, 'contact_policy "x".within_secs'),
        ([{"id": "a", "value": 1.0}], [{"name": "x", "after": [], "within_secs": 1, "do": "shout", "kinds": []}], None, "policy.rules[0].action.do"),
        ([{"id": "a", "value": 1.0}], None, {"epsilon": 2.0}, "epsilon"),
        ([{"id": "a", "value": 1.0}], None, {"policy": "greedy"}, "bandit.policy"),
        ([{"id": "a", "value": 1.0}], None, {"alpha": 0.1, "policy": "thompson"}, "bandit.alpha"),
        ([{"id": "a", "value": 1.0}], None, {"ridge": 0.0}, "ridge"),
        ([{"id": "a", "value": 1.0}], None, {"reward_window": 5}, "bandit.reward_window"),
    ],
)
def test_bad_engines_are_refused_with_the_name_at_fault(offers, policy, bandit, name):
    with pytest.raises(maitre.InvalidParamError) as err:
        maitre.NextBestOffer(offers, dim=1, policy=policy, bandit=bandit)
    assert err.value.name == name, err.value


def test_pickle_and_bytes_round_trip_give_identical_decisions_and_learning():
    for bandit in ({"seed": 5}, {"policy": "thompson", "scale": 0.3, "propensity_draws": 8}, {"policy": "epsilon_greedy", "epsilon": 0.2}):
        a = shop(**bandit)
        rng = np.random.default_rng(1)
        for t in range(60):
            d = a.decide(f"c{t % 5}", rng.normal(size=2), now=NOW + t, slots=2)
            if t % 4:
                a.reward(d.chosen[0].event_id, float(rng.random() < 0.3), now=NOW + t)
        b = pickle.loads(pickle.dumps(a))
        assert b.to_bytes() == a.to_bytes()
        assert b.summary() == a.summary()
        pd.testing.assert_frame_equal(b.log().drop(columns="context"), a.log().drop(columns="context"))
        for t in range(60, 120):
            x = rng.normal(size=2)
            da = a.decide(f"c{t % 5}", x, now=NOW + t, slots=2)
            db = b.decide(f"c{t % 5}", x, now=NOW + t, slots=2)
            assert da == db
            if da.chosen:
                r = float(t % 3 == 0)
                assert a.reward(da.chosen[0].event_id, r, now=NOW + t) == b.reward(db.chosen[0].event_id, r, now=NOW + t)
        assert a.to_bytes() == b.to_bytes()


def test_corrupt_bytes_are_an_artifact_error(tmp_path):
    nbo, _ = decided()
    data = nbo.to_bytes()
    for bad in (data[:-1], data[: len(data) // 2], b"", data[:100] + bytes([data[100] ^ 1]) + data[101:]):
        with pytest.raises(maitre.ArtifactError):
            maitre.NextBestOffer.from_bytes(bad)
    nbo.save(tmp_path / "nbo.maitre")
    assert maitre.NextBestOffer.load(tmp_path / "nbo.maitre").to_bytes() == data
    # A recommender's artifact is not an engine.
    log = maitre.synthetic_storefront(seed=1, size="tiny")
    rec = maitre.Recommender.build(log, maitre.ALS(factors=4, iterations=1).fit(log))
    with pytest.raises(maitre.ArtifactError) as err:
        maitre.NextBestOffer.from_bytes(rec.to_bytes())
    assert err.value.problem == "missing_section"


def test_the_log_exports_as_a_frame_and_json_lines(tmp_path):
    nbo, event = decided()
    nbo.reward(event, 1.0, now=NOW + 5)
    frame = nbo.log()
    assert list(frame["position"]) == [0, 1]
    assert list(frame["reward"]) == [1.0, 0.0]
    assert frame["propensity"].between(0, 1).all()
    lines = nbo.log_jsonl().splitlines()
    record = json.loads(lines[0])
    assert record["chosen"][0]["event_id"] == event and record["context"] == pytest.approx([0.3, 0.1])
    nbo.write_jsonl(tmp_path / "log.jsonl")
    assert (tmp_path / "log.jsonl").read_text().splitlines() == lines
    expired = nbo.expire(now=NOW + 10**6)
    assert expired == []  # both settled already


def test_decisions_and_rewards_from_many_threads():
    nbo = maitre.NextBestOffer(offers_frame(), dim=SEGMENTS, bandit={"seed": 2})
    errors = []

    def work(w):
        try:
            for t in range(200):
                d = nbo.decide(f"w{w}", context(t % SEGMENTS), now=NOW + t)
                nbo.reward(d.chosen[0].event_id, float(t % 2), now=NOW + t)
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == [] and not any(t.is_alive() for t in threads)
    assert nbo.summary()["decisions"] == 800 and nbo.summary()["pending"] == 0


def test_evaluate_policy_matches_ips_by_hand():
    actions = np.array([0, 1, 2, 1, 0, 2, 1, 1, 0, 2])
    propensities = np.array([0.5, 0.25, 0.25, 0.25, 0.5, 0.25, 0.25, 0.25, 0.5, 0.25])
    rewards = np.array([1.0, 0.0, 2.0, 1.0, 0.0, 0.5, 1.0, 0.0, 1.0, 3.0])
    target = np.tile([0.2, 0.3, 0.5], (10, 1))
    target[3] = [0.0, 1.0, 0.0]
    contexts = np.arange(20, dtype=np.float32).reshape(10, 2) / 10
    w = target[np.arange(10), actions] / propensities
    frame = maitre.evaluate_policy(contexts, actions, propensities, rewards, target, bootstrap=200, folds=2)
    by = frame.set_index("estimator")
    assert list(frame["estimator"]) == ["dm", "ips", "snips", "dr"]
    assert by.loc["ips", "value"] == pytest.approx(np.mean(w * rewards), abs=1e-12)
    assert by.loc["snips", "value"] == pytest.approx(np.sum(w * rewards) / np.sum(w), abs=1e-12)
    assert (frame["low"] <= frame["value"]).all() and (frame["value"] <= frame["high"]).all()
    assert frame.attrs["rounds"] == 10
    with pytest.raises(maitre.LengthMismatchError):
        maitre.evaluate_policy(contexts, actions[:-1], propensities[:-1], rewards[:-1], target)
    with pytest.raises(maitre.InvalidParamError):
        maitre.evaluate_policy(contexts, -actions, propensities, rewards, target)
    with pytest.raises(maitre.InvalidParamError):
        maitre.evaluate_policy(contexts, actions, propensities * 3, rewards, target)
    with pytest.raises(maitre.InvalidParamError):
        maitre.evaluate_policy(contexts, actions, propensities, rewards, target * 2)
    with pytest.raises(maitre.InvalidParamError):
        maitre.evaluate_policy(contexts, actions.astype(float), propensities, rewards, target)


def test_the_engine_log_feeds_evaluate_policy():
    nbo = maitre.NextBestOffer(offers_frame(), dim=SEGMENTS, bandit={"seed": 4, "epsilon": 0.2})
    simulate(nbo, 2000, 4)
    log = nbo.log()
    contexts = np.stack(log["context"].to_numpy())
    uniform = np.full((len(log), len(VALUES)), 1 / len(VALUES))
    frame = maitre.evaluate_policy(contexts, log["candidate"].to_numpy(), log["propensity"].to_numpy(),
                                   log["reward"].to_numpy(), uniform, bootstrap=200)
    truth = float(ACCEPT.mean())  # uniform's acceptance rate: the reward is 0/1
    dr = frame.set_index("estimator").loc["dr"]
    assert abs(dr["value"] - truth) < 0.03, (dr, truth)


def test_apprentice_mode_follows_the_teacher_then_reports_and_round_trips():
    offers = [{"id": "a", "value": 1.0}, {"id": "b", "value": 5.0}]
    nbo = maitre.NextBestOffer(offers, dim=1, bandit={"apprentice": {"epsilon": 0.0, "window": 2}})
    first = nbo.decide("c1", [0.5], now=100, teacher="a")
    assert first.offer == "a"  # the teacher's, though "b" is worth five times more
    assert first.chosen[0].why == "the teacher's choice (apprentice mode)"
    assert first.chosen[0].propensity == 1.0
    assert nbo.summary()["apprentice"]["lessons"] == 0
    nbo.reward(first.chosen[0].event_id, 1.0, now=110)
    status = nbo.summary()["apprentice"]
    assert status["lessons"] == 1 and not status["graduated"]
    copy = pickle.loads(pickle.dumps(nbo))
    assert copy.summary()["apprentice"] == status
    again = [e.decide("c2", [0.1], now=200, teacher="a") for e in (nbo, copy)]
    assert again[0].chosen == again[1].chosen
    # Without apprentice mode the teacher is ignored and the summary says so.
    plain = maitre.NextBestOffer(offers, dim=1, bandit={"epsilon": 0.0})
    assert plain.decide("c1", [0.5], now=100, teacher="a").offer == "b"
    assert plain.summary()["apprentice"] is None
    assert maitre.NextBestOffer(offers, dim=1, bandit={"apprentice": True}).summary()["bandit"]["apprentice"]["window"] == 1000


def test_bad_apprentice_settings_name_the_field():
    with pytest.raises(maitre.InvalidParamError, match="apprentice.window"):
        maitre.NextBestOffer([{"id": "a", "value": 1.0}], dim=0, bandit={"apprentice": {"window": 0}})
    with pytest.raises(maitre.InvalidParamError, match="apprentice"):
        maitre.NextBestOffer([{"id": "a", "value": 1.0}], dim=0, bandit={"apprentice": {"windw": 5}})
