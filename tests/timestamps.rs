//! One timestamp in the wrong unit never poisons a model silently: every door
//! rejects epoch values outside 1970-01-01..=2100-01-01 with a typed error that
//! says which unit the value looks like, and times given later (a reference
//! time, a request's `now`, session events) obey the same range.

mod common;

use maitre::error::{Location, Problem};
use maitre::events::{
    Columns, Event, EventLog, IngestOptions, Schema, TextColumn, TimeColumn, MAX_TIMESTAMP,
};
use maitre::interactions::{InteractionConfig, Interactions};
use maitre::recommend::{Request, SessionEvent};
use maitre::Error;

const MS: i64 = 1_714_564_800_000;

fn problem(err: Error) -> (Location, String, Problem) {
    match err {
        Error::BadRecord(row) => (row.location, row.field, row.problem),
        other => panic!("expected a bad record, got {other}"),
    }
}

#[test]
fn a_millisecond_row_is_rejected_by_every_door_and_nothing_is_kept() {
    let header = "customer_id,item_id,kind,timestamp\n";
    let csv = format!("{header}c1,a,view,1714564800\nc1,b,view,{MS}\n");
    let mut log = EventLog::new();
    let err = log
        .read_csv(
            csv.as_bytes(),
            &Schema::default(),
            &IngestOptions::default(),
        )
        .unwrap_err();
    let msg = err.to_string();
    assert_eq!(
        problem(err),
        (
            Location::Line(3),
            "timestamp".into(),
            Problem::TimestampOutOfRange(MS)
        )
    );
    assert!(
        msg.contains("milliseconds") && msg.contains("divide by 1000"),
        "{msg}"
    );
    assert!(log.is_empty(), "the batch is rejected whole");

    let jsonl = format!(
        "{{\"customer_id\":\"c1\",\"item_id\":\"a\",\"kind\":\"view\",\"timestamp\":1714564800}}\n\
         {{\"customer_id\":\"c1\",\"item_id\":\"b\",\"kind\":\"view\",\"timestamp\":{MS}}}\n"
    );
    let err = log
        .read_jsonl(
            jsonl.as_bytes(),
            &Schema::default(),
            &IngestOptions::default(),
        )
        .unwrap_err();
    assert_eq!(problem(err).0, Location::Line(2));
    assert!(log.is_empty());

    // Nanoseconds (a pandas datetime column's raw int64) and pre-1970 values.
    for (bad, unit) in [
        (1_714_564_800_000_000_000i64, Some("nanoseconds")),
        (1_714_564_800_000_000, Some("microseconds")),
        (-1, None),
        (MAX_TIMESTAMP + 1, None),
    ] {
        let err = log.push(&Event::new("c1", "a", "view", bad)).unwrap_err();
        let msg = err.to_string();
        assert_eq!(problem(err).2, Problem::TimestampOutOfRange(bad));
        match unit {
            Some(unit) => assert!(msg.contains(unit), "{msg}"),
            None => assert!(!msg.contains("looks like"), "{msg}"),
        }
    }
    assert!(log.is_empty());

    let events = [
        Event::new("c1", "a", "view", 1_714_564_800),
        Event::new("c1", "b", "view", MS),
    ];
    let err = log
        .extend(events.iter().cloned(), &IngestOptions::default())
        .unwrap_err();
    assert_eq!(problem(err).0, Location::Index(1));
    assert!(log.is_empty());

    let ids = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let (customer, item, kind) = (ids(&["c1", "c1"]), ids(&["a", "b"]), ids(&["view", "view"]));
    let seconds = [1_714_564_800.0, MS as f64];
    let columns = Columns {
        customer: TextColumn::Plain(&customer),
        item: TextColumn::Plain(&item),
        kind: TextColumn::Plain(&kind),
        timestamp: TimeColumn::Seconds(&seconds),
        value: None,
        context: &[],
    };
    let err = log
        .extend_columns(&columns, &Schema::default(), &IngestOptions::default())
        .unwrap_err();
    assert_eq!(problem(err).0, Location::Index(1));
    assert!(log.is_empty());

    // Skipping reports the row: a warning, never silence.
    let report = log
        .extend(
            events.iter().cloned(),
            &IngestOptions::default().skip_bad_rows(),
        )
        .unwrap();
    assert_eq!((report.accepted, report.skipped), (1, 1));
    assert_eq!(report.skipped_by_field.get("timestamp"), Some(&1));
    assert_eq!(
        report.first_skipped[0].problem,
        Problem::TimestampOutOfRange(MS)
    );
}

#[test]
fn links_and_reference_times_obey_the_range() {
    let mut log = EventLog::new();
    let err = log.link("anon-1", "c1", MS).unwrap_err();
    assert_eq!(problem(err).2, Problem::TimestampOutOfRange(MS));
    let err = log
        .link_text("anon-1", "c1", Some(&MS.to_string()))
        .unwrap_err();
    assert_eq!(problem(err).1, "timestamp");
    assert!(log.links().is_empty());
    assert!(
        log.raw_customers().is_empty(),
        "a rejected link interns nothing"
    );

    log.push(&Event::new("c1", "a", "view", 1_714_564_800))
        .unwrap();
    for reference in [MS, -5, i64::MIN, i64::MAX] {
        let config = InteractionConfig::default()
            .half_life_days(30.0)
            .reference_time(reference);
        match Interactions::build(&log, &config) {
            Err(Error::InvalidParam { name, .. }) => assert_eq!(name, "reference_time"),
            other => panic!("reference time {reference}: {other:?}"),
        }
    }
}

#[test]
fn request_times_obey_the_range_and_never_overflow() {
    let shop = maitre::datasets::synthetic_storefront(3, maitre::datasets::Size::Tiny).unwrap();
    let rec = common::recommender(&shop.log, &shop.catalog);
    let item = shop.catalog.items()[0].id.clone();
    let mut request = Request::new(5);
    request.filters.exclude_purchased_within = Some(i64::MAX);
    for now in [i64::MIN, -1, MS, i64::MAX] {
        request.now = Some(now);
        match rec.recommend(&request) {
            Err(Error::InvalidParam { name, .. }) => assert_eq!(name, "now"),
            other => panic!("now = {now}: {other:?}"),
        }
    }
    request.now = Some(MAX_TIMESTAMP);
    let mut bought = SessionEvent::new(item.clone(), "purchase");
    bought.timestamp = Some(i64::MIN + 1);
    request.session = vec![bought.clone()];
    match rec.recommend(&request) {
        Err(Error::InvalidParam { name, .. }) => assert_eq!(name, "session[0].timestamp"),
        other => panic!("{other:?}"),
    }
    // Extreme accepted values: a purchase at 0 seen from 2100 with the widest
    // window is excluded, and nothing overflows.
    bought.timestamp = Some(0);
    request.session = vec![bought];
    let out = rec.recommend(&request).unwrap();
    assert!(out.iter().all(|r| r.item != item));
}
