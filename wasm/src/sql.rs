//! Just enough SQL for a mock database: splitting a simple Query into
//! statements, counting `$n` parameters, recognising the statements the mock
//! answers itself (transaction control, LISTEN/NOTIFY), command tags, and
//! constant `SELECT`s (`SELECT 1`, `SELECT $1::int AS n, 'a'`).
//!
//! Pure Rust, no JavaScript: tested on the host.

/// Scans SQL text, skipping string literals, quoted identifiers, dollar-quoted
/// strings and comments. `visit` sees each byte offset outside them.
fn scan(sql: &str, mut visit: impl FnMut(usize)) {
    let b = sql.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            q @ (b'\'' | b'"') => {
                i += 1;
                // Doubled quotes stay inside the literal.
                while i < b.len() {
                    if b[i] == q {
                        if b.get(i + 1) == Some(&q) {
                            i += 2;
                            continue;
                        }
                        break;
                    }
                    i += 1;
                }
                i += 1;
            }
            b'-' if b.get(i + 1) == Some(&b'-') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                i += 2;
                while i < b.len() && !(b[i] == b'*' && b.get(i + 1) == Some(&b'/')) {
                    i += 1;
                }
                i += 2;
            }
            b'$' if b.get(i + 1).is_some_and(|c| *c == b'$' || c.is_ascii_alphabetic() || *c == b'_') => {
                // $tag$ ... $tag$
                let start = i;
                let mut j = i + 1;
                while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == b'_') {
                    j += 1;
                }
                if b.get(j) != Some(&b'$') {
                    visit(i);
                    i += 1;
                    continue;
                }
                let tag = &sql[start..=j];
                i = match sql[j + 1..].find(tag) {
                    Some(end) => j + 1 + end + tag.len(),
                    None => b.len(),
                };
            }
            _ => {
                visit(i);
                i += 1;
            }
        }
    }
}

/// The statements of a simple Query, trimmed, empty ones dropped.
pub(crate) fn split_statements(sql: &str) -> Vec<&str> {
    let mut cuts = Vec::new();
    scan(sql, |i| {
        if sql.as_bytes()[i] == b';' {
            cuts.push(i);
        }
    });
    let mut out = Vec::new();
    let mut start = 0;
    for cut in cuts.into_iter().chain([sql.len()]) {
        let s = sql[start..cut].trim();
        if !is_blank(s) {
            out.push(s);
        }
        start = cut + 1;
    }
    out
}

/// Whether a statement holds nothing but comments and space.
fn is_blank(s: &str) -> bool {
    let mut any = false;
    scan(s, |i| any |= !s.as_bytes()[i].is_ascii_whitespace());
    !any
}

/// The highest `$n` placeholder in `sql` (0 when there is none).
pub(crate) fn parameter_count(sql: &str) -> usize {
    let b = sql.as_bytes();
    let mut max = 0;
    scan(sql, |i| {
        if b[i] == b'$' && (i == 0 || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_')) {
            let digits = b[i + 1..].iter().take_while(|c| c.is_ascii_digit()).count();
            if let Some(n) = sql.get(i + 1..i + 1 + digits).and_then(|d| d.parse::<usize>().ok()) {
                max = max.max(n.min(65535));
            }
        }
    });
    max
}

/// The upper-cased first `n` words (letters and underscores).
fn words(sql: &str, n: usize) -> Vec<String> {
    sql.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
        .take(n)
        .map(str::to_ascii_uppercase)
        .collect()
}

/// A statement the mock database answers by itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Builtin {
    /// `BEGIN`, `START TRANSACTION`.
    Begin,
    /// `COMMIT`, `END`.
    Commit,
    /// `ROLLBACK`, `ABORT`.
    Rollback,
    /// `LISTEN channel`.
    Listen(String),
    /// `UNLISTEN channel`, or `UNLISTEN *` (`None`).
    Unlisten(Option<String>),
    /// `NOTIFY channel [, 'payload']`.
    Notify { channel: String, payload: String },
}

impl Builtin {
    /// Recognises a built-in statement.
    pub(crate) fn parse(statement: &str) -> Option<Builtin> {
        let w = words(statement, 2);
        let first = w.first().map(String::as_str)?;
        let second = w.get(1).map(String::as_str);
        match (first, second) {
            ("BEGIN", _) | ("START", Some("TRANSACTION")) => Some(Builtin::Begin),
            ("COMMIT" | "END", _) if !statement.to_ascii_uppercase().contains("PREPARED") => Some(Builtin::Commit),
            ("ROLLBACK" | "ABORT", _) if !statement.to_ascii_uppercase().contains(" TO ") => Some(Builtin::Rollback),
            ("LISTEN", _) => identifier(after_keyword(statement)).map(|(c, _)| Builtin::Listen(c)),
            ("UNLISTEN", _) => {
                let rest = after_keyword(statement).trim();
                if rest.starts_with('*') {
                    Some(Builtin::Unlisten(None))
                } else {
                    identifier(rest).map(|(c, _)| Builtin::Unlisten(Some(c)))
                }
            }
            ("NOTIFY", _) => {
                let (channel, rest) = identifier(after_keyword(statement))?;
                let rest = rest.trim_start();
                let payload = match rest.strip_prefix(',') {
                    Some(p) => string_literal(p.trim())?.0,
                    None if rest.is_empty() => String::new(),
                    None => return None,
                };
                Some(Builtin::Notify { channel, payload })
            }
            _ => None,
        }
    }

    /// Whether this statement ends a transaction (allowed in a failed one).
    pub(crate) fn ends_transaction(statement: &str) -> bool {
        matches!(Builtin::parse(statement), Some(Builtin::Commit | Builtin::Rollback))
    }
}

/// The text after the first word.
fn after_keyword(statement: &str) -> &str {
    let s = statement.trim_start();
    let end = s.find(|c: char| !c.is_ascii_alphabetic()).unwrap_or(s.len());
    &s[end..]
}

/// A character of an unquoted identifier as PostgreSQL's lexer sees it:
/// ASCII letters and digits, `_`, and any non-ASCII character. (No Unicode
/// tables: they would weigh on the module.)
fn ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || !c.is_ascii()
}

/// An identifier at the start of `s` (case-folded unless quoted), and the rest.
fn identifier(s: &str) -> Option<(String, &str)> {
    let s = s.trim_start();
    if let Some(quoted) = s.strip_prefix('"') {
        let mut out = String::new();
        let mut chars = quoted.char_indices();
        while let Some((i, c)) = chars.next() {
            if c == '"' {
                if quoted[i + 1..].starts_with('"') {
                    out.push('"');
                    chars.next();
                    continue;
                }
                return Some((out, &quoted[i + 1..]));
            }
            out.push(c);
        }
        return None;
    }
    let end = s.find(|c: char| !(ident_char(c) || c == '$')).unwrap_or(s.len());
    if end == 0 {
        return None;
    }
    Some((s[..end].to_ascii_lowercase(), &s[end..]))
}

/// A `'...'` literal (with `''` escapes) at the start of `s`, and the rest.
fn string_literal(s: &str) -> Option<(String, &str)> {
    let body = s.strip_prefix('\'')?;
    let mut out = String::new();
    let mut chars = body.char_indices();
    while let Some((i, c)) = chars.next() {
        if c == '\'' {
            if body[i + 1..].starts_with('\'') {
                out.push('\'');
                chars.next();
                continue;
            }
            return Some((out, &body[i + 1..]));
        }
        out.push(c);
    }
    None
}

/// The command tag for a statement that returned `rows` rows (or affected them).
pub(crate) fn command_tag(statement: &str, rows: usize) -> String {
    let w = words(statement, 2);
    let first = w.first().map(String::as_str).unwrap_or("SELECT");
    match first {
        "SELECT" | "VALUES" | "TABLE" | "WITH" | "SHOW" => counted_tag("SELECT", rows),
        "INSERT" => counted_tag("INSERT 0", rows),
        "UPDATE" | "DELETE" | "MERGE" | "FETCH" | "MOVE" | "COPY" => counted_tag(first, rows),
        "CREATE" | "DROP" | "ALTER" => match w.get(1) {
            Some(second) => [first, second.as_str()].join(" "),
            None => first.to_owned(),
        },
        other => other.to_owned(),
    }
}

/// `"{prefix} {rows}"`, without `core::fmt`: the first `SELECT` of a session
/// makes one, and V8 compiles every wasm function when it is first called.
pub(crate) fn counted_tag(prefix: &str, rows: usize) -> String {
    let mut digits = itoa::Buffer::new();
    let digits = digits.format(rows);
    let mut tag = String::with_capacity(prefix.len() + 1 + digits.len());
    tag.push_str(prefix);
    tag.push(' ');
    tag.push_str(digits);
    tag
}

/// One expression of a constant `SELECT`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Constant {
    Null,
    Bool(bool),
    Int(i64),
    /// A decimal literal, as written.
    Decimal(String),
    Text(String),
    /// `$n` (1-based).
    Param(usize),
}

/// A constant `SELECT` column: its name, the type cast (if any), its value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ConstantColumn {
    pub(crate) name: String,
    pub(crate) cast: Option<String>,
    pub(crate) value: Constant,
}

/// Evaluates `SELECT <constant> [AS name], ...`; `None` for anything else.
pub(crate) fn constant_select(statement: &str) -> Option<Vec<ConstantColumn>> {
    let s = statement.trim();
    let head = s.get(..6)?;
    if !head.eq_ignore_ascii_case("select") || s[6..].starts_with(ident_char) {
        return None;
    }
    let mut rest = s[6..].trim_start();
    let mut columns = Vec::new();
    for _ in 0..1000 {
        let (value, after) = constant(rest)?;
        rest = after.trim_start();
        let mut cast = None;
        while let Some(after) = rest.strip_prefix("::") {
            let end = after.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(after.len());
            if end == 0 {
                return None;
            }
            cast = Some(after[..end].to_ascii_lowercase());
            rest = after[end..].trim_start();
        }
        let mut name = match &cast {
            Some(c) => canonical_cast_name(c).to_owned(),
            None if matches!(value, Constant::Bool(_)) => "bool".to_owned(),
            None => "?column?".to_owned(),
        };
        if rest.len() >= 2 && rest[..2].eq_ignore_ascii_case("as") && !rest[2..].starts_with(ident_char) {
            let (alias, after) = identifier(&rest[2..])?;
            name = alias;
            rest = after.trim_start();
        }
        columns.push(ConstantColumn { name, cast, value });
        match rest.strip_prefix(',') {
            Some(after) => rest = after.trim_start(),
            None => break,
        }
    }
    (rest.is_empty() && !columns.is_empty()).then_some(columns)
}

/// The column name PostgreSQL gives `x::type`.
fn canonical_cast_name(cast: &str) -> &str {
    match cast {
        "int" | "integer" | "int4" => "int4",
        "bigint" | "int8" => "int8",
        "smallint" | "int2" => "int2",
        "boolean" | "bool" => "bool",
        "float8" | "float" => "float8",
        "real" | "float4" => "float4",
        "varchar" => "varchar",
        other => other,
    }
}

fn constant(s: &str) -> Option<(Constant, &str)> {
    if s.starts_with('\'') {
        let (text, rest) = string_literal(s)?;
        return Some((Constant::Text(text), rest));
    }
    if let Some(after) = s.strip_prefix('$') {
        let digits = after.bytes().take_while(u8::is_ascii_digit).count();
        let n: usize = after[..digits].parse().ok()?;
        return (n > 0).then_some((Constant::Param(n), &after[digits..]));
    }
    let end = s.find(|c: char| !(c.is_ascii_alphanumeric() || c == '.' || c == '-' || c == '+')).unwrap_or(s.len());
    let token = &s[..end];
    let rest = &s[end..];
    let value = match token.to_ascii_lowercase().as_str() {
        "null" => Constant::Null,
        "true" => Constant::Bool(true),
        "false" => Constant::Bool(false),
        t if t.parse::<i64>().is_ok() && !t.starts_with('+') => Constant::Int(t.parse().ok()?),
        t if is_decimal(t) => Constant::Decimal(t.to_owned()),
        _ => return None,
    };
    Some((value, rest))
}

fn is_decimal(t: &str) -> bool {
    let t = t.strip_prefix('-').unwrap_or(t);
    let mut dots = 0;
    !t.is_empty()
        && t.chars().all(|c| {
            dots += usize::from(c == '.');
            c.is_ascii_digit() || c == '.'
        })
        && dots <= 1
        && t != "."
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_outside_quotes_and_comments() {
        let sql = "SELECT ';'; SELECT \"a;b\" -- c;d\n; /* ; */ ; SELECT $x$;$x$;";
        assert_eq!(split_statements(sql), ["SELECT ';'", "SELECT \"a;b\" -- c;d", "SELECT $x$;$x$"]);
        assert_eq!(split_statements(" ; ;"), Vec::<&str>::new());
        assert_eq!(split_statements("SELECT 'it''s;'"), ["SELECT 'it''s;'"]);
    }

    #[test]
    fn counts_parameters() {
        assert_eq!(parameter_count("SELECT $1, $12 + $3"), 12);
        assert_eq!(parameter_count("SELECT '$5', $tag$ $9 $tag$, $2"), 2);
        assert_eq!(parameter_count("SELECT 1"), 0);
        assert_eq!(parameter_count("SELECT a$1 FROM t"), 0);
    }

    #[test]
    fn builtins() {
        assert_eq!(Builtin::parse("begin"), Some(Builtin::Begin));
        assert_eq!(Builtin::parse("START TRANSACTION ISOLATION LEVEL SERIALIZABLE"), Some(Builtin::Begin));
        assert_eq!(Builtin::parse("commit"), Some(Builtin::Commit));
        assert_eq!(Builtin::parse("ROLLBACK TO SAVEPOINT a"), None);
        assert_eq!(Builtin::parse("LISTEN News"), Some(Builtin::Listen("news".into())));
        assert_eq!(Builtin::parse("listen \"My \"\"Ch\""), Some(Builtin::Listen("My \"Ch".into())));
        assert_eq!(Builtin::parse("UNLISTEN *"), Some(Builtin::Unlisten(None)));
        assert_eq!(
            Builtin::parse("NOTIFY ch, 'it''s'"),
            Some(Builtin::Notify { channel: "ch".into(), payload: "it's".into() })
        );
        assert_eq!(Builtin::parse("NOTIFY ch"), Some(Builtin::Notify { channel: "ch".into(), payload: String::new() }));
        assert_eq!(Builtin::parse("SELECT 1"), None);
        assert!(Builtin::ends_transaction("ROLLBACK"));
    }

    #[test]
    fn tags() {
        assert_eq!(command_tag("select * from t", 3), "SELECT 3");
        assert_eq!(command_tag("INSERT INTO t VALUES (1)", 1), "INSERT 0 1");
        assert_eq!(command_tag("update t set a = 1", 2), "UPDATE 2");
        assert_eq!(command_tag("create table t (a int)", 0), "CREATE TABLE");
        assert_eq!(command_tag("SET x = 1", 0), "SET");
        assert_eq!(command_tag("DELETE FROM t", 4_294_967_295), "DELETE 4294967295");
        assert_eq!(counted_tag("SELECT", 10_000), "SELECT 10000");
        assert_eq!(counted_tag("SELECT", 0), "SELECT 0");
    }

    #[test]
    fn constant_selects() {
        let c = constant_select("SELECT 1").unwrap();
        assert_eq!(c, [ConstantColumn { name: "?column?".into(), cast: None, value: Constant::Int(1) }]);
        let c = constant_select("select $1::int AS n, 'a''b' as \"Txt\", null, -2.5, true").unwrap();
        assert_eq!(c.len(), 5);
        assert_eq!((c[0].name.as_str(), c[0].cast.as_deref(), &c[0].value), ("n", Some("int"), &Constant::Param(1)));
        assert_eq!((c[1].name.as_str(), &c[1].value), ("Txt", &Constant::Text("a'b".into())));
        assert_eq!(c[2].value, Constant::Null);
        assert_eq!(c[3].value, Constant::Decimal("-2.5".into()));
        assert_eq!(c[4].value, Constant::Bool(true));
        assert_eq!(constant_select("SELECT $1::int4").unwrap()[0].name, "int4");
        assert_eq!(constant_select("SELECT a FROM t"), None);
        assert_eq!(constant_select("SELECTED 1"), None);
        assert_eq!(constant_select("SELECT 1 +"), None);
    }
}
