//! MovieLens 100K, read from RecBole's atomic files.
//!
//! The three files (`ml-100k.inter`, `ml-100k.item`, `ml-100k.user`) are
//! tab-separated with typed headers such as `user_id:token`. The data is not
//! ours to redistribute: it is read from a directory the caller names, found by
//! [`find_dir`], or fetched by `scripts/fetch-movielens.sh` into the git-ignored
//! `data/ml-100k/`.

use crate::catalog::{Catalog, Item};
use crate::error::{BadRow, Error, Location, Problem, Result};
use crate::events::{Event, EventKinds, EventLog, IngestOptions};
use std::path::{Path, PathBuf};

/// The environment variable that names the data directory.
pub const ENV_VAR: &str = "MAITRE_ML100K";

/// A movie of `ml-100k.item`.
#[derive(Debug, Clone, PartialEq)]
pub struct Movie {
    pub id: String,
    pub title: String,
    pub year: Option<u16>,
    pub genres: Vec<String>,
}

impl Movie {
    /// The movie as a catalogue item (content: films are not stocked goods).
    pub fn item(&self) -> Item {
        let mut item = Item::new(&self.id);
        item.category = self.genres.first().cloned();
        item.tags = self.genres.clone();
        if let Some(year) = self.year {
            item.tags.push(format!("{}s", year / 10 * 10));
            // A film of 1997 is not one of 1991: the decade alone blurs them.
            item.tags.push(year.to_string());
        }
        item
    }
}

/// A user of `ml-100k.user`.
#[derive(Debug, Clone, PartialEq)]
pub struct User {
    pub id: String,
    pub age: Option<u8>,
    pub gender: String,
    pub occupation: String,
    pub zip_code: String,
}

/// The data set: ratings as `rating` events (value = stars), every movie in the
/// catalogue (rated or not, in file order), and the user table.
#[derive(Debug, Clone)]
pub struct MovieLens {
    pub log: EventLog,
    pub movies: Vec<Movie>,
    pub users: Vec<User>,
    /// The movies as catalogue items: genres, the release decade and the
    /// release year as tags (`genre=Comedy`-style features for cold start),
    /// category = first genre. The year matters: ratings were collected in
    /// 1997–98, so recent releases draw most of them (cold-start recall@20
    /// 0.402 → 0.478 with it; see the README).
    pub catalog: Catalog,
}

impl MovieLens {
    /// The evaluation protocol's positives: ratings of 4 stars or more.
    pub const POSITIVE_MIN_RATING: f64 = 4.0;
}

/// How to get the data, for every "not found" the loader reports.
pub const HINT: &str = "run `bash scripts/fetch-movielens.sh` in the maitre repository \
(it fills data/ml-100k), or set MAITRE_ML100K to a directory holding ml-100k.inter";

/// Finds the data directory: `$MAITRE_ML100K`, else `shared/data/ml-100k` beside
/// the checkout (`../shared/…` from the working directory or any folder above
/// it), else `data/ml-100k` in the repository (where the fetch script puts it),
/// searched the same way from the working directory and then from this
/// crate's own source folder. This is the one place the data directory is
/// resolved: the examples, tests and Python package all call it.
pub fn find_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os(ENV_VAR) {
        return Some(PathBuf::from(dir));
    }
    let mut starts = Vec::new();
    if let Ok(cwd) = std::env::current_dir() {
        starts.push(cwd);
    }
    starts.push(PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    for start in starts {
        for dir in start.ancestors() {
            for candidate in [dir.join("../shared/data/ml-100k"), dir.join("data/ml-100k")] {
                if candidate.join("ml-100k.inter").is_file() {
                    return Some(candidate);
                }
            }
        }
    }
    None
}

/// The data directory: `dir` when given, else [`find_dir`]'s; either way it
/// must hold `ml-100k.inter`, or the error says how to get the data.
///
/// ```
/// use maitre::datasets::movielens;
/// let err = movielens::locate(Some("/nonexistent".as_ref())).unwrap_err();
/// assert!(err.to_string().contains("scripts/fetch-movielens.sh"), "{err}");
/// ```
pub fn locate(dir: Option<&Path>) -> Result<PathBuf> {
    let not_found = |path: PathBuf| Error::FileNotFound {
        path,
        hint: Some(HINT.to_owned()),
    };
    let dir = match dir {
        Some(dir) => dir.to_path_buf(),
        None => find_dir().ok_or_else(|| {
            not_found(PathBuf::from(
                "ml-100k.inter (in $MAITRE_ML100K, ../shared/data/ml-100k or data/ml-100k)",
            ))
        })?,
    };
    let inter = dir.join("ml-100k.inter");
    match inter.is_file() {
        true => Ok(dir),
        false => Err(not_found(inter)),
    }
}

/// Loads the three atomic files from `dir`.
pub fn load(dir: impl AsRef<Path>) -> Result<MovieLens> {
    let dir = locate(Some(dir.as_ref()))?;
    let dir = dir.as_path();
    let movies = read_table(&dir.join("ml-100k.item"), &["item_id"], |row| {
        Ok(Movie {
            id: row.text("item_id")?,
            title: row.optional("movie_title").unwrap_or_default(),
            year: row.optional("release_year").and_then(|y| y.parse().ok()),
            genres: row
                .optional("class")
                .map(|c| c.split_whitespace().map(str::to_owned).collect())
                .unwrap_or_default(),
        })
    })?;
    let users = read_table(&dir.join("ml-100k.user"), &["user_id"], |row| {
        Ok(User {
            id: row.text("user_id")?,
            age: row.optional("age").and_then(|a| a.parse().ok()),
            gender: row.optional("gender").unwrap_or_default(),
            occupation: row.optional("occupation").unwrap_or_default(),
            zip_code: row.optional("zip_code").unwrap_or_default(),
        })
    })?;
    let events = read_table(
        &dir.join("ml-100k.inter"),
        &["user_id", "item_id", "rating", "timestamp"],
        |row| {
            Ok(Event::new(
                row.text("user_id")?,
                row.text("item_id")?,
                "rating",
                row.number("timestamp")? as i64,
            )
            .value(row.number("rating")?))
        },
    )?;
    let mut log = EventLog::with_kinds(EventKinds::default());
    for movie in &movies {
        log.add_item(&movie.id)?;
    }
    log.extend(events, &IngestOptions::default())?;
    let catalog = Catalog::aligned(&mut log, movies.iter().map(Movie::item))?;
    Ok(MovieLens {
        log,
        movies,
        users,
        catalog,
    })
}

/// One line of an atomic file, with its header.
struct AtomicRow<'a> {
    names: &'a [String],
    fields: Vec<&'a str>,
    line: usize,
}

impl AtomicRow<'_> {
    fn optional(&self, name: &str) -> Option<String> {
        let i = self.names.iter().position(|n| n == name)?;
        self.fields
            .get(i)
            .map(|f| f.trim())
            .filter(|f| !f.is_empty())
            .map(str::to_owned)
    }

    fn text(&self, name: &str) -> Result<String> {
        self.optional(name)
            .ok_or_else(|| BadRow::new(Location::Line(self.line), name, Problem::Empty).into())
    }

    fn number(&self, name: &str) -> Result<f64> {
        let text = self.text(name)?;
        match text.parse::<f64>() {
            Ok(v) if v.is_finite() => Ok(v),
            Ok(_) => {
                Err(BadRow::new(Location::Line(self.line), name, Problem::NotFinite(text)).into())
            }
            Err(_) => {
                Err(BadRow::new(Location::Line(self.line), name, Problem::NotANumber(text)).into())
            }
        }
    }
}

/// Reads a RecBole atomic file: a typed header (`name:type`), then tab-separated rows.
fn read_table<T>(
    path: &Path,
    required: &[&str],
    mut parse: impl FnMut(&AtomicRow<'_>) -> Result<T>,
) -> Result<Vec<T>> {
    let text = std::fs::read_to_string(path).map_err(|e| match Error::io(path, e) {
        Error::FileNotFound { path, .. } => Error::FileNotFound {
            path,
            hint: Some(HINT.to_owned()),
        },
        other => other,
    })?;
    let mut lines = text.lines();
    let header = lines.next().unwrap_or_default();
    let names: Vec<String> = header
        .split('\t')
        .map(|h| h.split(':').next().unwrap_or_default().trim().to_owned())
        .collect();
    for column in required {
        if !names.iter().any(|n| n == column) {
            return Err(Error::MissingColumn {
                column: (*column).to_owned(),
                present: names.join(", "),
            });
        }
    }
    let mut out = Vec::new();
    for (i, line) in lines.enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let row = AtomicRow {
            names: &names,
            fields: line.split('\t').collect(),
            line: i + 2,
        };
        out.push(parse(&row)?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) {
        std::fs::write(dir.join(name), text).unwrap();
    }

    fn fixture(inter: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("maitre-ml-{}-{}", std::process::id(), inter.len()));
        std::fs::create_dir_all(&dir).unwrap();
        write(
            &dir,
            "ml-100k.item",
            "item_id:token\tmovie_title:token_seq\trelease_year:token\tclass:token_seq\n\
             1\tToy Story\t1995\tAnimation Comedy\n2\tHeat\t1995\tAction\n3\tUnrated\t1990\tDrama\n",
        );
        write(
            &dir,
            "ml-100k.user",
            "user_id:token\tage:token\tgender:token\toccupation:token\tzip_code:token\n7\t24\tM\tartist\t85711\n",
        );
        write(&dir, "ml-100k.inter", inter);
        dir
    }

    #[test]
    fn reads_atomic_files_and_keeps_unrated_items() {
        let dir = fixture(
            "user_id:token\titem_id:token\trating:float\ttimestamp:float\n7\t1\t5\t881250949\n7\t2\t3\t881250950\n",
        );
        let ml = load(&dir).unwrap();
        assert_eq!(ml.log.len(), 2);
        assert_eq!(
            ml.log.items().len(),
            3,
            "the unrated movie is in the catalogue"
        );
        assert_eq!(ml.movies[0].genres, vec!["Animation", "Comedy"]);
        assert_eq!(ml.users[0].age, Some(24));
        let e = ml.log.event(0).unwrap();
        assert_eq!(
            (e.customer, e.item, e.value, e.timestamp),
            ("7", "1", Some(5.0), 881250949)
        );
    }

    #[test]
    fn bad_rating_names_line_and_field() {
        let dir = fixture(
            "user_id:token\titem_id:token\trating:float\ttimestamp:float\n7\t1\t5\t1\n7\t2\tfive\t2\n",
        );
        let err = load(&dir).unwrap_err();
        assert_eq!(
            err.to_string(),
            "line 3: field `rating` \"five\" is not a number"
        );
    }

    #[test]
    fn missing_directory_is_file_not_found_and_says_how_to_get_it() {
        let err = load("/nonexistent/ml-100k").unwrap_err();
        assert!(matches!(err, Error::FileNotFound { .. }), "{err}");
        assert!(err.to_string().contains("fetch-movielens.sh"), "{err}");
    }
}
