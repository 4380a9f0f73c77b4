//! SQLite errors as PostgreSQL errors: the SQLSTATE and message a
//! PostgreSQL client expects for the same mistake.

use postwire_server::PgError;
use postwire_server::codec::SqlState;
use rusqlite::ErrorCode;
use rusqlite::ffi;

/// `error` (from running `sql`) as a PostgreSQL error.
pub(super) fn pg_error(error: &rusqlite::Error, sql: &str) -> PgError {
    match error {
        rusqlite::Error::SqliteFailure(failure, message) => {
            let message = message.clone().unwrap_or_else(|| failure.to_string());
            match failure.code {
                ErrorCode::ConstraintViolation => constraint(failure.extended_code, &message),
                ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked => {
                    PgError::new(SqlState::LOCK_NOT_AVAILABLE, format!("could not obtain lock: {message}"))
                }
                ErrorCode::ReadOnly => PgError::new(SqlState::READ_ONLY_SQL_TRANSACTION, message),
                ErrorCode::TooBig => PgError::new(SqlState::PROGRAM_LIMIT_EXCEEDED, message),
                ErrorCode::OperationInterrupted => PgError::query_canceled(),
                ErrorCode::TypeMismatch => PgError::new(SqlState::DATATYPE_MISMATCH, message),
                ErrorCode::DiskFull | ErrorCode::CannotOpen | ErrorCode::SystemIoFailure => {
                    PgError::new(SqlState::IO_ERROR, message)
                }
                _ => from_message(&message, sql),
            }
        }
        rusqlite::Error::SqlInputError { msg, offset, .. } => {
            let error = from_message(msg, sql);
            match (error.position, usize::try_from(*offset)) {
                (None, Ok(offset)) if offset < sql.len() && sql.is_char_boundary(offset) => {
                    error.with_position(sql[..offset].chars().count() as u32 + 1)
                }
                _ => error,
            }
        }
        rusqlite::Error::MultipleStatement => {
            PgError::new(SqlState::SYNTAX_ERROR, "cannot insert multiple commands into a prepared statement")
        }
        rusqlite::Error::InvalidParameterCount(given, expected) => PgError::new(
            SqlState::PROTOCOL_VIOLATION,
            format!("bind message supplies {given} parameters, but prepared statement requires {expected}"),
        ),
        rusqlite::Error::SqliteSingleThreadedMode | rusqlite::Error::InvalidPath(_) => {
            PgError::new(SqlState::INTERNAL_ERROR, error.to_string())
        }
        other => PgError::new(SqlState::INTERNAL_ERROR, other.to_string()),
    }
}

fn constraint(extended_code: i32, message: &str) -> PgError {
    let (code, text) = match extended_code {
        ffi::SQLITE_CONSTRAINT_UNIQUE | ffi::SQLITE_CONSTRAINT_PRIMARYKEY => {
            (SqlState::UNIQUE_VIOLATION, "duplicate key value violates unique constraint")
        }
        ffi::SQLITE_CONSTRAINT_NOTNULL => (SqlState::NOT_NULL_VIOLATION, "null value violates not-null constraint"),
        ffi::SQLITE_CONSTRAINT_FOREIGNKEY => {
            (SqlState::FOREIGN_KEY_VIOLATION, "insert or update violates foreign key constraint")
        }
        ffi::SQLITE_CONSTRAINT_CHECK => (SqlState::CHECK_VIOLATION, "new row violates check constraint"),
        _ => (SqlState::INTEGRITY_CONSTRAINT_VIOLATION, "constraint violated"),
    };
    PgError::new(code, text).with_detail(message.to_owned())
}

/// The quoted name in `near "x": syntax error` and similar messages.
fn quoted(message: &str) -> Option<&str> {
    let start = message.find('"')? + 1;
    let end = start + message[start..].find('"')?;
    Some(&message[start..end])
}

/// `error` pointing at the first occurrence of `needle` in `sql`
/// (case-insensitively), when there is one.
fn at_text(error: PgError, sql: &str, needle: &str) -> PgError {
    let found = (!needle.is_empty()).then(|| sql.to_ascii_lowercase().find(&needle.to_ascii_lowercase())).flatten();
    match found {
        Some(at) => error.with_position(sql[..at].chars().count() as u32 + 1),
        None => error,
    }
}

/// A generic SQLite error, classified by its message (SQLite reports most
/// SQL mistakes as `SQLITE_ERROR` with a message).
fn from_message(message: &str, sql: &str) -> PgError {
    let after = |prefix: &str| message.strip_prefix(prefix).map(str::trim);
    if message.ends_with("syntax error") {
        return match quoted(message) {
            Some(near) => {
                at_text(PgError::new(SqlState::SYNTAX_ERROR, format!("syntax error at or near \"{near}\"")), sql, near)
            }
            None => PgError::new(SqlState::SYNTAX_ERROR, message),
        };
    }
    if message.starts_with("incomplete input") || message.starts_with("unrecognized token") {
        let error = PgError::new(SqlState::SYNTAX_ERROR, "syntax error at end of input");
        return error.with_position(sql.trim_end().chars().count() as u32 + 1);
    }
    if let Some(table) = after("no such table:") {
        let table = table.trim_start_matches("main.");
        let error = PgError::new(SqlState::UNDEFINED_TABLE, format!("relation \"{table}\" does not exist"));
        return at_text(error, sql, table);
    }
    if let Some(column) = after("no such column:") {
        let error = PgError::new(SqlState::UNDEFINED_COLUMN, format!("column \"{column}\" does not exist"));
        return at_text(error, sql, column);
    }
    if let Some(function) = after("no such function:") {
        return PgError::new(SqlState::UNDEFINED_FUNCTION, format!("function {function}() does not exist"))
            .with_hint("No function matches the given name and argument types.");
    }
    if message.starts_with("wrong number of arguments to function") {
        return PgError::new(SqlState::UNDEFINED_FUNCTION, message);
    }
    if let Some(rest) = after("table").or_else(|| after("view")).or_else(|| after("index"))
        && let Some(name) = rest.strip_suffix("already exists")
    {
        return PgError::new(SqlState::DUPLICATE_TABLE, format!("relation \"{}\" already exists", name.trim()));
    }
    if let Some(name) = after("no such index:").or_else(|| after("no such view:")).or_else(|| after("no such trigger:"))
    {
        return PgError::new(SqlState::UNDEFINED_OBJECT, format!("\"{name}\" does not exist"));
    }
    if let Some(name) = after("ambiguous column name:") {
        return PgError::new(SqlState::AMBIGUOUS_COLUMN, format!("column reference \"{name}\" is ambiguous"));
    }
    if let Some(name) = after("no such savepoint:") {
        return PgError::new(SqlState::INVALID_SAVEPOINT_SPECIFICATION, format!("savepoint \"{name}\" does not exist"));
    }
    if message.starts_with("misuse of aggregate") {
        return PgError::new(SqlState::GROUPING_ERROR, message);
    }
    if message.contains("has no column named") {
        return PgError::new(SqlState::UNDEFINED_COLUMN, message);
    }
    if message.contains("values were supplied") || message.contains("values for") {
        return PgError::new(SqlState::SYNTAX_ERROR, message);
    }
    if message.starts_with("integer overflow") {
        return PgError::new(SqlState::NUMERIC_VALUE_OUT_OF_RANGE, "integer out of range");
    }
    if message.starts_with("datatype mismatch") {
        return PgError::new(SqlState::DATATYPE_MISMATCH, message);
    }
    if message.starts_with("interrupted") {
        return PgError::query_canceled();
    }
    PgError::new(SqlState::SYNTAX_ERROR_OR_ACCESS_RULE_VIOLATION, message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::Connection;

    fn error_of(setup: &str, sql: &str) -> PgError {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(setup).unwrap();
        let error = conn.execute_batch(sql).unwrap_err();
        pg_error(&error, sql)
    }

    #[test]
    fn sqlite_errors_get_postgres_sqlstates() {
        let setup = "PRAGMA foreign_keys = ON; CREATE TABLE p (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, \
                     n INT CHECK (n > 0)); CREATE TABLE c (p INT REFERENCES p(id)); INSERT INTO p VALUES (1, 'a', 1);";
        let cases = [
            ("SELEC 1", SqlState::SYNTAX_ERROR),
            ("SELECT * FROM nope", SqlState::UNDEFINED_TABLE),
            ("SELECT nope FROM p", SqlState::UNDEFINED_COLUMN),
            ("INSERT INTO p VALUES (1, 'b', 1)", SqlState::UNIQUE_VIOLATION),
            ("INSERT INTO p VALUES (2, 'a', 1)", SqlState::UNIQUE_VIOLATION),
            ("INSERT INTO p VALUES (3, NULL, 1)", SqlState::NOT_NULL_VIOLATION),
            ("INSERT INTO p VALUES (4, 'd', 0)", SqlState::CHECK_VIOLATION),
            ("INSERT INTO c VALUES (99)", SqlState::FOREIGN_KEY_VIOLATION),
            ("CREATE TABLE p (x INT)", SqlState::DUPLICATE_TABLE),
            ("SELECT nofunc(1)", SqlState::UNDEFINED_FUNCTION),
            ("SELECT (", SqlState::SYNTAX_ERROR),
        ];
        for (sql, code) in cases {
            let error = error_of(setup, sql);
            assert_eq!(error.code, code, "{sql}: {}", error.message);
        }
    }

    #[test]
    fn messages_read_like_postgres() {
        let error = error_of("", "SELECT * FROM missing");
        assert_eq!(error.message, "relation \"missing\" does not exist");
        assert_eq!(error.position, Some(15));
        let error = error_of("", "SELEC 1");
        assert_eq!(error.message, "syntax error at or near \"SELEC\"");
        assert_eq!(error.position, Some(1));
    }
}
