//! Bad input through the Rust door: every bad row is a typed error naming the
//! row and the field, and a rejected batch leaves the log exactly as it was.

use maitre::error::{Location, Problem};
use maitre::events::{
    Columns, Event, EventLog, IngestOptions, Schema, TextColumn, TimeColumn, ValueColumn,
};
use maitre::Error;

const HEADER: &str = "customer_id,item_id,kind,timestamp,value,channel\n";
const GOOD: &str = "c1,sku-1,view,1714564800,,web\nc1,sku-1,rating,1714564900,4,app\n";

fn log_with_good_rows() -> EventLog {
    let mut log = EventLog::new();
    log.read_csv(
        format!("{HEADER}{GOOD}").as_bytes(),
        &Schema::default(),
        &IngestOptions::default(),
    )
    .expect("good rows");
    log
}

/// Fingerprint of everything a batch could have touched.
fn state(log: &EventLog) -> (usize, usize, usize, usize) {
    (
        log.len(),
        log.raw_customers().len(),
        log.items().len(),
        log.context_vocab().len(),
    )
}

fn bad_record(err: Error) -> (Location, String, Problem) {
    match err {
        Error::BadRecord(row) => (row.location, row.field, row.problem),
        other => panic!("expected a bad record, got {other}"),
    }
}

#[test]
fn each_bad_csv_row_names_line_and_field_and_changes_nothing() {
    let cases: &[(&str, &str, Problem)] = &[
        (",sku-9,view,1714564800,,web", "customer_id", Problem::Empty),
        ("c2, ,view,1714564800,,web", "item_id", Problem::Empty),
        (
            "c2,sku-9,teleport,1714564800,,web",
            "kind",
            Problem::UnknownKind("teleport".into()),
        ),
        (
            "c2,sku-9,rating,1714564800,NaN,web",
            "value",
            Problem::NotFinite("NaN".into()),
        ),
        (
            "c2,sku-9,rating,1714564800,inf,web",
            "value",
            Problem::NotFinite("inf".into()),
        ),
        (
            "c2,sku-9,rating,1714564800,four,web",
            "value",
            Problem::NotANumber("four".into()),
        ),
        (
            "c2,sku-9,view,last tuesday,,web",
            "timestamp",
            Problem::BadTimestamp("last tuesday".into()),
        ),
        ("c2,sku-9,view,,,web", "timestamp", Problem::Empty),
    ];
    for (row, field, problem) in cases {
        let mut log = log_with_good_rows();
        let before = state(&log);
        // The bad row comes after a new good row, so rollback is exercised too.
        let text = format!("{HEADER}c3,sku-7,view,1714564800,,store\n{row}\n");
        let err = log
            .read_csv(
                text.as_bytes(),
                &Schema::default(),
                &IngestOptions::default(),
            )
            .unwrap_err();
        let (location, got_field, got_problem) = bad_record(err);
        assert_eq!(location, Location::Line(3), "case {row}");
        assert_eq!(&got_field, field, "case {row}");
        assert_eq!(&got_problem, problem, "case {row}");
        assert_eq!(
            state(&log),
            before,
            "case {row}: the batch must leave no trace"
        );
    }
}

#[test]
fn malformed_csv_and_missing_columns() {
    let mut log = log_with_good_rows();
    let before = state(&log);
    let err = log
        .read_csv(
            format!("{HEADER}c2,sku-1,view\n").as_bytes(),
            &Schema::default(),
            &IngestOptions::default(),
        )
        .unwrap_err();
    // A short row names the first column it lacks.
    let (location, field, problem) = bad_record(err);
    assert_eq!((location, field.as_str()), (Location::Line(2), "timestamp"));
    assert_eq!(problem, Problem::Missing);
    let err = log
        .read_csv(
            "customer_id,item_id,timestamp\nc1,s,1\n".as_bytes(),
            &Schema::default(),
            &IngestOptions::default(),
        )
        .unwrap_err();
    assert!(
        matches!(err, Error::MissingColumn { ref column, .. } if column == "kind"),
        "{err}"
    );
    assert_eq!(state(&log), before);
}

#[test]
fn renamed_columns_are_named_in_errors() {
    let schema = Schema::default()
        .customer("user")
        .item("sku")
        .kind("event")
        .timestamp("ts");
    let mut log = EventLog::new();
    let err = log
        .read_csv(
            "user,sku,event,ts\nu1,,view,1\n".as_bytes(),
            &schema,
            &IngestOptions::default(),
        )
        .unwrap_err();
    assert_eq!(err.to_string(), "line 2: field `sku` is empty");
}

#[test]
fn each_bad_json_line_names_line_and_field() {
    let cases: &[(&str, &str)] = &[
        (
            r#"{"item_id":"s","kind":"view","timestamp":1}"#,
            "customer_id",
        ),
        (
            r#"{"customer_id":"c","item_id":"s","kind":"view"}"#,
            "timestamp",
        ),
        (
            r#"{"customer_id":"c","item_id":"s","kind":"view","timestamp":"soon"}"#,
            "timestamp",
        ),
        (
            r#"{"customer_id":"c","item_id":"s","kind":"hover","timestamp":1}"#,
            "kind",
        ),
        (
            r#"{"customer_id":"c","item_id":"s","kind":"rating","timestamp":1,"value":"NaN"}"#,
            "value",
        ),
        (
            r#"{"customer_id":"c","item_id":[1],"kind":"view","timestamp":1}"#,
            "item_id",
        ),
        (
            r#"{"customer_id":"c","item_id":"s","kind":"view","timestamp":1,"context":{"channel":{}}}"#,
            "context.channel",
        ),
        (r#"["not", "an", "object"]"#, "record"),
        (r#"{"customer_id": "c", "#, "record"),
    ];
    for (line, field) in cases {
        let mut log = log_with_good_rows();
        let before = state(&log);
        let text = format!("{{\"customer_id\":\"c9\",\"item_id\":\"s9\",\"kind\":\"view\",\"timestamp\":5}}\n\n{line}\n");
        let err = log
            .read_jsonl(
                text.as_bytes(),
                &Schema::default(),
                &IngestOptions::default(),
            )
            .unwrap_err();
        let (location, got, _) = bad_record(err);
        assert_eq!(
            (location, got.as_str()),
            (Location::Line(3), *field),
            "case {line}"
        );
        assert_eq!(state(&log), before, "case {line}");
    }
}

#[test]
fn json_accepts_numeric_ids_rfc3339_and_context_objects() {
    let mut log = EventLog::new();
    let text = r#"{"customer_id":42,"item_id":"s1","kind":"purchase","timestamp":"2024-05-01T12:00:00Z","value":2,"context":{"channel":"app"},"device":"mobile"}"#;
    log.read_jsonl(
        text.as_bytes(),
        &Schema::default(),
        &IngestOptions::default(),
    )
    .unwrap();
    let e = log.event(0).unwrap();
    assert_eq!(
        (e.customer, e.timestamp, e.value),
        ("42", 1_714_564_800, Some(2.0))
    );
    assert_eq!(e.context, vec![("channel", "app"), ("device", "mobile")]);
}

#[test]
fn iterator_batches_name_the_index() {
    let mut log = log_with_good_rows();
    let before = state(&log);
    let events = vec![
        Event::new("c5", "sku-5", "view", 1),
        Event::new("c5", "sku-5", "rating", 2).value(f64::INFINITY),
    ];
    let err = log.extend(events, &IngestOptions::default()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "row 1: field `value` inf is not a finite number"
    );
    assert_eq!(state(&log), before);
}

#[test]
fn skipping_bad_rows_reports_how_many_and_why() {
    let mut log = EventLog::new();
    let text = format!(
        "{HEADER}c1,s1,view,1,,web\nc1,,view,2,,web\nc2,s2,zap,3,,web\nc2,s3,view,4,,web\nc3,s4,view,x,,web\n"
    );
    let report = log
        .read_csv(
            text.as_bytes(),
            &Schema::default(),
            &IngestOptions::default().skip_bad_rows(),
        )
        .unwrap();
    assert_eq!((report.accepted, report.skipped), (2, 3));
    assert_eq!(log.len(), 2);
    assert_eq!(report.skipped_by_field["item_id"], 1);
    assert_eq!(report.skipped_by_field["kind"], 1);
    assert_eq!(report.skipped_by_field["timestamp"], 1);
    let lines: Vec<String> = report
        .first_skipped
        .iter()
        .map(|r| r.location.to_string())
        .collect();
    assert_eq!(lines, ["line 3", "line 4", "line 6"]);
}

#[test]
fn missing_file_is_file_not_found() {
    let err = EventLog::from_csv("/no/such/events.csv", &Schema::default()).unwrap_err();
    assert!(matches!(err, Error::FileNotFound { .. }), "{err}");
}

#[test]
fn identities_merge_whatever_the_link_order() {
    let build = |links: &[(&str, &str)]| {
        let mut log = EventLog::new();
        for (who, channel) in [
            ("anon-1", "web"),
            ("dev-2", "app"),
            ("c7", "store"),
            ("c8", "web"),
        ] {
            log.push(&Event::new(who, "sku", "view", 1).context("channel", channel))
                .unwrap();
        }
        for (alias, customer) in links {
            log.link(alias, customer, 2).unwrap();
        }
        let ids = log.identities();
        ["anon-1", "dev-2", "c7", "c8"].map(|id| {
            ids.resolve_name(log.raw_customers(), id)
                .unwrap()
                .to_owned()
        })
    };
    let a = build(&[("anon-1", "c7"), ("dev-2", "anon-1")]);
    let b = build(&[("dev-2", "anon-1"), ("anon-1", "c7")]);
    assert_eq!(a, b);
    assert_eq!(a[0], a[2]);
    assert_eq!(a[1], a[2]);
    assert_eq!(a[3], "c8");
}

#[test]
fn text_link_timestamps_are_parsed_or_named() {
    let mut log = EventLog::new();
    log.link_text("anon-1", "c1", Some("2024-05-01T12:00:00Z"))
        .unwrap();
    assert_eq!(log.links()[0].timestamp, 1_714_564_800);
    let err = log.link_text("anon-2", "c1", Some("NaN")).unwrap_err();
    assert_eq!(
        err.to_string(),
        "row 1: field `timestamp` \"NaN\" is not a timestamp (epoch seconds or RFC 3339, e.g. 2024-05-01T12:00:00Z)"
    );
    let err = log.link_text("anon-2", "c1", None).unwrap_err();
    assert_eq!(err.to_string(), "row 1: field `timestamp` is missing");
    assert_eq!(log.links().len(), 1);
}

/// A frame's float value column holds NaN where a row has no value. Kinds
/// whose weight ignores the value take it as "no value"; a kind weighted by
/// its value (a rating) rejects it, naming the row, and the batch is undone.
#[test]
fn nan_value_is_no_value_for_kinds_that_ignore_it() {
    let ids = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let customer = ids(&["c1", "c2"]);
    let item = ids(&["a", "b"]);
    let seconds = [1_714_564_800.0, 1_714_564_900.0];
    let one = |kind: &[String], value: ValueColumn<'_>| -> Result<usize, Error> {
        let mut log = EventLog::new();
        let cols = Columns {
            customer: TextColumn::Plain(&customer),
            item: TextColumn::Plain(&item),
            kind: TextColumn::Plain(kind),
            timestamp: TimeColumn::Seconds(&seconds),
            value: Some(value),
            context: &[],
        };
        log.extend_columns(&cols, &Schema::default(), &IngestOptions::default())?;
        assert_eq!(log.event(0).unwrap().value, None);
        Ok(log.len())
    };
    // Every case twice: as `Option`s, and as numpy's floats (`Floats`, NaN
    // for no value), which must give the same log or the same error.
    let columns = |kind: &[String], value: &[Option<f64>]| -> Result<usize, Error> {
        let floats: Vec<f64> = value.iter().map(|v| v.unwrap_or(f64::NAN)).collect();
        let (numbers, floats) = (
            one(kind, ValueColumn::Numbers(value)),
            one(kind, ValueColumn::Floats(&floats)),
        );
        match (&numbers, &floats) {
            (Ok(a), Ok(b)) => assert_eq!(a, b),
            (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string()),
            _ => panic!("Numbers gave {numbers:?}, Floats {floats:?}"),
        }
        numbers
    };
    let nan = [Some(f64::NAN), Some(4.0)];
    assert_eq!(columns(&ids(&["view", "rating"]), &nan).unwrap(), 2);
    let (location, field, problem) =
        bad_record(columns(&ids(&["rating", "rating"]), &nan).unwrap_err());
    assert_eq!(location, Location::Index(0));
    assert_eq!(field, "value");
    assert_eq!(problem, Problem::NotFinite("NaN".into()));
    // Infinity is never "no value".
    let inf = [Some(f64::INFINITY), Some(4.0)];
    assert!(columns(&ids(&["view", "rating"]), &inf).is_err());
}

/// Dictionary-encoded text columns (pandas' factorize, Arrow dictionaries)
/// ingest the same log as plain ones; a negative code is a missing cell and
/// a code past the dictionary is a bad row that undoes the batch.
#[test]
fn coded_text_columns_ingest_like_plain_ones() {
    let ids = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let seconds = [1_714_564_800.0, 1_714_564_900.0, 1_714_565_000.0];
    let (customers, items, kinds) = (
        ids(&["c1", "c2"]),
        ids(&["a", "b"]),
        ids(&["view", "purchase"]),
    );
    let channel = ids(&["web", "app"]);
    let plain = |c: &[&str]| ids(c);
    let (pc, pi, pk) = (
        plain(&["c2", "c1", "c2"]),
        plain(&["a", "a", "b"]),
        plain(&["view", "purchase", "view"]),
    );
    let pch = vec![Some("app".to_string()), None, Some("web".to_string())];
    let mut expected = EventLog::new();
    let context = [("channel".to_string(), TextColumn::Optional(&pch))];
    expected
        .extend_columns(
            &Columns {
                customer: TextColumn::Plain(&pc),
                item: TextColumn::Plain(&pi),
                kind: TextColumn::Plain(&pk),
                timestamp: TimeColumn::Seconds(&seconds),
                value: None,
                context: &context,
            },
            &Schema::default(),
            &IngestOptions::default(),
        )
        .unwrap();
    let ingest = |customer_codes: &[i64]| {
        let mut log = EventLog::new();
        let context = [(
            "channel".to_string(),
            TextColumn::Coded {
                codes: &[1, -1, 0],
                values: &channel,
            },
        )];
        let result = log.extend_columns(
            &Columns {
                customer: TextColumn::Coded {
                    codes: customer_codes,
                    values: &customers,
                },
                item: TextColumn::Coded {
                    codes: &[0, 0, 1],
                    values: &items,
                },
                kind: TextColumn::Coded {
                    codes: &[0, 1, 0],
                    values: &kinds,
                },
                timestamp: TimeColumn::Seconds(&seconds),
                value: None,
                context: &context,
            },
            &Schema::default(),
            &IngestOptions::default(),
        );
        (log, result)
    };
    let (log, result) = ingest(&[1, 0, 1]);
    result.unwrap();
    assert_eq!(log.to_bytes().unwrap(), expected.to_bytes().unwrap());

    let (log, result) = ingest(&[1, 0, 2]);
    let (location, field, problem) = bad_record(result.unwrap_err());
    assert_eq!(
        (location, field.as_str()),
        (Location::Index(2), "customer_id")
    );
    assert!(matches!(problem, Problem::Malformed(_)), "{problem:?}");
    assert!(log.is_empty() && log.raw_customers().is_empty());

    let (_, result) = ingest(&[1, -1, 0]);
    let (location, field, problem) = bad_record(result.unwrap_err());
    assert_eq!(
        (location, field.as_str(), problem),
        (Location::Index(1), "customer_id", Problem::Empty)
    );
}

mod layouts {
    //! The three ways a text column can cross (one string per row, a
    //! dictionary, Arrow's offsets and bytes) ingest to the same log and the
    //! same report, bad rows included, whether a bad row rejects the batch
    //! or is skipped. The dictionary path resolves each code once per chunk,
    //! so a code whose first row is bad, and strings that only differ by
    //! padding, are the cases that matter.
    use super::*;
    use proptest::prelude::*;

    /// Values drawn from small pools so codes repeat; "" and "  " are
    /// empty, "nope" is not a kind, " x " trims to "x"; the log already
    /// holds customer "c1" and item "sku-1".
    const IDS: &[&str] = &["a", " a ", "b", "", "  ", "c1", "sku-1 "];
    const KINDS: &[&str] = &["view", "purchase", "nope", "", " view"];
    const CHANNELS: &[Option<&str>] = &[Some("web"), Some(" web"), None, Some(""), Some("app")];

    /// A column's rows in each layout.
    struct Layouts {
        plain: Vec<Option<String>>,
        codes: Vec<i64>,
        values: Vec<String>,
        offsets: Vec<i64>,
        data: Vec<u8>,
        nulls: Vec<bool>,
    }

    impl Layouts {
        fn new(rows: Vec<Option<&str>>) -> Self {
            let mut values: Vec<String> = Vec::new();
            let (mut codes, mut offsets, mut data, mut nulls) = (vec![], vec![0], vec![], vec![]);
            for row in &rows {
                match row {
                    Some(v) => {
                        let code = values.iter().position(|x| x == v).unwrap_or_else(|| {
                            values.push(v.to_string());
                            values.len() - 1
                        });
                        codes.push(code as i64);
                        data.extend_from_slice(v.as_bytes());
                    }
                    None => codes.push(-1),
                }
                offsets.push(data.len() as i64);
                nulls.push(row.is_none());
            }
            let plain = rows.iter().map(|r| r.map(str::to_owned)).collect();
            Layouts {
                plain,
                codes,
                values,
                offsets,
                data,
                nulls,
            }
        }

        fn column(&self, layout: usize) -> TextColumn<'_> {
            match layout {
                0 => TextColumn::Optional(&self.plain),
                1 => TextColumn::Coded {
                    codes: &self.codes,
                    values: &self.values,
                },
                _ => TextColumn::Utf8 {
                    offsets: &self.offsets,
                    data: &self.data,
                    nulls: Some(&self.nulls),
                },
            }
        }
    }

    fn pick<T: Copy + std::fmt::Debug>(pool: &'static [T]) -> impl Strategy<Value = T> {
        (0..pool.len()).prop_map(move |i| pool[i])
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]
        #[test]
        fn every_layout_ingests_alike(
            rows in prop::collection::vec(
                (pick(IDS), pick(IDS), pick(KINDS), pick(CHANNELS), 0..3usize), 1..40),
            skip in any::<bool>(),
        ) {
            type Row = (&'static str, &'static str, &'static str, Option<&'static str>, usize);
            let cols = |f: fn(&Row) -> Option<&'static str>| Layouts::new(rows.iter().map(f).collect());
            // A missing customer cell in about a third of the rows.
            let customer = cols(|r| Some(r.0).filter(|_| r.4 != 2));
            let item = cols(|r| Some(r.1));
            let kind = cols(|r| Some(r.2));
            let channel = cols(|r| r.3);
            let seconds: Vec<f64> = (0..rows.len()).map(|i| 1_714_564_800.0 + i as f64).collect();
            let options = if skip { IngestOptions::default().skip_bad_rows() } else { IngestOptions::default() };
            let ingest = |layout: usize| {
                let mut log = log_with_good_rows();
                let context = [("channel".to_string(), channel.column(layout))];
                let result = log.extend_columns(
                    &Columns {
                        customer: customer.column(layout),
                        item: item.column(layout),
                        kind: kind.column(layout),
                        timestamp: TimeColumn::Seconds(&seconds),
                        value: None,
                        context: &context,
                    },
                    &Schema::default(),
                    &options,
                );
                (log.to_bytes().unwrap(), result.map_err(|e| e.to_string()))
            };
            let plain = ingest(0);
            prop_assert_eq!(&ingest(1), &plain);
            prop_assert_eq!(&ingest(2), &plain);
        }
    }
}

#[test]
fn arrow_text_with_bad_offsets_or_bytes_is_a_bad_row() {
    let seconds = [1_714_564_800.0; 3];
    let ids = ["c1".to_string(), "c2".to_string(), "c3".to_string()];
    let kinds = ["view".to_string(), "view".to_string(), "view".to_string()];
    // Row 1 of the item column: offsets past the end, backwards, bytes
    // that are not UTF-8, or a cut inside a character of text that is UTF-8
    // as a whole (ids are looked up block by block, checked once per block).
    // Row 0 is always "ab".
    let cases: [(&[i64], &[u8]); 4] = [
        (&[0, 2, 9, 9], b"ab"),
        (&[0, 2, 1, 3], b"abc"),
        (&[0, 2, 4, 4], b"ab\xff\xfe"),
        (&[0, 2, 3, 4], "ab\u{e9}".as_bytes()),
    ];
    for (offsets, data) in cases {
        let mut log = log_with_good_rows();
        let before = state(&log);
        let err = log
            .extend_columns(
                &Columns {
                    customer: TextColumn::Plain(&ids),
                    item: TextColumn::Utf8 {
                        offsets,
                        data,
                        nulls: None,
                    },
                    kind: TextColumn::Plain(&kinds),
                    timestamp: TimeColumn::Seconds(&seconds),
                    value: None,
                    context: &[],
                },
                &Schema::default(),
                &IngestOptions::default(),
            )
            .unwrap_err();
        let (location, field, problem) = bad_record(err);
        assert_eq!((location, field.as_str()), (Location::Index(1), "item_id"));
        assert!(matches!(problem, Problem::Malformed(_)), "{problem:?}");
        assert_eq!(state(&log), before, "nothing half-ingested");
    }
}

/// Rows whose ids, kind and context values the log already holds are stored
/// by a shorter path than new ones; the log must be the same as the one
/// built event by event, and a bad row among known ones is still reported
/// (or skipped) with its position, the batch undone on an error.
#[test]
fn rows_of_known_ids_store_the_same_log_as_events_one_by_one() {
    let t = |s: u32| 1_714_564_800.0 + f64::from(s);
    // (customer, item, kind, seconds, value, channel)
    type Row = (
        &'static str,
        &'static str,
        &'static str,
        f64,
        Option<f64>,
        Option<&'static str>,
    );
    let first: Vec<Row> = vec![
        ("c1", "a", "view", t(0), None, Some("web")),
        ("c2", "b", "rating", t(1), Some(4.0), Some("app")),
    ];
    // Known ids (the quick path), a new customer, a missing and a blank
    // channel (the blank one is no context), NaN as no value for a view.
    let second: Vec<Row> = vec![
        ("c2", "a", "view", t(2), Some(f64::NAN), Some("web")),
        ("c3", "b", "view", t(3), None, Some("app")),
        ("c1", "b", "rating", t(4), Some(2.5), None),
        ("c1", "a", "view", t(5), None, Some("  ")),
        ("c3", "a", "rating", t(6), Some(1.0), Some("web")),
    ];
    let feed = |log: &mut EventLog, chunks: &[&[Row]], options: &IngestOptions| {
        let mut chunks = chunks.iter();
        log.extend_column_chunks(7, &Schema::default(), options, |f| {
            let Some(rows) = chunks.next() else {
                return Ok(false);
            };
            let text = |pick: fn(&Row) -> &'static str| -> Vec<String> {
                rows.iter().map(|r| pick(r).to_string()).collect()
            };
            let (customer, item, kind) = (text(|r| r.0), text(|r| r.1), text(|r| r.2));
            let seconds: Vec<f64> = rows.iter().map(|r| r.3).collect();
            let values: Vec<Option<f64>> = rows.iter().map(|r| r.4).collect();
            let channel: Vec<Option<String>> =
                rows.iter().map(|r| r.5.map(str::to_string)).collect();
            let context = [("channel".to_string(), TextColumn::Optional(&channel))];
            f(&Columns {
                customer: TextColumn::Plain(&customer),
                item: TextColumn::Plain(&item),
                kind: TextColumn::Plain(&kind),
                timestamp: TimeColumn::Seconds(&seconds),
                value: Some(ValueColumn::Numbers(&values)),
                context: &context,
            })?;
            Ok(true)
        })
    };
    let by_events = |rows: &[Row]| {
        let mut log = EventLog::new();
        for r in rows {
            let mut e = Event::new(r.0, r.1, r.2, r.3 as i64);
            if let Some(v) = r.4.filter(|v| !v.is_nan()) {
                e = e.value(v);
            }
            if let Some(c) = r.5.filter(|c| !c.trim().is_empty()) {
                e = e.context("channel", c);
            }
            log.push(&e).unwrap();
        }
        log
    };
    let all: Vec<Row> = first.iter().chain(&second).copied().collect();
    let mut log = EventLog::new();
    let report = feed(&mut log, &[&first, &second], &IngestOptions::default()).unwrap();
    assert_eq!(report.accepted, 7);
    assert_eq!(log.to_bytes().unwrap(), by_events(&all).to_bytes().unwrap());

    // A rating without a value among known rows: an error at its position
    // (2 + 1) that undoes everything, or a skipped row.
    let mut bad = second.clone();
    bad[1] = ("c1", "a", "rating", t(3), Some(f64::NAN), Some("web"));
    let mut log = EventLog::new();
    let err = feed(&mut log, &[&first, &bad], &IngestOptions::default()).unwrap_err();
    assert_eq!(
        bad_record(err),
        (
            Location::Index(3),
            "value".to_string(),
            Problem::NotFinite("NaN".into())
        )
    );
    assert!(log.is_empty() && log.raw_customers().is_empty());
    let skip = IngestOptions::default().skip_bad_rows();
    let report = feed(&mut log, &[&first, &bad], &skip).unwrap();
    assert_eq!((report.accepted, report.skipped), (6, 1));
    let kept: Vec<Row> = first
        .iter()
        .chain(bad.iter().take(1))
        .chain(&bad[2..])
        .copied()
        .collect();
    assert_eq!(
        log.to_bytes().unwrap(),
        by_events(&kept).to_bytes().unwrap()
    );
}

/// A chunk longer than the window in which ready rows are found (65,536
/// rows): runs stop at the window's edge, new ids and a bad row past the
/// first window take the row path, and the log is the one built event by
/// event.
#[test]
fn a_chunk_longer_than_a_window_stores_the_same_log_as_events_one_by_one() {
    let n = 150_000usize;
    let customer: Vec<String> = (0..n)
        .map(|i| match i {
            70_000 | 140_000 => format!("new-{i}"),
            _ => format!("c{}", i * 7_919 % 5_000),
        })
        .collect();
    let item: Vec<String> = (0..n).map(|i| format!("i{}", i % 300)).collect();
    let kind: Vec<String> = (0..n)
        .map(|i| if i % 5 == 0 { "rating" } else { "view" }.to_string())
        .collect();
    let seconds: Vec<f64> = (0..n).map(|i| 1_714_564_800.0 + i as f64).collect();
    // A rating without a value at row 100,000: bad, skipped.
    let value: Vec<Option<f64>> = (0..n)
        .map(|i| match i {
            100_000 => Some(f64::NAN),
            _ if i % 5 == 0 => Some((i % 5 + 1) as f64),
            _ => None,
        })
        .collect();
    let channel: Vec<Option<String>> = (0..n)
        .map(|i| (i % 3 != 0).then(|| ["web", "app"][i % 2].to_string()))
        .collect();
    let skip = IngestOptions::default().skip_bad_rows();
    let mut log = EventLog::new();
    let mut ingest = |rows: usize| {
        let context = [(
            "channel".to_string(),
            TextColumn::Optional(&channel[..rows]),
        )];
        let columns = Columns {
            customer: TextColumn::Plain(&customer[..rows]),
            item: TextColumn::Plain(&item[..rows]),
            kind: TextColumn::Plain(&kind[..rows]),
            timestamp: TimeColumn::Seconds(&seconds[..rows]),
            value: Some(ValueColumn::Numbers(&value[..rows])),
            context: &context,
        };
        log.extend_columns(&columns, &Schema::default(), &skip)
            .unwrap()
    };
    // The first rows first, so most of the long chunk's ids are known.
    ingest(1_000);
    let report = ingest(n);
    assert_eq!((report.accepted, report.skipped), (n - 1, 1));
    assert_eq!(report.first_skipped[0].location, Location::Index(100_000));

    let mut by_events = EventLog::new();
    for i in (0..1_000).chain((0..n).filter(|&i| i != 100_000)) {
        let mut e = Event::new(&customer[i], &item[i], &kind[i], seconds[i] as i64);
        if let Some(v) = value[i] {
            e = e.value(v);
        }
        if let Some(c) = &channel[i] {
            e = e.context("channel", c);
        }
        by_events.push(&e).unwrap();
    }
    assert_eq!(log.to_bytes().unwrap(), by_events.to_bytes().unwrap());
}
