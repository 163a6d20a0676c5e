//! Next best offer on the simulator: maitre's bandit against the oracle and
//! uniform random, the round streams a peer (Vowpal Wabbit) replays, the
//! reward/regret plot, and off-policy evaluation on arrays (the Open Bandit
//! Pipeline comparison).
//!
//! ```text
//! cargo run --release --example offer_sim -- run [--seeds 1,2,3,4,5] [--rounds 50000]
//!     [--segments 8 --channels 3 --offers 10] [--out target/peers/offers]
//!     [--json benches/peers/results/offer_sim.json] [--svg benches/peers/results/offer_rewards.svg]
//!     [--policy linucb:0.5|thompson:0.5|greedy] [--epsilon 0.02] [--no-rounds]
//! cargo run --release --example offer_sim -- plot --sim SIM.json [--peer VW.json] --svg OUT.svg
//! cargo run --release --example offer_sim -- ope [--seeds 1,2,3,4,5] [--rounds 200000]
//! cargo run --release --example offer_sim -- ope-arrays --dir DIR
//! ```
//!
//! `run`: per seed `s`, the world is `OfferWorld::new(s, segments, channels,
//! offers)` and its visitors are run `s`. maitre's bandit (defaults unless
//! `--policy`/`--epsilon`; seed `s`) learns from 0/1 acceptances and earns the
//! offer's value when accepted; the oracle shows each visitor the offer of
//! highest expected reward; random draws uniformly. All three face the same
//! coin per (round, offer). Unless `--no-rounds`, it writes
//! `OUT/rounds-S.f64` (per round, little-endian `f64`: the context, each
//! offer's value, each offer's uniform; reward = value if uniform <
//! acceptance probability) and `OUT/world-S.json` (sizes, values, the
//! acceptance table), so a peer replays exactly the same rounds. It prints
//! and writes cumulative rewards per policy per seed, and the mean curves as
//! an SVG (cumulative reward and expected regret against the oracle).
//!
//! `plot` redraws the SVG with a peer's curves (`{"name", "seeds": [{"seed",
//! "reward": [...], "regret": [...]}]}` at the same checkpoints).
//!
//! `ope`: per seed, a bandit trained on 50,000 rounds of the world becomes the
//! target policy (its probabilities, fixed); `--rounds` rounds logged by
//! uniform random are evaluated with `evaluate_policy`; the truth is exact
//! (the target depends only on the visitor's cell).
//!
//! `ope-arrays`: reads `DIR/meta.json` (`n`, `dim`, `n_actions`) and
//! `contexts.f32`, `actions.i64`, `propensities.f64`, `rewards.f64`,
//! `target.f64` (raw little-endian), runs `evaluate_policy` with default
//! parameters, writes `DIR/maitre.json` and the cross-fitted reward model
//! `DIR/q_hat.f64` (n × n_actions) so a peer's DM/DR can be checked on the
//! same `q̂`. The last line of stdout is always one JSON object.

use maitre::datasets::OfferWorld;
use maitre::offers::{
    evaluate_policy, reward_model, Bandit, BanditParams, Candidate, Logged, OpeParams, Policy,
};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::fs;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

type Res<T> = Result<T, String>;

/// Curves are kept at this many evenly spaced checkpoints.
const POINTS: usize = 100;

struct Flags(HashMap<String, String>);

impl Flags {
    fn parse(args: &[String], known: &[&str], switches: &[&str]) -> Res<Self> {
        let mut map = HashMap::new();
        let mut it = args.iter();
        while let Some(flag) = it.next() {
            let name = flag
                .strip_prefix("--")
                .ok_or(format!("unexpected argument {flag:?}"))?;
            if switches.contains(&name) {
                map.insert(name.to_string(), "true".to_string());
                continue;
            }
            if !known.contains(&name) {
                return Err(format!("unknown flag {flag:?}; expected one of {known:?}"));
            }
            let value = it.next().ok_or(format!("{flag} needs a value"))?;
            map.insert(name.to_string(), value.clone());
        }
        Ok(Flags(map))
    }

    fn get<T: std::str::FromStr>(&self, name: &str, default: T) -> Res<T>
    where
        T::Err: std::fmt::Display,
    {
        match self.0.get(name) {
            None => Ok(default),
            Some(v) => v.parse().map_err(|e| format!("--{name} {v:?}: {e}")),
        }
    }

    fn str(&self, name: &str, default: &str) -> String {
        self.0
            .get(name)
            .cloned()
            .unwrap_or_else(|| default.to_string())
    }

    fn has(&self, name: &str) -> bool {
        self.0.contains_key(name)
    }

    fn seeds(&self, default: &str) -> Res<Vec<u64>> {
        self.str("seeds", default)
            .split(',')
            .map(|s| s.trim().parse().map_err(|e| format!("--seeds {s:?}: {e}")))
            .collect()
    }
}

fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

fn params_from(flags: &Flags, seed: u64) -> Res<BanditParams> {
    let mut p = BanditParams::default().seed(seed).keep_log(false);
    if let Some(spec) = flags.0.get("policy") {
        let (name, arg) = spec.split_once(':').unwrap_or((spec.as_str(), ""));
        let num = || -> Res<f64> { arg.parse().map_err(|e| format!("--policy {spec:?}: {e}")) };
        p = p.policy(match name {
            "linucb" => Policy::LinUcb { alpha: num()? },
            "thompson" => Policy::Thompson { scale: num()? },
            "greedy" => Policy::EpsilonGreedy,
            _ => return Err(format!("--policy {spec:?}: linucb:A, thompson:S or greedy")),
        });
        // One draw: propensities do not change what Thompson sampling chooses.
        p = p.propensity_draws(1);
    }
    if flags.has("epsilon") {
        p = p.epsilon(flags.get("epsilon", 0.0)?);
    }
    p.validate().map_err(err)?;
    Ok(p)
}

/// Cumulative realised reward and expected regret of one policy, at checkpoints.
#[derive(Default)]
struct Curve {
    reward: f64,
    regret: f64,
    rewards: Vec<f64>,
    regrets: Vec<f64>,
}

impl Curve {
    fn step(&mut self, earned: f64, regret: f64, checkpoint: bool) {
        self.reward += earned;
        self.regret += regret;
        if checkpoint {
            self.rewards.push(self.reward);
            self.regrets.push(self.regret);
        }
    }

    fn json(&self) -> Value {
        json!({"total": self.reward, "regret": self.regret, "reward": self.rewards, "regret_curve": self.regrets})
    }
}

fn checkpoints(rounds: u64) -> Vec<u64> {
    (1..=POINTS as u64)
        .map(|i| i * rounds / POINTS as u64)
        .collect()
}

fn run(flags: &Flags) -> Res<Value> {
    let seeds = flags.seeds("1,2,3,4,5")?;
    let rounds: u64 = flags.get("rounds", 50_000)?;
    let (segments, channels, offers): (usize, usize, usize) = (
        flags.get("segments", 8)?,
        flags.get("channels", 3)?,
        flags.get("offers", 10)?,
    );
    if rounds < POINTS as u64 {
        return Err(format!("--rounds must be at least {POINTS}"));
    }
    let out = PathBuf::from(flags.str("out", "target/peers/offers"));
    let write_rounds = !flags.has("no-rounds");
    if write_rounds {
        fs::create_dir_all(&out).map_err(err)?;
    }
    let marks = checkpoints(rounds);
    let mut per_seed = Vec::new();
    for &seed in &seeds {
        let world = OfferWorld::new(seed, segments, channels, offers).map_err(err)?;
        let run = seed;
        let k = world.offers();
        let values: Vec<f64> = (0..k)
            .map(|a| world.value(a))
            .collect::<Result<_, _>>()
            .map_err(err)?;
        let cands: Vec<Candidate> = values
            .iter()
            .enumerate()
            .map(|(a, &v)| Candidate::new(format!("offer-{a}"), v))
            .collect();
        let params = params_from(flags, seed)?;
        let bandit = Bandit::new(world.dim(), params.clone()).map_err(err)?;
        let mut random = ChaCha8Rng::seed_from_u64(seed ^ 0x005E_ED0F_2A4D_0AA1);
        let (mut maitre, mut oracle, mut uniform) =
            (Curve::default(), Curve::default(), Curve::default());
        let mut file = if write_rounds {
            let f = fs::File::create(out.join(format!("rounds-{seed}.f64"))).map_err(err)?;
            Some(BufWriter::new(f))
        } else {
            None
        };
        let mut mark = 0;
        let mut bandit_secs = 0.0;
        for t in 0..rounds {
            let (s, c) = world.visitor(run, t);
            let ctx = world.context(s, c).map_err(err)?;
            let coins: Vec<f64> = (0..k)
                .map(|a| world.coin(run, t, a))
                .collect::<Result<_, _>>()
                .map_err(err)?;
            let p: Vec<f64> = (0..k)
                .map(|a| world.accept_probability(s, c, a))
                .collect::<Result<_, _>>()
                .map_err(err)?;
            if let Some(f) = file.as_mut() {
                for v in ctx
                    .iter()
                    .map(|&x| f64::from(x))
                    .chain(values.iter().copied())
                    .chain(coins.iter().copied())
                {
                    f.write_all(&v.to_le_bytes()).map_err(err)?;
                }
            }
            let expected = |a: usize| p[a] * values[a];
            let earned = |a: usize| if coins[a] < p[a] { values[a] } else { 0.0 };
            let best = world.best(s, c).map_err(err)?;
            let checkpoint = t + 1 == marks[mark];
            if checkpoint {
                mark += 1;
            }
            oracle.step(earned(best), 0.0, checkpoint);
            let a = random.random_range(0..k);
            uniform.step(earned(a), expected(best) - expected(a), checkpoint);
            let started = Instant::now();
            let r = bandit.rank(&ctx, &cands, 1, t as i64).map_err(err)?;
            let a = r.chosen[0].candidate;
            let accepted = coins[a] < p[a];
            bandit
                .reward(
                    r.chosen[0].event_id,
                    f64::from(u8::from(accepted)),
                    t as i64,
                )
                .map_err(err)?;
            bandit_secs += started.elapsed().as_secs_f64();
            maitre.step(earned(a), expected(best) - expected(a), checkpoint);
        }
        if let Some(mut f) = file {
            f.flush().map_err(err)?;
            let accept: Vec<f64> = (0..segments)
                .flat_map(|s| (0..channels).map(move |c| (s, c)))
                .flat_map(|(s, c)| (0..k).map(move |a| (s, c, a)))
                .map(|(s, c, a)| world.accept_probability(s, c, a))
                .collect::<Result<_, _>>()
                .map_err(err)?;
            let meta = json!({
                "seed": seed, "rounds": rounds, "dim": world.dim(), "offers": k,
                "segments": segments, "channels": channels, "values": values,
                "accept": accept,
                "layout": "per round, little-endian f64: context[dim], value[offers], uniform[offers]; \
                           accept is row-major [segment * channels + channel][offer], and the context is the one-hot of that cell",
            });
            fs::write(out.join(format!("world-{seed}.json")), meta.to_string()).map_err(err)?;
        }
        eprintln!(
            "seed {seed}: maitre {:.0}, oracle {:.0}, random {:.0} → {:.3} of the oracle, {:.2}× random ({:.1} µs per rank+reward)",
            maitre.reward,
            oracle.reward,
            uniform.reward,
            maitre.reward / oracle.reward,
            maitre.reward / uniform.reward,
            bandit_secs / rounds as f64 * 1e6
        );
        per_seed.push(json!({
            "seed": seed,
            "maitre": maitre.json(),
            "oracle": oracle.json(),
            "random": uniform.json(),
            "maitre_over_oracle": maitre.reward / oracle.reward,
            "maitre_over_random": maitre.reward / uniform.reward,
            "maitre_us_per_round": bandit_secs / rounds as f64 * 1e6,
        }));
    }
    let ratio = |key: &str| -> Vec<f64> {
        per_seed
            .iter()
            .map(|s| s[key].as_f64().unwrap_or(f64::NAN))
            .collect()
    };
    let (mo, mr) = (ratio("maitre_over_oracle"), ratio("maitre_over_random"));
    let summary = json!({
        "command": "offer_sim run",
        "rounds": rounds, "segments": segments, "channels": channels, "offers": offers,
        "seeds": seeds,
        "checkpoints": marks,
        "params": format!("{:?}", params_from(flags, 0)?),
        "maitre_over_oracle": {"mean": mean(&mo), "sd": sd(&mo)},
        "maitre_over_random": {"mean": mean(&mr), "sd": sd(&mr)},
        "per_seed": per_seed,
    });
    if let Some(path) = flags.0.get("json") {
        fs::write(path, serde_json::to_string_pretty(&summary).map_err(err)?).map_err(err)?;
    }
    if let Some(path) = flags.0.get("svg") {
        fs::write(path, svg(&summary, None)?).map_err(err)?;
    }
    Ok(json!({
        "maitre_over_oracle": summary["maitre_over_oracle"],
        "maitre_over_random": summary["maitre_over_random"],
        "totals": summary["per_seed"].as_array().map(|v| v.iter().map(|s| json!({
            "seed": s["seed"], "maitre": s["maitre"]["total"], "oracle": s["oracle"]["total"], "random": s["random"]["total"],
        })).collect::<Vec<_>>()),
    }))
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len() as f64
}

/// Sample standard deviation (0 for one value).
fn sd(v: &[f64]) -> f64 {
    if v.len() < 2 {
        return 0.0;
    }
    let m = mean(v);
    (v.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (v.len() - 1) as f64).sqrt()
}

fn read_json(path: &Path) -> Res<Value> {
    let text = fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .map(|a| a.iter().filter_map(Value::as_f64).collect())
        .unwrap_or_default()
}

/// The mean over seeds of a curve, element-wise.
fn mean_curve(curves: &[Vec<f64>]) -> Vec<f64> {
    let n = curves.iter().map(Vec::len).min().unwrap_or(0);
    (0..n)
        .map(|i| curves.iter().map(|c| c[i]).sum::<f64>() / curves.len() as f64)
        .collect()
}

struct Series {
    name: String,
    colour: &'static str,
    dashed: bool,
    reward: Vec<f64>,
    regret: Option<Vec<f64>>,
}

/// Two panels (cumulative reward; cumulative expected regret against the
/// oracle), mean over seeds, written by hand: no plotting dependency.
fn svg(sim: &Value, peer: Option<&Value>) -> Res<String> {
    let seeds = sim["per_seed"]
        .as_array()
        .ok_or("sim JSON has no per_seed")?;
    let x = floats(&sim["checkpoints"]);
    let pick = |name: &str, what: &str| -> Vec<f64> {
        mean_curve(
            &seeds
                .iter()
                .map(|s| floats(&s[name][what]))
                .collect::<Vec<_>>(),
        )
    };
    let mut series = vec![
        Series {
            name: "oracle".into(),
            colour: "#222222",
            dashed: true,
            reward: pick("oracle", "reward"),
            regret: None,
        },
        Series {
            name: "maitre (defaults)".into(),
            colour: "#1f6feb",
            dashed: false,
            reward: pick("maitre", "reward"),
            regret: Some(pick("maitre", "regret_curve")),
        },
    ];
    if let Some(peer) = peer {
        let ps = peer["seeds"].as_array().ok_or("peer JSON has no seeds")?;
        series.push(Series {
            name: peer["name"].as_str().unwrap_or("peer").to_string(),
            colour: "#d9480f",
            dashed: false,
            reward: mean_curve(&ps.iter().map(|s| floats(&s["reward"])).collect::<Vec<_>>()),
            regret: Some(mean_curve(
                &ps.iter().map(|s| floats(&s["regret"])).collect::<Vec<_>>(),
            )),
        });
    }
    // Random's regret would flatten the learners' curves: it is named, not drawn.
    let random_regret = pick("random", "regret_curve")
        .last()
        .copied()
        .unwrap_or(0.0);
    series.push(Series {
        name: "uniform random".into(),
        colour: "#8c8c8c",
        dashed: false,
        reward: pick("random", "reward"),
        regret: None,
    });
    let (w, h) = (960.0, 420.0);
    let mut out = String::new();
    out.push_str(&format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
    ));
    let n_seeds = seeds.len();
    let rounds = x.last().copied().unwrap_or(1.0);
    out.push_str(&format!(
        "<text x=\"{}\" y=\"22\" text-anchor=\"middle\" font-size=\"15\">Next best offer on the simulator: mean of {n_seeds} seeds, {} rounds</text>\n",
        w / 2.0, rounds as u64
    ));
    let panels: [(&str, f64, bool); 2] = [
        ("cumulative reward", 0.0, false),
        ("cumulative regret (expected, vs oracle)", w / 2.0, true),
    ];
    for (title, left, regret) in panels {
        let (px, py, pw, ph) = (left + 70.0, 50.0, w / 2.0 - 100.0, h - 130.0);
        let ys: Vec<&Vec<f64>> = series
            .iter()
            .filter_map(|s| {
                if regret {
                    s.regret.as_ref()
                } else {
                    Some(&s.reward)
                }
            })
            .collect();
        let ymax = ys
            .iter()
            .flat_map(|v| v.iter())
            .copied()
            .fold(0.0, f64::max)
            .max(1.0);
        let ymax = nice(ymax);
        let sx = |v: f64| px + v / rounds * pw;
        let sy = |v: f64| py + ph - v / ymax * ph;
        out.push_str(&format!(
            "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" font-size=\"13\">{title}</text>\n",
            px + pw / 2.0,
            py - 8.0
        ));
        out.push_str(&format!("<rect x=\"{px}\" y=\"{py}\" width=\"{pw}\" height=\"{ph}\" fill=\"none\" stroke=\"#999\"/>\n"));
        for i in 0..=5 {
            let v = ymax * f64::from(i) / 5.0;
            let y = sy(v);
            out.push_str(&format!(
                "<line x1=\"{px}\" y1=\"{y:.1}\" x2=\"{}\" y2=\"{y:.1}\" stroke=\"#eee\"/>\n",
                px + pw
            ));
            out.push_str(&format!(
                "<text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>\n",
                px - 6.0,
                y + 4.0,
                thousands(v)
            ));
            let r = rounds * f64::from(i) / 5.0;
            out.push_str(&format!(
                "<text x=\"{:.1}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n",
                sx(r),
                py + ph + 16.0,
                thousands(r)
            ));
        }
        out.push_str(&format!(
            "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">round</text>\n",
            px + pw / 2.0,
            py + ph + 34.0
        ));
        if regret {
            out.push_str(&format!(
                "<text x=\"{}\" y=\"{}\" fill=\"#8c8c8c\">uniform random: {} (off the scale)</text>\n",
                px + 10.0,
                py + 18.0,
                thousands(random_regret)
            ));
        }
        for s in &series {
            let ys = if regret {
                match &s.regret {
                    Some(r) => r,
                    None => continue,
                }
            } else {
                &s.reward
            };
            let pts: Vec<String> = std::iter::once((0.0, 0.0))
                .chain(x.iter().copied().zip(ys.iter().copied()))
                .map(|(a, b)| format!("{:.1},{:.1}", sx(a), sy(b)))
                .collect();
            out.push_str(&format!(
                "<polyline fill=\"none\" stroke=\"{}\" stroke-width=\"2\"{} points=\"{}\"/>\n",
                s.colour,
                if s.dashed {
                    " stroke-dasharray=\"6 4\""
                } else {
                    ""
                },
                pts.join(" ")
            ));
        }
    }
    let mut lx = 70.0;
    for s in &series {
        let y = h - 28.0;
        out.push_str(&format!(
            "<line x1=\"{lx}\" y1=\"{y}\" x2=\"{}\" y2=\"{y}\" stroke=\"{}\" stroke-width=\"3\"{}/><text x=\"{}\" y=\"{}\">{}</text>\n",
            lx + 24.0, s.colour, if s.dashed { " stroke-dasharray=\"6 4\"" } else { "" }, lx + 30.0, y + 4.0, xml(&s.name)
        ));
        lx += 40.0 + 7.0 * s.name.len() as f64;
    }
    out.push_str("</svg>\n");
    Ok(out)
}

/// The smallest of 1, 1.5, 2, 2.5, 3, 4, 5, 6, 8 × 10^k at or above `v`.
fn nice(v: f64) -> f64 {
    let p = 10f64.powf(v.log10().floor());
    [1.0, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0]
        .iter()
        .map(|m| m * p)
        .find(|&c| c >= v)
        .unwrap_or(10.0 * p)
}

fn thousands(v: f64) -> String {
    if v >= 1000.0 {
        format!("{}k", (v / 1000.0 * 10.0).round() / 10.0)
    } else {
        format!("{}", (v * 10.0).round() / 10.0)
    }
}

fn xml(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn plot(flags: &Flags) -> Res<Value> {
    let sim = read_json(Path::new(
        &flags.str("sim", "benches/peers/results/offer_sim.json"),
    ))?;
    let peer = match flags.0.get("peer") {
        Some(p) => Some(read_json(Path::new(p))?),
        None => None,
    };
    let path = flags.str("svg", "benches/peers/results/offer_rewards.svg");
    fs::write(&path, svg(&sim, peer.as_ref())?).map_err(err)?;
    Ok(json!({"svg": path}))
}

/// Off-policy evaluation on the simulator against the exact truth.
fn ope(flags: &Flags) -> Res<Value> {
    let seeds = flags.seeds("1,2,3,4,5")?;
    let n: usize = flags.get("rounds", 200_000)?;
    let train: u64 = flags.get("train", 50_000)?;
    let (segments, channels, offers): (usize, usize, usize) = (
        flags.get("segments", 8)?,
        flags.get("channels", 3)?,
        flags.get("offers", 10)?,
    );
    let mut rows = Vec::new();
    for &seed in &seeds {
        let world = OfferWorld::new(seed, segments, channels, offers).map_err(err)?;
        let k = world.offers();
        let cands: Vec<Candidate> = (0..k)
            .map(|a| Ok(Candidate::new(format!("offer-{a}"), world.value(a)?)))
            .collect::<Result<_, maitre::Error>>()
            .map_err(err)?;
        // The target: maitre's bandit after `train` rounds of another run.
        let bandit = Bandit::new(
            world.dim(),
            BanditParams::default().seed(seed).keep_log(false),
        )
        .map_err(err)?;
        let run = 1_000 + seed;
        for t in 0..train {
            let (s, c) = world.visitor(run, t);
            let r = bandit
                .rank(&world.context(s, c).map_err(err)?, &cands, 1, t as i64)
                .map_err(err)?;
            let a = r.chosen[0].candidate;
            let ok = world.accepts(run, t, s, c, a).map_err(err)?;
            bandit
                .reward(r.chosen[0].event_id, f64::from(u8::from(ok)), t as i64)
                .map_err(err)?;
        }
        let cells = segments * channels;
        let mut pi = Vec::with_capacity(cells);
        let mut truth = 0.0;
        for s in 0..segments {
            for c in 0..channels {
                let p = bandit
                    .probabilities(&world.context(s, c).map_err(err)?, &cands)
                    .map_err(err)?;
                truth += p
                    .iter()
                    .enumerate()
                    .map(|(a, q)| q * world.expected(s, c, a).unwrap_or(0.0))
                    .sum::<f64>()
                    / cells as f64;
                pi.push(p);
            }
        }
        // Logged by uniform random, with its own stream.
        let mut logger = ChaCha8Rng::seed_from_u64(seed.wrapping_mul(31) ^ 0xA11CE);
        let log_run = 2_000 + seed;
        let (mut contexts, mut actions, mut rewards, mut target) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for t in 0..n as u64 {
            let (s, c) = world.visitor(log_run, t);
            let a = logger.random_range(0..k);
            contexts.extend(world.context(s, c).map_err(err)?);
            actions.push(a);
            rewards.push(if world.accepts(log_run, t, s, c, a).map_err(err)? {
                world.value(a).map_err(err)?
            } else {
                0.0
            });
            target.extend_from_slice(&pi[s * channels + c]);
        }
        let logged = Logged {
            contexts: &contexts,
            dim: world.dim(),
            actions: &actions,
            propensities: &vec![1.0 / k as f64; n],
            rewards: &rewards,
            n_actions: k,
        };
        let r = evaluate_policy(&logged, &target, &OpeParams::default()).map_err(err)?;
        let logging: f64 = rewards.iter().sum::<f64>() / n as f64;
        let rel = |v: f64| (v - truth) / truth;
        eprintln!(
            "seed {seed}: truth {truth:.4} (uniform logging earned {logging:.4}); DM {:.4} ({:+.1} %), IPS {:.4} ({:+.1} %), SNIPS {:.4} ({:+.1} %), DR {:.4} ({:+.1} %) [{:.4}, {:.4}] {}",
            r.dm.value, 100.0 * rel(r.dm.value), r.ips.value, 100.0 * rel(r.ips.value),
            r.snips.value, 100.0 * rel(r.snips.value), r.dr.value, 100.0 * rel(r.dr.value),
            r.dr.low, r.dr.high,
            if r.dr.low <= truth && truth <= r.dr.high { "covers" } else { "MISSES" }
        );
        rows.push(json!({
            "seed": seed, "truth": truth, "logging_value": logging,
            "report": r,
            "dr_relative_error": rel(r.dr.value),
            "dr_covers": r.dr.low <= truth && truth <= r.dr.high,
        }));
    }
    let worst = rows
        .iter()
        .map(|r| r["dr_relative_error"].as_f64().unwrap_or(f64::NAN).abs())
        .fold(0.0, f64::max);
    let covered = rows
        .iter()
        .filter(|r| r["dr_covers"].as_bool() == Some(true))
        .count();
    let summary = json!({
        "command": "offer_sim ope", "rounds": n, "train_rounds": train,
        "segments": segments, "channels": channels, "offers": offers,
        "worst_dr_relative_error": worst, "dr_intervals_covering": covered, "seeds": rows,
    });
    if let Some(path) = flags.0.get("json") {
        fs::write(path, serde_json::to_string_pretty(&summary).map_err(err)?).map_err(err)?;
    }
    Ok(
        json!({"worst_dr_relative_error": worst, "dr_intervals_covering": covered, "of": seeds.len()}),
    )
}

fn read_raw<const B: usize>(path: &Path, count: usize) -> Res<Vec<[u8; B]>> {
    let bytes = fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    if bytes.len() != count * B {
        return Err(format!(
            "{}: {} bytes, expected {}",
            path.display(),
            bytes.len(),
            count * B
        ));
    }
    Ok(bytes
        .chunks_exact(B)
        .map(|c| c.try_into().expect("chunk of B"))
        .collect())
}

/// `evaluate_policy` on arrays a peer script wrote.
fn ope_arrays(flags: &Flags) -> Res<Value> {
    let dir = PathBuf::from(flags.str("dir", "target/peers/obp"));
    let meta = read_json(&dir.join("meta.json"))?;
    let field = |k: &str| {
        meta[k]
            .as_u64()
            .map(|v| v as usize)
            .ok_or(format!("meta.json: {k}"))
    };
    let (n, dim, k) = (field("n")?, field("dim")?, field("n_actions")?);
    let contexts: Vec<f32> = read_raw::<4>(&dir.join("contexts.f32"), n * dim)?
        .into_iter()
        .map(f32::from_le_bytes)
        .collect();
    let actions: Vec<usize> = read_raw::<8>(&dir.join("actions.i64"), n)?
        .into_iter()
        .map(|b| usize::try_from(i64::from_le_bytes(b)).map_err(|e| format!("action: {e}")))
        .collect::<Res<_>>()?;
    let f64s = |name: &str, count: usize| -> Res<Vec<f64>> {
        Ok(read_raw::<8>(&dir.join(name), count)?
            .into_iter()
            .map(f64::from_le_bytes)
            .collect())
    };
    let propensities = f64s("propensities.f64", n)?;
    let rewards = f64s("rewards.f64", n)?;
    let target = f64s("target.f64", n * k)?;
    let logged = Logged {
        contexts: &contexts,
        dim,
        actions: &actions,
        propensities: &propensities,
        rewards: &rewards,
        n_actions: k,
    };
    let params = OpeParams::default();
    let started = Instant::now();
    let report = evaluate_policy(&logged, &target, &params).map_err(err)?;
    let secs = started.elapsed().as_secs_f64();
    let q = reward_model(&logged, &params).map_err(err)?;
    let mut f = BufWriter::new(fs::File::create(dir.join("q_hat.f64")).map_err(err)?);
    for v in &q {
        f.write_all(&v.to_le_bytes()).map_err(err)?;
    }
    f.flush().map_err(err)?;
    let out = json!({"report": report, "params": params, "seconds": secs});
    fs::write(
        dir.join("maitre.json"),
        serde_json::to_string_pretty(&out).map_err(err)?,
    )
    .map_err(err)?;
    Ok(out)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(cmd) = args.first() else {
        eprintln!("usage: offer_sim run|plot|ope|ope-arrays [--flags]");
        return ExitCode::FAILURE;
    };
    let rest = &args[1..];
    let result = match cmd.as_str() {
        "run" => Flags::parse(
            rest,
            &[
                "seeds", "rounds", "segments", "channels", "offers", "out", "json", "svg",
                "policy", "epsilon",
            ],
            &["no-rounds"],
        )
        .and_then(|f| run(&f)),
        "plot" => Flags::parse(rest, &["sim", "peer", "svg"], &[]).and_then(|f| plot(&f)),
        "ope" => Flags::parse(
            rest,
            &[
                "seeds", "rounds", "train", "segments", "channels", "offers", "json",
            ],
            &[],
        )
        .and_then(|f| ope(&f)),
        "ope-arrays" => Flags::parse(rest, &["dir"], &[]).and_then(|f| ope_arrays(&f)),
        other => Err(format!(
            "unknown command {other:?}: run, plot, ope or ope-arrays"
        )),
    };
    match result {
        Ok(v) => {
            println!("{v}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("offer_sim: {e}");
            println!("{}", json!({ "error": e }));
            ExitCode::FAILURE
        }
    }
}
