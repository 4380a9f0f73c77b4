//! The catalog queries psql's meta-commands send (`\d`, `\dt`, `\d NAME`,
//! `\l`, `\dn`, `\du`, …), recognised by the catalog relations they read
//! and the shape of their select list (never by exact text), and answered
//! from SQLite's own catalog: `sqlite_schema`, `pragma_table_info`,
//! `pragma_index_list`, `pragma_index_info` and `pragma_foreign_key_list`.
//!
//! Everything lives in schema `public`, owned by the logged-in user; a
//! relation's oid is 16384 plus its `sqlite_schema` rowid. Catalog queries
//! not recognised here go to SQLite as any other SQL does and fail there
//! with PostgreSQL's "relation does not exist".

use postwire_server::codec::{Oid, oid};
use postwire_server::{Column, PgError, Value};
use rusqlite::Connection;

use super::errors::pg_error;
use super::lexer::{Kind, Token, string_value, tokenize};
use super::types::type_of_decltype;

/// Where relation oids start (PostgreSQL's first user oid).
const FIRST_OID: i64 = 16384;

/// Catalog relations whose rows SQLite has nothing to match: row-level
/// security policies, extended statistics, publications, inheritance,
/// rules and triggers. Queries about them for one relation (an oid) answer
/// no rows.
const EMPTY_CATALOGS: &[&str] =
    &["pg_policy", "pg_statistic_ext", "pg_publication", "pg_inherits", "pg_rewrite", "pg_trigger"];

/// A recognised catalog query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum CatalogQuery {
    /// `\d`, `\dt`, `\dv`, `\di` [PATTERN]: relations of these `relkind`s.
    Relations { kinds: Vec<String>, items: Vec<String>, name: Option<Pattern>, schema: Option<Pattern> },
    /// Interactive psql's tab completion of a relation name: the relations
    /// (of these kinds, if listed) and schemas whose names start so.
    CompleteName { kinds: Option<Vec<String>>, name: Pattern, schema: Option<Pattern> },
    /// Tab completion of `schema.name`: the relations whose names start so.
    CompleteQualifiedName { kinds: Option<Vec<String>>, name: Pattern, schema: String },
    /// Tab completion of a column of `table`.
    CompleteColumn { name: Pattern, table: String },
    /// `\d NAME`, first step: the oid, schema and name of each match.
    FindRelation { name: Pattern, schema: Option<Pattern> },
    /// `\d NAME`: the relation's `pg_class` flags.
    RelationInfo { oid: i64, items: Vec<String> },
    /// `\d NAME`: its columns (name, type, default, not null, …).
    Columns { oid: i64, items: Vec<String> },
    /// `\d NAME`: its indexes, primary key and unique constraints.
    Indexes { oid: i64 },
    /// `\d NAME` of an index: whether unique, its table, its condition.
    IndexInfo { oid: i64, items: Vec<String> },
    /// `\d+ NAME` of a view: its query.
    ViewDefinition { oid: i64 },
    /// `\d NAME`: its foreign keys.
    ForeignKeys { oid: i64 },
    /// `\d NAME`: the foreign keys of other tables that reference it.
    ReferencedBy { oid: i64 },
    /// A detail SQLite has none of: no rows, these columns.
    Empty { items: Vec<String> },
    /// `\l`: the one database.
    Databases { items: Vec<String> },
    /// `\dn`: the one schema, `public`.
    Schemas { items: Vec<String>, name: Option<Pattern> },
    /// `\du`: the logged-in user.
    Roles { items: Vec<String>, name: Option<Pattern> },
}

/// A name pattern as psql sends it: a regular expression such as
/// `^(it.*)$` (`\dt it*`) or, for tab completion, a `LIKE` pattern such as
/// `it%`. Matched case-insensitively, as SQLite matches names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Pattern(Vec<Atom>);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Atom {
    /// This character.
    Char(char),
    /// Any one character (`.`, `_`).
    Any,
    /// Any run of characters (`.*`, `%`).
    AnyRun,
}

impl Pattern {
    /// The pattern of psql's regex; `None` for regex syntax beyond what
    /// psql makes of `*`, `?` and plain names.
    fn parse(regex: &str) -> Option<Pattern> {
        let inner = regex.strip_prefix("^(")?.strip_suffix(")$")?;
        let mut atoms = Vec::new();
        let mut chars = inner.chars().peekable();
        while let Some(c) = chars.next() {
            let atom = match c {
                '\\' => Atom::Char(chars.next()?),
                '.' if chars.peek() == Some(&'*') => {
                    chars.next();
                    Atom::AnyRun
                }
                '.' => Atom::Any,
                '(' | ')' | '|' | '[' | ']' | '*' | '+' | '?' | '{' | '}' | '^' | '$' => return None,
                c => Atom::Char(c),
            };
            atoms.push(atom);
        }
        Some(Pattern(atoms))
    }

    /// The pattern of a `LIKE` pattern: `%`, `_` and `\` escapes.
    fn like(like: &str) -> Option<Pattern> {
        let mut atoms = Vec::new();
        let mut chars = like.chars();
        while let Some(c) = chars.next() {
            atoms.push(match c {
                '\\' => Atom::Char(chars.next()?),
                '%' => Atom::AnyRun,
                '_' => Atom::Any,
                c => Atom::Char(c),
            });
        }
        Some(Pattern(atoms))
    }

    /// Whether `name` matches, case-insensitively. Wildcard matching that
    /// backtracks only to the last `.*`: time linear in the pattern times
    /// the name, whatever the pattern.
    fn matches(&self, name: &str) -> bool {
        let name: Vec<char> = name.chars().collect();
        let same = |a: char, b: char| a.to_lowercase().eq(b.to_lowercase());
        let (mut p, mut n) = (0, 0);
        // The last `.*` seen and where in the name it started matching.
        let mut star: Option<(usize, usize)> = None;
        while n < name.len() {
            match self.0.get(p) {
                Some(Atom::AnyRun) => {
                    star = Some((p, n));
                    p += 1;
                }
                Some(Atom::Any) => (p, n) = (p + 1, n + 1),
                Some(Atom::Char(c)) if same(*c, name[n]) => (p, n) = (p + 1, n + 1),
                _ => match star {
                    Some((star_at, from)) => {
                        star = Some((star_at, from + 1));
                        (p, n) = (star_at + 1, from + 1);
                    }
                    None => return false,
                },
            }
        }
        self.0[p..].iter().all(|atom| *atom == Atom::AnyRun)
    }
}

fn matches(pattern: &Option<Pattern>, name: &str) -> bool {
    pattern.as_ref().is_none_or(|p| p.matches(name))
}

/// The statement's significant tokens, looked at as a catalog query.
struct Shape<'a, 't> {
    sig: &'a [Token<'t>],
    /// `pg_catalog.X` names, lower case.
    relations: Vec<String>,
    /// The first select list's items, each as its tokens' lower-case text
    /// joined by spaces.
    items: Vec<String>,
    /// The `pg_catalog.X` relations of the first FROM clause (joins too).
    from: Vec<String>,
}

impl Shape<'_, '_> {
    fn reads(&self, relation: &str) -> bool {
        self.relations.iter().any(|r| r == relation)
    }

    /// Whether the first FROM clause starts with `relation`.
    fn from(&self, relation: &str) -> bool {
        self.from.first().is_some_and(|r| r == relation)
    }

    /// The items' aliases (`AS "Name"`).
    fn aliases(&self) -> Vec<String> {
        self.items.iter().filter(|i| i.ends_with('"')).map(|i| item_name(i)).collect()
    }

    fn first_item(&self) -> &str {
        self.items.first().map_or("", String::as_str)
    }

    /// Whether the tokens from `at` spell `words` (case-insensitive).
    fn spells(&self, at: usize, words: &[&str]) -> bool {
        words.iter().enumerate().all(|(i, w)| self.sig.get(at + i).is_some_and(|t| t.text.eq_ignore_ascii_case(w)))
    }

    /// The first position where the tokens spell `words`.
    fn find(&self, words: &[&str]) -> Option<usize> {
        (0..self.sig.len()).find(|&at| self.spells(at, words))
    }

    /// The string literal after `column OPERATOR(pg_catalog.~)`.
    fn regex_on(&self, qualifier: &str, column: &str) -> Option<String> {
        let at = self.find(&[qualifier, ".", column, "operator", "(", "pg_catalog", ".", "~", ")"])?;
        self.sig.get(at + 9).filter(|t| t.kind == Kind::String).map(|t| string_value(t.text))
    }

    /// The pattern filtering `qualifier.column`: `Ok(None)` without one,
    /// `Err` when psql's regex is beyond [`Pattern`].
    fn pattern_on(&self, qualifier: &str, column: &str) -> Result<Option<Pattern>, ()> {
        match self.regex_on(qualifier, column) {
            None => Ok(None),
            Some(regex) => Pattern::parse(&regex).map(Some).ok_or(()),
        }
    }

    /// The oid in `qualifier.column = '16387'`.
    fn oid_of(&self, qualifier: &str, column: &str) -> Option<i64> {
        let at = self.find(&[qualifier, ".", column, "="])?;
        let literal = self.sig.get(at + 4).filter(|t| t.kind == Kind::String)?;
        string_value(literal.text).parse().ok()
    }

    /// The first string literal that is an oid.
    fn first_oid(&self) -> Option<i64> {
        self.sig.iter().filter(|t| t.kind == Kind::String).find_map(|t| string_value(t.text).parse().ok())
    }

    /// The string in `qualifier.column = 'string'`.
    fn equals(&self, qualifier: &str, column: &str) -> Option<String> {
        let at = self.find(&[qualifier, ".", column, "="])?;
        self.sig.get(at + 4).filter(|t| t.kind == Kind::String).map(|t| string_value(t.text))
    }

    /// The pattern of `qualifier.column LIKE 'pattern'` (`(c.relname)
    /// LIKE …` too).
    fn like_on(&self, qualifier: &str, column: &str) -> Option<Pattern> {
        let literal = (0..self.sig.len()).find_map(|at| {
            if !self.spells(at, &[qualifier, ".", column]) {
                return None;
            }
            let like = if self.spells(at + 3, &[")", "like"]) { at + 5 } else { at + 4 };
            self.sig.get(like - 1)?.is_word("like").then_some(())?;
            self.sig.get(like).filter(|t| t.kind == Kind::String)
        })?;
        Pattern::like(&string_value(literal.text))
    }

    /// The `relkind IN ('r', 'p', …)` list.
    fn relkinds(&self) -> Option<Vec<String>> {
        let at = self.find(&["relkind", "in", "("])?;
        let mut kinds = Vec::new();
        for token in &self.sig[at + 3..] {
            match token.kind {
                Kind::String => kinds.push(string_value(token.text)),
                Kind::Symbol if token.text == "," => {}
                Kind::Symbol if token.text == ")" => return Some(kinds),
                _ => return None,
            }
        }
        None
    }
}

fn shape<'a, 't>(sig: &'a [Token<'t>]) -> Option<Shape<'a, 't>> {
    if !sig.first()?.is_word("select") {
        return None;
    }
    let relations: Vec<String> = sig
        .windows(3)
        .filter(|w| w[0].is_word("pg_catalog") && w[1].is_symbol(".") && w[2].kind == Kind::Word)
        .map(|w| w[2].text.to_ascii_lowercase())
        .collect();
    if relations.is_empty() {
        return None;
    }
    let mut items = Vec::new();
    let mut current: Vec<String> = Vec::new();
    let mut depth = 0i32;
    let mut from_at = None;
    for (i, token) in sig.iter().enumerate().skip(1) {
        match token.kind {
            Kind::Symbol if token.text == "(" => depth += 1,
            Kind::Symbol if token.text == ")" => depth -= 1,
            Kind::Symbol if token.text == "," && depth == 0 => {
                items.push(current.join(" "));
                current.clear();
                continue;
            }
            Kind::Word if depth == 0 && token.is_word("from") => {
                from_at = Some(i + 1);
                break;
            }
            _ => {}
        }
        current.push(if token.kind == Kind::QuotedName { token.text.to_owned() } else { token.text.to_lowercase() });
    }
    items.push(current.join(" "));
    let mut from = Vec::new();
    let mut depth = 0i32;
    for (i, token) in sig.iter().enumerate().skip(from_at.unwrap_or(sig.len())) {
        match token.kind {
            Kind::Symbol if token.text == "(" => depth += 1,
            Kind::Symbol if token.text == ")" => depth -= 1,
            Kind::Word if depth == 0 => {
                let ends = ["where", "order", "group", "having", "union", "limit"];
                if ends.iter().any(|w| token.is_word(w)) {
                    break;
                }
                if token.is_word("pg_catalog")
                    && sig.get(i + 1).is_some_and(|t| t.is_symbol("."))
                    && let Some(name) = sig.get(i + 2)
                {
                    from.push(name.text.to_ascii_lowercase());
                }
            }
            _ => {}
        }
    }
    Some(Shape { sig, relations, items, from })
}

/// The catalog query `sig` (a statement's significant tokens) is, if it is
/// one this module answers.
pub(super) fn recognise(sig: &[Token<'_>]) -> Option<CatalogQuery> {
    let shape = shape(sig)?;
    let items = shape.items.clone();
    let first = shape.first_item();
    let aliases = shape.aliases();
    let aliased = |known: &[&str]| !aliases.is_empty() && aliases.iter().all(|a| known.contains(&a.as_str()));
    let kinds = || if shape.find(&["relkind", "in"]).is_some() { shape.relkinds().map(Some) } else { Some(None) };
    if shape.from.iter().any(|r| EMPTY_CATALOGS.contains(&r.as_str())) && shape.first_oid().is_some() {
        return Some(CatalogQuery::Empty { items });
    }
    if shape.from("pg_class") {
        const RELATION_LIST: &[&str] =
            &["Schema", "Name", "Type", "Owner", "Table", "Persistence", "Access method", "Size", "Description"];
        if aliased(RELATION_LIST) {
            let kinds = shape.relkinds()?;
            let name = shape.pattern_on("c", "relname").ok()?;
            let schema = shape.pattern_on("n", "nspname").ok()?;
            return Some(CatalogQuery::Relations { kinds, items, name, schema });
        }
        if items == ["c . oid", "n . nspname", "c . relname"] {
            let name = shape.pattern_on("c", "relname").ok()??;
            let schema = shape.pattern_on("n", "nspname").ok()?;
            return Some(CatalogQuery::FindRelation { name, schema });
        }
        if first == "c . relchecks" {
            return Some(CatalogQuery::RelationInfo { oid: shape.oid_of("c", "oid")?, items });
        }
        if first == "c2 . relname" && shape.from.iter().any(|r| r == "pg_index") {
            return Some(CatalogQuery::Indexes { oid: shape.oid_of("c", "oid")? });
        }
        if items == ["c . relname", "null :: pg_catalog . text"] {
            let kinds = kinds()?;
            let name = shape.like_on("c", "relname")?;
            let schema = if shape.reads("pg_namespace") { Some(shape.like_on("n", "nspname")?) } else { None };
            return Some(CatalogQuery::CompleteName { kinds, name, schema });
        }
        if items == ["c . relname", "n . nspname"] {
            let kinds = kinds()?;
            let name = shape.like_on("c", "relname")?;
            return Some(CatalogQuery::CompleteQualifiedName { kinds, name, schema: shape.equals("n", "nspname")? });
        }
    }
    if shape.from("pg_attribute") {
        if items == ["a . attname", "null :: pg_catalog . text"] {
            let name = shape.like_on("a", "attname")?;
            return Some(CatalogQuery::CompleteColumn { name, table: shape.equals("c", "relname")? });
        }
        if first == "a . attname" {
            return Some(CatalogQuery::Columns { oid: shape.oid_of("a", "attrelid")?, items });
        }
    }
    if shape.from("pg_index") && first == "i . indisunique" {
        return Some(CatalogQuery::IndexInfo { oid: shape.oid_of("c", "oid")?, items });
    }
    if shape.from.is_empty() && items.len() == 1 && first.starts_with("pg_catalog . pg_get_viewdef (") {
        return Some(CatalogQuery::ViewDefinition { oid: shape.first_oid()? });
    }
    if shape.from("pg_constraint") && first == "true as sametable" {
        return Some(CatalogQuery::ForeignKeys { oid: shape.oid_of("r", "conrelid")? });
    }
    if shape.from("pg_constraint") && first == "conname" && shape.find(&["confrelid"]).is_some() {
        return Some(CatalogQuery::ReferencedBy { oid: shape.first_oid()? });
    }
    // `\l`, `\dn` and `\du` are the only meta-commands listing these.
    if shape.from("pg_database") && aliases.iter().any(|a| a == "Name") {
        return Some(CatalogQuery::Databases { items });
    }
    if shape.from("pg_namespace") && aliases.iter().any(|a| a == "Name") {
        let name = shape.pattern_on("n", "nspname").ok()?;
        return Some(CatalogQuery::Schemas { items, name });
    }
    if shape.from("pg_roles") && first == "r . rolname" {
        let name = shape.pattern_on("r", "rolname").ok()?;
        return Some(CatalogQuery::Roles { items, name });
    }
    None
}

/// The name a select item gives its column: its alias, else its last word.
fn item_name(item: &str) -> String {
    if let Some(quoted) = item.strip_suffix('"')
        && let Some(open) = quoted.rfind('"')
    {
        return quoted[open + 1..].to_owned();
    }
    let last = item.rsplit(' ').next().unwrap_or(item);
    let last = last.trim_matches('"');
    if last.is_empty() || last.starts_with('\'') || last == ")" { "?column?".into() } else { last.into() }
}

/// What a select item asks for: the column it names or the function it
/// calls, found by the catalog column's name in it.
fn item_is(item: &str, key: &str) -> bool {
    item.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '"')).any(|w| w.trim_matches('"') == key)
}

fn text(value: &str) -> Value {
    Value::Text(value.to_owned())
}

/// How an answer column's value comes from a row.
type Cell<'r, R> = Box<dyn Fn(&R) -> Value + 'r>;

/// One answer column: its name, type and value per row.
type Answer<'r, R> = (String, Oid, Cell<'r, R>);

fn answer_columns<R>(answers: &[Answer<'_, R>]) -> Vec<Column> {
    answers.iter().map(|(name, type_oid, _)| Column::new(name, *type_oid)).collect()
}

/// The result columns of `query`.
pub(super) fn columns(query: &CatalogQuery) -> Vec<Column> {
    // Only the answers' names and types are needed here, not their values.
    let session = SessionNames { user: String::new(), database: String::new() };
    match query {
        CatalogQuery::Relations { items, .. } => answer_columns(&relation_answers(items, &session)),
        CatalogQuery::CompleteName { .. } => vec![Column::new("relname", oid::NAME), Column::new("text", oid::TEXT)],
        CatalogQuery::CompleteQualifiedName { .. } => {
            vec![Column::new("relname", oid::NAME), Column::new("nspname", oid::NAME)]
        }
        CatalogQuery::CompleteColumn { .. } => vec![Column::new("attname", oid::NAME), Column::new("text", oid::TEXT)],
        CatalogQuery::FindRelation { .. } => {
            vec![Column::new("oid", oid::OID), Column::new("nspname", oid::NAME), Column::new("relname", oid::NAME)]
        }
        CatalogQuery::RelationInfo { items, .. } => answer_columns(&relation_info_answers(items)),
        CatalogQuery::Columns { items, .. } => answer_columns(&column_answers(items)),
        CatalogQuery::Indexes { .. } => index_columns(),
        CatalogQuery::IndexInfo { items, .. } => answer_columns(&index_info_answers(items)),
        CatalogQuery::ViewDefinition { .. } => vec![Column::new("pg_get_viewdef", oid::TEXT)],
        CatalogQuery::ForeignKeys { .. } => vec![
            Column::new("sametable", oid::BOOL),
            Column::new("conname", oid::NAME),
            Column::new("condef", oid::TEXT),
            Column::new("ontable", oid::TEXT),
        ],
        CatalogQuery::ReferencedBy { .. } => {
            vec![Column::new("conname", oid::NAME), Column::new("ontable", oid::TEXT), Column::new("condef", oid::TEXT)]
        }
        CatalogQuery::Empty { items } => items.iter().map(|i| Column::new(item_name(i), oid::TEXT)).collect(),
        CatalogQuery::Databases { items } => answer_columns(&database_answers(items, &session)),
        CatalogQuery::Schemas { items, .. } => answer_columns(&schema_answers(items, &session)),
        CatalogQuery::Roles { items, .. } => answer_columns(&role_answers(items, &session)),
    }
}

/// Who and where the session is.
struct SessionNames {
    user: String,
    database: String,
}

fn session_names(conn: &Connection) -> Result<SessionNames, PgError> {
    let sql = "SELECT current_user(), current_database()";
    conn.query_row(sql, [], |row| Ok(SessionNames { user: row.get(0)?, database: row.get(1)? }))
        .map_err(|e| pg_error(&e, sql))
}

/// Answers `query` from the SQLite catalog of `conn`.
pub(super) fn answer(conn: &Connection, query: &CatalogQuery) -> Result<Vec<Vec<Value>>, PgError> {
    let session = session_names(conn)?;
    let rows = |answers: &[Answer<'_, Relation>], relations: &[Relation]| -> Vec<Vec<Value>> {
        relations.iter().map(|r| answers.iter().map(|(_, _, value)| value(r)).collect()).collect()
    };
    Ok(match query {
        CatalogQuery::Relations { kinds, items, name, schema } => {
            let relations: Vec<Relation> = if matches(schema, "public") {
                relations(conn)?
                    .into_iter()
                    .filter(|r| kinds.iter().any(|k| k == r.kind) && matches(name, &r.name))
                    .collect()
            } else {
                Vec::new()
            };
            rows(&relation_answers(items, &session), &relations)
        }
        CatalogQuery::CompleteName { kinds, name, schema } => {
            let mut found: Vec<Vec<Value>> = relations(conn)?
                .into_iter()
                .filter(|r| kinds.as_ref().is_none_or(|kinds| kinds.iter().any(|k| k == r.kind)))
                .filter(|r| name.matches(&r.name))
                .map(|r| vec![text(&r.name), Value::Null])
                .collect();
            if schema.as_ref().is_some_and(|schema| schema.matches("public")) {
                found.push(vec![Value::Null, text("public")]);
            }
            found
        }
        CatalogQuery::CompleteQualifiedName { kinds, name, schema } => {
            if !schema.eq_ignore_ascii_case("public") {
                return Ok(Vec::new());
            }
            relations(conn)?
                .into_iter()
                .filter(|r| kinds.as_ref().is_none_or(|kinds| kinds.iter().any(|k| k == r.kind)))
                .filter(|r| name.matches(&r.name))
                .map(|r| vec![text(&r.name), text("public")])
                .collect()
        }
        CatalogQuery::CompleteColumn { name, table } => table_info(conn, table)?
            .into_iter()
            .filter(|c| name.matches(&c.name))
            .map(|c| vec![text(&c.name), Value::Null])
            .collect(),
        CatalogQuery::FindRelation { name, schema } => {
            if !matches(schema, "public") {
                return Ok(Vec::new());
            }
            relations(conn)?
                .into_iter()
                .filter(|r| name.matches(&r.name))
                .map(|r| vec![Value::Oid(r.oid as u32), text("public"), text(&r.name)])
                .collect()
        }
        CatalogQuery::RelationInfo { oid, items } => {
            let Some(relation) = relation(conn, *oid)? else { return Ok(Vec::new()) };
            let has_index = !indexes(conn, &relation)?.is_empty();
            let has_triggers = relation.kind == "r"
                && !(foreign_keys(conn, &relation.name)?.is_empty() && referenced_by(conn, &relation.name)?.is_empty());
            let relation = Relation { has_index, has_triggers, ..relation };
            rows(&relation_info_answers(items), &[relation])
        }
        CatalogQuery::Columns { oid, items } => {
            let Some(relation) = relation(conn, *oid)? else { return Ok(Vec::new()) };
            let answers = column_answers(items);
            let columns = if relation.kind == "i" {
                index_key_columns(conn, &relation)?
            } else {
                table_info(conn, &relation.name)?
            };
            columns.iter().map(|column| answers.iter().map(|(_, _, value)| value(column)).collect()).collect()
        }
        CatalogQuery::Indexes { oid } => {
            let Some(relation) = relation(conn, *oid)? else { return Ok(Vec::new()) };
            indexes(conn, &relation)?.into_iter().map(|index| index.row(&relation.name)).collect()
        }
        CatalogQuery::IndexInfo { oid, items } => {
            let Some(relation) = relation(conn, *oid)? else { return Ok(Vec::new()) };
            let Some(listed) = index_list(conn, &relation.table)?.into_iter().find(|i| i.name == relation.name) else {
                return Ok(Vec::new());
            };
            let predicate = if listed.partial { index_predicate(conn, &relation.name)? } else { None };
            let index = IndexDetails { table: relation.table, unique: listed.unique, predicate };
            vec![index_info_answers(items).iter().map(|(_, _, value)| value(&index)).collect()]
        }
        CatalogQuery::ViewDefinition { oid } => {
            let Some(relation) = relation(conn, *oid)? else { return Ok(Vec::new()) };
            let sql = "SELECT sql FROM sqlite_schema WHERE type = 'view' AND name = ?1";
            let definition: Option<String> =
                conn.query_row(sql, [&relation.name], |row| row.get(0)).map_err(|e| pg_error(&e, sql))?;
            vec![vec![definition.as_deref().and_then(view_query).map_or(Value::Null, Value::Text)]]
        }
        CatalogQuery::ForeignKeys { oid } => {
            let Some(relation) = relation(conn, *oid)? else { return Ok(Vec::new()) };
            foreign_keys(conn, &relation.name)?
                .into_iter()
                .map(|key| vec![Value::Bool(true), text(&key.name), text(&key.definition), text(&key.table)])
                .collect()
        }
        CatalogQuery::ReferencedBy { oid } => {
            let Some(relation) = relation(conn, *oid)? else { return Ok(Vec::new()) };
            referenced_by(conn, &relation.name)?
                .into_iter()
                .map(|key| vec![text(&key.name), text(&key.table), text(&key.definition)])
                .collect()
        }
        CatalogQuery::Empty { .. } => Vec::new(),
        CatalogQuery::Databases { items } => {
            let answers = database_answers(items, &session);
            vec![answers.iter().map(|(_, _, value)| value(&())).collect()]
        }
        CatalogQuery::Schemas { items, name } => {
            if !matches(name, "public") {
                return Ok(Vec::new());
            }
            let answers = schema_answers(items, &session);
            vec![answers.iter().map(|(_, _, value)| value(&())).collect()]
        }
        CatalogQuery::Roles { items, name } => {
            if !matches(name, &session.user) {
                return Ok(Vec::new());
            }
            let answers = role_answers(items, &session);
            vec![answers.iter().map(|(_, _, value)| value(&())).collect()]
        }
    })
}

/// A table, view or index from `sqlite_schema`.
#[derive(Debug, Clone)]
struct Relation {
    oid: i64,
    /// `r`, `v` or `i`.
    kind: &'static str,
    name: String,
    /// The table an index is on (the relation itself otherwise).
    table: String,
    has_index: bool,
    /// Whether foreign keys involve it (PostgreSQL keeps them as triggers).
    has_triggers: bool,
}

const RELATIONS_SQL: &str = "SELECT rowid, type, name, tbl_name FROM sqlite_schema \
     WHERE type IN ('table', 'view', 'index') AND name NOT GLOB 'sqlite_*'";

fn relation_of(row: &rusqlite::Row<'_>) -> rusqlite::Result<Relation> {
    let kind = match row.get::<_, String>(1)?.as_str() {
        "view" => "v",
        "index" => "i",
        _ => "r",
    };
    Ok(Relation {
        oid: FIRST_OID + row.get::<_, i64>(0)?,
        kind,
        name: row.get(2)?,
        table: row.get(3)?,
        has_index: false,
        has_triggers: false,
    })
}

/// The database's tables, views and indexes, by name.
fn relations(conn: &Connection) -> Result<Vec<Relation>, PgError> {
    let sql = format!("{RELATIONS_SQL} ORDER BY name");
    let mut stmt = conn.prepare(&sql).map_err(|e| pg_error(&e, &sql))?;
    let rows = stmt.query_map([], relation_of).map_err(|e| pg_error(&e, &sql))?;
    rows.collect::<Result<_, _>>().map_err(|e| pg_error(&e, &sql))
}

/// The relation with this oid.
fn relation(conn: &Connection, oid: i64) -> Result<Option<Relation>, PgError> {
    let sql = format!("{RELATIONS_SQL} AND rowid = ?1");
    let mut stmt = conn.prepare(&sql).map_err(|e| pg_error(&e, &sql))?;
    let mut rows = stmt.query_map([oid - FIRST_OID], relation_of).map_err(|e| pg_error(&e, &sql))?;
    rows.next().transpose().map_err(|e| pg_error(&e, &sql))
}

/// The access method of a relation of `kind`: indexes are btrees, tables
/// heaps, views have none.
fn access_method(kind: &str) -> Value {
    match kind {
        "v" => Value::Null,
        "i" => text("btree"),
        _ => text("heap"),
    }
}

/// `\d`'s columns: Schema, Name, Type, Owner (and Table for `\di`).
fn relation_answers<'r>(items: &[String], session: &'r SessionNames) -> Vec<Answer<'r, Relation>> {
    items
        .iter()
        .map(|item| -> Answer<'r, Relation> {
            let name = item_name(item);
            let value: Cell<'_, Relation> = match name.as_str() {
                "Schema" => Box::new(|_| text("public")),
                "Name" => Box::new(|r| text(&r.name)),
                "Type" => Box::new(|r| {
                    text(match r.kind {
                        "v" => "view",
                        "i" => "index",
                        _ => "table",
                    })
                }),
                "Owner" => Box::new(|_| text(&session.user)),
                "Table" => Box::new(|r| text(&r.table)),
                "Persistence" => Box::new(|_| text("permanent")),
                "Access method" => Box::new(|r| access_method(r.kind)),
                _ => Box::new(|_| Value::Null),
            };
            let type_oid =
                if matches!(name.as_str(), "Schema" | "Name" | "Owner" | "Table") { oid::NAME } else { oid::TEXT };
            (name, type_oid, value)
        })
        .collect()
}

/// `\d NAME`'s `pg_class` flags, by the flag each item names.
fn relation_info_answers(items: &[String]) -> Vec<Answer<'static, Relation>> {
    items
        .iter()
        .map(|item| -> Answer<'static, Relation> {
            let name = item_name(item);
            let boolean = |v: bool| -> (Oid, Cell<'_, Relation>) { (oid::BOOL, Box::new(move |_| Value::Bool(v))) };
            let (type_oid, value): (Oid, Cell<'_, Relation>) = if item_is(item, "relchecks") {
                (oid::INT2, Box::new(|_| Value::Int2(0)))
            } else if item_is(item, "relkind") {
                (oid::CHAR, Box::new(|r| text(r.kind)))
            } else if item_is(item, "relhasindex") {
                (oid::BOOL, Box::new(|r| Value::Bool(r.has_index)))
            } else if item_is(item, "relhastriggers") {
                (oid::BOOL, Box::new(|r| Value::Bool(r.has_triggers)))
            } else if item_is(item, "reltablespace") {
                (oid::OID, Box::new(|_| Value::Oid(0)))
            } else if item_is(item, "relpersistence") {
                (oid::CHAR, Box::new(|_| text("p")))
            } else if item_is(item, "relreplident") {
                (oid::CHAR, Box::new(|_| text("d")))
            } else if item_is(item, "amname") {
                (oid::NAME, Box::new(|r| access_method(r.kind)))
            } else if item.starts_with("c . rel") || item.starts_with("false") {
                // relhasrules, relhastriggers, relrowsecurity, relispartition…
                boolean(false)
            } else {
                (oid::TEXT, Box::new(|_| text("")))
            };
            (name, type_oid, value)
        })
        .collect()
}

/// A column from `pragma_table_info`.
struct TableColumn {
    name: String,
    decltype: String,
    not_null: bool,
    default: Option<String>,
    /// Its place in the primary key (0: not in it).
    pk: i64,
}

fn table_info(conn: &Connection, table: &str) -> Result<Vec<TableColumn>, PgError> {
    let sql = "SELECT name, type, \"notnull\", dflt_value, pk FROM pragma_table_info(?1) ORDER BY cid";
    let mut stmt = conn.prepare(sql).map_err(|e| pg_error(&e, sql))?;
    let rows = stmt
        .query_map([table], |row| {
            Ok(TableColumn {
                name: row.get(0)?,
                decltype: row.get::<_, Option<String>>(1)?.unwrap_or_default(),
                not_null: row.get(2)?,
                default: row.get(3)?,
                pk: row.get(4)?,
            })
        })
        .map_err(|e| pg_error(&e, sql))?;
    let mut columns: Vec<TableColumn> = rows.collect::<Result<_, _>>().map_err(|e| pg_error(&e, sql))?;
    if let Some(key) = rowid_key(conn, table, &columns)? {
        columns[key].not_null = true;
    }
    Ok(columns)
}

/// Which of `columns` is the table's rowid, if one is: the one primary key
/// column, declared `INTEGER`, that SQLite keeps no index for. It is never
/// NULL.
fn rowid_key(conn: &Connection, table: &str, columns: &[TableColumn]) -> Result<Option<usize>, PgError> {
    let keys: Vec<usize> = (0..columns.len()).filter(|&i| columns[i].pk > 0).collect();
    let [key] = keys.as_slice() else { return Ok(None) };
    if !columns[*key].decltype.eq_ignore_ascii_case("integer") {
        return Ok(None);
    }
    let indexed = index_list(conn, table)?.iter().any(|listed| listed.origin == "pk");
    Ok(if indexed { None } else { Some(*key) })
}

/// A row of `pragma_index_list`.
struct ListedIndex {
    name: String,
    unique: bool,
    /// `c` (CREATE INDEX), `u` (UNIQUE constraint) or `pk`.
    origin: String,
    partial: bool,
}

fn index_list(conn: &Connection, table: &str) -> Result<Vec<ListedIndex>, PgError> {
    let sql = "SELECT name, \"unique\", origin, partial FROM pragma_index_list(?1)";
    let mut stmt = conn.prepare(sql).map_err(|e| pg_error(&e, sql))?;
    stmt.query_map([table], |row| {
        Ok(ListedIndex { name: row.get(0)?, unique: row.get(1)?, origin: row.get(2)?, partial: row.get(3)? })
    })
    .map_err(|e| pg_error(&e, sql))?
    .collect::<Result<_, _>>()
    .map_err(|e| pg_error(&e, sql))
}

/// PostgreSQL's `format_type` for the example's type mapping.
fn format_type(decltype: &str) -> String {
    let (type_oid, typmod) = type_of_decltype(decltype);
    let name = match type_oid {
        oid::BOOL => "boolean",
        oid::INT2 => "smallint",
        oid::INT4 => "integer",
        oid::INT8 => "bigint",
        oid::FLOAT4 => "real",
        oid::FLOAT8 => "double precision",
        oid::NUMERIC => "numeric",
        oid::VARCHAR => "character varying",
        oid::BPCHAR => "character",
        oid::NAME => "name",
        oid::BYTEA => "bytea",
        oid::DATE => "date",
        oid::TIME => "time without time zone",
        oid::TIMESTAMP => "timestamp without time zone",
        oid::TIMESTAMPTZ => "timestamp with time zone",
        oid::INTERVAL => "interval",
        oid::UUID => "uuid",
        oid::JSON => "json",
        oid::JSONB => "jsonb",
        oid::OID => "oid",
        _ => "text",
    };
    if typmod >= 4 { format!("{name}({})", typmod - 4) } else { name.to_owned() }
}

/// `\d NAME`'s column list, by the attribute each item names.
fn column_answers(items: &[String]) -> Vec<Answer<'static, TableColumn>> {
    items
        .iter()
        .enumerate()
        .map(|(i, item)| -> Answer<'static, TableColumn> {
            let name = item_name(item);
            let (type_oid, value): (Oid, Cell<'_, TableColumn>) = if i == 0 {
                (oid::NAME, Box::new(|c| text(&c.name)))
            } else if item_is(item, "is_key") {
                (oid::TEXT, Box::new(|_| text("yes")))
            } else if item_is(item, "pg_get_indexdef") {
                (oid::TEXT, Box::new(|c| text(&c.name)))
            } else if item_is(item, "format_type") {
                (oid::TEXT, Box::new(|c| text(&format_type(&c.decltype))))
            } else if item_is(item, "adbin") {
                (oid::TEXT, Box::new(|c| c.default.as_deref().map_or(Value::Null, text)))
            } else if item_is(item, "attnotnull") {
                (oid::BOOL, Box::new(|c| Value::Bool(c.not_null)))
            } else if item_is(item, "attidentity") || item_is(item, "attgenerated") || item_is(item, "attcompression") {
                (oid::CHAR, Box::new(|_| text("")))
            } else if item_is(item, "attstorage") {
                (oid::CHAR, Box::new(|c| text(if type_of_decltype(&c.decltype).0 == oid::TEXT { "x" } else { "p" })))
            } else if item_is(item, "attstattarget") {
                // -1, the default, which psql shows as NULL.
                (oid::INT4, Box::new(|_| Value::Null))
            } else {
                // collation, description, FDW options…
                (oid::TEXT, Box::new(|_| Value::Null))
            };
            (name, type_oid, value)
        })
        .collect()
}

/// An index as `\d NAME` lists it.
struct Index {
    name: String,
    primary: bool,
    unique: bool,
    /// `p` or `u` for a primary key or unique constraint.
    constraint: Option<&'static str>,
    columns: Vec<String>,
    /// A partial index's condition.
    predicate: Option<String>,
}

impl Index {
    fn row(&self, table: &str) -> Vec<Value> {
        let columns = self.columns.join(", ");
        let mut definition = format!(
            "CREATE {}INDEX {} ON public.{} USING btree ({columns})",
            if self.unique { "UNIQUE " } else { "" },
            self.name,
            table
        );
        if let Some(predicate) = &self.predicate {
            definition.push_str(&format!(" WHERE {predicate}"));
        }
        let constraint = match self.constraint {
            Some("p") => Value::Text(format!("PRIMARY KEY ({columns})")),
            Some(_) => Value::Text(format!("UNIQUE ({columns})")),
            None => Value::Null,
        };
        vec![
            text(&self.name),
            Value::Bool(self.primary),
            Value::Bool(self.unique),
            Value::Bool(false),
            Value::Bool(true),
            Value::Text(definition),
            constraint,
            self.constraint.map_or(Value::Null, text),
            self.constraint.map_or(Value::Null, |_| Value::Bool(false)),
            self.constraint.map_or(Value::Null, |_| Value::Bool(false)),
            Value::Bool(false),
            Value::Oid(0),
        ]
    }
}

fn index_columns() -> Vec<Column> {
    [
        ("relname", oid::NAME),
        ("indisprimary", oid::BOOL),
        ("indisunique", oid::BOOL),
        ("indisclustered", oid::BOOL),
        ("indisvalid", oid::BOOL),
        ("pg_get_indexdef", oid::TEXT),
        ("pg_get_constraintdef", oid::TEXT),
        ("contype", oid::CHAR),
        ("condeferrable", oid::BOOL),
        ("condeferred", oid::BOOL),
        ("indisreplident", oid::BOOL),
        ("reltablespace", oid::OID),
    ]
    .into_iter()
    .map(|(name, type_oid)| Column::new(name, type_oid))
    .collect()
}

/// The condition of a partial index's `CREATE INDEX … WHERE condition`.
fn predicate(sql: &str) -> Option<String> {
    let upper = sql.to_ascii_uppercase();
    let at = upper.rfind(" WHERE ").or_else(|| upper.rfind(")WHERE "))?;
    Some(sql[at + 7..].trim().to_owned())
}

/// A table's indexes, PostgreSQL-named: its primary key (SQLite's rowid
/// alias included) first, then the rest by name.
fn indexes(conn: &Connection, relation: &Relation) -> Result<Vec<Index>, PgError> {
    if relation.kind != "r" {
        return Ok(Vec::new());
    }
    let table = &relation.name;
    let mut found = Vec::new();
    let columns = table_info(conn, table)?;
    if let Some(key) = rowid_key(conn, table, &columns)? {
        found.push(Index {
            name: format!("{table}_pkey"),
            primary: true,
            unique: true,
            constraint: Some("p"),
            columns: vec![columns[key].name.clone()],
            predicate: None,
        });
    }
    let info_sql = "SELECT name FROM pragma_index_info(?1) ORDER BY seqno";
    for ListedIndex { name, unique, origin, partial } in index_list(conn, table)? {
        let mut info = conn.prepare(info_sql).map_err(|e| pg_error(&e, info_sql))?;
        let columns = info
            .query_map([&name], |row| Ok(row.get::<_, Option<String>>(0)?.unwrap_or_else(|| "(expression)".into())))
            .map_err(|e| pg_error(&e, info_sql))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| pg_error(&e, info_sql))?;
        let predicate = if partial { index_predicate(conn, &name)? } else { None };
        let (name, primary, constraint) = match origin.as_str() {
            "pk" => (format!("{table}_pkey"), true, Some("p")),
            "u" => (format!("{table}_{}_key", columns.join("_")), false, Some("u")),
            _ => (name, false, None),
        };
        found.push(Index { name, primary, unique, constraint, columns, predicate });
    }
    found.sort_by(|a, b| b.primary.cmp(&a.primary).then_with(|| a.name.cmp(&b.name)));
    Ok(found)
}

/// The condition of a partial index, from its `CREATE INDEX`.
fn index_predicate(conn: &Connection, index: &str) -> Result<Option<String>, PgError> {
    let sql = "SELECT sql FROM sqlite_schema WHERE type = 'index' AND name = ?1";
    let create: Option<String> = conn.query_row(sql, [index], |row| row.get(0)).map_err(|e| pg_error(&e, sql))?;
    Ok(create.as_deref().and_then(predicate))
}

/// The columns of an index, typed as in its table.
fn index_key_columns(conn: &Connection, index: &Relation) -> Result<Vec<TableColumn>, PgError> {
    let table = table_info(conn, &index.table)?;
    let sql = "SELECT name FROM pragma_index_info(?1) ORDER BY seqno";
    let mut stmt = conn.prepare(sql).map_err(|e| pg_error(&e, sql))?;
    let names = stmt
        .query_map([&index.name], |row| row.get::<_, Option<String>>(0))
        .map_err(|e| pg_error(&e, sql))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| pg_error(&e, sql))?;
    Ok(names
        .into_iter()
        .map(|name| {
            let name = name.unwrap_or_else(|| "(expression)".into());
            let decltype = table.iter().find(|c| c.name.eq_ignore_ascii_case(&name)).map(|c| c.decltype.clone());
            TableColumn { name, decltype: decltype.unwrap_or_default(), not_null: false, default: None, pk: 0 }
        })
        .collect())
}

/// What `\d` of an index says about it.
struct IndexDetails {
    table: String,
    unique: bool,
    predicate: Option<String>,
}

/// `\d NAME`'s `pg_index` flags of an index made by `CREATE INDEX` (a
/// primary key or unique constraint has no name of its own in SQLite).
fn index_info_answers(items: &[String]) -> Vec<Answer<'static, IndexDetails>> {
    items
        .iter()
        .map(|item| -> Answer<'static, IndexDetails> {
            let name = item_name(item);
            let (type_oid, value): (Oid, Cell<'_, IndexDetails>) = if item_is(item, "indisunique") {
                (oid::BOOL, Box::new(|i| Value::Bool(i.unique)))
            } else if item_is(item, "indisvalid") {
                (oid::BOOL, Box::new(|_| Value::Bool(true)))
            } else if item_is(item, "amname") {
                (oid::NAME, Box::new(|_| text("btree")))
            } else if item_is(item, "relname") {
                (oid::NAME, Box::new(|i| text(&i.table)))
            } else if item_is(item, "indpred") {
                (oid::TEXT, Box::new(|i| i.predicate.as_deref().map_or(Value::Null, text)))
            } else {
                // indisprimary, indisclustered, condeferrable, indisreplident…
                (oid::BOOL, Box::new(|_| Value::Bool(false)))
            };
            (name, type_oid, value)
        })
        .collect()
}

/// The query of a view's `CREATE VIEW name [(columns)] AS query`.
fn view_query(create: &str) -> Option<String> {
    let tokens = tokenize(create).ok()?;
    let mut offset = 0;
    let mut depth = 0;
    for token in &tokens {
        offset += token.text.len();
        match token.kind {
            Kind::Symbol if token.text == "(" => depth += 1,
            Kind::Symbol if token.text == ")" => depth -= 1,
            Kind::Word if depth == 0 && token.is_word("as") => return Some(format!(" {};", create[offset..].trim())),
            _ => {}
        }
    }
    None
}

/// A foreign key, PostgreSQL-named (SQLite's have no names).
struct ForeignKey {
    /// The table it is on.
    table: String,
    name: String,
    /// The table it references.
    references: String,
    /// `FOREIGN KEY (…) REFERENCES …`, as `pg_get_constraintdef` says it.
    definition: String,
}

/// The foreign keys of `table`, by name.
fn foreign_keys(conn: &Connection, table: &str) -> Result<Vec<ForeignKey>, PgError> {
    let sql = "SELECT id, \"table\", \"from\", \"to\", on_update, on_delete \
               FROM pragma_foreign_key_list(?1) ORDER BY id, seq";
    let mut stmt = conn.prepare(sql).map_err(|e| pg_error(&e, sql))?;
    type Part = (i64, String, String, Option<String>, String, String);
    let parts: Vec<Part> = stmt
        .query_map([table], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?, row.get(4)?, row.get(5)?)))
        .map_err(|e| pg_error(&e, sql))?
        .collect::<Result<_, _>>()
        .map_err(|e| pg_error(&e, sql))?;
    let mut keys = Vec::new();
    let mut rest = parts.as_slice();
    while let Some(first) = rest.first() {
        let count = rest.iter().take_while(|p| p.0 == first.0).count();
        let (key, after) = rest.split_at(count);
        rest = after;
        let (_, references, _, _, on_update, on_delete) = first;
        let from: Vec<&str> = key.iter().map(|p| p.2.as_str()).collect();
        // No `to`: the referenced table's primary key.
        let to: Vec<String> = if key.iter().all(|p| p.3.is_some()) {
            key.iter().filter_map(|p| p.3.clone()).collect()
        } else {
            let mut pk: Vec<TableColumn> = table_info(conn, references)?.into_iter().filter(|c| c.pk > 0).collect();
            pk.sort_by_key(|c| c.pk);
            pk.into_iter().map(|c| c.name).collect()
        };
        let mut definition = format!("FOREIGN KEY ({}) REFERENCES {references}({})", from.join(", "), to.join(", "));
        for (event, action) in [("UPDATE", on_update), ("DELETE", on_delete)] {
            if action != "NO ACTION" {
                definition.push_str(&format!(" ON {event} {action}"));
            }
        }
        keys.push(ForeignKey {
            table: table.to_owned(),
            name: format!("{table}_{}_fkey", from.join("_")),
            references: references.clone(),
            definition,
        });
    }
    keys.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(keys)
}

/// The foreign keys of every table that reference `table`, by name.
fn referenced_by(conn: &Connection, table: &str) -> Result<Vec<ForeignKey>, PgError> {
    let mut keys = Vec::new();
    for relation in relations(conn)?.into_iter().filter(|r| r.kind == "r") {
        keys.extend(
            foreign_keys(conn, &relation.name)?.into_iter().filter(|k| k.references.eq_ignore_ascii_case(table)),
        );
    }
    keys.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(keys)
}

/// `\l`'s columns for the one database.
fn database_answers<'r>(items: &[String], session: &'r SessionNames) -> Vec<Answer<'r, ()>> {
    items
        .iter()
        .map(|item| -> Answer<'r, ()> {
            let name = item_name(item);
            let value: Cell<'_, ()> = match name.as_str() {
                "Name" => Box::new(|_| text(&session.database)),
                "Owner" => Box::new(|_| text(&session.user)),
                "Encoding" => Box::new(|_| text("UTF8")),
                "Collate" | "Ctype" => Box::new(|_| text("C")),
                "Locale Provider" => Box::new(|_| text("libc")),
                "Tablespace" => Box::new(|_| text("pg_default")),
                _ => Box::new(|_| Value::Null),
            };
            let type_oid = if matches!(name.as_str(), "Name" | "Owner") { oid::NAME } else { oid::TEXT };
            (name, type_oid, value)
        })
        .collect()
}

/// `\dn`'s columns for schema `public`.
fn schema_answers<'r>(items: &[String], session: &'r SessionNames) -> Vec<Answer<'r, ()>> {
    items
        .iter()
        .map(|item| -> Answer<'r, ()> {
            let name = item_name(item);
            let value: Cell<'_, ()> = match name.as_str() {
                "Name" => Box::new(|_| text("public")),
                "Owner" => Box::new(|_| text(&session.user)),
                _ => Box::new(|_| Value::Null),
            };
            let type_oid = if matches!(name.as_str(), "Name" | "Owner") { oid::NAME } else { oid::TEXT };
            (name, type_oid, value)
        })
        .collect()
}

/// `\du`'s columns for the logged-in user: a superuser, as the one user of
/// the database is.
fn role_answers<'r>(items: &[String], session: &'r SessionNames) -> Vec<Answer<'r, ()>> {
    items
        .iter()
        .map(|item| -> Answer<'r, ()> {
            let name = item_name(item);
            let (type_oid, value): (Oid, Cell<'_, ()>) = match name.as_str() {
                "rolname" => (oid::NAME, Box::new(|_| text(&session.user))),
                "rolsuper" | "rolinherit" | "rolcreaterole" | "rolcreatedb" | "rolcanlogin" => {
                    (oid::BOOL, Box::new(|_| Value::Bool(true)))
                }
                "rolreplication" | "rolbypassrls" => (oid::BOOL, Box::new(|_| Value::Bool(false))),
                "rolconnlimit" => (oid::INT4, Box::new(|_| Value::Int4(-1))),
                "memberof" => (oid::TEXT, Box::new(|_| text("{}"))),
                _ => (oid::TEXT, Box::new(|_| Value::Null)),
            };
            (name, type_oid, value)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sqlite::lexer::{significant, tokenize};

    /// psql 15's queries, by the meta-command and step in the fixture.
    fn fixture() -> Vec<(String, String)> {
        let text = include_str!("fixtures/psql15_catalog_queries.sql");
        text.split("-- psql 15: ")
            .skip(1)
            .map(|block| {
                let (label, sql) = block.split_once('\n').unwrap();
                (label.to_owned(), sql.trim().trim_end_matches(';').to_owned())
            })
            .collect()
    }

    fn recognised(sql: &str) -> Option<CatalogQuery> {
        recognise(&significant(&tokenize(sql).unwrap()))
    }

    fn query(label: &str) -> String {
        fixture().into_iter().find(|(l, _)| l == label).unwrap_or_else(|| panic!("no {label}")).1
    }

    #[test]
    fn every_query_of_the_supported_meta_commands_is_recognised() {
        for (label, sql) in fixture() {
            let found = recognised(&sql);
            let unsupported = ["\\dT", "\\df", "\\dx", "\\dp", "\\dd", "\\db"].iter().any(|c| label.starts_with(c));
            assert_eq!(found.is_some(), !unsupported, "{label}: {found:?}");
            // Layout does not matter: the same query on one line.
            let flat = sql.split_whitespace().collect::<Vec<_>>().join(" ");
            assert_eq!(recognised(&flat), found, "{label}");
        }
    }

    #[test]
    fn queries_are_told_apart() {
        let pattern = |regex: &str| Pattern::parse(regex).unwrap();
        let Some(CatalogQuery::Relations { kinds, name, schema, .. }) = recognised(&query("\\dt (query 1)")) else {
            panic!("\\dt")
        };
        assert_eq!((kinds, name, schema), (vec!["r".into(), "p".into(), "".into()], None, None));
        let Some(CatalogQuery::Relations { name, .. }) = recognised(&query("\\dt+ it* (query 1)")) else {
            panic!("\\dt+")
        };
        assert_eq!(name, Some(pattern("^(it.*)$")));
        assert_eq!(
            recognised(&query("\\d public.items (query 1)")),
            Some(CatalogQuery::FindRelation { name: pattern("^(items)$"), schema: Some(pattern("^(public)$")) })
        );
        for (step, expected) in [
            (4, CatalogQuery::Indexes { oid: 16387 }),
            (5, CatalogQuery::ForeignKeys { oid: 16387 }),
            (6, CatalogQuery::ReferencedBy { oid: 16387 }),
        ] {
            assert_eq!(recognised(&query(&format!("\\d items (query {step})"))), Some(expected), "{step}");
        }
        assert!(matches!(
            recognised(&query("\\d items (query 2)")),
            Some(CatalogQuery::RelationInfo { oid: 16387, .. })
        ));
        assert!(matches!(recognised(&query("\\d items (query 3)")), Some(CatalogQuery::Columns { oid: 16387, .. })));
        assert!(matches!(
            recognised(&query("\\d items_name (query 4)")),
            Some(CatalogQuery::IndexInfo { oid: 16395, .. })
        ));
        assert_eq!(recognised(&query("\\d+ cheap (query 4)")), Some(CatalogQuery::ViewDefinition { oid: 16412 }));
        let like = |like: &str| Pattern::like(like).unwrap();
        assert_eq!(
            recognised(&query("tab completion of SELECT … FROM it (query 1)")),
            Some(CatalogQuery::CompleteName {
                kinds: Some(["r", "S", "v", "m", "f", "p"].map(String::from).to_vec()),
                name: like("it%"),
                schema: Some(like("it%")),
            })
        );
        assert_eq!(
            recognised(&query("tab completion of SELECT … FROM public.i (query 1)")),
            Some(CatalogQuery::CompleteQualifiedName {
                kinds: Some(["r", "S", "v", "m", "f", "p"].map(String::from).to_vec()),
                name: like("i%"),
                schema: "public".into(),
            })
        );
        assert_eq!(
            recognised(&query("tab completion of SELECT … FROM items WHERE na (query 1)")),
            Some(CatalogQuery::CompleteColumn { name: like("na%"), table: "items".into() })
        );
        assert!(matches!(recognised(&query("\\l (query 1)")), Some(CatalogQuery::Databases { .. })));
        assert!(matches!(recognised(&query("\\dn (query 1)")), Some(CatalogQuery::Schemas { name: None, .. })));
        assert!(matches!(recognised(&query("\\du (query 1)")), Some(CatalogQuery::Roles { name: None, .. })));
        // Plain SQL, and catalog queries of other shapes, are left alone.
        for sql in ["SELECT 1", "SELECT relname FROM pg_catalog.pg_class", "SELECT * FROM pg_catalog.pg_type"] {
            assert_eq!(recognised(sql), None, "{sql}");
        }
    }

    #[test]
    fn name_patterns_match_like_psql_means_them() {
        let items = Pattern::parse("^(it.*)$").unwrap();
        assert!(items.matches("items") && items.matches("it") && items.matches("ITEMS") && !items.matches("bits"));
        let stars = Pattern::parse("^(.*a.*b.*)$").unwrap();
        assert!(stars.matches("xaxxbx") && stars.matches("ab") && !stars.matches("ba"));
        let long = "a".repeat(5000);
        assert!(!Pattern::parse(&format!("^({}b)$", ".*a".repeat(40))).unwrap().matches(&long));
        let one = Pattern::parse("^(t.g\\$)$").unwrap();
        assert!(one.matches("tag$") && !one.matches("tag") && !one.matches("tags$"));
        let like = Pattern::like("it\\_m%").unwrap();
        assert!(like.matches("it_ms") && !like.matches("items"));
        assert!(Pattern::like("i_").unwrap().matches("it"));
        for unsupported in ["^(a|b)$", "^([ab])$", "items", "^(a+)$"] {
            assert_eq!(Pattern::parse(unsupported), None, "{unsupported}");
        }
    }

    #[test]
    fn types_are_named_as_format_type_names_them() {
        for (decltype, name) in [
            ("INTEGER", "integer"),
            ("varchar(20)", "character varying(20)"),
            ("char(3)", "character(3)"),
            ("TIMESTAMPTZ", "timestamp with time zone"),
            ("", "text"),
            ("numeric(10,2)", "numeric"),
        ] {
            assert_eq!(format_type(decltype), name, "{decltype}");
        }
    }

    #[test]
    fn a_view_query_is_what_follows_as() {
        assert_eq!(
            view_query("CREATE VIEW v (a, b) AS select x as a, y from t").as_deref(),
            Some(" select x as a, y from t;")
        );
        assert_eq!(view_query("create view v"), None);
    }

    #[test]
    fn select_items_are_named_by_alias() {
        assert_eq!(item_name("d . daticulocale as \"ICU Locale\""), "ICU Locale");
        assert_eq!(item_name("a . attname"), "attname");
        assert_eq!(item_name("''"), "?column?");
    }
}
