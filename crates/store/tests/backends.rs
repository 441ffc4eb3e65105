//! The same migrations and queries on SQLite and on the PostgreSQL that
//! `RAMPART_TEST_POSTGRES` names (CI sets it; without it the PostgreSQL
//! half fails, as a missing service must not pass silently).

use sqlx::Row;
use store::{Backend, Database};

const MIGRATIONS: &[&str] = &[
    "CREATE TABLE notes (id {serial}, body TEXT NOT NULL, data {blob})",
    "ALTER TABLE notes ADD COLUMN author TEXT",
];

async fn exercise(db: &Database, component: &str) {
    db.migrate(component, MIGRATIONS).await.unwrap();
    db.migrate(component, MIGRATIONS).await.unwrap();
    sqlx::query("INSERT INTO notes (body, author) VALUES ($1, $2)")
        .bind("hello")
        .bind("alice")
        .execute(db.pool())
        .await
        .unwrap();
    let row = sqlx::query("SELECT body, author FROM notes WHERE author = $1")
        .bind("alice")
        .fetch_one(db.pool())
        .await
        .unwrap();
    assert_eq!(row.get::<String, _>(0), "hello");
    let versions = sqlx::query("SELECT COUNT(*) FROM rampart_schema WHERE component = $1")
        .bind(component)
        .fetch_one(db.pool())
        .await
        .unwrap();
    assert_eq!(versions.get::<i64, _>(0), 2);
}

#[tokio::test]
async fn sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open_sqlite(&dir.path().join("rampart.sqlite"))
        .await
        .unwrap();
    assert_eq!(db.backend(), Backend::Sqlite);
    exercise(&db, "notes-test").await;
}

#[tokio::test]
async fn postgres() {
    let url = std::env::var("RAMPART_TEST_POSTGRES")
        .expect("RAMPART_TEST_POSTGRES must name a PostgreSQL database (e.g. postgres://postgres@127.0.0.1/test)");
    let db = Database::connect(&url).await.unwrap();
    assert_eq!(db.backend(), Backend::Postgres);
    // A schema of its own keeps runs apart.
    let schema = format!("store_test_{}", std::process::id());
    sqlx::query(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
        .execute(db.pool())
        .await
        .unwrap();
    sqlx::query(&format!("CREATE SCHEMA {schema}"))
        .execute(db.pool())
        .await
        .unwrap();
    let scoped = Database::connect(&format!(
        "{url}{}options=-csearch_path%3D{schema}",
        if url.contains('?') { "&" } else { "?" }
    ))
    .await
    .unwrap();
    exercise(&scoped, "notes-test").await;
    sqlx::query(&format!("DROP SCHEMA {schema} CASCADE"))
        .execute(db.pool())
        .await
        .unwrap();
}

#[tokio::test]
async fn bad_urls_are_one_line_errors() {
    let e = Database::connect("mysql://x")
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("sqlite: or postgres://"), "{e}");
    let e = Database::connect("postgres://u:pw@127.0.0.1:1/db")
        .await
        .unwrap_err()
        .to_string();
    assert!(!e.contains("pw@"), "{e}");
}

/// Two processes opening a fresh database at once (a gateway and a CLI
/// command, two nodes) both run the migrations: both must succeed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_migrations_of_a_fresh_sqlite_file_both_succeed() {
    for round in 0..5 {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("rampart.sqlite");
        let a = Database::open_sqlite(&file).await.unwrap();
        let b = Database::open_sqlite(&file).await.unwrap();
        let migrations: &[&str] = &[
            "CREATE TABLE race_one (id BIGINT PRIMARY KEY)",
            "CREATE TABLE race_two (id BIGINT PRIMARY KEY); CREATE INDEX race_two_id ON race_two (id)",
        ];
        let (ra, rb) = tokio::join!(a.migrate("race", migrations), b.migrate("race", migrations));
        ra.unwrap_or_else(|e| panic!("round {round}, first: {e}"));
        rb.unwrap_or_else(|e| panic!("round {round}, second: {e}"));
        let n: (i64,) =
            sqlx::query_as("SELECT COUNT(*) FROM rampart_schema WHERE component = 'race'")
                .fetch_one(a.pool())
                .await
                .unwrap();
        assert_eq!(n.0, 2);
    }
}
