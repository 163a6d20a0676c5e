//! The core's columnar ingestion alone, without Python or Arrow: the columns
//! `EventLog.from_parquet` hands the core for `bindings-python/bench/ingest_speed.py`'s
//! file (string customer ids "c…" for rows / 30 customers, 50,000 item ids as
//! decimal text, three kinds and a channel as dictionary codes, epoch
//! seconds, values), fed in chunks of 65,536 rows as the binding feeds them.
//!
//! ```text
//! cargo run --release --example ingest_columns -- [ROWS (10000000) [REPEATS (6)]]
//! ```
//!
//! Prints the seconds of each repeat into a fresh log and the best; the
//! columns are built before timing starts.

use maitre::events::{
    Columns, EventLog, IngestOptions, Schema, TextColumn, TimeColumn, ValueColumn,
};
use std::time::Instant;

const CHUNK: usize = 65_536;

/// One chunk's columns, owned.
struct Chunk {
    customer: (Vec<i64>, Vec<u8>),
    item: (Vec<i64>, Vec<u8>),
    kind: Vec<i64>,
    seconds: Vec<f64>,
    value: Vec<f64>,
    channel: Vec<i64>,
}

/// Arrow's text layout: offsets and bytes.
fn utf8(ids: impl Iterator<Item = String>) -> (Vec<i64>, Vec<u8>) {
    let (mut offsets, mut data) = (vec![0i64], Vec::new());
    for id in ids {
        data.extend_from_slice(id.as_bytes());
        offsets.push(data.len() as i64);
    }
    (offsets, data)
}

fn main() -> maitre::Result<()> {
    let mut args = std::env::args().skip(1);
    let rows: usize = args
        .next()
        .map_or(10_000_000, |a| a.parse().expect("ROWS: a number"));
    let repeats: usize = args
        .next()
        .map_or(6, |a| a.parse().expect("REPEATS: a number"));
    // xorshift: the same columns every run, no dependency.
    let mut state = 88_172_645_463_325_252u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let customers = (rows / 30 + 1) as u64;
    let chunks: Vec<Chunk> = (0..rows)
        .step_by(CHUNK)
        .map(|start| {
            let n = CHUNK.min(rows - start);
            let customer = utf8((0..n).map(|_| format!("c{}", next() % customers)));
            let item = utf8((0..n).map(|_| (next() % 50_000).to_string()));
            // view 70 %, purchase 10 %, rating 20 % (with a value 1-5).
            let kind: Vec<i64> = (0..n)
                .map(|_| [0, 0, 0, 0, 0, 0, 0, 1, 2, 2][(next() % 10) as usize])
                .collect();
            let seconds = (0..n)
                .map(|_| (1_714_564_800 + next() % (180 * 86_400)) as f64)
                .collect();
            let value = kind
                .iter()
                .map(|&k| {
                    if k == 2 {
                        (1 + next() % 5) as f64
                    } else {
                        f64::NAN
                    }
                })
                .collect();
            let channel = (0..n).map(|_| (next() % 3) as i64).collect();
            Chunk {
                customer,
                item,
                kind,
                seconds,
                value,
                channel,
            }
        })
        .collect();
    let kinds = ["view", "purchase", "rating"].map(String::from);
    let channels = ["web", "app", "store"].map(String::from);
    let mut best = f64::INFINITY;
    for repeat in 0..repeats {
        let mut log = EventLog::new();
        let start = Instant::now();
        let mut fed = chunks.iter();
        let report = log.extend_column_chunks(
            rows,
            &Schema::default(),
            &IngestOptions::default(),
            |feed| {
                let Some(c) = fed.next() else {
                    return Ok(false);
                };
                let context = [(
                    "channel".to_string(),
                    TextColumn::Coded {
                        codes: &c.channel,
                        values: &channels,
                    },
                )];
                feed(&Columns {
                    customer: TextColumn::Utf8 {
                        offsets: &c.customer.0,
                        data: &c.customer.1,
                        nulls: None,
                    },
                    item: TextColumn::Utf8 {
                        offsets: &c.item.0,
                        data: &c.item.1,
                        nulls: None,
                    },
                    kind: TextColumn::Coded {
                        codes: &c.kind,
                        values: &kinds,
                    },
                    timestamp: TimeColumn::Seconds(&c.seconds),
                    value: Some(ValueColumn::Floats(&c.value)),
                    context: &context,
                })?;
                Ok(true)
            },
        )?;
        let seconds = start.elapsed().as_secs_f64();
        best = best.min(seconds);
        assert_eq!(report.accepted, rows);
        println!("repeat {repeat}: {seconds:.3} s ({} events)", log.len());
    }
    println!("best of {repeats}: {best:.3} s for {rows} events");
    Ok(())
}
