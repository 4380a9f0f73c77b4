//! The statements the session answers itself instead of passing them to
//! SQLite: transactions (PostgreSQL's rules around SQLite's), run-time
//! settings, LISTEN/NOTIFY, COPY and the no-ops clients send.

use postwire_server::PgError;
use postwire_server::codec::SqlState;

use super::copy::{CopyStatement, parse_copy};
use super::lexer::{Kind, Token, name_value, string_value};
use super::pg_catalog::{CatalogQuery, recognise};

/// What to do with one statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Command {
    /// Pass it to SQLite (translated).
    Sql,
    /// `BEGIN`, `START TRANSACTION`.
    Begin,
    /// `COMMIT`, `END`.
    Commit,
    /// `ROLLBACK`, `ABORT`.
    Rollback,
    /// `SAVEPOINT name`.
    Savepoint(String),
    /// `RELEASE [SAVEPOINT] name`.
    Release(String),
    /// `ROLLBACK TO [SAVEPOINT] name`.
    RollbackTo(String),
    /// `SET name TO value` (`None`: `DEFAULT`); settings SQLite has no use
    /// for (`SET TRANSACTION …`) have no name.
    Set { name: Option<String>, value: Option<String> },
    /// `SHOW name` (`all` for `SHOW ALL`).
    Show(String),
    /// `RESET name` (`all` for `RESET ALL`).
    Reset(String),
    /// A statement with nothing to do here but its tag (`DISCARD ALL`,
    /// `DEALLOCATE ALL`).
    NoOp(String),
    /// `LISTEN channel`.
    Listen(String),
    /// `UNLISTEN channel` (`None`: `UNLISTEN *`).
    Unlisten(Option<String>),
    /// `NOTIFY channel [, 'payload']`.
    Notify { channel: String, payload: String },
    /// `COPY … FROM STDIN` or `COPY … TO STDOUT`.
    Copy(CopyStatement),
    /// A catalog query of psql's meta-commands, answered from SQLite's catalog.
    Catalog(CatalogQuery),
}

fn syntax_error(near: Option<&Token<'_>>) -> PgError {
    match near {
        Some(t) => PgError::new(SqlState::SYNTAX_ERROR, format!("syntax error at or near \"{}\"", t.text)),
        None => PgError::new(SqlState::SYNTAX_ERROR, "syntax error at end of input"),
    }
}

/// A name (word or quoted) at `sig[i]`.
fn name_at(sig: &[Token<'_>], i: usize) -> Result<String, PgError> {
    match sig.get(i) {
        Some(t) if matches!(t.kind, Kind::Word | Kind::QuotedName) => Ok(name_value(t)),
        other => Err(syntax_error(other)),
    }
}

/// Classifies a statement by its significant tokens.
pub(super) fn classify(sig: &[Token<'_>]) -> Result<Command, PgError> {
    let word = |i: usize, w: &str| sig.get(i).is_some_and(|t| t.is_word(w));
    let Some(first) = sig.first() else { return Ok(Command::Sql) };
    if let Some(query) = recognise(sig) {
        return Ok(Command::Catalog(query));
    }
    if first.kind != Kind::Word {
        return Ok(Command::Sql);
    }
    Ok(match first.text.to_ascii_lowercase().as_str() {
        "begin" | "start" => Command::Begin,
        "commit" | "end" if !word(1, "prepared") => Command::Commit,
        "rollback" | "abort" if word(1, "to") => {
            let at = if word(2, "savepoint") { 3 } else { 2 };
            Command::RollbackTo(name_at(sig, at)?)
        }
        "rollback" | "abort" if !word(1, "prepared") => Command::Rollback,
        "savepoint" => Command::Savepoint(name_at(sig, 1)?),
        "release" => Command::Release(name_at(sig, if word(1, "savepoint") { 2 } else { 1 })?),
        "set" => parse_set(sig)?,
        "show" => Command::Show(match sig.get(1..).unwrap_or_default() {
            [] => return Err(syntax_error(None)),
            [time, zone] if time.is_word("time") && zone.is_word("zone") => "timezone".into(),
            [t, ..] if t.is_word("transaction") => "transaction_isolation".into(),
            [t, ..] if t.is_word("session") => "session_authorization".into(),
            name => dotted_name(name)?,
        }),
        "reset" => Command::Reset(match sig.get(1..).unwrap_or_default() {
            [] => return Err(syntax_error(None)),
            [time, zone] if time.is_word("time") && zone.is_word("zone") => "timezone".into(),
            name => dotted_name(name)?,
        }),
        "discard" => Command::NoOp(format!("DISCARD {}", sig.get(1).map_or("", |t| t.text).to_ascii_uppercase())),
        "deallocate" => {
            let all = sig.iter().skip(1).any(|t| t.is_word("all"));
            Command::NoOp(if all { "DEALLOCATE ALL".into() } else { "DEALLOCATE".into() })
        }
        "listen" => Command::Listen(name_at(sig, 1)?),
        "unlisten" => match sig.get(1) {
            Some(t) if t.is_symbol("*") => Command::Unlisten(None),
            _ => Command::Unlisten(Some(name_at(sig, 1)?)),
        },
        "notify" => {
            let channel = name_at(sig, 1)?;
            let payload = match sig.get(2..).unwrap_or_default() {
                [] => String::new(),
                [comma, payload] if comma.is_symbol(",") && payload.kind == Kind::String => string_value(payload.text),
                [other, ..] => return Err(syntax_error(Some(other))),
            };
            if payload.len() >= 8000 {
                return Err(PgError::new(SqlState::INVALID_PARAMETER_VALUE, "payload string too long"));
            }
            Command::Notify { channel, payload }
        }
        "copy" => Command::Copy(parse_copy(sig)?),
        _ => Command::Sql,
    })
}

/// A possibly dotted parameter name (`application_name`, `myapp.key`).
fn dotted_name(tokens: &[Token<'_>]) -> Result<String, PgError> {
    let mut name = String::new();
    for (i, t) in tokens.iter().enumerate() {
        let expected_name = i % 2 == 0;
        match (expected_name, t.kind) {
            (true, Kind::Word | Kind::QuotedName) => name.push_str(&name_value(t)),
            (false, Kind::Symbol) if t.text == "." => name.push('.'),
            _ => return Err(syntax_error(Some(t))),
        }
    }
    Ok(name)
}

fn parse_set(sig: &[Token<'_>]) -> Result<Command, PgError> {
    let mut i = 1;
    if sig.get(i).is_some_and(|t| t.is_word("session") || t.is_word("local")) {
        i += 1;
    }
    let rest = sig.get(i..).unwrap_or_default();
    let (name, value_tokens) = match rest {
        [] => return Err(syntax_error(None)),
        [t, ..] if t.is_word("transaction") || t.is_word("characteristics") || t.is_word("authorization") => {
            return Ok(Command::Set { name: None, value: None });
        }
        [time, zone, value @ ..] if time.is_word("time") && zone.is_word("zone") => ("timezone".to_owned(), value),
        [names, value @ ..] if names.is_word("names") => ("client_encoding".to_owned(), value),
        _ => {
            let to = rest
                .iter()
                .position(|t| t.is_word("to") || t.is_symbol("="))
                .ok_or_else(|| syntax_error(rest.get(1)))?;
            (dotted_name(&rest[..to])?, &rest[to + 1..])
        }
    };
    if value_tokens.is_empty() {
        return Err(syntax_error(None));
    }
    if let [default] = value_tokens
        && (default.is_word("default") || default.is_word("local"))
    {
        return Ok(Command::Set { name: Some(name), value: None });
    }
    let mut values = Vec::new();
    let mut current = String::new();
    for t in value_tokens {
        match t.kind {
            Kind::Symbol if t.text == "," => values.push(std::mem::take(&mut current)),
            Kind::String => current.push_str(&string_value(t.text)),
            _ => current.push_str(t.text),
        }
    }
    values.push(current);
    Ok(Command::Set { name: Some(name), value: Some(values.join(", ")) })
}

#[cfg(test)]
mod tests {
    use super::super::lexer::{significant, tokenize};
    use super::*;

    fn classify_sql(sql: &str) -> Command {
        classify(&significant(&tokenize(sql).unwrap())).unwrap()
    }

    #[test]
    fn session_statements_are_recognised() {
        assert_eq!(classify_sql("BEGIN ISOLATION LEVEL SERIALIZABLE"), Command::Begin);
        assert_eq!(classify_sql("start transaction"), Command::Begin);
        assert_eq!(classify_sql("END"), Command::Commit);
        assert_eq!(classify_sql("rollback to savepoint a"), Command::RollbackTo("a".into()));
        assert_eq!(classify_sql("ROLLBACK"), Command::Rollback);
        assert_eq!(classify_sql("release b"), Command::Release("b".into()));
        assert_eq!(
            classify_sql("SET application_name = 'x y'"),
            Command::Set { name: Some("application_name".into()), value: Some("x y".into()) }
        );
        assert_eq!(
            classify_sql("set search_path to public, \"$user\""),
            Command::Set { name: Some("search_path".into()), value: Some("public, \"$user\"".into()) }
        );
        assert_eq!(
            classify_sql("SET TIME ZONE 'UTC'"),
            Command::Set { name: Some("timezone".into()), value: Some("UTC".into()) }
        );
        assert_eq!(classify_sql("SHOW DateStyle"), Command::Show("datestyle".into()));
        assert_eq!(classify_sql("show transaction isolation level"), Command::Show("transaction_isolation".into()));
        assert_eq!(classify_sql("NOTIFY ch, 'hi'"), Command::Notify { channel: "ch".into(), payload: "hi".into() });
        assert_eq!(classify_sql("UNLISTEN *"), Command::Unlisten(None));
        assert_eq!(classify_sql("DISCARD ALL"), Command::NoOp("DISCARD ALL".into()));
        assert_eq!(classify_sql("select 1"), Command::Sql);
    }

    #[test]
    fn malformed_session_statements_are_syntax_errors() {
        for sql in ["SET", "SET x", "SHOW", "LISTEN", "NOTIFY ch 'x'", "SAVEPOINT"] {
            let error = classify(&significant(&tokenize(sql).unwrap())).unwrap_err();
            assert_eq!(error.code, SqlState::SYNTAX_ERROR, "{sql}");
        }
    }
}
