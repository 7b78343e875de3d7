//! A small common ground between SQLite and PostgreSQL, so that the registers (accounts,
//! sessions, tokens, exports, legal holds, purges) are written once and run on both.
//!
//! Statements use PostgreSQL's `$1, $2, …` placeholders; for SQLite they become `?1, ?2,
//! …` (SQLite would read `$1` as a *named* parameter, numbered by first appearance).
//! Values are integers (`BIGINT` in PostgreSQL), reals, text or typed nulls; no
//! backend-specific types.

use super::{Result, StoreError};

/// A value bound to a statement or read from a row.
#[derive(Debug, Clone, PartialEq)]
pub enum Val {
    Int(i64),
    Real(f64),
    Text(String),
    /// A null in an integer column.
    NullInt,
    /// A null in a text column.
    NullText,
    /// A null in a real column.
    NullReal,
}

impl From<i64> for Val {
    fn from(v: i64) -> Self {
        Val::Int(v)
    }
}
impl From<&str> for Val {
    fn from(v: &str) -> Self {
        Val::Text(v.to_owned())
    }
}
impl From<String> for Val {
    fn from(v: String) -> Self {
        Val::Text(v)
    }
}
impl From<Option<String>> for Val {
    fn from(v: Option<String>) -> Self {
        v.map_or(Val::NullText, Val::Text)
    }
}
impl From<Option<i64>> for Val {
    fn from(v: Option<i64>) -> Self {
        v.map_or(Val::NullInt, Val::Int)
    }
}
impl From<f64> for Val {
    fn from(v: f64) -> Self {
        Val::Real(v)
    }
}
impl From<Option<f64>> for Val {
    fn from(v: Option<f64>) -> Self {
        v.map_or(Val::NullReal, Val::Real)
    }
}
impl From<bool> for Val {
    fn from(v: bool) -> Self {
        Val::Int(i64::from(v))
    }
}

/// One result row.
#[derive(Debug, Clone)]
pub struct Row(pub Vec<Val>);

impl Row {
    fn at(&self, i: usize) -> Result<&Val> {
        self.0.get(i).ok_or_else(|| StoreError::Corrupt(format!("row has no column {i}")))
    }
    pub fn int(&self, i: usize) -> Result<i64> {
        match self.at(i)? {
            Val::Int(v) => Ok(*v),
            other => Err(StoreError::Corrupt(format!("column {i}: expected an integer, found {other:?}"))),
        }
    }
    pub fn opt_real(&self, i: usize) -> Result<Option<f64>> {
        match self.at(i)? {
            Val::Real(v) => Ok(Some(*v)),
            Val::Int(v) => Ok(Some(*v as f64)),
            Val::NullInt | Val::NullText | Val::NullReal => Ok(None),
            other => Err(StoreError::Corrupt(format!("column {i}: expected a real, found {other:?}"))),
        }
    }
    pub fn real(&self, i: usize) -> Result<f64> {
        self.opt_real(i)?.ok_or_else(|| StoreError::Corrupt(format!("column {i}: unexpected null")))
    }
    pub fn opt_int(&self, i: usize) -> Result<Option<i64>> {
        match self.at(i)? {
            Val::Int(v) => Ok(Some(*v)),
            Val::NullInt | Val::NullText | Val::NullReal => Ok(None),
            other => Err(StoreError::Corrupt(format!("column {i}: expected an integer, found {other:?}"))),
        }
    }
    pub fn text(&self, i: usize) -> Result<String> {
        match self.at(i)? {
            Val::Text(v) => Ok(v.clone()),
            other => Err(StoreError::Corrupt(format!("column {i}: expected text, found {other:?}"))),
        }
    }
    pub fn opt_text(&self, i: usize) -> Result<Option<String>> {
        match self.at(i)? {
            Val::Text(v) => Ok(Some(v.clone())),
            Val::NullInt | Val::NullText | Val::NullReal => Ok(None),
            other => Err(StoreError::Corrupt(format!("column {i}: expected text, found {other:?}"))),
        }
    }
    pub fn bool(&self, i: usize) -> Result<bool> {
        Ok(self.int(i)? != 0)
    }
}

/// A connection that runs the registers' statements.
pub trait SqlConn: Send {
    /// Runs one statement; returns the rows it changed.
    fn exec(&mut self, sql: &str, args: &[Val]) -> Result<u64>;
    /// Runs one query.
    fn rows(&mut self, sql: &str, args: &[Val]) -> Result<Vec<Row>>;
    /// Runs several statements without arguments (schema, BEGIN/COMMIT).
    fn batch(&mut self, sql: &str) -> Result<()>;
    /// `sqlite` or `postgres`, for the few statements that must differ.
    fn dialect(&self) -> Dialect;
}

/// Runs `f` in one transaction on `conn`: committed if it succeeds, rolled back if not.
pub fn in_transaction<T>(conn: &mut dyn SqlConn, f: impl FnOnce(&mut dyn SqlConn) -> Result<T>) -> Result<T> {
    conn.batch("BEGIN")?;
    match f(conn) {
        Ok(r) => {
            conn.batch("COMMIT")?;
            Ok(r)
        }
        Err(e) => {
            let _ = conn.batch("ROLLBACK");
            Err(e)
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

/// `$n` → `?n`, outside string literals.
fn sqlite_placeholders(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut quoted = false;
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' => quoted = !quoted,
            '$' if !quoted && chars.peek().is_some_and(char::is_ascii_digit) => {
                out.push('?');
                continue;
            }
            _ => {}
        }
        out.push(c);
    }
    out
}

impl SqlConn for rusqlite::Connection {
    fn exec(&mut self, sql: &str, args: &[Val]) -> Result<u64> {
        let err = |source| StoreError::Sqlite { context: "register statement", source };
        let mut stmt = self.prepare_cached(&sqlite_placeholders(sql)).map_err(err)?;
        let n = stmt.execute(rusqlite::params_from_iter(args.iter().map(SqliteVal))).map_err(err)?;
        Ok(n as u64)
    }

    fn rows(&mut self, sql: &str, args: &[Val]) -> Result<Vec<Row>> {
        let err = |source| StoreError::Sqlite { context: "register query", source };
        let mut stmt = self.prepare_cached(&sqlite_placeholders(sql)).map_err(err)?;
        let n = stmt.column_count();
        let mut rows = stmt.query(rusqlite::params_from_iter(args.iter().map(SqliteVal))).map_err(err)?;
        let mut out = Vec::new();
        while let Some(r) = rows.next().map_err(err)? {
            let mut vals = Vec::with_capacity(n);
            for i in 0..n {
                use rusqlite::types::ValueRef;
                vals.push(match r.get_ref(i).map_err(err)? {
                    ValueRef::Null => Val::NullText,
                    ValueRef::Integer(v) => Val::Int(v),
                    ValueRef::Real(v) => Val::Real(v),
                    ValueRef::Text(t) => Val::Text(String::from_utf8_lossy(t).into_owned()),
                    ValueRef::Blob(b) => Val::Text(String::from_utf8_lossy(b).into_owned()),
                });
            }
            out.push(Row(vals));
        }
        Ok(out)
    }

    fn batch(&mut self, sql: &str) -> Result<()> {
        self.execute_batch(sql).map_err(|source| StoreError::Sqlite { context: "register batch", source })
    }

    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }
}

struct SqliteVal<'a>(&'a Val);

impl rusqlite::ToSql for SqliteVal<'_> {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::{ToSqlOutput, Value, ValueRef};
        Ok(match self.0 {
            Val::Int(v) => ToSqlOutput::Owned(Value::Integer(*v)),
            Val::Real(v) => ToSqlOutput::Owned(Value::Real(*v)),
            Val::Text(s) => ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes())),
            Val::NullInt | Val::NullText | Val::NullReal => ToSqlOutput::Owned(Value::Null),
        })
    }
}

impl SqlConn for postgres::Client {
    fn exec(&mut self, sql: &str, args: &[Val]) -> Result<u64> {
        let params = pg_params(args);
        let refs: Vec<&(dyn postgres::types::ToSql + Sync)> = params.iter().map(|p| p.as_ref()).collect();
        self.execute(sql, &refs).map_err(|source| StoreError::Postgres { context: "register statement", source })
    }

    fn rows(&mut self, sql: &str, args: &[Val]) -> Result<Vec<Row>> {
        use postgres::types::Type;
        let err = |source| StoreError::Postgres { context: "register query", source };
        let params = pg_params(args);
        let refs: Vec<&(dyn postgres::types::ToSql + Sync)> = params.iter().map(|p| p.as_ref()).collect();
        let rows = self.query(sql, &refs).map_err(err)?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            let mut vals = Vec::with_capacity(r.len());
            for (i, col) in r.columns().iter().enumerate() {
                let t = col.type_();
                vals.push(if *t == Type::INT8 {
                    r.try_get::<_, Option<i64>>(i).map_err(err)?.map_or(Val::NullInt, Val::Int)
                } else if *t == Type::INT4 {
                    r.try_get::<_, Option<i32>>(i).map_err(err)?.map_or(Val::NullInt, |v| Val::Int(i64::from(v)))
                } else if *t == Type::INT2 {
                    r.try_get::<_, Option<i16>>(i).map_err(err)?.map_or(Val::NullInt, |v| Val::Int(i64::from(v)))
                } else if *t == Type::FLOAT8 {
                    r.try_get::<_, Option<f64>>(i).map_err(err)?.map_or(Val::NullInt, Val::Real)
                } else if *t == Type::BOOL {
                    r.try_get::<_, Option<bool>>(i).map_err(err)?.map_or(Val::NullInt, |v| Val::Int(i64::from(v)))
                } else {
                    r.try_get::<_, Option<String>>(i).map_err(err)?.map_or(Val::NullText, Val::Text)
                });
            }
            out.push(Row(vals));
        }
        Ok(out)
    }

    fn batch(&mut self, sql: &str) -> Result<()> {
        self.batch_execute(sql).map_err(|source| StoreError::Postgres { context: "register batch", source })
    }

    fn dialect(&self) -> Dialect {
        Dialect::Postgres
    }
}

fn pg_params(args: &[Val]) -> Vec<Box<dyn postgres::types::ToSql + Sync>> {
    args.iter()
        .map(|v| -> Box<dyn postgres::types::ToSql + Sync> {
            match v {
                Val::Int(i) => Box::new(*i),
                Val::Real(f) => Box::new(*f),
                Val::Text(s) => Box::new(s.clone()),
                Val::NullInt => Box::new(None::<i64>),
                Val::NullText => Box::new(None::<String>),
                Val::NullReal => Box::new(None::<f64>),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn placeholders_become_numbered_for_sqlite() {
        assert_eq!(
            super::sqlite_placeholders("UPDATE t SET a = $2, b = '$1 kept' WHERE id = $1"),
            "UPDATE t SET a = ?2, b = '$1 kept' WHERE id = ?1"
        );
    }
}
