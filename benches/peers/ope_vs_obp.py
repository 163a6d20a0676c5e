"""maitre's off-policy estimators against Open Bandit Pipeline's (obp 0.5.7) on the
Open Bandit Dataset sample bundled with obp (see ope_vs_obp.sh and README.md).

The log: ZOZOTOWN's uniform-random policy ("random", campaign "all": 10,000
rounds, 80 items, 3 positions, true propensities). The target: obp's
Bernoulli-TS policy with the ZOZOTOWN prior, as action probabilities per round
and position. Its on-policy value is the mean click of the Bernoulli-TS logs of
the same campaign (obp's `calc_on_policy_policy_value_estimate`).

maitre's `evaluate_policy` receives, for round i, the target's distribution at
the round's own position (`action_dist[i, :, position[i]]`, which is what
obp's estimators read) and the context [user features, position one-hot]. It
runs through `examples/offer_sim.rs ope-arrays` (raw arrays on disk), which also
writes maitre's cross-fitted reward model q-hat. Three comparisons:

1. IPS and SNIPS: no reward model, the same definition: must agree to 1e-6.
2. DM and DR on the same q-hat (maitre's, handed to obp): the estimator
   definitions agree (to 1e-6) apart from the model.
3. Each library with its own reward model (obp: RegressionModel with logistic
   regression on context + item features, per position, 3-fold cross-fitting;
   maitre: ridge per action on [context, position one-hot, 1], 5 folds):
   relative error against the on-policy value.
"""

import argparse
import json
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import obp
import sklearn
from obp.dataset import OpenBanditDataset
from obp.ope import (
    DirectMethod,
    DoublyRobust,
    InverseProbabilityWeighting,
    OffPolicyEvaluation,
    RegressionModel,
    SelfNormalizedInverseProbabilityWeighting,
)
from obp.policy import BernoulliTS
from sklearn.linear_model import LogisticRegression

SEED = 12345
NAMES = {"dm": "dm", "ipw": "ips", "snipw": "snips", "dr": "dr"}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sim", required=True, help="target/release/examples/offer_sim")
    ap.add_argument("--work", required=True)
    ap.add_argument("--results", required=True)
    ap.add_argument("--n-sim", type=int, default=100_000, help="Bernoulli-TS simulations for action_dist")
    args = ap.parse_args()
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    started = time.time()

    ds = OpenBanditDataset(behavior_policy="random", campaign="all")
    fb = ds.obtain_batch_bandit_feedback()
    n, k, positions = fb["n_rounds"], fb["n_actions"], ds.len_list
    truth = float(OpenBanditDataset.calc_on_policy_policy_value_estimate(behavior_policy="bts", campaign="all"))
    bts = BernoulliTS(n_actions=k, len_list=positions, is_zozotown_prior=True, campaign="all", random_state=SEED)
    action_dist = bts.compute_batch_action_dist(n_sim=args.n_sim, n_rounds=n)
    rows = np.arange(n)
    target = action_dist[rows, :, fb["position"]]  # n x k, each row sums to 1

    # maitre's arrays: context = user features + position one-hot.
    pos_onehot = np.eye(positions)[fb["position"]]
    contexts = np.hstack([fb["context"], pos_onehot]).astype("<f4")
    contexts.tofile(work / "contexts.f32")
    fb["action"].astype("<i8").tofile(work / "actions.i64")
    fb["pscore"].astype("<f8").tofile(work / "propensities.f64")
    fb["reward"].astype("<f8").tofile(work / "rewards.f64")
    target.astype("<f8").tofile(work / "target.f64")
    (work / "meta.json").write_text(json.dumps({"n": int(n), "dim": int(contexts.shape[1]), "n_actions": int(k)}))
    out = subprocess.run([args.sim, "ope-arrays", "--dir", str(work)], check=True, capture_output=True, text=True)
    sys.stderr.write(out.stderr)
    maitre = json.loads((work / "maitre.json").read_text())["report"]
    q_maitre = np.fromfile(work / "q_hat.f64", dtype="<f8").reshape(n, k)

    estimators = [DirectMethod(), InverseProbabilityWeighting(), SelfNormalizedInverseProbabilityWeighting(), DoublyRobust()]
    ope = OffPolicyEvaluation(bandit_feedback=fb, ope_estimators=estimators)

    # obp's estimators on maitre's q-hat (only the logged position's slice is read).
    q_same = np.zeros((n, k, positions))
    q_same[rows, :, fb["position"]] = q_maitre
    same = ope.estimate_policy_values(action_dist=action_dist, estimated_rewards_by_reg_model=q_same)

    # obp with its own reward model, as in its examples.
    rm = RegressionModel(
        n_actions=k,
        len_list=positions,
        action_context=ds.action_context,
        base_model=LogisticRegression(max_iter=10_000, C=100, random_state=SEED),
    )
    q_obp = rm.fit_predict(
        context=fb["context"], action=fb["action"], reward=fb["reward"], position=fb["position"],
        pscore=fb["pscore"], n_folds=3, random_state=SEED,
    )
    own = ope.estimate_policy_values(action_dist=action_dist, estimated_rewards_by_reg_model=q_obp)
    intervals = ope.estimate_intervals(
        action_dist=action_dist, estimated_rewards_by_reg_model=q_obp, n_bootstrap_samples=1000, random_state=SEED
    )

    table = []
    for obp_name, m_name in NAMES.items():
        mv = maitre[m_name]["value"]
        row = {
            "estimator": m_name,
            "maitre": mv,
            "maitre_interval": [maitre[m_name]["low"], maitre[m_name]["high"]],
            "obp": float(own[obp_name]),
            "obp_interval": [float(intervals[obp_name]["95.0% CI (lower)"]), float(intervals[obp_name]["95.0% CI (upper)"])],
            "obp_on_maitre_q": float(same[obp_name]),
            "abs_diff_same_q": abs(mv - float(same[obp_name])),
            "maitre_rel_error": (mv - truth) / truth,
            "obp_rel_error": (float(own[obp_name]) - truth) / truth,
        }
        table.append(row)
    agree = all(r["abs_diff_same_q"] <= 1e-6 for r in table)
    result = {
        "data": "Open Bandit Dataset sample bundled with obp: behavior_policy=random, campaign=all",
        "rounds": int(n), "actions": int(k), "positions": int(positions),
        "clicks_in_log": int(fb["reward"].sum()),
        "target": f"BernoulliTS(is_zozotown_prior=True, campaign='all', random_state={SEED}), n_sim={args.n_sim}",
        "on_policy_value": truth,
        "estimates": table,
        "all_agree_to_1e-6_on_same_q": agree,
        "maitre_params": json.loads((work / "maitre.json").read_text())["params"],
        "maitre_seconds": json.loads((work / "maitre.json").read_text())["seconds"],
        "obp_reward_model": "RegressionModel(LogisticRegression(C=100), action_context, per position), fit_predict n_folds=3",
        "maitre_reward_model": "ridge 1 per action on [20 user features, 3 position one-hot, 1], 5 folds (fold_seed 1)",
        "versions": {"obp": obp.__version__, "numpy": np.__version__, "sklearn": sklearn.__version__, "python": platform.python_version()},
        "seconds": time.time() - started,
    }
    Path(args.results, "ope_vs_obp.json").write_text(json.dumps(result, indent=1))

    print(f"on-policy value of Bernoulli-TS: {truth:.6f} ({int(fb['reward'].sum())} clicks logged by random in {n} rounds)")
    print()
    print("| estimator | maitre | obp | obp on maitre's q̂ | abs diff | maitre rel. error | obp rel. error |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for r in table:
        print(f"| {r['estimator'].upper()} | {r['maitre']:.6f} [{r['maitre_interval'][0]:.6f}, {r['maitre_interval'][1]:.6f}] "
              f"| {r['obp']:.6f} [{r['obp_interval'][0]:.6f}, {r['obp_interval'][1]:.6f}] | {r['obp_on_maitre_q']:.6f} "
              f"| {r['abs_diff_same_q']:.1e} | {100 * r['maitre_rel_error']:+.1f} % | {100 * r['obp_rel_error']:+.1f} % |")
    print(f"same definitions (IPS, SNIPS; DM, DR on the same q̂) agree to 1e-6: {agree}")
    if not agree:
        sys.exit(1)


if __name__ == "__main__":
    main()
