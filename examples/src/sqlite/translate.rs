//! PostgreSQL SQL to SQLite SQL, token by token: `$1` → `?1`, `x::type` →
//! `CAST(x AS …)` (literals converted here), `E'…'` and `$$…$$` strings,
//! `now()`, `ILIKE`, `IS [NOT] DISTINCT FROM`, `serial` and identity
//! columns, `public.` prefixes. On the way it notes what PostgreSQL would
//! know about the types: the result columns' names and types where the SQL
//! says them (casts, literals, aggregates), and which column each `$n` is
//! compared with or inserted into.

use postwire_server::PgError;
use postwire_server::codec::{Format, Oid, SqlState, oid};
use rusqlite::types::Value as SqlValue;

use super::lexer::{Kind, Token, name_value, quote_literal, string_value};
use super::types::{oid_of_type_name, sqlite_value};

/// A column named in the SQL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum ColumnRef {
    /// `name` or `qualifier.name`.
    Named { qualifier: Option<String>, name: String },
    /// The `index`th column of `table` (`INSERT INTO t VALUES (…)`).
    Positional { table: String, index: usize },
}

/// What the SQL says about a result column's type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Hint {
    /// Nothing: SQLite's declared type, else the value decides.
    Unknown,
    /// This type.
    Type(Oid),
    /// The type of this table column.
    Column(ColumnRef),
    /// `sum(column)`: int8 over integers, else float8.
    Sum(ColumnRef),
    /// The type of parameter `$n` (0-based).
    Param(usize),
    /// Arithmetic on these columns and values of these types: the widest
    /// numeric type among them.
    Arithmetic { columns: Vec<ColumnRef>, types: Vec<Oid> },
    /// `*`: any number of columns, their own types.
    Star,
}

/// One item of a select list (or RETURNING list).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Item {
    /// The name PostgreSQL gives an unaliased item (`count`, `?column?`);
    /// `None`: SQLite's name is right (aliases, plain columns).
    pub(super) name: Option<String>,
    /// Its type, as far as the SQL says.
    pub(super) hint: Hint,
}

/// What kind of statement, for its command tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Verb {
    Select,
    Insert,
    Update,
    Delete,
    /// Any other: the tag is this text (`CREATE TABLE`, `DROP INDEX`…).
    Other(String),
}

impl Verb {
    /// The command tag after `rows` rows were returned or changed.
    pub(super) fn tag(&self, rows: u64) -> String {
        match self {
            Verb::Select => format!("SELECT {rows}"),
            Verb::Insert => format!("INSERT 0 {rows}"),
            Verb::Update => format!("UPDATE {rows}"),
            Verb::Delete => format!("DELETE {rows}"),
            Verb::Other(tag) => tag.clone(),
        }
    }

    /// The verb of a row-returning statement's tag (`INSERT 0` for
    /// `INSERT … RETURNING`).
    pub(super) fn rows_command(&self) -> &str {
        match self {
            Verb::Insert => "INSERT 0",
            Verb::Update => "UPDATE",
            Verb::Delete => "DELETE",
            _ => "SELECT",
        }
    }
}

/// A statement translated for SQLite.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Translated {
    /// The SQLite SQL.
    pub(super) sql: String,
    /// The number of parameters (the highest `$n`).
    pub(super) params: usize,
    /// Parameter types the SQL states (`$1::int4`, `LIMIT $1`), by index.
    pub(super) param_types: Vec<Option<Oid>>,
    /// Columns parameters are compared with or stored into: (index, column).
    pub(super) param_columns: Vec<(usize, ColumnRef)>,
    /// The tables named, with their aliases.
    pub(super) tables: Vec<(String, Option<String>)>,
    /// The select (or RETURNING) list, when there is one at the top level.
    pub(super) items: Vec<Item>,
    /// For the command tag.
    pub(super) verb: Verb,
}

/// Words that end a select list or stand before `(` without being functions.
const CLAUSE_WORDS: &[&str] = &[
    "from",
    "where",
    "group",
    "having",
    "order",
    "limit",
    "offset",
    "union",
    "intersect",
    "except",
    "window",
    "into",
    "returning",
    "on",
    "fetch",
    "for",
];
const NOT_FUNCTIONS: &[&str] = &[
    "select",
    "where",
    "and",
    "or",
    "not",
    "in",
    "on",
    "values",
    "from",
    "as",
    "exists",
    "any",
    "all",
    "when",
    "then",
    "else",
    "using",
    "join",
    "set",
    "into",
    "by",
    "having",
    "returning",
    "is",
    "like",
    "between",
];

fn error_at(code: SqlState, message: impl Into<String>, sql: &[Token<'_>], index: usize) -> PgError {
    let position = sql[..index].iter().map(|t| t.text.chars().count()).sum::<usize>() as u32 + 1;
    PgError::new(code, message).with_position(position)
}

/// A PostgreSQL type name read after `::` or `AS` in a cast, from
/// significant token `at`: (upper-case name without modifiers, the index after it).
fn type_name(sig: &[Token<'_>], at: usize) -> Option<(String, usize)> {
    let first = sig.get(at).filter(|t| matches!(t.kind, Kind::Word | Kind::QuotedName))?;
    let mut name = name_value(first).to_ascii_uppercase();
    let mut i = at + 1;
    if name == "PG_CATALOG" && sig.get(i).is_some_and(|t| t.is_symbol(".")) {
        return type_name(sig, i + 1);
    }
    let word = |i: usize, w: &str| sig.get(i).is_some_and(|t| t.is_word(w));
    if name == "DOUBLE" && word(i, "precision") {
        name.push_str(" PRECISION");
        i += 1;
    } else if name == "CHARACTER" && word(i, "varying") {
        name.push_str(" VARYING");
        i += 1;
    } else if (name == "TIMESTAMP" || name == "TIME") && (word(i, "with") || word(i, "without")) {
        if sig.get(i).is_some_and(|t| t.is_word("with")) {
            name.push_str(" WITH TIME ZONE");
        } else {
            name.push_str(" WITHOUT TIME ZONE");
        }
        i += 3;
    }
    if sig.get(i).is_some_and(|t| t.is_symbol("(")) {
        i = matching_paren(sig, i)? + 1;
    }
    while sig.get(i).is_some_and(|t| t.is_symbol("[")) && sig.get(i + 1).is_some_and(|t| t.is_symbol("]")) {
        name.push_str("[]");
        i += 2;
    }
    Some((name, i))
}

/// The index of the `)` closing the `(` at `open`.
fn matching_paren(sig: &[Token<'_>], open: usize) -> Option<usize> {
    let mut depth = 0;
    for (i, t) in sig.iter().enumerate().skip(open) {
        if t.is_symbol("(") {
            depth += 1;
        } else if t.is_symbol(")") {
            depth -= 1;
            if depth == 0 {
                return Some(i);
            }
        }
    }
    None
}

/// The index of the `(` opening the `)` at `close`.
fn opening_paren(sig: &[Token<'_>], close: usize) -> Option<usize> {
    let mut depth = 0;
    for i in (0..=close).rev() {
        if sig[i].is_symbol(")") {
            depth += 1;
        } else if sig[i].is_symbol("(") {
            depth -= 1;
            if depth == 0 {
                return Some(i);
            }
        }
    }
    None
}

fn is_name(t: &Token<'_>) -> bool {
    matches!(t.kind, Kind::Word | Kind::QuotedName)
}

/// Where the operand of a cast ending at significant token `end` starts.
fn operand_start(sig: &[Token<'_>], end: usize) -> usize {
    let t = &sig[end];
    if t.is_symbol(")") {
        let Some(open) = opening_paren(sig, end) else { return end };
        if open > 0
            && sig[open - 1].kind == Kind::Word
            && !NOT_FUNCTIONS.contains(&sig[open - 1].text.to_ascii_lowercase().as_str())
        {
            return qualified_start(sig, open - 1);
        }
        return open;
    }
    if is_name(t) {
        return qualified_start(sig, end);
    }
    end
}

/// The start of a `a.b.c` chain ending with the name at `i`.
fn qualified_start(sig: &[Token<'_>], mut i: usize) -> usize {
    while i >= 2 && sig[i - 1].is_symbol(".") && is_name(&sig[i - 2]) {
        i -= 2;
    }
    i
}

/// An SQLite literal for a value.
fn sqlite_literal(value: &SqlValue) -> String {
    match value {
        SqlValue::Null => "NULL".into(),
        SqlValue::Integer(n) => n.to_string(),
        SqlValue::Real(f) => format!("{f:?}"),
        SqlValue::Text(t) => quote_literal(t),
        SqlValue::Blob(b) => {
            let hex: String = b.iter().map(|byte| format!("{byte:02X}")).collect();
            format!("X'{hex}'")
        }
    }
}

/// The SQLite expression for `operand::type` (`operand` already in SQLite SQL).
fn cast(operand: &str, operand_tokens: &[Token<'_>], type_oid: Option<Oid>) -> Result<String, PgError> {
    let Some(type_oid) = type_oid else { return Ok(operand.to_owned()) };
    if let [literal] = operand_tokens
        && literal.kind == Kind::String
    {
        let text = string_value(literal.text);
        return Ok(sqlite_literal(&sqlite_value(type_oid, Format::Text, text.as_bytes())?));
    }
    let target = match type_oid {
        oid::INT2 | oid::INT4 | oid::INT8 | oid::OID | oid::BOOL => "INTEGER",
        oid::FLOAT4 | oid::FLOAT8 => "REAL",
        oid::NUMERIC => "NUMERIC",
        oid::TEXT | oid::VARCHAR | oid::BPCHAR | oid::NAME | oid::JSON | oid::JSONB => "TEXT",
        oid::BYTEA => "BLOB",
        // Dates and times are stored as their text, which SQLite's date
        // functions read.
        oid::DATE => return Ok(format!("date({operand})")),
        oid::TIME => return Ok(format!("strftime('%H:%M:%f', {operand})")),
        oid::TIMESTAMP => return Ok(format!("strftime('%Y-%m-%d %H:%M:%f', {operand})")),
        // UUIDs, intervals and the rest: their text as it is.
        _ => return Ok(operand.to_owned()),
    };
    if let [param] = operand_tokens
        && param.kind == Kind::Param
    {
        // Bound with the cast's type already.
        return Ok(operand.to_owned());
    }
    Ok(format!("CAST({operand} AS {target})"))
}

/// PostgreSQL's name for a type, as an unaliased cast column is called.
fn canonical_type_name(type_oid: Oid) -> &'static str {
    match type_oid {
        oid::BOOL => "bool",
        oid::INT2 => "int2",
        oid::INT4 => "int4",
        oid::INT8 => "int8",
        oid::FLOAT4 => "float4",
        oid::FLOAT8 => "float8",
        oid::NUMERIC => "numeric",
        oid::VARCHAR => "varchar",
        oid::BPCHAR => "bpchar",
        oid::BYTEA => "bytea",
        oid::DATE => "date",
        oid::TIME => "time",
        oid::TIMESTAMP => "timestamp",
        oid::TIMESTAMPTZ => "timestamptz",
        oid::INTERVAL => "interval",
        oid::UUID => "uuid",
        oid::JSON => "json",
        oid::JSONB => "jsonb",
        oid::NAME => "name",
        oid::OID => "oid",
        _ => "text",
    }
}

const INTEGER_TYPES: &[&str] = &["int", "int2", "int4", "int8", "integer", "bigint", "smallint"];
const SERIAL_TYPES: &[&str] = &["serial", "serial2", "serial4", "serial8", "smallserial", "bigserial"];

/// Translates one statement (its tokens, spaces included).
pub(super) fn translate(tokens: &[Token<'_>]) -> Result<Translated, PgError> {
    let sig: Vec<Token<'_>> = tokens.iter().copied().filter(|t| t.kind != Kind::Space).collect();
    // Where each significant token's text starts in `out`.
    let mut starts: Vec<usize> = Vec::with_capacity(sig.len());
    let mut out = String::new();
    let mut params = 0usize;
    let mut param_types: Vec<Option<Oid>> = Vec::new();
    let is_ddl = sig.first().is_some_and(|t| t.is_word("create") || t.is_word("alter"));
    let mut i = 0;
    let word_at = |i: usize, w: &str| sig.get(i).is_some_and(|t: &Token<'_>| t.is_word(w));
    while i < sig.len() {
        let t = sig[i];
        starts.push(out.len());
        if !out.is_empty() {
            out.push(' ');
            *starts.last_mut().expect("pushed") = out.len();
        }
        match t.kind {
            Kind::Param => {
                let n: usize = t.text[1..].parse().map_err(|_| {
                    error_at(SqlState::UNDEFINED_PARAMETER, format!("there is no parameter {}", t.text), tokens, 0)
                })?;
                if n == 0 || n > 65_535 {
                    return Err(PgError::new(SqlState::UNDEFINED_PARAMETER, format!("there is no parameter ${n}")));
                }
                params = params.max(n);
                out.push('?');
                out.push_str(&t.text[1..]);
            }
            Kind::String if !t.text.starts_with('\'') => out.push_str(&quote_literal(&string_value(t.text))),
            Kind::Cast => {
                let start = operand_start(&sig, i - usize::from(i > 0));
                let (name, next) = type_name(&sig, i + 1)
                    .ok_or_else(|| PgError::new(SqlState::SYNTAX_ERROR, "syntax error at or near \"::\""))?;
                let type_oid = oid_of_type_name(&name);
                let operand_out = out[starts[start]..starts[i]].trim().to_owned();
                if let (Some(type_oid), [param]) = (type_oid, &sig[start..i])
                    && param.kind == Kind::Param
                {
                    let n: usize = param.text[1..].parse().unwrap_or(0);
                    if param_types.len() < n {
                        param_types.resize(n, None);
                    }
                    param_types[n - 1].get_or_insert(type_oid);
                }
                let replaced = cast(&operand_out, &sig[start..i], type_oid)?;
                out.truncate(starts[start]);
                out.push_str(&replaced);
                // The type's tokens are consumed: give them start offsets too.
                for _ in i..next {
                    starts.push(out.len());
                }
                starts.truncate(next);
                i = next;
                continue;
            }
            Kind::Word => {
                let lower = t.text.to_ascii_lowercase();
                let next_is = |s: &str| sig.get(i + 1).is_some_and(|n| n.is_symbol(s));
                match lower.as_str() {
                    "public" | "pg_catalog" if next_is(".") => {
                        // `public.t` → `t`: one schema.
                        starts.push(out.len());
                        i += 2;
                        out.pop();
                        continue;
                    }
                    "ilike" => out.push_str("LIKE"),
                    "now" if next_is("(") && sig.get(i + 2).is_some_and(|n| n.is_symbol(")")) => {
                        out.push_str("(strftime('%Y-%m-%d %H:%M:%f+00:00', 'now'))");
                        starts.push(out.len());
                        starts.push(out.len());
                        i += 3;
                        continue;
                    }
                    "current_user" | "session_user" | "current_role" | "current_catalog" if !next_is("(") => {
                        out.push_str(if lower == "current_catalog" { "current_database()" } else { "current_user()" });
                    }
                    "current_schema" => {
                        out.push_str("'public'");
                        if next_is("(") && sig.get(i + 2).is_some_and(|n| n.is_symbol(")")) {
                            starts.push(out.len());
                            starts.push(out.len());
                            i += 2;
                        }
                    }
                    "is" if word_at(i + 1, "distinct") && word_at(i + 2, "from") => {
                        out.push_str("IS NOT");
                        starts.push(out.len());
                        starts.push(out.len());
                        i += 3;
                        continue;
                    }
                    "is" if word_at(i + 1, "not") && word_at(i + 2, "distinct") && word_at(i + 3, "from") => {
                        out.push_str("IS");
                        for _ in 0..3 {
                            starts.push(out.len());
                        }
                        i += 4;
                        continue;
                    }
                    "all" if i > 0 && sig[i - 1].is_word("limit") => out.push_str("-1"),
                    s if is_ddl && SERIAL_TYPES.contains(&s) => out.push_str("INTEGER"),
                    "generated"
                        if is_ddl
                            && (word_at(i + 1, "always") || (word_at(i + 1, "by") && word_at(i + 2, "default"))) =>
                    {
                        // `GENERATED … AS IDENTITY` → an INTEGER PRIMARY KEY's rowid.
                        let mut j = i + if word_at(i + 1, "always") { 2 } else { 3 };
                        if word_at(j, "as") && word_at(j + 1, "identity") {
                            j += 2;
                            if sig.get(j).is_some_and(|n| n.is_symbol("(")) {
                                j = matching_paren(&sig, j).map_or(j, |c| c + 1);
                            }
                            if i > 0 && INTEGER_TYPES.contains(&sig[i - 1].text.to_ascii_lowercase().as_str()) {
                                out.truncate(starts[i - 1]);
                                out.push_str("INTEGER");
                            }
                            for _ in i..j {
                                starts.push(out.len());
                            }
                            starts.truncate(j);
                            i = j;
                            continue;
                        }
                        out.push_str(t.text);
                    }
                    _ => out.push_str(t.text),
                }
            }
            _ => out.push_str(t.text),
        }
        i += 1;
    }
    if param_types.len() < params {
        param_types.resize(params, None);
    }
    let verb = verb(&sig);
    let mut translated = Translated {
        sql: out,
        params,
        param_types,
        param_columns: Vec::new(),
        tables: tables(&sig),
        items: Vec::new(),
        verb,
    };
    note_param_columns(&sig, &mut translated);
    translated.items = select_items(&sig).into_iter().map(|item| describe_item(item)).collect();
    Ok(translated)
}

/// The statement's verb, for its command tag.
fn verb(sig: &[Token<'_>]) -> Verb {
    let Some(first) = sig.first() else { return Verb::Other(String::new()) };
    let mut word = first.text.to_ascii_lowercase();
    if word == "with" {
        // The main statement follows the CTEs at depth 0.
        let mut depth = 0;
        for t in &sig[1..] {
            if t.is_symbol("(") {
                depth += 1;
            } else if t.is_symbol(")") {
                depth -= 1;
            } else if depth == 0 && ["select", "insert", "update", "delete", "values"].iter().any(|w| t.is_word(w)) {
                word = t.text.to_ascii_lowercase();
                break;
            }
        }
    }
    match word.as_str() {
        "select" | "values" | "table" | "with" => Verb::Select,
        "insert" => Verb::Insert,
        "update" => Verb::Update,
        "delete" => Verb::Delete,
        "create" | "drop" | "alter" => {
            let skip = ["or", "replace", "temp", "temporary", "unique", "unlogged", "virtual", "materialized"];
            let object = sig[1..]
                .iter()
                .find(|t| t.kind == Kind::Word && !skip.contains(&t.text.to_ascii_lowercase().as_str()))
                .map(|t| t.text.to_ascii_uppercase())
                .unwrap_or_default();
            Verb::Other(format!("{} {object}", word.to_ascii_uppercase()).trim_end().to_owned())
        }
        _ => Verb::Other(word.to_ascii_uppercase()),
    }
}

/// The tables the statement names (after FROM, JOIN, UPDATE, INTO) and their aliases.
fn tables(sig: &[Token<'_>]) -> Vec<(String, Option<String>)> {
    let mut tables = Vec::new();
    let mut i = 0;
    while i < sig.len() {
        let t = &sig[i];
        let introduces = ["from", "join", "update", "into"].iter().any(|w| t.is_word(w))
            || (t.is_symbol(",") && i > 0 && !tables.is_empty() && in_from_list(sig, i));
        if introduces {
            let mut j = i + 1;
            if sig.get(j).is_some_and(|n| n.is_word("only")) {
                j += 1;
            }
            if let Some(name) = sig.get(j).filter(|n| is_name(n) && !n.is_word("select")) {
                let mut table = name_value(name);
                if sig.get(j + 1).is_some_and(|n| n.is_symbol(".")) && sig.get(j + 2).is_some_and(is_name) {
                    j += 2;
                    table = name_value(&sig[j]);
                }
                let mut alias = None;
                let mut k = j + 1;
                if sig.get(k).is_some_and(|n| n.is_word("as")) {
                    k += 1;
                }
                if let Some(a) = sig.get(k).filter(|n| {
                    is_name(n)
                        && !CLAUSE_WORDS.contains(&n.text.to_ascii_lowercase().as_str())
                        && ![
                            "join", "inner", "left", "right", "full", "cross", "natural", "set", "values", "default",
                            "using",
                        ]
                        .iter()
                        .any(|w| n.is_word(w))
                }) {
                    alias = Some(name_value(a));
                }
                tables.push((table, alias));
            }
        }
        i += 1;
    }
    tables
}

/// Whether the comma at `i` separates FROM-list tables (depth 0 after a FROM).
fn in_from_list(sig: &[Token<'_>], i: usize) -> bool {
    let mut depth = 0;
    for t in sig[..i].iter().rev() {
        if t.is_symbol(")") {
            depth += 1;
        } else if t.is_symbol("(") {
            if depth == 0 {
                return false;
            }
            depth -= 1;
        } else if depth == 0 && t.kind == Kind::Word {
            let w = t.text.to_ascii_lowercase();
            if w == "from" {
                return true;
            }
            if CLAUSE_WORDS.contains(&w.as_str()) || w == "select" || w == "set" {
                return false;
            }
        }
    }
    false
}

/// A column reference ending at significant token `end` (`name` or `q.name`).
fn column_ref_ending(sig: &[Token<'_>], end: usize) -> Option<ColumnRef> {
    let t = sig.get(end).filter(|t| is_name(t))?;
    if t.kind == Kind::Word && (NOT_FUNCTIONS.contains(&t.text.to_ascii_lowercase().as_str()) || t.is_word("null")) {
        return None;
    }
    let qualifier =
        (end >= 2 && sig[end - 1].is_symbol(".") && is_name(&sig[end - 2])).then(|| name_value(&sig[end - 2]));
    Some(ColumnRef::Named { qualifier, name: name_value(t) })
}

/// A column reference starting at `start` and ending before a non-name.
fn column_ref_starting(sig: &[Token<'_>], start: usize) -> Option<ColumnRef> {
    let end = if sig.get(start + 1).is_some_and(|t| t.is_symbol(".")) { start + 2 } else { start };
    if sig.get(end + 1).is_some_and(|t| t.is_symbol("(") || t.is_symbol(".")) {
        return None;
    }
    column_ref_ending(sig, end)
}

fn param_index(t: &Token<'_>) -> Option<usize> {
    (t.kind == Kind::Param).then(|| t.text[1..].parse::<usize>().ok()).flatten().filter(|n| *n > 0).map(|n| n - 1)
}

/// Whether significant token `i` is a comparison operator.
fn is_comparison(sig: &[Token<'_>], i: usize) -> bool {
    sig.get(i).is_some_and(|t| {
        (t.kind == Kind::Symbol && ["=", "<", ">", "<=", ">=", "<>", "!="].contains(&t.text))
            || t.is_word("like")
            || t.is_word("ilike")
    })
}

/// Notes which column each parameter meets: `col <op> $n`, `$n <op> col`,
/// `col IN ($n, …)`, `col BETWEEN $n AND $m`, `INSERT INTO t (cols) VALUES
/// ($n, …)`, and `LIMIT/OFFSET $n` (int8).
fn note_param_columns(sig: &[Token<'_>], translated: &mut Translated) {
    let mut notes = Vec::new();
    for (i, t) in sig.iter().enumerate() {
        let Some(n) = param_index(t) else { continue };
        if i > 0 && (sig[i - 1].is_word("limit") || sig[i - 1].is_word("offset")) {
            if let Some(slot) = translated.param_types.get_mut(n) {
                slot.get_or_insert(oid::INT8);
            }
            continue;
        }
        // `col <op> $n`
        if i >= 2
            && is_comparison(sig, i - 1)
            && let Some(column) = column_ref_ending(sig, i - 2)
        {
            notes.push((n, column));
            continue;
        }
        // `$n <op> col`
        if is_comparison(sig, i + 1)
            && let Some(column) = column_ref_starting(sig, i + 2)
        {
            notes.push((n, column));
            continue;
        }
        // `col BETWEEN $n AND $m`
        let between = if i >= 2 && sig[i - 1].is_word("between") {
            Some(i - 2)
        } else if i >= 4 && sig[i - 1].is_word("and") && sig[i - 3].is_word("between") {
            Some(i - 4)
        } else {
            None
        };
        if let Some(column) = between.and_then(|end| column_ref_ending(sig, end)) {
            notes.push((n, column));
            continue;
        }
        // `col IN (…, $n, …)`
        if let Some(open) = enclosing_paren(sig, i)
            && open >= 2
            && sig[open - 1].is_word("in")
            && let Some(column) = column_ref_ending(sig, open - 2)
        {
            notes.push((n, column));
        }
    }
    notes.extend(insert_param_columns(sig));
    translated.param_columns = notes;
}

/// The `(` directly enclosing token `i`, if `i` is at depth 1 inside it.
fn enclosing_paren(sig: &[Token<'_>], i: usize) -> Option<usize> {
    let mut depth = 0;
    for j in (0..i).rev() {
        if sig[j].is_symbol(")") {
            depth += 1;
        } else if sig[j].is_symbol("(") {
            if depth == 0 {
                return Some(j);
            }
            depth -= 1;
        }
    }
    None
}

/// `INSERT INTO t [(c1, …)] VALUES (…), (…)`: the column of each `$n`
/// standing alone (or cast) as a value.
fn insert_param_columns(sig: &[Token<'_>]) -> Vec<(usize, ColumnRef)> {
    let mut notes = Vec::new();
    let Some(into) = sig.iter().position(|t| t.is_word("into")) else { return notes };
    if !sig.first().is_some_and(|t| t.is_word("insert")) {
        return notes;
    }
    let mut i = into + 1;
    let Some(table_token) = sig.get(i).filter(|t| is_name(t)) else { return notes };
    let mut table = name_value(table_token);
    if sig.get(i + 1).is_some_and(|t| t.is_symbol(".")) && sig.get(i + 2).is_some_and(is_name) {
        i += 2;
        table = name_value(&sig[i]);
    }
    i += 1;
    if sig.get(i).is_some_and(|t| t.is_word("as")) {
        i += 2;
    }
    let mut columns: Option<Vec<String>> = None;
    if sig.get(i).is_some_and(|t| t.is_symbol("(")) {
        let Some(close) = matching_paren(sig, i) else { return notes };
        columns = Some(sig[i + 1..close].iter().filter(|t| is_name(t)).map(name_value).collect());
        i = close + 1;
    }
    if !sig.get(i).is_some_and(|t| t.is_word("values")) {
        return notes;
    }
    i += 1;
    while sig.get(i).is_some_and(|t| t.is_symbol("(")) {
        let Some(close) = matching_paren(sig, i) else { break };
        for (index, value) in split_top_level(&sig[i + 1..close]).into_iter().enumerate() {
            let value = match value {
                [p, cast, ..] if cast.kind == Kind::Cast => std::slice::from_ref(p),
                other => other,
            };
            if let [p] = value
                && let Some(n) = param_index(p)
            {
                let column = match &columns {
                    Some(names) => names
                        .get(index)
                        .map(|name| ColumnRef::Named { qualifier: Some(table.clone()), name: name.clone() }),
                    None => Some(ColumnRef::Positional { table: table.clone(), index }),
                };
                notes.extend(column.map(|c| (n, c)));
            }
        }
        i = close + 1;
        if sig.get(i).is_some_and(|t| t.is_symbol(",")) {
            i += 1;
        }
    }
    notes
}

/// Splits tokens at depth-0 commas.
fn split_top_level<'t, 'a>(sig: &'t [Token<'a>]) -> Vec<&'t [Token<'a>]> {
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0, 0);
    for (i, t) in sig.iter().enumerate() {
        if t.is_symbol("(") || t.is_symbol("[") {
            depth += 1;
        } else if t.is_symbol(")") || t.is_symbol("]") {
            depth -= 1;
        } else if t.is_symbol(",") && depth == 0 {
            parts.push(&sig[start..i]);
            start = i + 1;
        }
    }
    if start < sig.len() {
        parts.push(&sig[start..]);
    }
    parts
}

/// The top-level select list (or RETURNING list), item by item.
fn select_items<'t, 'a>(sig: &'t [Token<'a>]) -> Vec<&'t [Token<'a>]> {
    let mut depth = 0;
    let mut start = None;
    let mut end = sig.len();
    for (i, t) in sig.iter().enumerate() {
        if t.is_symbol("(") {
            depth += 1;
        } else if t.is_symbol(")") {
            depth -= 1;
        } else if depth == 0 && t.kind == Kind::Word {
            let w = t.text.to_ascii_lowercase();
            match start {
                None if w == "select" || w == "returning" => {
                    let mut s = i + 1;
                    if sig.get(s).is_some_and(|n| n.is_word("all")) {
                        s += 1;
                    } else if sig.get(s).is_some_and(|n| n.is_word("distinct")) {
                        s += 1;
                        if sig.get(s).is_some_and(|n| n.is_word("on"))
                            && sig.get(s + 1).is_some_and(|n| n.is_symbol("("))
                        {
                            s = matching_paren(sig, s + 1).map_or(s, |c| c + 1);
                        }
                    }
                    start = Some(s);
                }
                Some(s) if i >= s && CLAUSE_WORDS.contains(&w.as_str()) && w != "returning" => {
                    end = i;
                    break;
                }
                _ => {}
            }
        }
    }
    match start {
        Some(s) if s <= end => split_top_level(&sig[s..end]),
        _ => Vec::new(),
    }
}

/// Whether `alias` (after `before`, after `rest`) names a select item.
fn is_alias(rest: &[Token<'_>], before: &Token<'_>, alias: &Token<'_>) -> bool {
    let keyword = |t: &Token<'_>| {
        t.kind == Kind::Word
            && (NOT_FUNCTIONS.contains(&t.text.to_ascii_lowercase().as_str())
                || ["null", "true", "false", "end", "distinct"].iter().any(|w| t.is_word(w)))
    };
    let expression_end =
        matches!(before.kind, Kind::Word | Kind::QuotedName | Kind::Number | Kind::String | Kind::Param)
            || before.is_symbol(")");
    is_name(alias)
        && expression_end
        && !keyword(alias)
        && !keyword(before)
        && !rest.iter().any(|t| t.kind == Kind::Cast)
}

/// What a select-list item says about its name and type.
fn describe_item(item: &[Token<'_>]) -> Item {
    let unknown = |name: Option<String>| Item { name, hint: Hint::Unknown };
    // Strip an alias: `expr AS name` or `expr name`.
    let expression = match item {
        [rest @ .., as_word, alias] if as_word.is_word("as") && is_name(alias) => {
            return Item { name: None, hint: describe_item(rest).hint };
        }
        [rest @ .., before, alias] if is_alias(rest, before, alias) => {
            return Item { name: None, hint: describe_item(&item[..item.len() - 1]).hint };
        }
        all => all,
    };
    // A trailing cast.
    if let Some(cast_at) = expression.iter().rposition(|t| t.kind == Kind::Cast)
        && let Some((name, next)) = type_name(expression, cast_at + 1)
        && next == expression.len()
    {
        let operand = &expression[..cast_at];
        let type_oid = oid_of_type_name(&name);
        let item_name = match operand {
            [.., last] if is_name(last) => None,
            [f, open, .., close] if f.kind == Kind::Word && open.is_symbol("(") && close.is_symbol(")") => {
                Some(f.text.to_ascii_lowercase())
            }
            _ => Some(type_oid.map_or("?column?", canonical_type_name).to_owned()),
        };
        return Item { name: item_name, hint: type_oid.map_or(Hint::Unknown, Hint::Type) };
    }
    match expression {
        [] => unknown(None),
        [star] if star.is_symbol("*") => Item { name: None, hint: Hint::Star },
        [_, dot, star] if dot.is_symbol(".") && star.is_symbol("*") => Item { name: None, hint: Hint::Star },
        [number] if number.kind == Kind::Number => {
            let hint = match number.text.parse::<i64>() {
                Ok(n) if i32::try_from(n).is_ok() => oid::INT4,
                Ok(_) => oid::INT8,
                Err(_) => oid::NUMERIC,
            };
            Item { name: Some("?column?".into()), hint: Hint::Type(hint) }
        }
        [string] if string.kind == Kind::String => Item { name: Some("?column?".into()), hint: Hint::Type(oid::TEXT) },
        [word] if word.is_word("true") || word.is_word("false") => {
            Item { name: Some("bool".into()), hint: Hint::Type(oid::BOOL) }
        }
        [word] if word.is_word("null") => Item { name: Some("?column?".into()), hint: Hint::Type(oid::TEXT) },
        [param] if param.kind == Kind::Param => {
            Item { name: Some("?column?".into()), hint: param_index(param).map_or(Hint::Unknown, Hint::Param) }
        }
        [word] if word.kind == Kind::Word => {
            let lower = word.text.to_ascii_lowercase();
            let special = match lower.as_str() {
                "current_user" | "session_user" | "current_role" | "current_catalog" | "current_schema" => {
                    Some(oid::TEXT)
                }
                "current_timestamp" => Some(oid::TIMESTAMPTZ),
                "localtimestamp" => Some(oid::TIMESTAMP),
                "current_date" => Some(oid::DATE),
                "current_time" | "localtime" => Some(oid::TIME),
                _ => None,
            };
            match special {
                Some(type_oid) => Item { name: Some(lower), hint: Hint::Type(type_oid) },
                None => Item {
                    name: None,
                    hint: Hint::Column(ColumnRef::Named { qualifier: None, name: name_value(word) }),
                },
            }
        }
        [name] if name.kind == Kind::QuotedName => {
            Item { name: None, hint: Hint::Column(ColumnRef::Named { qualifier: None, name: name_value(name) }) }
        }
        [q, dot, column] if dot.is_symbol(".") && is_name(q) && is_name(column) => Item {
            name: None,
            hint: Hint::Column(ColumnRef::Named { qualifier: Some(name_value(q)), name: name_value(column) }),
        },
        [cast_word, open, inner @ .., close]
            if cast_word.is_word("cast") && open.is_symbol("(") && close.is_symbol(")") =>
        {
            let as_at = inner.iter().rposition(|t| t.is_word("as"));
            let type_oid = as_at.and_then(|a| type_name(inner, a + 1)).and_then(|(name, _)| oid_of_type_name(&name));
            let name = match as_at.map(|a| &inner[..a]) {
                Some([.., last]) if is_name(last) => None,
                _ => Some(type_oid.map_or("?column?", canonical_type_name).to_owned()),
            };
            Item { name, hint: type_oid.map_or(Hint::Unknown, Hint::Type) }
        }
        [function, open, args @ .., close]
            if function.kind == Kind::Word
                && open.is_symbol("(")
                && close.is_symbol(")")
                && matching_paren(expression, 1) == Some(expression.len() - 1) =>
        {
            let name = function.text.to_ascii_lowercase();
            let single_column = match args {
                [c] if is_name(c) => column_ref_ending(args, 0),
                [q, dot, c] if dot.is_symbol(".") && is_name(q) && is_name(c) => column_ref_ending(args, 2),
                _ => None,
            };
            let hint = match (name.as_str(), single_column) {
                ("count", _) => Hint::Type(oid::INT8),
                ("now" | "statement_timestamp" | "transaction_timestamp" | "clock_timestamp", _) => {
                    Hint::Type(oid::TIMESTAMPTZ)
                }
                ("exists", _) => Hint::Type(oid::BOOL),
                ("avg", _) => Hint::Type(oid::NUMERIC),
                ("random", _) => Hint::Type(oid::FLOAT8),
                ("length" | "char_length" | "character_length" | "octet_length" | "pg_backend_pid" | "strpos", _) => {
                    Hint::Type(oid::INT4)
                }
                (
                    "version" | "current_database" | "current_user" | "lower" | "upper" | "concat" | "substr"
                    | "substring" | "trim" | "ltrim" | "rtrim" | "replace" | "format" | "string_agg" | "group_concat"
                    | "md5" | "quote_ident" | "quote_literal" | "typeof" | "sqlite_version" | "pg_notify"
                    | "current_setting" | "set_config" | "repeat" | "left" | "right" | "reverse",
                    _,
                ) => Hint::Type(oid::TEXT),
                ("max" | "min" | "abs" | "coalesce", Some(column)) => Hint::Column(column),
                ("sum", Some(column)) => Hint::Sum(column),
                ("sum" | "total", None) => Hint::Type(oid::FLOAT8),
                _ => Hint::Unknown,
            };
            Item { name: Some(name), hint }
        }
        [exists, ..] if exists.is_word("exists") => Item { name: Some("exists".into()), hint: Hint::Type(oid::BOOL) },
        [case, ..] if case.is_word("case") => unknown(Some("case".into())),
        tokens => {
            if let Some(hint) = arithmetic(tokens) {
                return Item { name: Some("?column?".into()), hint };
            }
            let mut depth = 0;
            let mut boolean = false;
            for (i, t) in tokens.iter().enumerate() {
                if t.is_symbol("(") {
                    depth += 1;
                } else if t.is_symbol(")") {
                    depth -= 1;
                } else if depth == 0
                    && (is_comparison(tokens, i)
                        || ["and", "or", "not", "is", "in", "between"].iter().any(|w| t.is_word(w)))
                {
                    boolean = true;
                }
            }
            Item { name: Some("?column?".into()), hint: if boolean { Hint::Type(oid::BOOL) } else { Hint::Unknown } }
        }
    }
}

/// `a + b * 2`, `x::int8 - 1`, `a || b`: the hint for arithmetic and
/// concatenation at depth 0; `None` for anything else.
fn arithmetic(tokens: &[Token<'_>]) -> Option<Hint> {
    let mut columns = Vec::new();
    let mut types = Vec::new();
    let mut i = 0;
    let mut expect_operand = true;
    while i < tokens.len() {
        let t = &tokens[i];
        if expect_operand {
            match t.kind {
                Kind::Symbol if t.text == "-" || t.text == "+" => {
                    i += 1;
                    continue;
                }
                Kind::Number => types.push(if t.text.contains(['.', 'e', 'E']) {
                    oid::NUMERIC
                } else if t.text.parse::<i32>().is_ok() {
                    oid::INT4
                } else {
                    oid::INT8
                }),
                Kind::Param => {}
                Kind::Word | Kind::QuotedName => {
                    let start = i;
                    while tokens.get(i + 1).is_some_and(|n| n.is_symbol(".")) && tokens.get(i + 2).is_some_and(is_name)
                    {
                        i += 2;
                    }
                    columns.push(column_ref_ending(tokens, i)?);
                    let _ = start;
                }
                _ => return None,
            }
            i += 1;
            if tokens.get(i).is_some_and(|n| n.kind == Kind::Cast) {
                let (name, next) = type_name(tokens, i + 1)?;
                let type_oid = oid_of_type_name(&name)?;
                // The cast decides the operand's type.
                if matches!(tokens[i - 1].kind, Kind::Word | Kind::QuotedName) {
                    columns.pop();
                } else if tokens[i - 1].kind == Kind::Number {
                    types.pop();
                }
                types.push(type_oid);
                i = next;
            }
            expect_operand = false;
        } else {
            match t.text {
                "||" if t.kind == Kind::Symbol => return Some(Hint::Type(oid::TEXT)),
                "+" | "-" | "*" | "/" | "%" if t.kind == Kind::Symbol => {}
                _ => return None,
            }
            i += 1;
            expect_operand = true;
        }
    }
    (!expect_operand && (columns.len() + types.len()) > 0).then_some(Hint::Arithmetic { columns, types })
}

/// The widest numeric type of an arithmetic expression's operands, as
/// PostgreSQL promotes them; `None` when one is not numeric.
pub(super) fn widest_numeric(types: impl IntoIterator<Item = Oid>) -> Option<Oid> {
    let rank = |t: Oid| match t {
        oid::INT2 => Some(0),
        oid::INT4 => Some(1),
        oid::INT8 => Some(2),
        oid::NUMERIC => Some(3),
        oid::FLOAT4 => Some(4),
        oid::FLOAT8 => Some(5),
        _ => None,
    };
    let mut widest: Option<Oid> = None;
    for t in types {
        rank(t)?;
        if widest.is_none_or(|w| rank(t) > rank(w)) {
            widest = Some(t);
        }
    }
    widest
}

#[cfg(test)]
mod tests {
    use super::super::lexer::{split_statements, tokenize};
    use super::*;

    fn one(sql: &str) -> Translated {
        let tokens = tokenize(sql).unwrap();
        let statements = split_statements(&tokens);
        assert_eq!(statements.len(), 1);
        translate(&statements[0]).unwrap()
    }

    #[test]
    fn postgres_syntax_becomes_sqlite_syntax() {
        assert_eq!(one("SELECT $1::int4 + $2").sql, "SELECT ?1 + ?2");
        assert_eq!(one("select '1'::int, 't'::bool, '\\x0a'::bytea").sql, "select 1 , 1 , X'0A'");
        assert_eq!(one("select (a+1)::text from t").sql, "select CAST(( a + 1 ) AS TEXT) from t");
        assert_eq!(one("select lower(x)::varchar(3) from t").sql, "select CAST(lower ( x ) AS TEXT) from t");
        assert_eq!(one("select E'a\\nb', $$it's$$").sql, "select 'a\nb' , 'it''s'");
        assert_eq!(one("select x from public.t where n ilike 'a%'").sql, "select x from t where n LIKE 'a%'");
        assert_eq!(one("select a is distinct from b").sql, "select a IS NOT b");
        assert_eq!(one("select now()").sql, "select (strftime('%Y-%m-%d %H:%M:%f+00:00', 'now'))");
        assert_eq!(one("select current_user").sql, "select current_user()");
        assert_eq!(
            one("create table t (id serial primary key, b bigint generated always as identity)").sql,
            "create table t ( id INTEGER primary key , b INTEGER )"
        );
        assert_eq!(one("select '2024-01-02'::timestamptz").sql, "select '2024-01-02 00:00:00+00:00'");
        assert_eq!(one("select x::date from t").sql, "select date(x) from t");
        assert_eq!(one("select x::double precision from t").sql, "select CAST(x AS REAL) from t");
    }

    #[test]
    fn bad_literal_casts_are_errors() {
        let tokens = tokenize("select 'abc'::int4").unwrap();
        let error = translate(&tokens).unwrap_err();
        assert_eq!(error.code, SqlState::INVALID_TEXT_REPRESENTATION);
    }

    #[test]
    fn parameters_get_types_from_the_sql() {
        let t = one("select * from users u where u.id = $1 and $2 < age and name in ($3, $4) limit $5::int8 offset $6");
        assert_eq!(t.params, 6);
        assert_eq!(t.param_types, vec![None, None, None, None, Some(oid::INT8), Some(oid::INT8)]);
        let named = |q: Option<&str>, n: &str| ColumnRef::Named { qualifier: q.map(Into::into), name: n.into() };
        assert_eq!(
            t.param_columns,
            vec![
                (0, named(Some("u"), "id")),
                (1, named(None, "age")),
                (2, named(None, "name")),
                (3, named(None, "name"))
            ]
        );
        assert_eq!(t.tables, vec![("users".into(), Some("u".into()))]);
        let t = one("insert into t (a, b) values ($1, $2::text), ($3, 4)");
        assert_eq!(t.param_types, vec![None, Some(oid::TEXT), None]);
        assert_eq!(t.param_columns.len(), 3);
        assert_eq!(t.param_columns[2], (2, named(Some("t"), "a")));
        let t = one("insert into t values ($1)");
        assert_eq!(t.param_columns, vec![(0, ColumnRef::Positional { table: "t".into(), index: 0 })]);
        let t = one("update t set a = $1 where b >= $2");
        assert_eq!(t.param_columns, vec![(0, named(None, "a")), (1, named(None, "b"))]);
    }

    #[test]
    fn select_items_are_described() {
        let t = one("select 1, 'a', x, t.y, count(*), $1::int8, now(), 1 = 1, z as w, sum(n), 5000000000 from t");
        let hints: Vec<Hint> = t.items.iter().map(|i| i.hint.clone()).collect();
        let named = |q: Option<&str>, n: &str| ColumnRef::Named { qualifier: q.map(Into::into), name: n.into() };
        assert_eq!(
            hints,
            vec![
                Hint::Type(oid::INT4),
                Hint::Type(oid::TEXT),
                Hint::Column(named(None, "x")),
                Hint::Column(named(Some("t"), "y")),
                Hint::Type(oid::INT8),
                Hint::Type(oid::INT8),
                Hint::Type(oid::TIMESTAMPTZ),
                Hint::Type(oid::BOOL),
                Hint::Column(named(None, "z")),
                Hint::Sum(named(None, "n")),
                Hint::Type(oid::INT8),
            ]
        );
        let names: Vec<Option<&str>> = t.items.iter().map(|i| i.name.as_deref()).collect();
        assert_eq!(names[0], Some("?column?"));
        assert_eq!(names[4], Some("count"));
        assert_eq!(names[5], Some("int8"));
        assert_eq!(names[8], None);
        assert_eq!(one("insert into t values (1) returning id, 2").items.len(), 2);
        assert_eq!(one("select distinct on (a) a, b from t order by a").items.len(), 2);
        let t = one("select $1::int8 + 1 as n, a * 2.5, a || 'x', -a from t");
        let hints: Vec<Hint> = t.items.iter().map(|i| i.hint.clone()).collect();
        assert_eq!(
            hints,
            vec![
                Hint::Arithmetic { columns: vec![], types: vec![oid::INT8, oid::INT4] },
                Hint::Arithmetic { columns: vec![named(None, "a")], types: vec![oid::NUMERIC] },
                Hint::Type(oid::TEXT),
                Hint::Arithmetic { columns: vec![named(None, "a")], types: vec![] },
            ]
        );
        assert_eq!(widest_numeric([oid::INT4, oid::INT8]), Some(oid::INT8));
        assert_eq!(widest_numeric([oid::INT4, oid::TEXT]), None);
    }

    #[test]
    fn verbs_give_command_tags() {
        assert_eq!(one("select 1").verb.tag(1), "SELECT 1");
        assert_eq!(one("insert into t values (1)").verb.tag(1), "INSERT 0 1");
        assert_eq!(one("with x as (select 1) delete from t").verb.tag(2), "DELETE 2");
        assert_eq!(one("create unique index i on t (a)").verb.tag(0), "CREATE INDEX");
        assert_eq!(one("create table if not exists t (a int)").verb.tag(0), "CREATE TABLE");
        assert_eq!(one("drop table t").verb.tag(0), "DROP TABLE");
    }
}
